//! Releases made the way `docs/RELEASING.md` says, with the real `minisign` tool: a key pair,
//! signed artifacts, and a signed channel feed in a directory a loopback server publishes.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// A minisign key pair in a temp directory (no password, as a CI signer would use).
pub struct Keys {
    /// Owns the files.
    dir: tempfile::TempDir,
    /// The public key's base64 line (what `PARACHUTE_UPDATE_PUBKEY` takes).
    pub public: String,
}

fn minisign(args: &[&str]) {
    let out = Command::new("minisign")
        .args(args)
        .output()
        .expect("the minisign tool (scripts/test installs the Debian package)");
    assert!(
        out.status.success(),
        "minisign {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Keys {
    /// `minisign -G -W`.
    pub fn generate() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("minisign-")
            .tempdir()
            .unwrap();
        let public = dir.path().join("release.pub");
        let secret = dir.path().join("release.key");
        minisign(&[
            "-G",
            "-W",
            "-p",
            public.to_str().unwrap(),
            "-s",
            secret.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&public).unwrap();
        let public = text.lines().last().unwrap().trim().to_string();
        Self { dir, public }
    }

    /// The secret key file.
    pub fn secret(&self) -> PathBuf {
        self.dir.path().join("release.key")
    }

    /// `minisign -S -m <file>`: writes `<file>.minisig` and returns its text.
    pub fn sign(&self, file: &Path) -> String {
        let secret = self.dir.path().join("release.key");
        minisign(&[
            "-S",
            "-s",
            secret.to_str().unwrap(),
            "-m",
            file.to_str().unwrap(),
        ]);
        std::fs::read_to_string(format!("{}.minisig", file.display())).unwrap()
    }
}

/// The sha256 of a file, hex.
pub fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

/// This machine's platform key, as the feed names builds.
pub fn platform() -> String {
    let os = if cfg!(target_os = "macos") {
        "darwin"
    } else {
        "linux"
    };
    format!("{os}-{}", std::env::consts::ARCH)
}

/// One platform entry of a feed.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Download URL.
    pub url: String,
    /// Announced size.
    pub size: u64,
    /// Announced sha256.
    pub sha256: String,
    /// The minisign signature text.
    pub signature: String,
}

impl Entry {
    /// The entry for `file` as published under `url`, signed by `keys`.
    pub fn for_file(file: &Path, url: &str, keys: &Keys) -> Self {
        Self {
            url: url.to_string(),
            size: std::fs::metadata(file).unwrap().len(),
            sha256: sha256(file),
            signature: keys.sign(file),
        }
    }
}

/// A feed document.
pub struct FeedDoc {
    /// `latest` or `rc`.
    pub channel: String,
    /// The version offered.
    pub version: String,
    /// `pub_date`.
    pub pub_date: String,
    /// This platform's build.
    pub entry: Entry,
}

impl FeedDoc {
    /// The JSON text.
    pub fn json(&self) -> String {
        let mut platforms = serde_json::Map::new();
        platforms.insert(
            platform(),
            serde_json::json!({
                "url": self.entry.url,
                "size": self.entry.size,
                "sha256": self.entry.sha256,
                "signature": self.entry.signature,
            }),
        );
        serde_json::to_string_pretty(&serde_json::json!({
            "version": self.version,
            "channel": self.channel,
            "notes": format!("Release {}", self.version),
            "pub_date": self.pub_date,
            "platforms": platforms,
        }))
        .unwrap()
    }

    /// Writes `<dir>/<channel>.json` and its `.minisig` (signed by `keys`).
    pub fn publish(&self, dir: &Path, keys: &Keys) -> PathBuf {
        let path = dir.join(format!("{}.json", self.channel));
        std::fs::write(&path, self.json()).unwrap();
        keys.sign(&path);
        path
    }
}

/// The publication date of day `n` (1..=28) of a fixed month: later publications get larger
/// `n`.
pub fn date(n: u32) -> String {
    format!("2026-11-{:02}T10:00:00Z", n.clamp(1, 28))
}

//! The release feed: one signed JSON document per channel.
//!
//! `<feed>/<channel>.json` has the layout of Tauri's updater feeds plus what a careful
//! downloader needs (size and sha256) and the channel it was published for:
//!
//! ```json
//! {
//!   "version": "0.7.0",
//!   "channel": "latest",
//!   "notes": "What changed",
//!   "pub_date": "2026-12-01T10:00:00Z",
//!   "platforms": {
//!     "linux-x86_64": {
//!       "url": "https://…/parachute-linux-x86_64",
//!       "size": 31457280,
//!       "sha256": "…64 hex digits…",
//!       "signature": "untrusted comment: …\n…"
//!     }
//!   }
//! }
//! ```
//!
//! `<feed>/<channel>.json.minisig` signs those exact bytes, so the version, the date and every
//! artifact's hash are signed content. Each artifact's `signature` is the `minisign` signature
//! of the binary (the `.minisig` text, or that text base64-encoded as Tauri writes it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::signature::{self, ReleaseSignature};
use crate::version::{self, Channel};

/// The platforms releases are built for.
pub const PLATFORMS: [&str; 4] = [
    "linux-x86_64",
    "linux-aarch64",
    "darwin-aarch64",
    "darwin-x86_64",
];

/// This machine's platform key (`linux-x86_64`, `darwin-aarch64`, …).
pub fn this_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    format!("{os}-{}", std::env::consts::ARCH)
}

/// One channel's feed document as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    /// The release's version (semver).
    pub version: String,
    /// The channel the document was published for; a feed served under another channel's
    /// name is refused.
    pub channel: Channel,
    /// Release notes for a person.
    #[serde(default)]
    pub notes: Option<String>,
    /// When it was published (RFC 3339). Feeds older than one already seen are refused.
    pub pub_date: String,
    /// One build per platform key.
    pub platforms: BTreeMap<String, Artifact>,
}

/// One platform's build of the `parachute` binary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Where to download it (https, or http on a loopback address).
    pub url: String,
    /// Its exact size in bytes.
    pub size: u64,
    /// Its sha256, lower-case hex.
    pub sha256: String,
    /// Its minisign signature.
    pub signature: String,
}

/// A feed that passed every check, with the build for this machine picked out.
#[derive(Debug, Clone)]
pub struct Release {
    /// The document.
    pub feed: Feed,
    /// When it was published.
    pub published: chrono::DateTime<chrono::FixedOffset>,
    /// This machine's platform key.
    pub platform: String,
}

impl Release {
    /// The release's version.
    pub fn version(&self) -> &str {
        &self.feed.version
    }

    /// The build for this machine.
    pub fn artifact(&self) -> &Artifact {
        &self.feed.platforms[&self.platform]
    }
}

/// Why a (correctly signed) feed document is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedProblem {
    /// A field is missing or wrong; the text names it.
    Invalid(String),
    /// The release has no build for this platform.
    NoBuild,
}

impl From<String> for FeedProblem {
    fn from(text: String) -> Self {
        Self::Invalid(text)
    }
}

/// Parses and checks a feed document (its signature was checked before). `max_size` bounds
/// the artifact size a feed may announce.
pub fn parse(
    bytes: &[u8],
    channel: Channel,
    platform: &str,
    max_size: u64,
) -> Result<Release, FeedProblem> {
    let feed: Feed =
        serde_json::from_slice(bytes).map_err(|e| format!("not a feed document: {e}"))?;
    if version::parse(&feed.version).is_none() {
        return Err(format!("version {:?} is not a semantic version", feed.version).into());
    }
    if feed.channel != channel {
        return Err(format!(
            "it was published for the {} channel, not {channel}",
            feed.channel
        )
        .into());
    }
    let published = chrono::DateTime::parse_from_rfc3339(&feed.pub_date)
        .map_err(|e| format!("pub_date {:?} is not an RFC 3339 date ({e})", feed.pub_date))?;
    for (key, artifact) in &feed.platforms {
        check_artifact(artifact, max_size).map_err(|e| format!("platform {key}: {e}"))?;
    }
    if !feed.platforms.contains_key(platform) {
        return Err(FeedProblem::NoBuild);
    }
    Ok(Release {
        feed,
        published,
        platform: platform.to_string(),
    })
}

fn check_artifact(artifact: &Artifact, max_size: u64) -> Result<(), String> {
    let url = reqwest::Url::parse(&artifact.url)
        .map_err(|e| format!("url {:?} is not a URL ({e})", artifact.url))?;
    crate::fetch::check_url(&url).map_err(|e| e.to_string())?;
    if artifact.size == 0 {
        return Err("size is 0".into());
    }
    if artifact.size > max_size {
        return Err(format!(
            "size {} is over the download limit of {max_size} bytes",
            artifact.size
        ));
    }
    if artifact.sha256.len() != 64 || !artifact.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("sha256 {:?} is not 64 hex digits", artifact.sha256));
    }
    artifact_signature(artifact).map_err(|e| format!("signature: {e}"))?;
    Ok(())
}

/// The decoded signature of an artifact.
pub fn artifact_signature(
    artifact: &Artifact,
) -> Result<ReleaseSignature, signature::SignatureError> {
    signature::decode_signature(&artifact.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "untrusted comment: signature from minisign secret key\nRUT9qv+5tCW06xObizTazG/6JVgj0cw0VXjYp0AbMfBHdaO/R17f7AbJ8G98dBQ59Z5Oo1qFSjgG52oMMGPhN6hfMHkL9pnXzQ4=\ntrusted comment: timestamp:1796217771\tfile:f\thashed\nwsaN4Lbq/JmVQMvDN7DwJm5ADxHKRyuPtbMdo7Nf+1itiMmhtI5eCKMY9KU7RGAl7YKVJwe0T/5R61qhGsu8DQ==\n";

    fn doc(channel: &str, version: &str, url: &str, size: u64, sha: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "version": version,
            "channel": channel,
            "notes": "n",
            "pub_date": "2026-12-01T10:00:00Z",
            "platforms": {
                "linux-x86_64": {"url": url, "size": size, "sha256": sha, "signature": SIG},
            },
        }))
        .unwrap()
    }

    const SHA: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn a_good_feed_picks_this_platform() {
        let bytes = doc("rc", "0.7.0-rc.1", "https://example.org/p", 10, SHA);
        let release = parse(&bytes, Channel::Rc, "linux-x86_64", 100).unwrap();
        assert_eq!(release.version(), "0.7.0-rc.1");
        assert_eq!(release.artifact().size, 10);
        assert_eq!(release.published.to_rfc3339(), "2026-12-01T10:00:00+00:00");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                doc("rc", "seven", "https://e/p", 10, SHA),
                "not a semantic version",
            ),
            (
                doc("latest", "0.7.0", "https://e/p", 10, SHA),
                "published for the latest channel",
            ),
            (
                doc("rc", "0.7.0", "http://example.org/p", 10, SHA),
                "https only",
            ),
            (doc("rc", "0.7.0", "https://e/p", 0, SHA), "size is 0"),
            (
                doc("rc", "0.7.0", "https://e/p", 1000, SHA),
                "over the download limit",
            ),
            (
                doc("rc", "0.7.0", "https://e/p", 10, "abc"),
                "not 64 hex digits",
            ),
            (b"{\"version\": 1}".to_vec(), "not a feed document"),
        ];
        for (bytes, needle) in cases {
            match parse(&bytes, Channel::Rc, "linux-x86_64", 100) {
                Err(FeedProblem::Invalid(err)) => assert!(err.contains(needle), "{needle}: {err}"),
                other => panic!("{needle}: {other:?}"),
            }
        }
    }

    #[test]
    fn loopback_http_artifacts_are_allowed_and_a_missing_platform_is_flagged() {
        let bytes = doc("rc", "0.7.0", "http://127.0.0.1:9/p", 10, SHA);
        assert!(parse(&bytes, Channel::Rc, "linux-x86_64", 100).is_ok());
        let err = parse(&bytes, Channel::Rc, "darwin-aarch64", 100).unwrap_err();
        assert_eq!(err, FeedProblem::NoBuild);
    }

    #[test]
    fn the_platform_key_is_one_of_the_published_ones_here() {
        let here = this_platform();
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))
            && cfg!(any(target_os = "linux", target_os = "macos"))
        {
            assert!(PLATFORMS.contains(&here.as_str()), "{here}");
        }
    }
}

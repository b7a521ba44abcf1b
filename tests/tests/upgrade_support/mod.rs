//! Shared by the `upgrade_*` suites: a stand whose hub unit runs a private copy of
//! `parachute` (the binary the upgrade replaces), a real minisign key pair, a loopback feed
//! server, and helpers to publish releases, run the CLI and read the status file.

#![allow(dead_code)]

pub mod next;
pub mod release;
pub mod server;

use std::cell::Cell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parachute_tests::{bin, wait_for};
use serde_json::Value;

use crate::migrate_support::{Run, Stand, UNIT};
use release::{Entry, FeedDoc, Keys};
use server::FileServer;

/// The artifact's file name in the feed directory.
pub fn artifact_name() -> String {
    format!("parachute-{}", release::platform())
}

/// A stand for hub upgrades.
pub struct UpgradeStand {
    /// Fake manager, temp home, unit directory, hub port.
    pub stand: Stand,
    /// The release key pair the stand trusts.
    pub keys: Keys,
    /// Serves `feed/`.
    pub server: FileServer,
    /// The binary the hub unit runs and the upgrade replaces (a copy of this build's).
    pub binary: PathBuf,
    /// sha256 of that binary as installed.
    pub original_sha: String,
    /// The running version (this build's).
    pub version: String,
    /// Extra environment for every CLI run.
    pub extra_env: Vec<(String, String)>,
    /// Publication counter, so every feed is newer than the last.
    day: Cell<u32>,
}

impl UpgradeStand {
    /// A stand with the copy installed but no unit yet.
    pub fn new() -> Self {
        let stand = Stand::new();
        stand.fakes.add("systemd-run");
        let opt = stand.dir.path().join("opt");
        let feed = stand.dir.path().join("feed");
        std::fs::create_dir_all(&opt).unwrap();
        std::fs::create_dir_all(&feed).unwrap();
        let binary = opt.join("parachute");
        std::fs::copy(bin("parachute"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let original_sha = release::sha256(&binary);
        Self {
            server: FileServer::start(&feed),
            keys: Keys::generate(),
            stand,
            binary,
            original_sha,
            version: next::current_version(),
            extra_env: vec![("PARACHUTE_UPGRADE_GATE_SECS".into(), "45".into())],
            day: Cell::new(1),
        }
    }

    /// A stand whose hub runs under the (fake) systemd unit, up and answering.
    pub fn with_unit() -> Self {
        let s = Self::new();
        let run = s.run(&["init", "--no-browser", "--expose", "none"]);
        assert_eq!(run.code, 0, "{}", run.text);
        assert_eq!(
            s.health_within(Duration::from_secs(60)).as_deref(),
            Some(s.version.as_str())
        );
        s.stand.clear_calls("systemctl");
        s
    }

    /// The feed directory.
    pub fn feed_dir(&self) -> PathBuf {
        self.server.dir.clone()
    }

    /// The environment of every CLI run: the stand's, the feed, the trusted key, extras.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.stand.env();
        env.push(("PARACHUTE_UPDATE_URL".into(), self.server.base()));
        env.push(("PARACHUTE_UPDATE_PUBKEY".into(), self.keys.public.clone()));
        for (k, v) in &self.extra_env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    fn command(&self, program: &Path, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .current_dir(self.stand.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the installed binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.binary, args, &[])
    }

    /// Runs `program args…` with extra environment and waits (bounded by 3 minutes).
    pub fn run_with(&self, program: &Path, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let out_path = self
            .stand
            .dir
            .path()
            .join(format!("run-{}.out", std::process::id()));
        let out = std::fs::File::create(&out_path).unwrap();
        let mut child = self
            .command(program, args, extra)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("run parachute");
        let status = wait_for(Duration::from_secs(180), || child.try_wait().unwrap());
        let status = status.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("`parachute {args:?}` did not finish within 3 minutes");
        });
        Run {
            code: status.code().unwrap_or(-1),
            text: std::fs::read_to_string(&out_path).unwrap_or_default(),
        }
    }

    /// `program upgrade --status` (with extra environment): the JSON it prints on stdout (log
    /// lines on stderr are left out).
    pub fn status_via(&self, program: &Path, extra: &[(&str, &str)]) -> Value {
        let out = self
            .command(program, &["upgrade", "--status"], extra)
            .output()
            .expect("run parachute upgrade --status");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Starts the installed binary with `args` in the background (output to `log`).
    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)], log: &str) -> Child {
        let path = self.stand.dir.path().join(log);
        let out = std::fs::File::create(path).unwrap();
        self.command(&self.binary, args, extra)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn parachute")
    }

    /// What a background run wrote.
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.stand.dir.path().join(log)).unwrap_or_default()
    }

    /// Copies `artifact` into the feed as this platform's build and returns its entry
    /// (signed by the stand's key).
    pub fn put_artifact(&self, artifact: &Path) -> Entry {
        let dest = self.feed_dir().join(artifact_name());
        std::fs::copy(artifact, &dest).unwrap();
        Entry::for_file(
            &dest,
            &format!("{}/{}", self.server.base(), artifact_name()),
            &self.keys,
        )
    }

    /// The next publication date.
    pub fn next_date(&self) -> String {
        let d = self.day.get() + 1;
        self.day.set(d);
        release::date(d)
    }

    /// Publishes `entry` as `version` on `latest`, signed by the stand's key.
    pub fn publish(&self, version: &str, entry: Entry) -> FeedDoc {
        let doc = FeedDoc {
            channel: "latest".into(),
            version: version.into(),
            pub_date: self.next_date(),
            entry,
        };
        doc.publish(&self.feed_dir(), &self.keys);
        doc
    }

    /// Publishes the new version (`next_build`) on `latest`.
    pub fn publish_next(&self) -> String {
        let next = next::next_build();
        let entry = self.put_artifact(&next.binary);
        self.publish(&next.version, entry);
        next.version.clone()
    }

    /// Publishes the new version with `scripts/release-feed`, exactly as a release is made
    /// (docs/RELEASING.md).
    pub fn publish_next_with_script(&self) -> String {
        let next = next::next_build();
        let artifact = self.feed_dir().join(artifact_name());
        std::fs::copy(&next.binary, &artifact).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/release-feed");
        let date = self.next_date();
        let secret = self.keys.secret();
        let feed_dir = self.feed_dir();
        let base = self.server.base();
        let out = Command::new("bash")
            .arg(script)
            .args([
                "--version",
                &next.version,
                "--channel",
                "latest",
                "--base-url",
                &base,
            ])
            .args([
                "--key",
                secret.to_str().unwrap(),
                "--out",
                feed_dir.to_str().unwrap(),
            ])
            .args(["--pub-date", &date, artifact.to_str().unwrap()])
            .output()
            .expect("run scripts/release-feed");
        assert!(
            out.status.success(),
            "release-feed failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        next.version.clone()
    }

    /// The status file, if any.
    pub fn status(&self) -> Option<Value> {
        let text =
            std::fs::read_to_string(self.stand.home().join("hub-upgrade-status.json")).ok()?;
        Some(serde_json::from_str(&text).expect("the status file is JSON"))
    }

    /// Waits until the status is in `phase` (bounded).
    pub fn wait_phase(&self, phase: &str, timeout: Duration) -> Value {
        wait_for(timeout, || self.status().filter(|s| s["phase"] == phase))
            .unwrap_or_else(|| panic!("the status never reached {phase}: {:?}", self.status()))
    }

    /// The version `/health` reports, if it answers now.
    pub fn health(&self) -> Option<String> {
        parachute_tests::http::get(self.stand.port, "/health")
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json()["version"].as_str().map(str::to_string))
    }

    /// The version `/health` reports once it answers within `timeout`.
    pub fn health_within(&self, timeout: Duration) -> Option<String> {
        wait_for(timeout, || self.health())
    }

    /// How often the hub unit was restarted through the manager.
    pub fn restarts(&self) -> usize {
        self.stand
            .calls("systemctl")
            .iter()
            .filter(|c| c.iter().any(|a| a == "restart") && c.iter().any(|a| a == UNIT))
            .count()
    }

    /// The files beside the binary other than the binary itself.
    pub fn leftovers(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.binary.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "parachute")
            .collect();
        names.sort();
        names
    }

    /// The binary is the one installed, nothing was left beside it, the hub was not
    /// restarted and answers the running version.
    pub fn assert_nothing_changed(&self) {
        assert_eq!(
            release::sha256(&self.binary),
            self.original_sha,
            "binary replaced"
        );
        assert_eq!(
            self.leftovers(),
            Vec::<String>::new(),
            "files left beside the binary"
        );
        assert_eq!(self.restarts(), 0, "the hub was restarted");
        assert_eq!(self.health().as_deref(), Some(self.version.as_str()));
    }

    /// Writes a script that answers `--version` as `version` and otherwise never serves
    /// anything (a new binary that never becomes ready).
    pub fn never_ready_binary(&self, version: &str) -> PathBuf {
        let path = self.stand.dir.path().join("never-ready");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo \"parachute {version}\"; exit 0; fi\nexec sleep 300\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// Sends SIGKILL to `child` and reaps it.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

//! Shared by the `cli_*` suites: a temp home plus a private environment for the real
//! `parachute` binary (fake service tools first on `PATH`, unit files in a temp dir, a temp
//! `HOME`), and bounded runs of the CLI.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::Duration;

use parachute_tests::{FakeTools, TestHome, bin, free_port, wait_for};

#[allow(unused_imports)]
pub use parachute_tests::cli::{Output, RUN_LIMIT, Running};
use parachute_tests::cli::{finish, private_command, spawn_lines};

/// A test home, fake service tools and the directories the CLI's unit code uses.
pub struct CliEnv {
    /// `PARACHUTE_HOME`.
    pub home: TestHome,
    /// Fake `systemctl`, `journalctl`, `loginctl`.
    pub fakes: FakeTools,
    /// Owns `HOME` and the unit directory.
    pub dir: tempfile::TempDir,
}

impl CliEnv {
    /// A fresh environment (no hub unit installed, no hub running).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("parachute-cli-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("user-home")).unwrap();
        std::fs::create_dir_all(dir.path().join("units")).unwrap();
        Self {
            home: TestHome::new(),
            fakes: FakeTools::new(&["systemctl", "journalctl", "loginctl"]),
            dir,
        }
    }

    /// The `PARACHUTE_HOME` path.
    pub fn root(&self) -> &Path {
        self.home.path()
    }

    /// The `HOME` the CLI sees.
    pub fn user_home(&self) -> PathBuf {
        self.dir.path().join("user-home")
    }

    /// Where unit files go (`PARACHUTE_UNIT_DIR`).
    pub fn unit_dir(&self) -> PathBuf {
        self.dir.path().join("units")
    }

    /// Records `port` as the hub's port (what `serve` writes), so the CLI looks there.
    pub fn set_hub_port(&self, port: u16) {
        self.home.write("hub/run/hub.port", &format!("{port}\n"));
    }

    /// A hub port nobody listens on, recorded for the CLI.
    pub fn hub_port_down(&self) -> u16 {
        let port = free_port();
        self.set_hub_port(port);
        port
    }

    /// `parachute <args>` with the private environment (systemd as the manager).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = private_command(
            args,
            self.root(),
            &self.user_home(),
            &self.fakes,
            &self.unit_dir(),
        );
        cmd.env("PARACHUTE_UNIT_MANAGER", "systemd");
        cmd
    }

    /// Runs `parachute <args>` to completion (killed and reported after [`RUN_LIMIT`]).
    pub fn run(&self, args: &[&str]) -> Output {
        finish(self.command(args).spawn().expect("spawn parachute"), args)
    }

    /// Runs `parachute <args>` with `input` on standard input (a run that refuses before
    /// reading its input may close it first: that is not a failure of the write).
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn parachute");
        let written = child.stdin.take().unwrap().write_all(input.as_bytes());
        if let Err(e) = written {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "writing stdin: {e}"
            );
        }
        finish(child, args)
    }

    /// Starts `parachute <args>` in the background, collecting its stdout lines.
    pub fn spawn(&self, args: &[&str]) -> Running {
        spawn_lines(self.command(args))
    }
}

impl Default for CliEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// The data rows of a status table (header and continuation lines dropped), split into cells.
pub fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("  "))
        .map(split_cells)
        .collect()
}

/// A table line split on runs of two or more spaces.
fn split_cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The continuation lines printed under the row whose first cell is `service`.
pub fn notes_of(stdout: &str, service: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in stdout.lines().skip(1) {
        if line.starts_with("  ") {
            if inside {
                out.push(line.trim().to_string());
            }
        } else {
            inside = split_cells(line).first().map(String::as_str) == Some(service);
        }
    }
    out
}

/// `fake-hub-listener` on a free port: answers `/health` like a hub, cannot prove it is one,
/// and records every request with its `Authorization` header (or relays to a real hub).
pub struct StandInHub {
    /// The listener process.
    child: Child,
    /// Its port.
    pub port: u16,
    /// Where it records requests (one JSON object per line).
    record: PathBuf,
}

impl StandInHub {
    /// Starts one for `env` (its record file lives in `env`'s private directory); with
    /// `relay_to`, it forwards every request to the hub on that port.
    pub fn start(env: &CliEnv, relay_to: Option<u16>) -> Self {
        let port = free_port();
        let record = env.dir.path().join(format!("stand-in-{port}.jsonl"));
        let mut cmd = Command::new(bin("fake-hub-listener"));
        cmd.env("PORT", port.to_string())
            .env("FAKE_HUB_LISTENER_RECORD", &record)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(target) = relay_to {
            cmd.env("FAKE_HUB_LISTENER_RELAY", target.to_string());
        }
        let child = cmd.spawn().expect("spawn fake-hub-listener");
        let up = wait_for(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| ())
        });
        assert!(up.is_some(), "fake-hub-listener never listened on {port}");
        Self {
            child,
            port,
            record,
        }
    }

    /// Every request line it received.
    pub fn requests(&self) -> Vec<String> {
        self.entries()
            .iter()
            .filter_map(|e| e["request"].as_str().map(str::to_string))
            .collect()
    }

    /// Every `Authorization` header value it received.
    pub fn authorizations(&self) -> Vec<String> {
        self.entries()
            .iter()
            .filter_map(|e| e["authorization"].as_str().map(str::to_string))
            .collect()
    }

    fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for StandInHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Shared by the `cli_*` suites: a temp home plus a private environment for the real
//! `parachute` binary (fake service tools first on `PATH`, unit files in a temp dir, a temp
//! `HOME`), and bounded runs of the CLI.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_tests::{FakeTools, TestHome, bin, free_port, wait_for};

/// The longest any single CLI run may take before the suite calls it hung.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A test home, fake service tools and the directories the CLI's unit code uses.
pub struct CliEnv {
    /// `PARACHUTE_HOME`.
    pub home: TestHome,
    /// Fake `systemctl`, `journalctl`, `loginctl`.
    pub fakes: FakeTools,
    /// Owns `HOME` and the unit directory.
    pub dir: tempfile::TempDir,
}

/// What a finished CLI run printed.
#[derive(Debug)]
pub struct Output {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
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

    /// `parachute <args>` with the private environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("parachute"));
        cmd.args(args)
            .env_clear()
            .env("PARACHUTE_HOME", self.root())
            .env("HOME", self.user_home())
            .env("USER", "tester")
            .env("PATH", self.fakes.path_env())
            .env(parachute_tests::fake::STATE_ENV, self.fakes.state_dir())
            .env("PARACHUTE_UNIT_DIR", self.unit_dir())
            .env("PARACHUTE_UNIT_SCOPE", "user")
            .env("PARACHUTE_UNIT_MANAGER", "systemd")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
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
        let mut child = self.command(args).spawn().expect("spawn parachute");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut pending = String::new();
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while let Some(i) = pending.find('\n') {
                            let line: String = pending.drain(..=i).collect();
                            sink.lock().unwrap().push(line.trim_end().to_string());
                        }
                    }
                }
            }
        });
        Running { child, lines }
    }
}

impl Default for CliEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// Waits for `child` (bounded) and collects its output.
fn finish(mut child: Child, args: &[&str]) -> Output {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`parachute {}` did not finish within {RUN_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// A CLI process running in the background (`logs -f`).
pub struct Running {
    /// The child.
    child: Child,
    /// Its stdout lines so far.
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (generously) until a stdout line contains `needle`.
    pub fn wait_line(&self, needle: &str) -> String {
        wait_for(Duration::from_secs(60), || {
            self.lines().into_iter().find(|l| l.contains(needle))
        })
        .unwrap_or_else(|| {
            panic!(
                "no line containing {needle:?}; got:\n{}",
                self.lines().join("\n")
            )
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

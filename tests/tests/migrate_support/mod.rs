//! Shared by the `init_*` and `migrate_*` suites: a stand with the fake service manager, a temp
//! user home and `PARACHUTE_HOME`, the real `parachute` binary run against them, "legacy
//! daemons" (real detached processes holding ports, recorded in pid files), and file snapshots.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use parachute_tests::{FakeTools, bin, free_port, pid_gone, wait_for};

/// The hub unit's systemd name.
pub const UNIT: &str = "parachute-hub.service";

/// Fake manager tools + temp user home + `PARACHUTE_HOME` + unit directory + a hub port.
/// Dropping it stops every process the fake manager started.
pub struct Stand {
    /// `systemctl`, `loginctl`, `journalctl` fakes and their state.
    pub fakes: FakeTools,
    /// Owns every directory.
    pub dir: tempfile::TempDir,
    /// The hub port for this stand (`PORT`).
    pub port: u16,
    /// Overrides of the environment the CLI runs with.
    pub extra_env: Vec<(String, String)>,
}

/// The output of one CLI run.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// stdout then stderr.
    pub text: String,
}

impl Stand {
    /// A stand with `systemctl`, `loginctl` and `journalctl` fakes.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("migrate-stand-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("user")).unwrap();
        std::fs::create_dir_all(dir.path().join("user/.parachute")).unwrap();
        Self {
            fakes: FakeTools::new(&["systemctl", "loginctl", "journalctl"]),
            dir,
            port: free_port(),
            extra_env: Vec::new(),
        }
    }

    /// The user's `HOME`.
    pub fn user_home(&self) -> PathBuf {
        self.dir.path().join("user")
    }

    /// `PARACHUTE_HOME`.
    pub fn home(&self) -> PathBuf {
        self.user_home().join(".parachute")
    }

    /// `PARACHUTE_UNIT_DIR`.
    pub fn unit_dir(&self) -> PathBuf {
        self.dir.path().join("units")
    }

    /// The hub unit file.
    pub fn unit_file(&self) -> PathBuf {
        self.unit_dir().join(UNIT)
    }

    /// The environment every command of the stand runs with (nothing inherited).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), self.fakes.path_env()),
            ("HOME".into(), self.user_home().display().to_string()),
            ("USER".into(), "tester".into()),
            ("LOGNAME".into(), "tester".into()),
            ("PARACHUTE_HOME".into(), self.home().display().to_string()),
            (
                "PARACHUTE_UNIT_DIR".into(),
                self.unit_dir().display().to_string(),
            ),
            ("PARACHUTE_UNIT_SCOPE".into(), "user".into()),
            ("PARACHUTE_UNIT_MANAGER".into(), "systemd".into()),
            (
                parachute_tests::fake::STATE_ENV.into(),
                self.fakes.state_dir().display().to_string(),
            ),
            ("PORT".into(), self.port.to_string()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        for (k, v) in &self.extra_env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    /// Runs `parachute args…` (stdin closed: no terminal) and waits for it.
    pub fn cli(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(bin("parachute"));
        cmd.args(args)
            .env_clear()
            .envs(self.env())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = parachute_tests::cli::run_bounded(cmd, args);
        Run {
            code: out.code,
            text: out.stdout + &out.stderr,
        }
    }

    /// Runs the fake `systemctl` directly, as a person would (`--user stop …`).
    pub fn systemctl(&self, args: &[&str]) -> Output {
        Command::new(self.fakes.bin_dir().join("systemctl"))
            .args(args)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .expect("run fake systemctl")
    }

    /// Makes the fake `systemctl` fail `verb` with `code` and `text`.
    pub fn inject(&self, line: &str) {
        std::fs::write(
            self.fakes.state_dir().join("systemctl.fail"),
            format!("{line}\n"),
        )
        .unwrap();
    }

    /// Removes the failure injection.
    pub fn clear_injection(&self) {
        let _ = std::fs::remove_file(self.fakes.state_dir().join("systemctl.fail"));
    }

    /// Every recorded call of `tool`.
    pub fn calls(&self, tool: &str) -> Vec<Vec<String>> {
        self.fakes.calls(tool)
    }

    /// Forgets the recorded calls of `tool`.
    pub fn clear_calls(&self, tool: &str) {
        self.fakes.clear_calls(tool)
    }

    /// The pid of the program the fake manager runs for the hub unit, while alive.
    pub fn hub_job_pid(&self) -> Option<u32> {
        let path = self
            .fakes
            .state_dir()
            .join("systemd/user/jobs")
            .join(UNIT)
            .join("pid");
        let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
        (!pid_gone(pid)).then_some(pid)
    }

    /// The pid of the program the fake launchd runs for `label`, while alive.
    pub fn launchd_job_pid(&self, label: &str) -> Option<u32> {
        let path = self
            .fakes
            .state_dir()
            .join("launchd/jobs")
            .join(label)
            .join("pid");
        let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
        (!pid_gone(pid)).then_some(pid)
    }

    /// Switches the stand to the (fake) launchd: `launchctl` linked in, manager forced.
    pub fn use_launchd(&mut self) {
        self.fakes.add("launchctl");
        self.extra_env
            .push(("PARACHUTE_UNIT_MANAGER".into(), "launchd".into()));
    }

    /// Writes `contents` to `rel` under `PARACHUTE_HOME`.
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.home().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// True when `rel` exists under `PARACHUTE_HOME`.
    pub fn exists(&self, rel: &str) -> bool {
        self.home().join(rel).exists()
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        let state = self.fakes.state_dir();
        for parent in [
            state.join("systemd/user/jobs"),
            state.join("systemd/system/jobs"),
            state.join("launchd/jobs"),
        ] {
            let Ok(entries) = std::fs::read_dir(parent) else {
                continue;
            };
            for job in entries.flatten() {
                let Some(pid) = std::fs::read_to_string(job.path().join("pid"))
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok())
                else {
                    continue;
                };
                if pid > 1 {
                    kill_group(pid as u32);
                }
            }
        }
    }
}

/// SIGTERM to a process group, a short wait, then SIGKILL.
pub fn kill_group(pgid: u32) {
    let pg = nix::unistd::Pid::from_raw(-(pgid as i32));
    let _ = nix::sys::signal::kill(pg, nix::sys::signal::Signal::SIGTERM);
    let gone = wait_for(Duration::from_secs(10), || pid_gone(pgid).then_some(()));
    if gone.is_none() {
        let _ = nix::sys::signal::kill(pg, nix::sys::signal::Signal::SIGKILL);
    }
}

/// A real process the test started in its own process group (like a legacy detached daemon),
/// killed with its group when dropped.
pub struct Daemon {
    /// The process.
    pub child: Child,
}

impl Daemon {
    /// Starts `test-module args…` listening on `port`, as its own process group leader. With
    /// `argv0` the process shows that name instead of its path (an "unrelated" program).
    pub fn start(port: u16, args: &[&str], argv0: Option<&str>) -> Self {
        let mut cmd = Command::new(bin("test-module"));
        cmd.args(args)
            .env_clear()
            .env("PORT", port.to_string())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(name) = argv0 {
            cmd.arg0(name);
        }
        let child = cmd.spawn().expect("spawn test-module");
        let daemon = Self { child };
        assert!(
            wait_for(Duration::from_secs(30), || {
                parachute_os::port::is_listening(port, Duration::from_millis(500)).then_some(())
            })
            .is_some(),
            "the daemon never listened on {port}"
        );
        daemon
    }

    /// Its pid (and process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True once it has exited (reaping it if so).
    pub fn gone(&mut self) -> bool {
        wait_for(Duration::from_secs(30), || {
            matches!(self.child.try_wait(), Ok(Some(_))).then_some(())
        })
        .is_some()
    }

    /// True while it still runs (never waits).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pg = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(pg, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Every regular file under `root` (relative path → contents), symlinks and dirs excluded.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(root, &path, out);
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, std::fs::read(&path).unwrap_or_default());
        }
    }
}

/// Waits until `GET /health` on `port` answers 200; returns the body.
pub fn wait_health(port: u16) -> Option<String> {
    wait_for(Duration::from_secs(60), || {
        parachute_tests::http::get(port, "/health")
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| r.body)
    })
}

/// `args` as owned strings.
pub fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

//! Shared by the `unit_*` suites: a test stand of fake service tools, a temp home and unit
//! directory, and a `ManagedUnit` wired to them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parachute_os::SystemRunner;
use parachute_tests::{FakeTools, bin, free_port, wait_for};
use parachute_unit::{HubUnitConfig, ManagedUnit, ManagerKind, UnitEnv, UnitSpec};

/// Fake tools + temp home + unit dir. Dropping it kills every process the fakes started.
pub struct Stand {
    /// The fake tools and their state.
    pub fakes: FakeTools,
    /// Owns the home and unit directories.
    pub dir: tempfile::TempDir,
}

impl Stand {
    /// A stand with the given fakes linked in (`systemctl`, `loginctl`, …).
    pub fn new(tools: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("parachute-unit-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Self {
            fakes: FakeTools::new(tools),
            dir,
        }
    }

    /// The user's home directory.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The `PARACHUTE_HOME` used by the units.
    pub fn parachute_home(&self) -> PathBuf {
        self.home().join(".parachute")
    }

    /// Where unit files are written (`PARACHUTE_UNIT_DIR`).
    pub fn unit_dir(&self) -> PathBuf {
        self.dir.path().join("units")
    }

    /// A runner whose search path is only the fakes (so no real tool is ever found), which
    /// tells the fakes where their state and the unit files are.
    pub fn runner(&self) -> Arc<SystemRunner> {
        Arc::new(
            SystemRunner::with_search_path(self.fakes.bin_dir())
                .env(parachute_tests::fake::STATE_ENV, self.fakes.state_dir())
                .env("PARACHUTE_UNIT_DIR", self.unit_dir())
                .env("HOME", self.home()),
        )
    }

    /// The user environment for `uid`, with the unit dir redirected into the stand.
    pub fn env(&self, uid: u32) -> UnitEnv {
        UnitEnv {
            uid,
            user_name: "tester".into(),
            home_dir: self.home(),
            unit_dir_override: Some(self.unit_dir()),
            scope_override: None,
            manager_override: None,
        }
    }

    /// A manager of `kind` for `uid`.
    pub fn manager(&self, kind: ManagerKind, uid: u32) -> ManagedUnit {
        ManagedUnit::new(self.runner(), kind, self.env(uid))
    }

    /// The hub spec running the fake hub listener on `port`.
    pub fn hub_spec(&self, port: u16) -> UnitSpec {
        UnitSpec::hub(&HubUnitConfig {
            exe: bin("fake-hub-listener"),
            parachute_home: self.parachute_home(),
            port,
            user_home: self.home(),
        })
        .unwrap()
    }

    /// The hub spec, but running `sh -c <script>` instead of a listener.
    pub fn hub_spec_running(&self, port: u16, script: &str) -> UnitSpec {
        let mut spec = self.hub_spec(port);
        spec.exec_start = vec!["/bin/sh".into(), "-c".into(), script.into()];
        spec
    }

    /// Makes `<tool>` fail for the verbs in `lines` (`<verb> <exit> <text>` each).
    pub fn inject(&self, tool: &str, lines: &[&str]) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(self.fakes.state_dir().join(format!("{tool}.fail")), text).unwrap();
    }

    /// Removes the failure injection of `tool`.
    pub fn clear_injection(&self, tool: &str) {
        let _ = std::fs::remove_file(self.fakes.state_dir().join(format!("{tool}.fail")));
    }

    /// Every recorded call of `tool`, as `Vec<Vec<String>>`.
    pub fn calls(&self, tool: &str) -> Vec<Vec<String>> {
        self.fakes.calls(tool)
    }

    /// The pid the fake manager recorded for a job (`systemd/<scope>/jobs/<unit>` or
    /// `launchd/jobs/<label>`), if it is alive.
    pub fn job_pid(&self, rel: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.fakes.state_dir().join(rel).join("pid")).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        (!parachute_tests::pid_gone(pid)).then_some(pid)
    }

    /// Names of the files in the unit directory.
    pub fn unit_files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.unit_dir())
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// Kills every job the fakes recorded (process groups), whatever state the test left.
impl Drop for Stand {
    fn drop(&mut self) {
        let state = self.fakes.state_dir();
        let mut job_dirs: Vec<PathBuf> = Vec::new();
        for parent in [
            state.join("systemd/user/jobs"),
            state.join("systemd/system/jobs"),
            state.join("launchd/jobs"),
        ] {
            if let Ok(entries) = std::fs::read_dir(parent) {
                job_dirs.extend(entries.flatten().map(|e| e.path()));
            }
        }
        for dir in job_dirs {
            let Some(pid) = std::fs::read_to_string(dir.join("pid"))
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
            else {
                continue;
            };
            if pid <= 1 || pid == i32::MAX {
                continue;
            }
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// `args` as owned strings, for comparing with recorded calls.
pub fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Waits (generously) until something accepts connections on `port`.
pub fn wait_listening(port: u16) -> bool {
    wait_for(Duration::from_secs(30), || {
        parachute_os::port::is_listening(port, Duration::from_millis(500)).then_some(())
    })
    .is_some()
}

/// Waits (generously) until nothing accepts connections on `port`.
pub fn wait_closed(port: u16) -> bool {
    wait_for(Duration::from_secs(30), || {
        (!parachute_os::port::is_listening(port, Duration::from_millis(500))).then_some(())
    })
    .is_some()
}

/// A free port.
pub fn port() -> u16 {
    free_port()
}

/// The path as a string.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

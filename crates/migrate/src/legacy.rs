//! What the legacy detached model left behind: pid files of the hub and of each module, read
//! only to find, and stop, the processes they name.

use std::path::PathBuf;

use parachute_home::Home;
use parachute_home::services::read_lenient;
use parachute_os::process;

use crate::procs;

/// A pid file and the pid it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidRecord {
    /// `hub` or the module's short name.
    pub short: String,
    /// The pid file (`hub/run/hub.pid`, `<short>/run/<short>.pid`).
    pub path: PathBuf,
    /// The recorded pid.
    pub pid: u32,
}

/// What a pid record says about its process right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    /// The recorded process (or what is left of its process group) is running.
    Running,
    /// Nothing with that pid or group is running: the record is stale.
    Gone,
    /// A process with that pid runs, but it started after the pid file was written: the pid
    /// was reused by something else, which we must not touch.
    Reused {
        /// Its command line, when readable.
        command: Option<String>,
    },
}

impl PidRecord {
    /// Reads `path`; `None` when absent or not a positive integer (the original's reader).
    pub fn read(short: &str, path: PathBuf) -> Option<Self> {
        let text = std::fs::read_to_string(&path).ok()?;
        let pid = text.trim().parse::<u32>().ok().filter(|p| *p > 0)?;
        Some(Self {
            short: short.to_string(),
            path,
            pid,
        })
    }

    /// Whether the recorded process still runs, is gone, or the pid now names a stranger.
    pub fn state(&self) -> RecordState {
        if process::is_alive(self.pid) {
            if procs::matches_record(self.pid, &self.path) && !procs::untouchable(self.pid) {
                RecordState::Running
            } else {
                RecordState::Reused {
                    command: process::command_line(self.pid),
                }
            }
        } else if procs::group_alive(self.pid) {
            // The leader exited but members of its group remain (a wrapper's grandchild). The
            // kernel never hands out a pid still in use as a group id, so the group is ours.
            RecordState::Running
        } else {
            RecordState::Gone
        }
    }

    /// Removes the pid file (absent is fine).
    pub fn clear(&self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %e, "could not remove a stale pid file");
        }
    }
}

/// A module the legacy model ran: its short name and the port `services.json` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleTarget {
    /// Short name (`vault`, or a third-party row's name).
    pub short: String,
    /// Its port.
    pub port: u16,
}

/// One target per short name, in `services.json` order (lenient read: bad rows are skipped,
/// never fatal, because migration must work on a damaged install too).
pub fn module_targets(home: &Home) -> Vec<ModuleTarget> {
    let read = read_lenient(home);
    read.manifest
        .module_rows()
        .into_iter()
        .map(|row| ModuleTarget {
            short: row.short(),
            port: row.port,
        })
        .filter(|t| t.short != "hub")
        .collect()
}

/// The legacy hub's pid record.
pub fn hub_record(home: &Home) -> Option<PidRecord> {
    PidRecord::read("hub", home.hub_pid_file())
}

/// The pid record of one module.
pub fn module_record(home: &Home, short: &str) -> Option<PidRecord> {
    PidRecord::read(short, home.module_pid_file(short))
}

/// Every pid record: the hub's first, then one per `services.json` module that has one.
pub fn all_records(home: &Home) -> Vec<PidRecord> {
    let mut out: Vec<PidRecord> = hub_record(home).into_iter().collect();
    out.extend(
        module_targets(home)
            .iter()
            .filter_map(|t| module_record(home, &t.short)),
    );
    out
}

/// True when this home was run the legacy detached way: a hub pid file, or a pid file of any
/// `services.json` module. (A `services.json` alone proves nothing: a supervised install has
/// one too; only the detached model wrote pid files.)
pub fn has_prior_detached(home: &Home) -> bool {
    !all_records(home).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        (dir, home)
    }

    fn write(path: &std::path::Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn services(home: &Home, rows: &str) {
        write(
            &home.services_json(),
            &format!("{{\"services\":[{rows}]}}\n"),
        );
    }

    #[test]
    fn only_pid_files_count_as_legacy_evidence() {
        let (_d, home) = home();
        assert!(!has_prior_detached(&home));
        services(
            &home,
            r#"{"name":"parachute-vault","port":1940,"paths":["/vault/default"],"health":"/health","version":"1"}"#,
        );
        assert!(
            !has_prior_detached(&home),
            "services.json alone is not evidence"
        );
        write(&home.module_pid_file("vault"), "garbage\n");
        assert!(
            !has_prior_detached(&home),
            "an unparseable pid file is absent"
        );
        write(&home.module_pid_file("vault"), "4242\n");
        assert!(has_prior_detached(&home));
        let records = all_records(&home);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].short, "vault");
        assert_eq!(records[0].pid, 4242);
        std::fs::remove_file(home.module_pid_file("vault")).unwrap();
        write(&home.hub_pid_file(), "77\n");
        assert!(has_prior_detached(&home));
        assert_eq!(hub_record(&home).unwrap().pid, 77);
    }

    #[test]
    fn a_pid_file_of_a_module_not_in_services_json_is_not_looked_at() {
        let (_d, home) = home();
        write(&home.module_pid_file("scribe"), "4242\n");
        assert!(!has_prior_detached(&home));
    }

    #[test]
    fn targets_are_one_per_short_in_file_order() {
        let (_d, home) = home();
        services(
            &home,
            r#"{"name":"parachute-vault","port":1940,"paths":["/vault/a"],"health":"/health","version":"1"},
               {"name":"parachute-vault-b","port":1940,"paths":["/vault/b"],"health":"/health","version":"1"},
               {"name":"mine","port":5000,"paths":["/mine"],"health":"/health","version":"1"}"#,
        );
        let targets = module_targets(&home);
        assert_eq!(
            targets,
            vec![
                ModuleTarget {
                    short: "vault".into(),
                    port: 1940
                },
                ModuleTarget {
                    short: "mine".into(),
                    port: 5000
                }
            ]
        );
    }

    #[test]
    fn record_states() {
        let (_d, home) = home();
        // A process we start now, recorded after it started: running.
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        // Right after fork the child may not have exec'd `sleep` yet: wait until it has.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !parachute_os::process::command_line(child.id()).is_some_and(|c| c.contains("sleep"))
        {
            assert!(std::time::Instant::now() < deadline, "sleep never started");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        write(&home.module_pid_file("x"), &format!("{}\n", child.id()));
        let rec = module_record(&home, "x").unwrap();
        assert_eq!(rec.state(), RecordState::Running);
        // The same pid recorded in a file written long before it started: reused.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&rec.path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(
            matches!(rec.state(), RecordState::Reused { command: Some(c) } if c.contains("sleep"))
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(rec.state(), RecordState::Gone);
        rec.clear();
        rec.clear();
        assert!(!rec.path.exists());
    }
}

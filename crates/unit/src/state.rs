//! The manager's view of a unit, parsed from `systemctl is-active` or `launchctl print`.

/// What the service manager says about a unit. This is the manager's view, not liveness: the
/// hub answering `/health` is what proves it is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitState {
    /// Running (`active`; launchd `state = running`).
    Active,
    /// In a transition: starting, reloading, stopping, or waiting to be respawned.
    Activating,
    /// Stopped after a failure.
    Failed {
        /// The main process's last exit status, when the manager told us.
        exit_code: Option<i32>,
    },
    /// Installed but not running.
    Inactive,
    /// The manager answered something we do not recognise.
    Unknown {
        /// The manager's raw answer, for diagnosis.
        detail: String,
    },
    /// No unit file is installed.
    NoUnit,
    /// No service manager on this machine.
    NoManager,
}

impl UnitState {
    /// A short lowercase word for tables (`active`, `failed`, `no-unit`, …).
    pub fn word(&self) -> &'static str {
        match self {
            UnitState::Active => "active",
            UnitState::Activating => "activating",
            UnitState::Failed { .. } => "failed",
            UnitState::Inactive => "inactive",
            UnitState::Unknown { .. } => "unknown",
            UnitState::NoUnit => "no-unit",
            UnitState::NoManager => "no-manager",
        }
    }
}

impl std::fmt::Display for UnitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitState::Failed {
                exit_code: Some(code),
            } => write!(f, "failed (exit {code})"),
            UnitState::Unknown { detail } if !detail.is_empty() => {
                write!(f, "unknown ({detail})")
            }
            other => f.write_str(other.word()),
        }
    }
}

/// Maps the word `systemctl is-active` prints. The exit code is ignored on purpose: it differs
/// between systemd versions (a missing unit exits 3 or 4), the word does not.
pub(crate) fn from_systemd_word(word: &str) -> UnitState {
    match word.trim() {
        "active" => UnitState::Active,
        "activating" | "reloading" | "refreshing" | "deactivating" => UnitState::Activating,
        "failed" => UnitState::Failed { exit_code: None },
        "inactive" | "dead" => UnitState::Inactive,
        other => UnitState::Unknown {
            detail: other.to_string(),
        },
    }
}

/// Reads `ExecMainStatus=<n>` from `systemctl show` output.
pub(crate) fn exec_main_status(show: &str) -> Option<i32> {
    show.lines()
        .find_map(|l| l.trim().strip_prefix("ExecMainStatus="))
        .and_then(|v| v.trim().parse().ok())
}

/// Parses `launchctl print <domain>/<label>`.
///
/// Only top-level keys count: lines indented by exactly one tab. Nested blocks (arguments,
/// environment, coalitions, …) carry their own `state = …` lines that say nothing about the
/// job. Empty output (the job is not loaded) reads as inactive.
pub(crate) fn from_launchctl_print(stdout: &str) -> UnitState {
    if stdout.trim().is_empty() {
        return UnitState::Inactive;
    }
    let mut state: Option<&str> = None;
    let mut exit: Option<Option<i32>> = None;
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix('\t') else {
            continue;
        };
        if rest.starts_with('\t') {
            continue;
        }
        let Some((key, value)) = rest.split_once(" = ") else {
            continue;
        };
        match key.trim() {
            "state" => state = Some(value.trim()),
            "last exit code" => {
                let number: String = value
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '-')
                    .collect();
                exit = Some(number.parse().ok());
            }
            _ => {}
        }
    }
    match (state, exit) {
        (Some("running"), _) => UnitState::Active,
        (_, Some(Some(code))) if code != 0 => UnitState::Failed {
            exit_code: Some(code),
        },
        (Some("spawn scheduled") | Some("SIGTERMed"), _) => UnitState::Activating,
        (Some(_), _) | (None, Some(_)) => UnitState::Inactive,
        (None, None) => UnitState::Unknown {
            detail: stdout.trim().lines().next().unwrap_or_default().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_words_map_to_states() {
        assert_eq!(from_systemd_word("active\n"), UnitState::Active);
        assert_eq!(from_systemd_word("reloading"), UnitState::Activating);
        assert_eq!(from_systemd_word("deactivating"), UnitState::Activating);
        assert_eq!(
            from_systemd_word("failed"),
            UnitState::Failed { exit_code: None }
        );
        assert_eq!(from_systemd_word("inactive"), UnitState::Inactive);
        assert_eq!(
            from_systemd_word("maintenance"),
            UnitState::Unknown {
                detail: "maintenance".into()
            }
        );
        assert_eq!(exec_main_status("MainPID=0\nExecMainStatus=3\n"), Some(3));
    }

    const RUNNING: &str = "gui/501/computer.parachute.hub = {\n\tactive count = 1\n\tpath = /Users/a/Library/LaunchAgents/computer.parachute.hub.plist\n\tstate = running\n\n\tresource coalition = {\n\t\tstate = active\n\t}\n\truns = 1\n\tpid = 4242\n\tlast exit code = (never exited)\n}\n";

    #[test]
    fn launchctl_print_reads_only_top_level_lines() {
        assert_eq!(from_launchctl_print(RUNNING), UnitState::Active);
        let crashed = "gui/501/x = {\n\tstate = not running\n\tjetsam coalition = {\n\t\tstate = running\n\t}\n\tlast exit code = 78: EX_CONFIG\n}\n";
        assert_eq!(
            from_launchctl_print(crashed),
            UnitState::Failed {
                exit_code: Some(78)
            }
        );
        let clean = "gui/501/x = {\n\tstate = not running\n\tlast exit code = 0\n}\n";
        assert_eq!(from_launchctl_print(clean), UnitState::Inactive);
        let never = "gui/501/x = {\n\tstate = waiting\n\tlast exit code = (never exited)\n}\n";
        assert_eq!(from_launchctl_print(never), UnitState::Inactive);
        assert_eq!(from_launchctl_print(""), UnitState::Inactive);
        assert!(matches!(
            from_launchctl_print("something new\n"),
            UnitState::Unknown { .. }
        ));
        let nested_only = "x = {\n\targuments = {\n\t\tstate = running\n\t}\n}\n";
        assert!(matches!(
            from_launchctl_print(nested_only),
            UnitState::Unknown { .. }
        ));
    }
}

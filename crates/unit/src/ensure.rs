//! Bringing the hub up on demand: probe, start through the manager, wait, explain.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::UnitScope;
use crate::health::probe_health;
use crate::manager::{InstallOptions, InstallOutcome, ManagedUnit, NO_MANAGER, NO_UNIT, OpOutcome};
use crate::spec::{UnitId, UnitSpec};

/// Knobs of [`ManagedUnit::ensure_hub_up`] and [`ManagedUnit::install_and_start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsureConfig {
    /// The hub port on 127.0.0.1.
    pub port: u16,
    /// How long the `/health` probe may take before the hub counts as down.
    pub health_timeout: Duration,
    /// How long to wait for the port to accept connections after a start.
    pub ready_timeout: Duration,
    /// Pause between readiness probes.
    pub poll_interval: Duration,
    /// How many log lines to show when the hub does not come up.
    pub log_lines: usize,
    /// The hub's log file (its tail is shown next to the manager's log on a timeout).
    pub log_path: Option<PathBuf>,
}

impl EnsureConfig {
    /// The defaults for `port`: 1.5 s health probe, 15 s readiness budget polled every 250 ms,
    /// 50 log lines.
    pub fn for_port(port: u16) -> Self {
        Self {
            port,
            health_timeout: Duration::from_millis(1500),
            ready_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_millis(250),
            log_lines: 50,
            log_path: None,
        }
    }
}

impl Default for EnsureConfig {
    fn default() -> Self {
        Self::for_port(1939)
    }
}

/// What [`ManagedUnit::ensure_hub_up`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureOutcome {
    /// `/health` answered at once; the manager was not asked anything.
    AlreadyUp,
    /// The manager started the unit and the hub port now accepts connections.
    Started,
    /// No hub unit is installed (nothing was started).
    NoUnit,
    /// No service manager on this machine (nothing was started or written).
    NoManager,
    /// The manager refused to start (or install) the unit.
    StartFailed(String),
    /// The unit was started but the port never opened.
    Timeout {
        /// The port waited on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The manager's recent log plus the tail of the hub log file.
        recent_log: String,
    },
}

impl EnsureOutcome {
    /// True when the hub is up (already, or because we started it).
    pub fn is_up(&self) -> bool {
        matches!(self, EnsureOutcome::AlreadyUp | EnsureOutcome::Started)
    }

    /// What to tell the user, with the next step when something is wrong.
    pub fn message(&self) -> String {
        match self {
            EnsureOutcome::AlreadyUp => "The hub is already running.".to_string(),
            EnsureOutcome::Started => "Started the hub through the service manager.".to_string(),
            EnsureOutcome::NoUnit => NO_UNIT.to_string(),
            EnsureOutcome::NoManager => NO_MANAGER.to_string(),
            EnsureOutcome::StartFailed(detail) => format!(
                "The service manager did not start the hub unit ({detail}). Run `parachute migrate --to-supervised` to rewrite and restart the unit, or `parachute serve` to run the hub in the foreground."
            ),
            EnsureOutcome::Timeout {
                port,
                waited,
                recent_log,
            } => {
                let mut msg = format!(
                    "The hub unit was started, but nothing answered on 127.0.0.1:{port} within {}s. Run `parachute serve` in a terminal to see why it does not come up.",
                    waited.as_secs()
                );
                if !recent_log.trim().is_empty() {
                    msg.push('\n');
                    msg.push_str(recent_log.trim_end());
                }
                msg
            }
        }
    }
}

/// What [`ManagedUnit::install_and_start`] did: the install step, then the bring-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallAndStartReport {
    /// The result of writing and registering the unit.
    pub install: InstallOutcome,
    /// Whether the hub came up. An install failure is [`EnsureOutcome::StartFailed`].
    pub outcome: EnsureOutcome,
}

impl ManagedUnit {
    /// Makes sure the hub answers on `cfg.port`:
    ///
    /// 1. `GET /health` answers 2xx → [`EnsureOutcome::AlreadyUp`], no manager call;
    /// 2. no manager → [`EnsureOutcome::NoManager`];
    /// 3. no hub unit file → [`EnsureOutcome::NoUnit`];
    /// 4. start it through the manager; a refusal → [`EnsureOutcome::StartFailed`];
    /// 5. poll the port until `cfg.ready_timeout` → [`EnsureOutcome::Started`], else
    ///    [`EnsureOutcome::Timeout`] with the manager's recent log.
    ///
    /// Never installs anything and never starts a process itself.
    pub fn ensure_hub_up(&self, cfg: &EnsureConfig) -> EnsureOutcome {
        if probe_health(cfg.port, cfg.health_timeout) {
            return EnsureOutcome::AlreadyUp;
        }
        let id = UnitId::hub();
        tracing::info!(port = cfg.port, "hub not answering; starting its unit");
        match self.start(&id) {
            OpOutcome::Ok => {}
            OpOutcome::NoManager => return EnsureOutcome::NoManager,
            OpOutcome::NoUnit => return EnsureOutcome::NoUnit,
            OpOutcome::Failed { detail, .. } => return EnsureOutcome::StartFailed(detail),
        }
        self.wait_ready(&id, cfg)
    }

    /// Installs `spec` (started and enabled) and waits for the hub port.
    ///
    /// Without a manager nothing is written ([`EnsureOutcome::NoManager`]). An install the
    /// manager refuses is [`EnsureOutcome::StartFailed`] with its explanation (the unit file is
    /// rolled back).
    pub fn install_and_start(&self, spec: &UnitSpec, cfg: &EnsureConfig) -> InstallAndStartReport {
        if self.scope().is_none() {
            return InstallAndStartReport {
                install: InstallOutcome::NoManager,
                outcome: EnsureOutcome::NoManager,
            };
        }
        let install = self.install(spec, InstallOptions { start: true });
        let outcome = match &install {
            InstallOutcome::Installed { .. } => self.wait_ready(&spec.id, cfg),
            InstallOutcome::NoManager => EnsureOutcome::NoManager,
            InstallOutcome::Failed { detail } => EnsureOutcome::StartFailed(detail.clone()),
        };
        InstallAndStartReport { install, outcome }
    }

    fn wait_ready(&self, id: &UnitId, cfg: &EnsureConfig) -> EnsureOutcome {
        let up = parachute_os::wait::poll_for(cfg.ready_timeout, cfg.poll_interval, || {
            parachute_os::port::is_listening(cfg.port, Duration::from_secs(1))
        });
        if up {
            return EnsureOutcome::Started;
        }
        tracing::warn!(port = cfg.port, "hub unit did not become ready");
        EnsureOutcome::Timeout {
            port: cfg.port,
            waited: cfg.ready_timeout,
            recent_log: self.recent_log(id, cfg.log_lines, cfg.log_path.as_deref()),
        }
    }

    /// The manager's recent view of a unit (`journalctl … -n <lines>` or `launchctl print`),
    /// followed by the last `lines` lines of `log_file` when given. Best effort: sections that
    /// cannot be read are left out.
    pub fn recent_log(&self, id: &UnitId, lines: usize, log_file: Option<&Path>) -> String {
        let mut sections = Vec::new();
        match self.scope() {
            Some(UnitScope::LaunchdAgent { domain }) => {
                let out = self.run("launchctl", &["print", &format!("{domain}/{}", id.label)]);
                if out.success() && !out.stdout.trim().is_empty() {
                    sections.push(format!(
                        "launchd's view of {} (launchctl print):\n{}",
                        id.label,
                        out.stdout.trim_end()
                    ));
                }
            }
            Some(scope) if self.runner.which("journalctl").is_some() => {
                let n = lines.to_string();
                let mut args: Vec<&str> = scope.systemctl_flags().to_vec();
                args.extend(["-u", &id.unit_name, "-n", &n, "--no-pager"]);
                let out = self.run("journalctl", &args);
                if out.success() && !out.stdout.trim().is_empty() {
                    sections.push(format!(
                        "Recent journal of {} (journalctl):\n{}",
                        id.unit_name,
                        out.stdout.trim_end()
                    ));
                }
            }
            _ => {}
        }
        if let Some(path) = log_file
            && let Some(tail) = tail_lines(path, lines)
        {
            sections.push(format!("Last lines of {}:\n{tail}", path.display()));
        }
        sections.join("\n")
    }
}

/// The last `n` lines of a file (lossy UTF-8), or `None` when unreadable or empty.
fn tail_lines(path: &Path, n: usize) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    const MAX_BYTES: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))
        .ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(n)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.log");
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let tail = tail_lines(&path, 3).unwrap();
        assert_eq!(tail, "line 98\nline 99\nline 100");
        assert_eq!(tail_lines(&dir.path().join("missing"), 3), None);
    }

    #[test]
    fn messages_name_the_next_step() {
        assert!(EnsureOutcome::NoUnit.message().contains("parachute init"));
        assert!(
            EnsureOutcome::NoManager
                .message()
                .contains("parachute serve")
        );
        let m = EnsureOutcome::StartFailed("boom".into()).message();
        assert!(
            m.contains("boom") && m.contains("parachute migrate --to-supervised"),
            "{m}"
        );
        let m = EnsureOutcome::Timeout {
            port: 1939,
            waited: Duration::from_secs(15),
            recent_log: "journal line".into(),
        }
        .message();
        assert!(m.contains("127.0.0.1:1939") && m.contains("15s") && m.ends_with("journal line"));
    }
}

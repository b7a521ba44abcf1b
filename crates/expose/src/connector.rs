//! The cloudflared connector: a managed unit (systemd/launchd, so it survives reboots) with a
//! transient detached process as the fallback, and the sweep that finds every connector of a
//! tunnel so exactly one serves the current config.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use parachute_home::TunnelRecord;
use parachute_os::{CommandRunner, process};
use parachute_unit::{
    CloudflaredUnitConfig, InstallOptions, InstallOutcome, ManagedUnit, RemoveOutcome, UnitId,
    UnitSpec,
};

use crate::error::ExposeError;
use crate::report::Log;

/// How a connector was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Started {
    /// The connector's pid.
    pub(crate) pid: u32,
    /// True when a managed unit runs it (it survives reboots).
    pub(crate) service_managed: bool,
}

/// Starts, finds and stops connectors.
pub(crate) struct Connector<'a> {
    /// Runs `cloudflared` (transient fallback) and `pgrep` (non-Linux sweep).
    pub(crate) runner: &'a dyn CommandRunner,
    /// Installs and removes the connector unit.
    pub(crate) units: &'a ManagedUnit,
    /// How long to wait for a unit-started connector to appear.
    pub(crate) appear_timeout: Duration,
    /// How long a SIGTERMed connector gets before SIGKILL.
    pub(crate) stop_grace: Duration,
}

/// What identifies the connectors of one tunnel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TunnelIds<'a> {
    /// The tunnel name (unit name).
    pub(crate) name: &'a str,
    /// The tunnel UUID.
    pub(crate) uuid: &'a str,
    /// Its `config.yml`.
    pub(crate) config: &'a Path,
}

impl Connector<'_> {
    /// Installs the connector unit for `ids` and returns the connector it started; without a
    /// service manager, or when the unit does not take, runs a detached transient connector.
    pub(crate) fn start(
        &self,
        ids: TunnelIds<'_>,
        log_path: &Path,
        log: &mut Log,
    ) -> Result<Started, ExposeError> {
        let program =
            self.runner
                .which("cloudflared")
                .ok_or_else(|| ExposeError::CloudflaredMissing {
                    detail: "it disappeared from PATH".into(),
                    hint: crate::cloudflared::install_hint(),
                })?;
        if let Some(dir) = log_path.parent() {
            parachute_home::create_private_dir_all(dir).map_err(|e| ExposeError::write(dir, e))?;
        }
        let spec = UnitSpec::cloudflared(&CloudflaredUnitConfig {
            cloudflared: program,
            tunnel: ids.name.to_string(),
            config_path: ids.config.to_path_buf(),
            log_path: log_path.to_path_buf(),
        });
        let spec = match spec {
            Ok(spec) => Some(spec),
            Err(e) => {
                log.warn(format!("the connector cannot be a managed unit ({e})"));
                None
            }
        };
        if let Some(spec) = spec {
            match self.units.install(&spec, InstallOptions { start: true }) {
                InstallOutcome::Installed { warnings, .. } => {
                    for w in warnings {
                        log.warn(w);
                    }
                    if let Some(pid) = self.wait_for_connector(ids) {
                        log.ok(format!(
                            "Connector running as {} (pid {pid}); it comes back after a reboot.",
                            spec.id.unit_name
                        ));
                        return Ok(Started {
                            pid,
                            service_managed: true,
                        });
                    }
                    log.warn(format!(
                        "the connector unit was installed but no cloudflared process for this tunnel appeared within {}s; removing the unit and running the connector directly instead.",
                        self.appear_timeout.as_secs()
                    ));
                    let _ = self.units.remove(&spec.id);
                }
                InstallOutcome::NoManager => log.info(
                    "No service manager here, so the connector runs as a background process.",
                ),
                InstallOutcome::Failed { detail } => log.warn(format!(
                    "the connector could not be installed as a managed unit ({detail}); running it as a background process instead."
                )),
            }
        }
        let config = ids.config.display().to_string();
        let pid = self
            .runner
            .spawn_detached(
                "cloudflared",
                &["tunnel", "--config", &config, "run"],
                Some(log_path),
            )
            .map_err(|e| ExposeError::Cloudflared {
                command: format!("cloudflared tunnel --config {config} run"),
                detail: e.to_string(),
                advice: "Check that cloudflared can run on this machine, then re-run.".into(),
            })?;
        log.warn(format!(
            "The connector (pid {pid}) does not survive a reboot; re-run the same command afterwards."
        ));
        Ok(Started {
            pid,
            service_managed: false,
        })
    }

    /// Polls for a running connector of `ids`.
    fn wait_for_connector(&self, ids: TunnelIds<'_>) -> Option<u32> {
        parachute_os::wait::poll_until(self.appear_timeout, Duration::from_millis(100), || {
            self.find(ids).into_iter().next()
        })
    }

    /// Every live connector naming this tunnel's UUID or config path.
    pub(crate) fn find(&self, ids: TunnelIds<'_>) -> Vec<u32> {
        connector_candidates(self.runner)
            .into_iter()
            .filter(|(pid, cmd)| names_tunnel(cmd, ids) && process::is_alive(*pid))
            .map(|(pid, _)| pid)
            .filter(|pid| *pid != std::process::id())
            .collect()
    }

    /// Stops `pid` (SIGTERM, then SIGKILL after the grace period) if it is still a connector of
    /// `ids`: a recorded pid may since have been reused by another program, or by another
    /// tunnel's cloudflared, which must be left alone. Returns whether something was stopped.
    pub(crate) fn stop_pid(&self, pid: u32, ids: TunnelIds<'_>) -> bool {
        let is_connector = pid != std::process::id()
            && process::is_alive(pid)
            && process::command_line(pid).is_some_and(|c| names_tunnel(&c, ids));
        if !is_connector {
            return false;
        }
        let _ = process::signal(pid, Signal::SIGTERM);
        if !process::wait_gone(pid, self.stop_grace) {
            tracing::warn!(pid, "cloudflared ignored SIGTERM; sending SIGKILL");
            let _ = process::signal(pid, Signal::SIGKILL);
            let _ = process::wait_gone(pid, self.stop_grace);
        }
        true
    }

    /// Stops everything serving `ids` (its recorded pid plus any other connector for it).
    pub(crate) fn stop_all(&self, ids: TunnelIds<'_>, recorded: Option<u32>, log: &mut Log) {
        let mut pids: Vec<u32> = recorded.into_iter().collect();
        for pid in self.find(ids) {
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
        for pid in pids {
            if self.stop_pid(pid, ids) {
                log.info(format!("  stopped cloudflared connector (pid {pid})"));
            }
        }
    }

    /// Takes a recorded tunnel's connector down: unit first (so the manager does not respawn
    /// it), then every connector process of the tunnel.
    pub(crate) fn tear_down(&self, record: &TunnelRecord, log: &mut Log) {
        if let Ok(id) = UnitId::cloudflared(&record.tunnel_name) {
            match self.units.remove(&id) {
                RemoveOutcome::Removed { path } => {
                    log.info(format!("  removed connector unit {}", path.display()));
                }
                RemoveOutcome::Failed { detail } => log.warn(format!(
                    "the connector unit {} could not be removed ({detail}); remove it by hand so it does not restart the tunnel at boot.",
                    id.unit_name
                )),
                RemoveOutcome::NotInstalled | RemoveOutcome::NoManager => {}
            }
        }
        let config = Path::new(&record.config_path);
        self.stop_all(
            TunnelIds {
                name: &record.tunnel_name,
                uuid: &record.tunnel_uuid,
                config,
            },
            Some(record.pid),
            log,
        );
    }
}

/// True when a command line runs cloudflared (its program's file name) and names this
/// tunnel's UUID or config path.
fn names_tunnel(command: &str, ids: TunnelIds<'_>) -> bool {
    let is_cloudflared = command
        .split_whitespace()
        .next()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| name.to_string_lossy().starts_with("cloudflared"));
    let config = ids.config.display().to_string();
    is_cloudflared && (command.contains(ids.uuid) || command.contains(&config))
}

/// `(pid, command line)` of processes that might be connectors: every process on Linux (from
/// `/proc`), else the output of `pgrep -lf cloudflared`.
fn connector_candidates(runner: &dyn CommandRunner) -> Vec<(u32, String)> {
    if cfg!(target_os = "linux") {
        return process::all_pids()
            .into_iter()
            .filter_map(|pid| Some((pid, process::command_line(pid)?)))
            .collect();
    }
    let Ok(out) = runner.run_with_timeout("pgrep", &["-lf", "cloudflared"], Duration::from_secs(5))
    else {
        return Vec::new();
    };
    out.stdout
        .lines()
        .filter_map(|line| {
            let (pid, cmd) = line.trim().split_once(char::is_whitespace)?;
            Some((pid.parse().ok()?, cmd.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cloudflared_naming_this_tunnel_is_its_connector() {
        let config = Path::new("/home/a/.parachute/cloudflared/t/config.yml");
        let ids = TunnelIds {
            name: "t",
            uuid: "2b58e7e5-2fd2-4def-b495-0cea1ff34361",
            config,
        };
        assert!(names_tunnel(
            "/usr/local/bin/cloudflared tunnel --config /home/a/.parachute/cloudflared/t/config.yml run",
            ids
        ));
        assert!(names_tunnel(
            "cloudflared tunnel run 2b58e7e5-2fd2-4def-b495-0cea1ff34361",
            ids
        ));
        // Another tunnel's connector, and a program that only mentions the config.
        assert!(!names_tunnel(
            "cloudflared tunnel --config /etc/cloudflared/other.yml run",
            ids
        ));
        assert!(!names_tunnel(
            "less /home/a/.parachute/cloudflared/t/config.yml",
            ids
        ));
    }
}

//! What every migration verb needs to know about this machine, gathered once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parachute_home::Home;
use parachute_os::CommandRunner;
use parachute_unit::{EnsureConfig, HubUnitConfig, ManagedUnit, UnitEnv, UnitId, UnitSpec};

use crate::error::MigrateError;

/// The hub's canonical port.
pub const DEFAULT_HUB_PORT: u16 = 1939;

/// How long each waiting step of the cutover may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// After SIGTERM to a legacy process group, how long before SIGKILL (15 s).
    pub stop_grace: Duration,
    /// How long to wait for every port to be released (15 s).
    pub port_free: Duration,
    /// How long the hub may take to open its port and then answer `/health` (15 s each).
    pub ready: Duration,
    /// Pause between polls.
    pub poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            stop_grace: Duration::from_secs(15),
            port_free: Duration::from_secs(15),
            ready: Duration::from_secs(15),
            poll: Duration::from_millis(250),
        }
    }
}

/// The machine a migration acts on: config home, service manager, the hub unit to install.
#[derive(Debug, Clone)]
pub struct MigrateEnv {
    /// The config home (`PARACHUTE_HOME`), absolute.
    pub home: Home,
    /// The service manager, through which the hub unit is written, started and removed.
    pub units: ManagedUnit,
    /// What the hub unit runs: our binary's `serve`, the home, the port, the user's home.
    pub hub: HubUnitConfig,
    /// Budgets of the waiting steps.
    pub timing: Timing,
}

impl MigrateEnv {
    /// Reads the running process: `PARACHUTE_HOME` (else `~/.parachute`), the unit environment
    /// (uid, `HOME`, `PARACHUTE_UNIT_*` overrides), the manager found through `runner`, the hub
    /// port (`PORT` when set, else 1939 — tests and side-by-side installs use other ports) and
    /// this program's absolute path as the unit's `serve` binary.
    pub fn from_process(runner: Arc<dyn CommandRunner>) -> Result<Self, MigrateError> {
        let home = absolute_home(Home::from_env()?);
        let unit_env = UnitEnv::from_process()?;
        let port = port_from(std::env::var("PORT").ok())?;
        let search = std::env::var_os("PATH").unwrap_or_default();
        let hub = HubUnitConfig::for_parachute_binary(
            home.root(),
            port,
            unit_env.home_dir.clone(),
            &search,
        )?;
        let units = ManagedUnit::detect(runner, unit_env);
        Ok(Self {
            home,
            units,
            hub,
            timing: Timing::default(),
        })
    }

    /// An environment for a home and manager the caller already has (a lifecycle verb):
    /// the hub port is `PORT` when set, else 1939, and the unit runs this program's `serve`.
    pub fn from_parts(home: &Home, units: &ManagedUnit) -> Result<Self, MigrateError> {
        let home = absolute_home(home.clone());
        let port = port_from(std::env::var("PORT").ok())?;
        let search = std::env::var_os("PATH").unwrap_or_default();
        let hub = HubUnitConfig::for_parachute_binary(
            home.root(),
            port,
            units.env().home_dir.clone(),
            &search,
        )?;
        Ok(Self {
            home,
            units: units.clone(),
            hub,
            timing: Timing::default(),
        })
    }

    /// The hub port.
    pub fn port(&self) -> u16 {
        self.hub.port
    }

    /// The hub unit we install.
    pub fn hub_spec(&self) -> Result<UnitSpec, MigrateError> {
        Ok(UnitSpec::hub(&self.hub)?)
    }

    /// True when a hub unit file is installed (ours or anyone's: the name is the same).
    pub fn unit_installed(&self) -> bool {
        self.units.is_installed(&UnitId::hub())
    }

    /// True when the installed hub unit file is exactly the one we would write now, so it runs
    /// this binary's `serve` for this home and port. A unit left by the original hub (which runs
    /// `bun …/cli.ts serve`) or by an older binary path reads as false.
    pub fn unit_is_current(&self) -> bool {
        let (Some(path), Ok(spec)) = (self.units.unit_path(&UnitId::hub()), self.hub_spec()) else {
            return false;
        };
        match (std::fs::read_to_string(path), self.units.render(&spec)) {
            (Ok(on_disk), Some(ours)) => on_disk == ours,
            _ => false,
        }
    }

    /// The `ExecStart=` line of an installed systemd hub unit (for explaining what it runs).
    pub fn installed_exec_start(&self) -> Option<String> {
        let path = self.units.unit_path(&UnitId::hub())?;
        let text = std::fs::read_to_string(path).ok()?;
        text.lines()
            .find_map(|l| l.trim().strip_prefix("ExecStart="))
            .map(|s| s.trim().to_string())
    }

    /// The bring-up settings for the hub port, with our readiness budget and the hub log.
    pub fn ensure_config(&self) -> EnsureConfig {
        let mut cfg = EnsureConfig::for_port(self.port());
        cfg.ready_timeout = self.timing.ready;
        cfg.poll_interval = self.timing.poll;
        cfg.log_path = Some(self.hub.log_path());
        cfg
    }

    /// True when `GET /health` on the hub port answers 2xx.
    pub fn hub_healthy(&self) -> bool {
        parachute_unit::probe_health(self.port(), Duration::from_millis(1500))
    }
}

/// Parses the `PORT` value: absent or empty means 1939.
pub fn port_from(value: Option<String>) -> Result<u16, MigrateError> {
    match value {
        None => Ok(DEFAULT_HUB_PORT),
        Some(v) if v.trim().is_empty() => Ok(DEFAULT_HUB_PORT),
        Some(v) => match v.trim().parse::<u16>() {
            Ok(p) if p != 0 => Ok(p),
            _ => Err(MigrateError::BadPort(v)),
        },
    }
}

/// The home made absolute: the unit bakes it in, and a relative path would mean nothing to the
/// service manager.
fn absolute_home(home: Home) -> Home {
    let root: PathBuf = std::path::absolute(home.root()).unwrap_or_else(|_| home.root().into());
    Home::at(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults_to_1939_and_rejects_garbage() {
        assert_eq!(port_from(None).unwrap(), 1939);
        assert_eq!(port_from(Some(" ".into())).unwrap(), 1939);
        assert_eq!(port_from(Some("41000".into())).unwrap(), 41000);
        for bad in ["0", "70000", "abc", "-1"] {
            let err = port_from(Some(bad.into())).unwrap_err().to_string();
            assert!(err.contains("PORT") && err.contains(bad), "{err}");
        }
    }
}

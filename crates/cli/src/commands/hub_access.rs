//! What the hub-facing verbs (`status`, `start|stop|restart`, `logs`, `auth`) share: the home,
//! a small async runtime for loopback HTTP, the hub unit's manager.

use std::sync::Arc;

use parachute_home::Home;
use parachute_unit::{EnsureConfig, ManagedUnit, UnitEnv};

/// The config home from `PARACHUTE_HOME` / `HOME`, or the message to print.
pub fn home() -> Result<Home, String> {
    Home::from_env().map_err(|e| e.to_string())
}

/// A single-threaded runtime for the verb's HTTP calls (enough for a handful of concurrent
/// loopback requests; `spawn_blocking` covers file and database work).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// The hub unit's manager for this user: `systemctl`/`launchctl` found on `PATH` (or forced by
/// `PARACHUTE_UNIT_MANAGER`), unit files where the platform keeps them (or
/// `PARACHUTE_UNIT_DIR`).
pub fn unit_manager() -> Result<ManagedUnit, String> {
    let env = UnitEnv::from_process().map_err(|e| e.to_string())?;
    Ok(ManagedUnit::detect(
        Arc::new(parachute_os::SystemRunner::from_env()),
        env,
    ))
}

/// How `ensure hub up` probes and waits for the hub of `home`; fails (naming the file) when
/// `hub/run/hub.port` holds no port.
pub fn ensure_config(home: &Home) -> Result<EnsureConfig, String> {
    let port = parachute_client::hub_port(home).map_err(|e| e.to_string())?;
    let mut cfg = EnsureConfig::for_port(port);
    cfg.log_path = Some(home.hub_log());
    Ok(cfg)
}

/// The module short name for what the user typed: a registry name of a first-party module
/// (`parachute-vault`) becomes its short (`vault`); anything else is taken as given.
pub fn module_short(name: &str) -> String {
    parachute_home::services::known_short(name)
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_map_to_shorts() {
        assert_eq!(module_short("parachute-vault"), "vault");
        assert_eq!(module_short("parachute-vault-work"), "vault");
        assert_eq!(module_short("scribe"), "scribe");
        assert_eq!(module_short("third-party"), "third-party");
    }
}

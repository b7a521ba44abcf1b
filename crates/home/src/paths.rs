//! Where every file of the config home lives.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::HomeError;

/// The config home root (`$PARACHUTE_HOME`, else `$HOME/.parachute`) and every path under it.
///
/// Paths are computed, never created: callers create directories when they write (the atomic
/// writer creates parent directories itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Home {
    /// The root directory; every other path is relative to it.
    root: PathBuf,
}

/// The exact root that signals "running in the official container image".
pub const CONTAINER_ROOT: &str = "/parachute";

impl Home {
    /// Resolves the home from the process environment: `PARACHUTE_HOME` when set and non-empty,
    /// else `$HOME/.parachute`.
    pub fn from_env() -> Result<Home, HomeError> {
        Home::resolve(|key| std::env::var_os(key))
    }

    /// Resolves the home from any variable lookup (tests pass a closure instead of mutating the
    /// process environment).
    pub fn resolve(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Home, HomeError> {
        if let Some(root) = lookup("PARACHUTE_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::at(root));
        }
        match lookup("HOME").filter(|v| !v.is_empty()) {
            Some(home) => Ok(Home::at(PathBuf::from(home).join(".parachute"))),
            None => Err(HomeError::NoHome),
        }
    }

    /// A home rooted at `root` (tests use a temp directory).
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is the container layout (`PARACHUTE_HOME=/parachute` exactly).
    pub fn is_container(&self) -> bool {
        self.root.as_os_str() == CONTAINER_ROOT
    }

    /// `services.json`: the module registry.
    pub fn services_json(&self) -> PathBuf {
        self.root.join("services.json")
    }

    /// `expose-state.json`: the active Tailscale exposure.
    pub fn expose_state(&self) -> PathBuf {
        self.root.join("expose-state.json")
    }

    /// `cloudflared-state.json`: running Cloudflare tunnels.
    pub fn cloudflared_state(&self) -> PathBuf {
        self.root.join("cloudflared-state.json")
    }

    /// `cloudflared.log`: output of tunnels we started.
    pub fn cloudflared_log(&self) -> PathBuf {
        self.root.join("cloudflared.log")
    }

    /// `expose-last-provider.json`: which provider the last `expose` used.
    pub fn expose_last_provider(&self) -> PathBuf {
        self.root.join("expose-last-provider.json")
    }

    /// `hub-upgrade-status.json`: progress of a hub self-upgrade (mode 0600).
    pub fn hub_upgrade_status(&self) -> PathBuf {
        self.root.join("hub-upgrade-status.json")
    }

    /// `operator.token`: the CLI's bearer token (mode 0600).
    pub fn operator_token(&self) -> PathBuf {
        self.root.join("operator.token")
    }

    /// `hub.db`: the SQLite database of users, keys and tokens.
    pub fn hub_db(&self) -> PathBuf {
        self.root.join("hub.db")
    }

    /// `well-known/`: static discovery files.
    pub fn well_known_dir(&self) -> PathBuf {
        self.root.join("well-known")
    }

    /// `well-known/parachute.json`: the discovery document written on expose/install.
    pub fn well_known_parachute_json(&self) -> PathBuf {
        self.well_known_dir().join("parachute.json")
    }

    /// `well-known/hub.html`: the static hub page.
    pub fn well_known_hub_html(&self) -> PathBuf {
        self.well_known_dir().join("hub.html")
    }

    /// `hub/`: the hub's own directory.
    pub fn hub_dir(&self) -> PathBuf {
        self.root.join("hub")
    }

    /// `hub/run/hub.port`: the port the running hub listens on.
    pub fn hub_port_file(&self) -> PathBuf {
        self.hub_dir().join("run").join("hub.port")
    }

    /// `hub/run/hub.pid`: legacy pid file of a detached hub (read-only).
    pub fn hub_pid_file(&self) -> PathBuf {
        self.hub_dir().join("run").join("hub.pid")
    }

    /// `hub/logs/hub.log`: the hub unit's output.
    pub fn hub_log(&self) -> PathBuf {
        self.hub_dir().join("logs").join("hub.log")
    }

    /// `<short>/`: a module's directory.
    pub fn module_dir(&self, short: &str) -> PathBuf {
        self.root.join(short)
    }

    /// `<short>/.env`: variables merged into the module's spawn environment.
    pub fn module_env(&self, short: &str) -> PathBuf {
        self.module_dir(short).join(".env")
    }

    /// `<short>/logs/<short>.log`: the module's persisted output.
    pub fn module_log(&self, short: &str) -> PathBuf {
        self.module_dir(short)
            .join("logs")
            .join(format!("{short}.log"))
    }

    /// `<short>/run/<short>.pid`: legacy pid file of a detached module (read-only).
    pub fn module_pid_file(&self, short: &str) -> PathBuf {
        self.module_dir(short)
            .join("run")
            .join(format!("{short}.pid"))
    }

    /// `cloudflared/`: per-tunnel cloudflared configuration.
    pub fn cloudflared_dir(&self) -> PathBuf {
        self.root.join("cloudflared")
    }

    /// `cloudflared/<tunnel>/config.yml`: one tunnel's ingress config.
    pub fn cloudflared_config(&self, tunnel: &str) -> PathBuf {
        self.cloudflared_dir().join(tunnel).join("config.yml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn parachute_home_wins_when_non_empty() {
        let home = Home::resolve(lookup(&[("PARACHUTE_HOME", "/srv/p"), ("HOME", "/home/u")]));
        assert_eq!(home.unwrap().root(), Path::new("/srv/p"));
        let home = Home::resolve(lookup(&[("PARACHUTE_HOME", ""), ("HOME", "/home/u")]));
        assert_eq!(home.unwrap().root(), Path::new("/home/u/.parachute"));
        let err = Home::resolve(lookup(&[])).unwrap_err().to_string();
        assert!(err.contains("PARACHUTE_HOME"), "{err}");
    }

    #[test]
    fn container_signal_is_exact() {
        assert!(Home::at("/parachute").is_container());
        assert!(!Home::at("/parachute/").is_container());
        assert!(!Home::at("/srv/parachute").is_container());
    }

    #[test]
    fn layout() {
        let h = Home::at("/p");
        let cases = [
            (h.services_json(), "/p/services.json"),
            (h.expose_state(), "/p/expose-state.json"),
            (h.cloudflared_state(), "/p/cloudflared-state.json"),
            (h.expose_last_provider(), "/p/expose-last-provider.json"),
            (h.hub_upgrade_status(), "/p/hub-upgrade-status.json"),
            (h.operator_token(), "/p/operator.token"),
            (h.hub_db(), "/p/hub.db"),
            (
                h.well_known_parachute_json(),
                "/p/well-known/parachute.json",
            ),
            (h.well_known_hub_html(), "/p/well-known/hub.html"),
            (h.hub_port_file(), "/p/hub/run/hub.port"),
            (h.hub_pid_file(), "/p/hub/run/hub.pid"),
            (h.hub_log(), "/p/hub/logs/hub.log"),
            (h.module_env("vault"), "/p/vault/.env"),
            (h.module_log("vault"), "/p/vault/logs/vault.log"),
            (h.module_pid_file("vault"), "/p/vault/run/vault.pid"),
            (h.cloudflared_config("t1"), "/p/cloudflared/t1/config.yml"),
            (h.cloudflared_log(), "/p/cloudflared.log"),
        ];
        for (got, want) in cases {
            assert_eq!(got, PathBuf::from(want));
        }
    }
}

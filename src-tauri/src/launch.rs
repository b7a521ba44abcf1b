//! Everything the app reads from its environment, once, before any window exists.
//!
//! The hub settings are `serve`'s ([`HubConfig::from_vars`] over the same variables), so
//! `PARACHUTE_HOME`, `PORT` and the rest mean the same in both binaries. Two things differ:
//! modules get the environment the hub unit would give them ([`unit_module_env`]: `PATH` with
//! the package manager's bin directory, `BUN_INSTALL`) rather than whatever the desktop
//! session had, and the hub does not copy module lines to stdout (the app has no terminal).

use std::path::PathBuf;
use std::sync::Arc;

use parachute_home::Home;
use parachute_hub::HubConfig;
use parachute_unit::{EnsureConfig, HubUnitConfig, ManagedUnit, UnitEnv};

/// The variable WebKitGTK reads to turn off its DMA-BUF renderer (blank windows on many GPUs
/// and under Xvfb); set to `1` unless the person set it.
pub const WEBKIT_DMABUF_ENV: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// What the app was started with.
pub struct Launch {
    /// The hub settings (also used when attaching: home and port).
    pub hub: HubConfig,
    /// The hub unit's manager for this user.
    pub units: ManagedUnit,
    /// How the hub is probed and waited for.
    pub ensure: EnsureConfig,
    /// The user's home directory (`~/.cloudflared`, `~/.bun`, the login item).
    pub user_home: PathBuf,
    /// This program, as the login item registers it.
    pub exe: PathBuf,
    /// The `parachute` binary beside the app (what units and the upgrade use), if present.
    pub parachute_bin: Option<PathBuf>,
    /// `PARACHUTE_DESKTOP_E2E_EVAL`: script the end-to-end suite runs in the dashboard's pages
    /// after the bridge is set up (it calls the bridge the way the dashboard would).
    pub e2e_eval: Option<String>,
}

/// The variable holding the end-to-end suite's dashboard script.
pub const E2E_EVAL_ENV: &str = "PARACHUTE_DESKTOP_E2E_EVAL";

/// Why the app cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A hub setting is wrong (the message names the variable and the fix).
    #[error(transparent)]
    Config(#[from] parachute_hub::ConfigError),
    /// The unit environment cannot be read (no home directory, bad `PARACHUTE_UNIT_*`).
    #[error(transparent)]
    Unit(#[from] parachute_unit::UnitError),
    /// The running program's path is unknown.
    #[error("cannot find the path of the running program: {0}")]
    Exe(std::io::Error),
}

impl Launch {
    /// Reads the process environment (the app's one read of it).
    pub fn from_env() -> Result<Self, LaunchError> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let home = Home::from_env().map_err(parachute_hub::ConfigError::from)?;
        let exe = std::env::current_exe().map_err(LaunchError::Exe)?;
        Self::from_vars(vars, home, exe)
    }

    /// [`Launch::from_env`] over a given environment (tests).
    pub fn from_vars(
        vars: Vec<(String, String)>,
        home: Home,
        exe: PathBuf,
    ) -> Result<Self, LaunchError> {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(key, v)| key == k && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let unit_env = UnitEnv::from_lookup(lookup)?;
        let user_home = unit_env.home_dir.clone();
        let search_path = lookup("PATH").unwrap_or_default();
        let parachute_bin = parachute_unit::parachute_binary(&exe, search_path.as_ref()).ok();
        let mut hub = HubConfig::from_vars(vars.clone(), home.clone())?;
        let unit_like = HubUnitConfig {
            exe: parachute_bin.clone().unwrap_or_else(|| exe.clone()),
            parachute_home: home.root().to_path_buf(),
            port: hub.port,
            user_home: user_home.clone(),
        };
        hub.module_env = unit_module_env(&hub.module_env, &unit_like);
        hub.tools.search_path = unit_like.path_env().into();
        hub.tools.bun_global_roots = parachute_hub::config::bun_global_roots(
            Some(&user_home.join(".bun").display().to_string()),
            None,
        );
        hub.build.source = "desktop".into();
        hub.runtime.stdout_lines = false;
        // GTK and WebKit own children of their own; the supervisor's process groups and
        // parent-death signal already keep modules from outliving the app.
        hub.runtime.subreaper = false;
        if hub.upgrade.settings.binary.is_none() {
            hub.upgrade.settings.binary = parachute_bin.clone();
        }
        let units = ManagedUnit::detect(Arc::new(parachute_os::SystemRunner::from_env()), unit_env);
        let e2e_eval = lookup(E2E_EVAL_ENV);
        let mut ensure = EnsureConfig::for_port(hub.port);
        ensure.log_path = Some(home.hub_log());
        Ok(Self {
            hub,
            units,
            ensure,
            user_home,
            exe,
            parachute_bin,
            e2e_eval,
        })
    }

    /// The config home.
    pub fn home(&self) -> &Home {
        &self.hub.home
    }
}

/// The modules' base environment: `base` with `PATH` and `BUN_INSTALL` replaced by what the
/// hub unit for `unit` would set, so a module started by the app finds the same tools as one
/// started by the unit after a reboot.
pub fn unit_module_env(base: &[(String, String)], unit: &HubUnitConfig) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| k != "PATH" && k != "BUN_INSTALL")
        .cloned()
        .collect();
    env.push(("PATH".into(), unit.path_env()));
    env.push((
        "BUN_INSTALL".into(),
        unit.user_home.join(".bun").display().to_string(),
    ));
    env
}

/// Sets [`WEBKIT_DMABUF_ENV`] to `1` unless it is set. Called first thing in `main`, while
/// the process has one thread.
pub fn default_webkit_env() {
    if cfg!(target_os = "linux") && std::env::var_os(WEBKIT_DMABUF_ENV).is_none() {
        // SAFETY: called at the start of the app's entry, before any other thread exists, so
        // nothing reads the environment concurrently.
        unsafe { std::env::set_var(WEBKIT_DMABUF_ENV, "1") };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("HOME", "/home/ada"),
            ("USER", "ada"),
            ("PATH", "/gui/only/bin:/usr/bin"),
            ("DISPLAY", ":0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        v.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        v
    }

    #[test]
    fn modules_get_the_units_path_and_bun_install_not_the_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let launch = Launch::from_vars(
            vars(&[("PORT", "4321"), ("BUN_INSTALL", "/gui/bun")]),
            Home::at(dir.path().join("home")),
            bin.join("parachute-desktop"),
        )
        .unwrap();
        let env: std::collections::HashMap<_, _> = launch.hub.module_env.iter().cloned().collect();
        let path = &env["PATH"];
        assert!(path.contains("/home/ada/.bun/bin"), "{path}");
        assert!(!path.contains("/gui/only/bin"), "{path}");
        assert!(path.starts_with(&bin.display().to_string()), "{path}");
        assert_eq!(env["BUN_INSTALL"], "/home/ada/.bun");
        assert_eq!(env["DISPLAY"], ":0");
        assert_eq!(launch.hub.port, 4321);
        assert_eq!(launch.ensure.port, 4321);
        assert_eq!(launch.hub.build.source, "desktop");
        assert!(!launch.hub.runtime.stdout_lines);
    }

    #[test]
    fn a_bad_port_fails_as_serve_does() {
        let dir = tempfile::tempdir().unwrap();
        let err = Launch::from_vars(
            vars(&[("PORT", "nope")]),
            Home::at(dir.path()),
            dir.path().join("parachute-desktop"),
        )
        .err()
        .expect("a bad PORT must fail");
        assert!(err.to_string().contains("PORT"), "{err}");
    }
}

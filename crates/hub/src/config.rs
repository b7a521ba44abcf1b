//! Every setting of the hub, read once at the entry point and validated before anything starts.
//!
//! The library never reads the process environment on its own: the front end (`parachute
//! serve`, the desktop app, a test) builds a [`HubConfig`] — from the environment with
//! [`HubConfig::from_env`] or [`HubConfig::from_vars`], or field by field — and hands it to
//! [`crate::Hub::bind`]. A bad value fails here, naming the variable, what it held and the fix,
//! before a port is bound or a module spawned (ripgrep's parse-then-act).

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use parachute_home::{BadPort, Home, parse_port};
use parachute_supervisor::SupervisorConfig;

use crate::packages::{CHANNEL_ENV, Channel};

/// The hub's default port.
pub const DEFAULT_PORT: u16 = parachute_home::DEFAULT_HUB_PORT;

/// The variable listing extra host names the hub answers for (comma-separated).
pub const ALLOWED_HOSTS_ENV: &str = "PARACHUTE_ALLOWED_HOSTS";

/// Hub variables that are secrets of the hub alone and never reach a module's environment:
/// the first admin's password only seeds `hub.db`, and a module that prints or reports its
/// environment must not be able to leak it.
pub const HUB_ONLY_ENV: &[&str] = &["PARACHUTE_INITIAL_ADMIN_PASSWORD"];

/// Everything the hub needs to know up front.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The config home (`PARACHUTE_HOME`, else `~/.parachute`).
    pub home: Home,
    /// Listen port (`PORT`, default 1939; 0 picks a free port, for in-process tests).
    pub port: u16,
    /// Listen address (`PARACHUTE_BIND_HOST`, default 127.0.0.1).
    pub bind_host: IpAddr,
    /// Issuer fixed by the environment (`PARACHUTE_HUB_ORIGIN` > `RENDER_EXTERNAL_URL` >
    /// `https://$FLY_APP_NAME.fly.dev`), normalised.
    pub env_origin: Option<String>,
    /// Extra host names the hub answers for (`PARACHUTE_ALLOWED_HOSTS`), lowercased, without
    /// ports.
    pub allowed_hosts: Vec<String>,
    /// The first admin to create when `hub.db` has no user yet.
    pub seed_admin: Option<SeedAdmin>,
    /// The module install channel pinned by the environment (`PARACHUTE_INSTALL_CHANNEL`, then
    /// `PARACHUTE_MODULE_CHANNEL`); it wins over the stored setting.
    pub install_channel: Option<Channel>,
    /// Where external tools (`bun`, `npm`) are looked up, and where Bun keeps global packages.
    pub tools: ToolPaths,
    /// The environment every module starts from (before its `PORT`, `.env` and hub origin are
    /// layered on). Never contains [`HUB_ONLY_ENV`].
    pub module_env: Vec<(String, String)>,
    /// How this hub was built and deployed, for `GET /api/hub`.
    pub build: BuildInfo,
    /// Self-upgrade and update-check settings (`PARACHUTE_UPDATE_*`, `PARACHUTE_UPGRADE_*`,
    /// the unit variables).
    pub upgrade: UpgradeOptions,
    /// Choices that belong to the process embedding the hub.
    pub runtime: RuntimeOptions,
}

/// The seed admin (`PARACHUTE_INITIAL_ADMIN_USERNAME` / `_PASSWORD`). `Debug` hides the password.
#[derive(Clone)]
pub struct SeedAdmin {
    /// Account name.
    pub username: String,
    /// Its password (a secret: never logged, never passed to modules).
    pub password: String,
}

impl std::fmt::Debug for SeedAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedAdmin")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where the package manager and other tools are found.
#[derive(Debug, Clone)]
pub struct ToolPaths {
    /// The `PATH` external tools are looked up on.
    pub search_path: OsString,
    /// Bun's global `node_modules` directories, searched in order (`$BUN_INSTALL`, `~/.bun`).
    pub bun_global_roots: Vec<PathBuf>,
}

/// Deployment facts shown by `GET /api/hub`.
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// `binary`, `desktop` or `container`.
    pub source: String,
    /// `PARACHUTE_BUILD_TIME` of a container image.
    pub build_time: Option<String>,
    /// `RENDER_GIT_COMMIT` in a Render container.
    pub render_commit: Option<String>,
    /// `RENDER_GIT_BRANCH` in a Render container.
    pub render_branch: Option<String>,
}

/// The variable that sets how often the hub checks the release feed by itself.
pub const UPDATE_CHECK_ENV: &str = "PARACHUTE_UPDATE_CHECK_SECS";

/// How often the hub checks the release feed by itself unless told otherwise: once a day.
pub const DEFAULT_UPDATE_CHECK: Duration = Duration::from_secs(24 * 60 * 60);

/// How the hub upgrades itself and learns about new releases.
#[derive(Debug, Clone)]
pub struct UpgradeOptions {
    /// Feed, key, binary, health-gate and lock settings, and the detached helper's environment.
    pub settings: parachute_upgrade::UpgradeSettings,
    /// Who runs the hub and which service manager restarts it (`PARACHUTE_UNIT_*`).
    pub units: parachute_unit::UnitEnv,
    /// How often the hub checks the feed by itself (`PARACHUTE_UPDATE_CHECK_SECS`, default a
    /// day; `0` or `off`: never, only when asked). The first check comes one interval (at most
    /// an hour) after the start, never at the start itself.
    pub check_interval: Option<Duration>,
}

/// What the embedding process decides.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Make this process a child subreaper so orphaned grandchildren of modules are reaped
    /// here (`serve`: yes; an app that has its own children may say no).
    pub subreaper: bool,
    /// Print every module line as `[short] line` on this process's stdout (`serve`: yes; the
    /// desktop app: no, it has no terminal).
    pub stdout_lines: bool,
    /// How many events a subscriber may fall behind before it is told it lagged.
    pub event_capacity: usize,
    /// Supervisor tuning (crash policy, grace, readiness).
    pub supervisor: SupervisorConfig,
    /// How long open connections may keep the hub from stopping its modules after a stop
    /// request (see [`crate::serve::CONNECTION_GRACE`]).
    pub connection_grace: Duration,
    /// Header and idle timeouts and the connection limit of the HTTP server
    /// (`PARACHUTE_HTTP_*`), so a few thousand slow clients cannot exhaust the hub.
    pub http: crate::server::HttpLimits,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            subreaper: true,
            stdout_lines: true,
            event_capacity: 1024,
            supervisor: SupervisorConfig::default(),
            connection_grace: Duration::from_secs(5),
            http: crate::server::HttpLimits::default(),
        }
    }
}

/// A setting the hub cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `PORT` is not an integer in 1..=65535.
    #[error(transparent)]
    BadPort(#[from] BadPort),
    /// `PARACHUTE_BIND_HOST` is not an IP address.
    #[error("PARACHUTE_BIND_HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, got {0:?}")]
    BadBindHost(String),
    /// An origin variable is not an http(s) origin.
    #[error(
        "{var}={value:?} is not a usable hub origin: {reason}; give scheme and host only, e.g. https://hub.example.com"
    )]
    BadOrigin {
        /// The variable.
        var: &'static str,
        /// What it held.
        value: String,
        /// Which rule it breaks.
        reason: parachute_auth::OriginError,
    },
    /// An entry of `PARACHUTE_ALLOWED_HOSTS` is not a host name.
    #[error(
        "PARACHUTE_ALLOWED_HOSTS entry {0:?} is not a host name; list bare names such as hub.example.com,box.local (no scheme, path or wildcard)"
    )]
    BadAllowedHost(String),
    /// An install-channel variable holds something other than `latest` or `rc`.
    #[error("{var}={value:?} is not an install channel; use latest or rc, or unset it")]
    BadChannel {
        /// The variable.
        var: &'static str,
        /// What it held.
        value: String,
    },
    /// `PARACHUTE_EVENT_CAPACITY` is not a positive number.
    #[error(
        "PARACHUTE_EVENT_CAPACITY must be a positive number of events, got {0:?}; unset it for the default (1024)"
    )]
    BadEventCapacity(String),
    /// An upgrade setting (`PARACHUTE_UPDATE_*`, `PARACHUTE_UPGRADE_*`) is unusable.
    #[error("{0}")]
    Upgrade(#[from] parachute_upgrade::UpgradeError),
    /// A unit variable (`PARACHUTE_UNIT_*`) is unusable, or no home directory is known.
    #[error(transparent)]
    Unit(#[from] parachute_unit::UnitError),
    /// `PARACHUTE_UPDATE_CHECK_SECS` is not a number of seconds.
    #[error(
        "PARACHUTE_UPDATE_CHECK_SECS={0:?} is not a number of seconds; give e.g. 86400 for a daily check, or 0 (or off) to check only when asked"
    )]
    BadUpdateCheck(String),
    /// A `PARACHUTE_HTTP_*` limit is not a usable number.
    #[error(transparent)]
    HttpLimit(#[from] crate::server::BadLimit),
    /// Only one of the two seed-admin variables is set.
    #[error(
        "PARACHUTE_INITIAL_ADMIN_USERNAME and PARACHUTE_INITIAL_ADMIN_PASSWORD go together: set both to create the first admin, or neither"
    )]
    HalfSeedAdmin,
    /// No home directory could be determined.
    #[error(transparent)]
    Home(#[from] parachute_home::HomeError),
}

impl HubConfig {
    /// Reads the process environment (the entry point's one read of it).
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let home = Home::from_env()?;
        Self::from_vars(vars, home)
    }

    /// Reads settings from `vars` (the whole environment the hub runs in; tests pass a list)
    /// for the given home. The same list, minus [`HUB_ONLY_ENV`], becomes the modules' base
    /// environment.
    pub fn from_vars(vars: Vec<(String, String)>, home: Home) -> Result<Self, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let get = |key: &str| map.get(key).copied().filter(|v| !v.trim().is_empty());
        let port = parse_port(get("PORT"))?;
        let bind_host = match get("PARACHUTE_BIND_HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::BadBindHost(raw.to_string()))?,
        };
        let env_origin = env_origin(&get)?;
        let allowed_hosts = match get(ALLOWED_HOSTS_ENV) {
            None => Vec::new(),
            Some(list) => parse_allowed_hosts(list)?,
        };
        let seed_admin = match (
            get("PARACHUTE_INITIAL_ADMIN_USERNAME"),
            get("PARACHUTE_INITIAL_ADMIN_PASSWORD"),
        ) {
            (Some(username), Some(password)) => Some(SeedAdmin {
                username: username.trim().to_string(),
                password: password.to_string(),
            }),
            (None, None) => None,
            _ => return Err(ConfigError::HalfSeedAdmin),
        };
        let mut install_channel = None;
        for var in CHANNEL_ENV {
            if let Some(raw) = get(var) {
                install_channel =
                    Some(
                        Channel::parse(raw.trim()).ok_or_else(|| ConfigError::BadChannel {
                            var,
                            value: raw.to_string(),
                        })?,
                    );
                break;
            }
        }
        let tools = ToolPaths {
            search_path: get("PATH").unwrap_or("/usr/bin:/bin").into(),
            bun_global_roots: bun_global_roots(get("BUN_INSTALL"), get("HOME")),
        };
        let build = BuildInfo {
            source: if home.is_container() {
                "container".into()
            } else {
                "binary".into()
            },
            build_time: get("PARACHUTE_BUILD_TIME").map(str::to_string),
            render_commit: get("RENDER_GIT_COMMIT").map(str::to_string),
            render_branch: get("RENDER_GIT_BRANCH").map(str::to_string),
        };
        let mut runtime = RuntimeOptions::default();
        if let Some(raw) = get("PARACHUTE_EVENT_CAPACITY") {
            runtime.event_capacity = raw
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::BadEventCapacity(raw.to_string()))?;
        }
        runtime.http = crate::server::HttpLimits::from_lookup(get)?;
        let upgrade = UpgradeOptions {
            settings: parachute_upgrade::UpgradeSettings::from_vars(&vars)?,
            units: parachute_unit::UnitEnv::from_lookup(|k| get(k).map(str::to_string))?,
            check_interval: parse_update_check(get(UPDATE_CHECK_ENV))?,
        };
        let module_env = vars
            .iter()
            .filter(|(k, _)| !HUB_ONLY_ENV.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok(Self {
            home,
            port,
            bind_host,
            env_origin,
            allowed_hosts,
            seed_admin,
            install_channel,
            tools,
            module_env,
            build,
            upgrade,
            runtime,
        })
    }
}

/// `PARACHUTE_UPDATE_CHECK_SECS`: unset → a day; `0`/`off` → never; else that many seconds.
fn parse_update_check(raw: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(Some(DEFAULT_UPDATE_CHECK));
    };
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match raw.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(secs) => Ok(Some(Duration::from_secs(secs))),
        Err(_) => Err(ConfigError::BadUpdateCheck(raw.to_string())),
    }
}

/// The environment layer of the issuer rule ([`parachute_auth::env_origin_from`]), validated.
fn env_origin<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Option<String>, ConfigError> {
    parachute_auth::env_origin_from(|var| get(var).map(str::to_string)).map_err(|e| {
        ConfigError::BadOrigin {
            var: e.var,
            value: e.value,
            reason: e.reason,
        }
    })
}

/// Splits `PARACHUTE_ALLOWED_HOSTS`: bare host names (optionally with a port, which is
/// dropped), no scheme, path, wildcard or other punctuation.
fn parse_allowed_hosts(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut hosts = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let host = match entry.rsplit_once(':') {
            Some((h, port)) if port.parse::<u16>().is_ok() && !h.contains(':') => h,
            _ => entry,
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !valid {
            return Err(ConfigError::BadAllowedHost(entry.to_string()));
        }
        hosts.push(host.to_ascii_lowercase());
    }
    Ok(hosts)
}

/// Bun's global package directories: `$BUN_INSTALL/install/global/node_modules`, then
/// `~/.bun/install/global/node_modules`.
pub fn bun_global_roots(bun_install: Option<&str>, home: Option<&str>) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = bun_install {
        roots.push(PathBuf::from(dir).join("install/global/node_modules"));
    }
    if let Some(home) = home {
        roots.push(PathBuf::from(home).join(".bun/install/global/node_modules"));
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<HubConfig, ConfigError> {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HubConfig::from_vars(vars, Home::at("/tmp/x"))
    }

    #[test]
    fn defaults_to_loopback_1939() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 1939);
        assert_eq!(c.bind_host.to_string(), "127.0.0.1");
        assert_eq!(c.env_origin, None);
        assert!(c.allowed_hosts.is_empty() && c.seed_admin.is_none());
        assert_eq!(c.install_channel, None);
    }

    #[test]
    fn rejects_bad_values_naming_them() {
        for bad in ["0", "65536", "abc", "-1"] {
            let err = cfg(&[("PORT", bad)]).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let cases: &[(&str, &str)] = &[
            ("PARACHUTE_BIND_HOST", "everywhere"),
            ("PARACHUTE_HUB_ORIGIN", "hub.example.com"),
            ("PARACHUTE_HUB_ORIGIN", "https://hub.example.com/path"),
            ("PARACHUTE_INSTALL_CHANNEL", "beta"),
            ("PARACHUTE_ALLOWED_HOSTS", "good.example,*"),
            ("PARACHUTE_ALLOWED_HOSTS", "https://x.example"),
            ("PARACHUTE_ALLOWED_HOSTS", "x.example/path"),
        ];
        for (var, value) in cases {
            let err = cfg(&[(var, value)]).unwrap_err().to_string();
            let shown = if *var == "PARACHUTE_ALLOWED_HOSTS" {
                value.rsplit(',').next().unwrap().to_string()
            } else {
                value.to_string()
            };
            assert!(err.contains(&shown) && err.contains(var), "{var}: {err}");
        }
        let err = cfg(&[("PARACHUTE_INITIAL_ADMIN_USERNAME", "admin")]).unwrap_err();
        assert!(matches!(err, ConfigError::HalfSeedAdmin), "{err}");
    }

    #[test]
    fn upgrade_settings_are_read_here_and_bad_ones_refused() {
        let c = cfg(&[
            ("PARACHUTE_UPDATE_URL", "http://127.0.0.1:9/feed/"),
            ("PARACHUTE_UPGRADE_GATE_SECS", "5"),
            ("PARACHUTE_UNIT_MANAGER", "none"),
            ("PARACHUTE_UPDATE_CHECK_SECS", "off"),
        ])
        .unwrap();
        assert_eq!(c.upgrade.settings.feed_url, "http://127.0.0.1:9/feed");
        assert_eq!(c.upgrade.settings.gate_timeout, Duration::from_secs(5));
        assert_eq!(
            c.upgrade.units.manager_override,
            Some(parachute_unit::ManagerKind::None)
        );
        assert_eq!(c.upgrade.check_interval, None);
        assert_eq!(
            cfg(&[]).unwrap().upgrade.check_interval,
            Some(DEFAULT_UPDATE_CHECK)
        );
        assert_eq!(
            cfg(&[("PARACHUTE_UPDATE_CHECK_SECS", "60")])
                .unwrap()
                .upgrade
                .check_interval,
            Some(Duration::from_secs(60))
        );
        for (var, value) in [
            ("PARACHUTE_UPDATE_URL", "http://releases.example.org"),
            ("PARACHUTE_UPGRADE_LOCK_TTL_SECS", "forever"),
            ("PARACHUTE_UNIT_SCOPE", "global"),
            ("PARACHUTE_UPDATE_CHECK_SECS", "daily"),
        ] {
            let err = cfg(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn origin_precedence_and_normalisation() {
        let c = cfg(&[
            ("RENDER_EXTERNAL_URL", "https://R.example/"),
            ("FLY_APP_NAME", "f"),
        ])
        .unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://r.example"));
        let c = cfg(&[("FLY_APP_NAME", "f")]).unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://f.fly.dev"));
        let c = cfg(&[
            ("PARACHUTE_HUB_ORIGIN", "https://h.example"),
            ("FLY_APP_NAME", "f"),
        ])
        .unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://h.example"));
    }

    #[test]
    fn allowed_hosts_channel_seed_and_module_env() {
        let c = cfg(&[
            (
                "PARACHUTE_ALLOWED_HOSTS",
                " Hub.Example.com:8443 , box.local,",
            ),
            ("PARACHUTE_MODULE_CHANNEL", "rc"),
            ("PARACHUTE_INITIAL_ADMIN_USERNAME", "owner"),
            ("PARACHUTE_INITIAL_ADMIN_PASSWORD", "s3cret-pass"),
            ("BUN_INSTALL", "/opt/bun"),
            ("HOME", "/home/me"),
            ("KEEP", "1"),
        ])
        .unwrap();
        assert_eq!(c.allowed_hosts, vec!["hub.example.com", "box.local"]);
        assert_eq!(c.install_channel, Some(Channel::Rc));
        let seed = c.seed_admin.as_ref().unwrap();
        assert_eq!(seed.username, "owner");
        assert!(!format!("{seed:?}").contains("s3cret"));
        assert!(c.module_env.iter().any(|(k, _)| k == "KEEP"));
        assert!(
            !c.module_env
                .iter()
                .any(|(k, _)| k == "PARACHUTE_INITIAL_ADMIN_PASSWORD")
        );
        assert_eq!(
            c.tools.bun_global_roots,
            vec![
                PathBuf::from("/opt/bun/install/global/node_modules"),
                PathBuf::from("/home/me/.bun/install/global/node_modules"),
            ]
        );
    }
}

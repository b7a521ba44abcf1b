//! Everything an upgrade needs to know, read once at the entry point: the hub's
//! `HubConfig::from_vars` and the CLI's `upgrade` verb pass their environment to
//! [`UpgradeSettings::from_vars`]; nothing in this crate reads the process environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PARACHUTE_UPDATE_URL` | the feed base: `<url>/<channel>.json` | [`DEFAULT_FEED_URL`] |
//! | `PARACHUTE_UPDATE_PUBKEY` | minisign public key releases must be signed with | [`RELEASE_PUBLIC_KEY`] |
//! | `PARACHUTE_UPGRADE_BINARY` | the `parachute` binary to replace | the running executable |
//! | `PARACHUTE_UPGRADE_GATE_SECS` | how long the new hub has to answer `/health` with its version and finish booting | 120 |
//! | `PARACHUTE_UPGRADE_LOCK_TTL_SECS` | how long an upgrade's lock lasts without progress | 900 |
//! | `PARACHUTE_UPGRADE_MAX_BYTES` | the largest download accepted | 512 MiB |
//! | `PORT` | the hub's port when `hub/run/hub.port` is absent | 1939 |
//! | `PARACHUTE_UPGRADE_HOLD` | fault drills and tests: `<phase>:<secs>` pauses the upgrader after it records that phase (before the restart, for `restarting`) | none |

use std::path::PathBuf;
use std::time::Duration;

use parachute_home::Home;

use crate::error::UpgradeError;
use crate::feed::this_platform;
use crate::status::Phase;

/// The project's release feed (channel documents and their signatures are assets of the
/// `feed` release, replaced on every publication; see `docs/RELEASING.md`).
pub const DEFAULT_FEED_URL: &str =
    "https://github.com/ParachuteComputer/parachute-desktop/releases/download/feed";

/// The project's release signing key (minisign key id `15A0174893B51B3D`). Its secret half is
/// never in the repository.
pub const RELEASE_PUBLIC_KEY: &str = "RWQ9G7WTSBegFf2CZ1UdR9EuIbRlD1tnFJ8/W7G95bXA0cU7ktDcVGRn";

/// Environment variable names, for callers that pass them on (the detached helper).
pub mod env {
    /// Feed base URL.
    pub const UPDATE_URL: &str = "PARACHUTE_UPDATE_URL";
    /// Trusted minisign public key.
    pub const UPDATE_PUBKEY: &str = "PARACHUTE_UPDATE_PUBKEY";
    /// Binary to replace.
    pub const BINARY: &str = "PARACHUTE_UPGRADE_BINARY";
    /// Health-gate limit in seconds.
    pub const GATE_SECS: &str = "PARACHUTE_UPGRADE_GATE_SECS";
    /// Lock lifetime in seconds.
    pub const LOCK_TTL_SECS: &str = "PARACHUTE_UPGRADE_LOCK_TTL_SECS";
    /// Download limit in bytes.
    pub const MAX_BYTES: &str = "PARACHUTE_UPGRADE_MAX_BYTES";
    /// `<phase>:<secs>` pause, for drills and tests.
    pub const HOLD: &str = "PARACHUTE_UPGRADE_HOLD";
}

/// A pause after the upgrader records a phase: lets a drill (or a test) stop the upgrader at
/// a known point and check what the next observer makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The phase after which to pause.
    pub phase: Phase,
    /// For how long.
    pub duration: Duration,
}

/// The upgrade settings an entry point reads from its environment, once: everything about an
/// upgrade that does not depend on which home or hub it is for. The hub keeps them in its
/// `HubConfig`; the CLI reads them when a verb starts.
#[derive(Debug, Clone)]
pub struct UpgradeSettings {
    /// Feed base URL (no trailing slash).
    pub feed_url: String,
    /// The minisign public key releases must verify with.
    pub public_key: String,
    /// The binary to replace (`None`: the running executable).
    pub binary: Option<PathBuf>,
    /// How long the restarted hub has to prove itself.
    pub gate_timeout: Duration,
    /// How long an in-flight lock lasts without progress.
    pub lock_ttl: Duration,
    /// The largest artifact accepted.
    pub max_download_bytes: u64,
    /// Optional pause for drills and tests.
    pub hold: Option<Hold>,
    /// `PORT` of this environment: the hub's port when `hub/run/hub.port` is absent.
    pub port: u16,
    /// The variables a detached helper is started with (see [`crate::launch::forwarded_env`]:
    /// no secrets).
    pub helper_env: Vec<(String, String)>,
}

impl UpgradeSettings {
    /// The settings from `vars` (the whole environment of the entry point, or a test's list).
    pub fn from_vars(vars: &[(String, String)]) -> Result<Self, UpgradeError> {
        let lookup = |k: &str| {
            vars.iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Self::parse(lookup, crate::launch::forwarded_env(vars.iter().cloned()))
    }

    fn parse(
        get: impl Fn(&str) -> Option<String>,
        helper_env: Vec<(String, String)>,
    ) -> Result<Self, UpgradeError> {
        let feed_url = get(env::UPDATE_URL)
            .unwrap_or_else(|| DEFAULT_FEED_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        let parsed = reqwest::Url::parse(&feed_url).map_err(|e| {
            UpgradeError::Config(format!(
                "{} is not a URL ({e}): {feed_url:?}",
                env::UPDATE_URL
            ))
        })?;
        crate::fetch::check_url(&parsed)
            .map_err(|e| UpgradeError::Config(format!("{}: {e}", env::UPDATE_URL)))?;
        let public_key = get(env::UPDATE_PUBKEY).unwrap_or_else(|| RELEASE_PUBLIC_KEY.into());
        crate::signature::TrustedKey::parse(&public_key)
            .map_err(|e| UpgradeError::Config(format!("{}: {e}", env::UPDATE_PUBKEY)))?;
        let binary = get(env::BINARY).map(PathBuf::from);
        if let Some(binary) = binary.as_ref().filter(|b| !b.is_absolute()) {
            return Err(UpgradeError::Config(format!(
                "{} must be an absolute path, got {}",
                env::BINARY,
                binary.display()
            )));
        }
        let secs = |key: &str, default: u64| -> Result<Duration, UpgradeError> {
            match get(key) {
                None => Ok(Duration::from_secs(default)),
                Some(text) => parse_secs(&text).ok_or_else(|| {
                    UpgradeError::Config(format!("{key} must be a number of seconds, got {text:?}"))
                }),
            }
        };
        let max_download_bytes = match get(env::MAX_BYTES) {
            None => 512 * 1024 * 1024,
            Some(text) => text.parse().map_err(|_| {
                UpgradeError::Config(format!(
                    "{} must be a byte count, got {text:?}",
                    env::MAX_BYTES
                ))
            })?,
        };
        let hold = get(env::HOLD).map(|text| parse_hold(&text)).transpose()?;
        let port = parachute_home::parse_port(get("PORT").as_deref())
            .map_err(|e| UpgradeError::Config(e.to_string()))?;
        Ok(Self {
            feed_url,
            public_key,
            binary,
            gate_timeout: secs(env::GATE_SECS, 120)?,
            lock_ttl: secs(env::LOCK_TTL_SECS, 900)?,
            max_download_bytes,
            hold,
            port,
            helper_env,
        })
    }
}

/// The settings of one upgrade run.
#[derive(Debug, Clone)]
pub struct UpgradeConfig {
    /// The config home (status file, remembered channel, hub port).
    pub home: Home,
    /// Feed base URL (no trailing slash).
    pub feed_url: String,
    /// The minisign public key releases must verify with.
    pub public_key: String,
    /// The binary to replace.
    pub binary: PathBuf,
    /// The version running now (the caller's build).
    pub current_version: String,
    /// This machine's platform key.
    pub platform: String,
    /// The port the hub answers on.
    pub hub_port: u16,
    /// How long the restarted hub has to prove itself.
    pub gate_timeout: Duration,
    /// How long an in-flight lock lasts without progress.
    pub lock_ttl: Duration,
    /// How long a detached helper has to check in before its operation counts as dead.
    pub checkin_timeout: Duration,
    /// The largest artifact accepted.
    pub max_download_bytes: u64,
    /// Optional pause for drills and tests.
    pub hold: Option<Hold>,
    /// The variables a detached helper is started with.
    pub helper_env: Vec<(String, String)>,
}

impl UpgradeConfig {
    /// The configuration for `home` from `settings`, for a hub answering on `hub_port` (the
    /// hub passes the port it bound; `None`: the port `hub/run/hub.port` records, else the
    /// settings' `PORT`).
    pub fn new(
        home: Home,
        current_version: &str,
        settings: UpgradeSettings,
        hub_port: Option<u16>,
    ) -> Result<Self, UpgradeError> {
        let binary = match settings.binary {
            Some(path) => path,
            None => running_executable()?,
        };
        let hub_port = match hub_port {
            Some(port) => port,
            // The port the running hub wrote; without one (no hub right now), the `PORT` this
            // environment would start it on.
            None => parachute_home::hub_port::read(&home)
                .map_err(|e| UpgradeError::Config(e.to_string()))?
                .unwrap_or(settings.port),
        };
        Ok(Self {
            hub_port,
            home,
            feed_url: settings.feed_url,
            public_key: settings.public_key,
            binary,
            current_version: current_version.to_string(),
            platform: this_platform(),
            gate_timeout: settings.gate_timeout,
            lock_ttl: settings.lock_ttl,
            checkin_timeout: Duration::from_secs(60),
            max_download_bytes: settings.max_download_bytes,
            hold: settings.hold,
            helper_env: settings.helper_env,
        })
    }

    /// [`UpgradeSettings::from_vars`] then [`UpgradeConfig::new`] for whatever hub serves
    /// `home` (the CLI's way).
    pub fn from_vars(
        home: Home,
        current_version: &str,
        vars: &[(String, String)],
    ) -> Result<Self, UpgradeError> {
        Self::new(
            home,
            current_version,
            UpgradeSettings::from_vars(vars)?,
            None,
        )
    }
}

/// The path of the running program; a binary replaced while running (`… (deleted)` on Linux)
/// still names the path it was started from.
pub fn running_executable() -> Result<PathBuf, UpgradeError> {
    let exe = std::env::current_exe()
        .map_err(|e| UpgradeError::Config(format!("cannot find the running program: {e}")))?;
    let text = exe.display().to_string();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

fn parse_secs(text: &str) -> Option<Duration> {
    let value: f64 = text.trim_end_matches('s').parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value))
}

fn parse_hold(text: &str) -> Result<Hold, UpgradeError> {
    let bad = || {
        UpgradeError::Config(format!(
            "{} must be <phase>:<seconds> such as verifying:30, got {text:?}",
            env::HOLD
        ))
    };
    let (phase, secs) = text.split_once(':').ok_or_else(bad)?;
    let phase = Phase::parse(phase)
        .filter(|p| !p.is_terminal())
        .ok_or_else(bad)?;
    let duration = parse_secs(secs).ok_or_else(bad)?;
    Ok(Hold { phase, duration })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<UpgradeConfig, UpgradeError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        UpgradeConfig::from_vars(Home::at("/tmp/none"), "0.1.0", &vars)
    }

    #[test]
    fn defaults_are_the_project_feed_and_key() {
        let cfg = config(&[]).unwrap();
        assert_eq!(cfg.feed_url, DEFAULT_FEED_URL);
        assert_eq!(cfg.public_key, RELEASE_PUBLIC_KEY);
        assert_eq!(cfg.gate_timeout, Duration::from_secs(120));
        assert_eq!(cfg.lock_ttl, Duration::from_secs(900));
        assert!(cfg.binary.is_absolute());
        assert_eq!(cfg.hold, None);
    }

    #[test]
    fn overrides_are_read_and_checked() {
        let cfg = config(&[
            (env::UPDATE_URL, "http://127.0.0.1:8080/feed/"),
            (env::GATE_SECS, "7"),
            (env::LOCK_TTL_SECS, "1.5"),
            (env::BINARY, "/opt/p/parachute"),
            (env::HOLD, "verifying:30"),
        ])
        .unwrap();
        assert_eq!(cfg.feed_url, "http://127.0.0.1:8080/feed");
        assert_eq!(cfg.gate_timeout, Duration::from_secs(7));
        assert_eq!(cfg.lock_ttl, Duration::from_millis(1500));
        assert_eq!(cfg.binary, PathBuf::from("/opt/p/parachute"));
        assert_eq!(
            cfg.hold,
            Some(Hold {
                phase: Phase::Verifying,
                duration: Duration::from_secs(30)
            })
        );
    }

    #[test]
    fn the_hub_passes_its_port_and_the_helper_gets_no_secret() {
        let vars: Vec<(String, String)> = [
            ("PORT", "2000"),
            ("PARACHUTE_HOME", "/h"),
            ("PARACHUTE_INITIAL_ADMIN_PASSWORD", "hunter2"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let settings = UpgradeSettings::from_vars(&vars).unwrap();
        assert_eq!(settings.port, 2000);
        let keys: Vec<&str> = settings
            .helper_env
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["PARACHUTE_HOME", "PATH", "PORT"]);
        let home = tempfile::tempdir().unwrap();
        let bound =
            UpgradeConfig::new(Home::at(home.path()), "0.1.0", settings.clone(), Some(3000))
                .unwrap();
        assert_eq!(bound.hub_port, 3000);
        let unbound = UpgradeConfig::new(Home::at(home.path()), "0.1.0", settings, None).unwrap();
        assert_eq!(
            unbound.hub_port, 2000,
            "no hub.port: the environment's PORT"
        );
    }

    #[test]
    fn unusable_settings_are_refused_with_the_variable_named() {
        for (vars, needle) in [
            (
                vec![(env::UPDATE_URL, "http://releases.example.org")],
                "https only",
            ),
            (vec![(env::UPDATE_PUBKEY, "nope")], env::UPDATE_PUBKEY),
            (vec![(env::BINARY, "relative/parachute")], env::BINARY),
            (vec![(env::GATE_SECS, "soon")], env::GATE_SECS),
            (vec![(env::HOLD, "succeeded:3")], env::HOLD),
        ] {
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}

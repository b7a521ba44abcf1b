//! What a unit runs: the descriptor both renderers and the installer consume.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::UnitError;

/// launchd label of the hub unit.
pub const HUB_LABEL: &str = "computer.parachute.hub";
/// systemd unit name of the hub unit.
pub const HUB_UNIT_NAME: &str = "parachute-hub.service";

/// The names a unit is known by to each manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitId {
    /// launchd label (also the plist file name without `.plist`), reverse-DNS style.
    pub label: String,
    /// systemd unit name including `.service`.
    pub unit_name: String,
}

impl UnitId {
    /// The hub unit: `computer.parachute.hub` / `parachute-hub.service`.
    pub fn hub() -> Self {
        Self {
            label: HUB_LABEL.to_string(),
            unit_name: HUB_UNIT_NAME.to_string(),
        }
    }

    /// The cloudflared connector of `tunnel`: `computer.parachute.cloudflared.<tunnel>` /
    /// `parachute-cloudflared-<tunnel>.service`.
    pub fn cloudflared(tunnel: &str) -> Result<Self, UnitError> {
        check_name("tunnel name", tunnel)?;
        Ok(Self {
            label: format!("computer.parachute.cloudflared.{tunnel}"),
            unit_name: format!("parachute-cloudflared-{tunnel}.service"),
        })
    }

    /// A legacy per-module unit (`computer.parachute.<short>` / `parachute-<short>.service`),
    /// which the supervised hub replaces.
    pub fn legacy_module(short: &str) -> Result<Self, UnitError> {
        check_name("module name", short)?;
        Ok(Self {
            label: format!("computer.parachute.{short}"),
            unit_name: format!("parachute-{short}.service"),
        })
    }
}

/// Rejects names that would escape a directory or break a unit name.
fn check_name(what: &'static str, value: &str) -> Result<(), UnitError> {
    let ok = !value.is_empty()
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(UnitError::BadName {
            what,
            value: value.to_string(),
        })
    }
}

/// A cap on how often the manager respawns a crashing process.
///
/// Without it a wedged hub (corrupt database, port held by someone else) restarts forever; with
/// it systemd marks the unit `failed` after `burst` starts within `interval_sec`, and launchd
/// spaces respawns at least `throttle_sec` apart (launchd has no burst limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashCeiling {
    /// systemd `StartLimitIntervalSec`: the counting window, seconds.
    pub interval_sec: u32,
    /// systemd `StartLimitBurst`: starts allowed within the window.
    pub burst: u32,
    /// launchd `ThrottleInterval`: minimum seconds between respawns.
    pub throttle_sec: u32,
}

impl CrashCeiling {
    /// The hub's ceiling: 5 starts per 300 s under systemd, 10 s apart under launchd.
    pub const HUB: CrashCeiling = CrashCeiling {
        interval_sec: 300,
        burst: 5,
        throttle_sec: 10,
    };
}

/// A process to keep alive under launchd or systemd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// The names the managers know it by.
    pub id: UnitId,
    /// systemd `Description=` (launchd has no equivalent).
    pub description: String,
    /// The argv; the first element is an absolute path (managers do not search `PATH`).
    pub exec_start: Vec<String>,
    /// Environment for the process, in order. Empty renders no environment block at all.
    pub env: Vec<(String, String)>,
    /// Where the process's stdout and stderr are appended.
    pub log_path: PathBuf,
    /// Respawn cap; `None` renders no limit (the cloudflared connector).
    pub crash_ceiling: Option<CrashCeiling>,
    /// On a systemd system unit, pin `User=<invoking user>` so the process does not run as
    /// root just because root installed it.
    pub run_as_invoking_user: bool,
}

/// What the hub unit needs to know to run `serve` for this home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUnitConfig {
    /// Absolute path of the `parachute` binary the unit runs (`<exe> serve`).
    pub exe: PathBuf,
    /// The `PARACHUTE_HOME` captured at install time, baked into the unit.
    pub parachute_home: PathBuf,
    /// The hub port (`PORT`).
    pub port: u16,
    /// The user's home: `~/.bun/bin` goes on the unit's `PATH` so modules installed with
    /// `bun add -g` resolve on a cold boot, and `BUN_INSTALL` points at `~/.bun`.
    pub user_home: PathBuf,
}

/// The name of the GUI-free binary every hub unit runs.
pub const PARACHUTE_BINARY: &str = "parachute";

/// Which `parachute` binary a unit installed by the program `running` should run: `running`
/// itself when it is `parachute`, else the `parachute` beside it (the desktop app ships it
/// there), else the first on `search_path`. A binary replaced while running (`… (deleted)` on
/// Linux) still names its path.
pub fn parachute_binary(running: &Path, search_path: &OsStr) -> Result<PathBuf, UnitError> {
    let text = running.display().to_string();
    let running = match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => running.to_path_buf(),
    };
    if running.file_name() == Some(OsStr::new(PARACHUTE_BINARY)) {
        return Ok(running);
    }
    let is_program = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let beside = running.with_file_name(PARACHUTE_BINARY);
    if is_program(&beside) {
        return Ok(beside);
    }
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(PARACHUTE_BINARY))
        .find(|p| is_program(p))
        .ok_or(UnitError::NoParachuteBinary { beside: running })
}

impl HubUnitConfig {
    /// The config for the `parachute` binary that belongs with the running program (see
    /// [`parachute_binary`]): what `parachute init` and the desktop app install.
    pub fn for_parachute_binary(
        parachute_home: impl Into<PathBuf>,
        port: u16,
        user_home: impl Into<PathBuf>,
        search_path: &OsStr,
    ) -> Result<Self, UnitError> {
        let running = std::env::current_exe()
            .map_err(|e| UnitError::io("find the path of", "the running program", e))?;
        Ok(Self {
            exe: parachute_binary(&running, search_path)?,
            parachute_home: parachute_home.into(),
            port,
            user_home: user_home.into(),
        })
    }

    /// The log file of the hub unit: `$PARACHUTE_HOME/hub/logs/hub.log`.
    pub fn log_path(&self) -> PathBuf {
        self.parachute_home.join("hub/logs/hub.log")
    }

    /// The unit's `PATH`: the binary's directory, `~/.bun/bin`, then the system directories.
    pub fn path_env(&self) -> String {
        let mut dirs: Vec<String> = Vec::new();
        if let Some(dir) = self.exe.parent() {
            dirs.push(dir.display().to_string());
        }
        dirs.push(self.user_home.join(".bun/bin").display().to_string());
        if cfg!(target_os = "macos") {
            dirs.push("/opt/homebrew/bin".into());
        }
        for d in ["/usr/local/bin", "/usr/bin", "/bin"] {
            dirs.push(d.into());
        }
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| !d.is_empty() && seen.insert(d.clone()));
        dirs.join(":")
    }
}

/// What a cloudflared connector unit runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudflaredUnitConfig {
    /// Absolute path of `cloudflared`.
    pub cloudflared: PathBuf,
    /// The tunnel name (part of the label and unit name).
    pub tunnel: String,
    /// The tunnel's `config.yml`.
    pub config_path: PathBuf,
    /// Where the connector's output is appended.
    pub log_path: PathBuf,
}

fn absolute(path: &Path) -> Result<String, UnitError> {
    if path.is_absolute() {
        Ok(path.display().to_string())
    } else {
        Err(UnitError::RelativeProgram {
            path: path.to_path_buf(),
        })
    }
}

impl UnitSpec {
    /// The hub unit: `<exe> serve` with `PARACHUTE_HOME`, `PORT`,
    /// `PARACHUTE_BIND_HOST=127.0.0.1`, `PATH` and `BUN_INSTALL`, logging to
    /// `$PARACHUTE_HOME/hub/logs/hub.log`, restarted always, with the hub's crash ceiling.
    ///
    /// `PARACHUTE_HUB_ORIGIN` is deliberately absent: the hub works its origin out at start,
    /// and a value baked in here would go stale the moment exposure changes.
    pub fn hub(cfg: &HubUnitConfig) -> Result<Self, UnitError> {
        let exe = absolute(&cfg.exe)?;
        Ok(Self {
            id: UnitId::hub(),
            description: "Parachute hub - local server and module supervisor".to_string(),
            exec_start: vec![exe, "serve".to_string()],
            env: vec![
                (
                    "PARACHUTE_HOME".into(),
                    cfg.parachute_home.display().to_string(),
                ),
                ("PORT".into(), cfg.port.to_string()),
                ("PARACHUTE_BIND_HOST".into(), "127.0.0.1".into()),
                ("PATH".into(), cfg.path_env()),
                (
                    "BUN_INSTALL".into(),
                    cfg.user_home.join(".bun").display().to_string(),
                ),
            ],
            log_path: cfg.log_path(),
            crash_ceiling: Some(CrashCeiling::HUB),
            run_as_invoking_user: true,
        })
    }

    /// A cloudflared connector: `<cloudflared> tunnel --config <cfg> run`, no environment and
    /// no crash ceiling (cloudflared reconnects by itself; the manager just keeps it alive).
    pub fn cloudflared(cfg: &CloudflaredUnitConfig) -> Result<Self, UnitError> {
        let program = absolute(&cfg.cloudflared)?;
        Ok(Self {
            id: UnitId::cloudflared(&cfg.tunnel)?,
            description: format!("Parachute cloudflared connector ({})", cfg.tunnel),
            exec_start: vec![
                program,
                "tunnel".into(),
                "--config".into(),
                cfg.config_path.display().to_string(),
                "run".into(),
            ],
            env: Vec::new(),
            log_path: cfg.log_path.clone(),
            crash_ceiling: None,
            run_as_invoking_user: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_spec_runs_serve_with_the_captured_environment() {
        let spec = UnitSpec::hub(&HubUnitConfig {
            exe: "/opt/parachute/bin/parachute".into(),
            parachute_home: "/home/alice/.parachute".into(),
            port: 1939,
            user_home: "/home/alice".into(),
        })
        .unwrap();
        assert_eq!(spec.id, UnitId::hub());
        assert_eq!(
            spec.exec_start,
            vec!["/opt/parachute/bin/parachute".to_string(), "serve".into()]
        );
        let keys: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "PARACHUTE_HOME",
                "PORT",
                "PARACHUTE_BIND_HOST",
                "PATH",
                "BUN_INSTALL"
            ]
        );
        assert_eq!(
            spec.log_path,
            PathBuf::from("/home/alice/.parachute/hub/logs/hub.log")
        );
        assert_eq!(spec.crash_ceiling, Some(CrashCeiling::HUB));
    }

    #[test]
    fn another_program_installs_the_parachute_beside_it_or_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let make = |p: &Path| {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let app = dir.path().join("app/parachute-desktop");
        make(&app);
        let on_path = dir.path().join("bin/parachute");
        make(&on_path);
        let path = std::ffi::OsString::from(dir.path().join("bin"));
        // The parachute binary itself.
        let itself = dir.path().join("x/parachute");
        assert_eq!(parachute_binary(&itself, &path).unwrap(), itself);
        // Another program: none beside it, so the one on PATH.
        assert_eq!(parachute_binary(&app, &path).unwrap(), on_path);
        // One beside it wins over PATH.
        let beside = dir.path().join("app/parachute");
        make(&beside);
        assert_eq!(parachute_binary(&app, &path).unwrap(), beside);
        // Nowhere: an error naming where we looked and the package.
        let lone = dir.path().join("lone/parachute-desktop");
        make(&lone);
        let err = parachute_binary(&lone, std::ffi::OsStr::new("/nonexistent")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("lone/parachute-desktop") && text.contains("package"),
            "{text}"
        );
    }

    #[test]
    fn the_unit_runs_the_resolved_binary_by_its_absolute_path() {
        let cfg = HubUnitConfig {
            exe: parachute_binary(Path::new("/usr/bin/parachute"), OsStr::new("")).unwrap(),
            parachute_home: "/p".into(),
            port: 1939,
            user_home: "/h".into(),
        };
        let spec = UnitSpec::hub(&cfg).unwrap();
        assert_eq!(spec.exec_start[0], "/usr/bin/parachute");
        assert_eq!(spec.exec_start[1], "serve");
    }

    #[test]
    fn path_puts_the_binary_dir_first_without_duplicates() {
        let cfg = HubUnitConfig {
            exe: "/usr/local/bin/parachute".into(),
            parachute_home: "/p".into(),
            port: 1939,
            user_home: "/home/a".into(),
        };
        let path = cfg.path_env();
        assert!(
            path.starts_with("/usr/local/bin:/home/a/.bun/bin:"),
            "{path}"
        );
        assert_eq!(path.matches("/usr/local/bin").count(), 1, "{path}");
        assert!(path.ends_with("/usr/bin:/bin"), "{path}");
    }

    #[test]
    fn relative_programs_and_odd_names_are_refused() {
        let err = UnitSpec::hub(&HubUnitConfig {
            exe: "parachute".into(),
            parachute_home: "/p".into(),
            port: 1939,
            user_home: "/h".into(),
        })
        .unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let err = UnitId::cloudflared("../x").unwrap_err();
        assert!(err.to_string().contains("tunnel name"), "{err}");
        let id = UnitId::cloudflared("home").unwrap();
        assert_eq!(id.label, "computer.parachute.cloudflared.home");
        assert_eq!(id.unit_name, "parachute-cloudflared-home.service");
    }
}

//! Starting the detached upgrade helper (`parachute upgrade --apply <operation>`) where a hub
//! restart cannot kill it.
//!
//! Under systemd the hub unit's cgroup is killed as a whole on restart, so the helper must not
//! be the hub's child in that cgroup: it runs as its own transient unit, `systemd-run [--user]
//! --collect --unit=parachute-hub-upgrade-<id> …`. `systemd-run` does not pass the caller's
//! environment on, so the variables the helper needs (the home, the unit overrides, the
//! upgrade settings, `PATH`) go along as `--setenv`; secrets never do (command lines are
//! visible to every local user). Everywhere else (launchd, no manager) the helper starts in
//! its own session (`setsid`), outside the hub's process group, which is what launchd and a
//! terminal's Ctrl-C stop.

use std::path::Path;
use std::time::Duration;

use parachute_home::Home;
use parachute_os::CommandRunner;
use parachute_unit::{ManagedUnit, ManagerKind};

use crate::error::UpgradeError;
use crate::status::RestartKind;

/// How the helper was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperLaunch {
    /// As a transient systemd unit of that name.
    SystemdRun {
        /// The transient unit's name.
        unit: String,
    },
    /// As a detached process in its own session.
    Detached {
        /// Its pid.
        pid: u32,
    },
}

/// The variables passed on to the helper: `PARACHUTE_*` (minus anything secret), and the few
/// a program needs to find its tools and home.
pub fn forwarded_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    const PLAIN: [&str; 7] = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "RUST_LOG", "PORT",
    ];
    let secret = |k: &str| {
        ["PASSWORD", "SECRET", "TOKEN", "PRIVATE"]
            .iter()
            .any(|w| k.contains(w))
            || k.ends_with("_KEY")
    };
    let mut out: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| PLAIN.contains(&k.as_str()) || (k.starts_with("PARACHUTE_") && !secret(k)))
        .filter(|(_, v)| !v.contains('\n'))
        .collect();
    out.sort();
    out
}

/// The `systemd-run` arguments for the helper of `operation_id`.
pub fn systemd_run_args(
    scope_flags: &[&str],
    operation_id: &str,
    exe: &Path,
    log: &Path,
    env: &[(String, String)],
) -> Vec<String> {
    let short: String = operation_id.chars().take(12).collect();
    let mut args: Vec<String> = scope_flags.iter().map(|s| s.to_string()).collect();
    args.extend([
        "--collect".to_string(),
        "--quiet".to_string(),
        format!("--unit=parachute-hub-upgrade-{short}"),
        format!("--description=Parachute hub upgrade {operation_id}"),
        format!("--property=StandardOutput=append:{}", log.display()),
        format!("--property=StandardError=append:{}", log.display()),
    ]);
    for (k, v) in env {
        args.push(format!("--setenv={k}={v}"));
    }
    args.extend([
        exe.display().to_string(),
        "upgrade".to_string(),
        "--apply".to_string(),
        operation_id.to_string(),
    ]);
    args
}

/// Starts the helper for `operation_id`: a transient systemd unit (with `helper_env` as its
/// environment) when the hub runs under a systemd unit, else a detached process that inherits
/// this process's environment. Its output goes to `hub/logs/upgrade.log`.
pub fn launch(
    runner: &dyn CommandRunner,
    units: &ManagedUnit,
    restart: RestartKind,
    home: &Home,
    exe: &Path,
    operation_id: &str,
    helper_env: &[(String, String)],
) -> Result<HelperLaunch, UpgradeError> {
    let log = home.hub_dir().join("logs/upgrade.log");
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| UpgradeError::io("create", dir, e))?;
    }
    let systemd_scope = match (restart, units.manager(), units.scope()) {
        (RestartKind::Unit, ManagerKind::Systemd, Some(scope)) => Some(scope),
        _ => None,
    };
    if let Some(scope) = systemd_scope {
        let flags = scope.systemctl_flags();
        let args = systemd_run_args(flags, operation_id, exe, &log, helper_env);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = runner
            .run_with_timeout("systemd-run", &refs, Duration::from_secs(30))
            .map_err(|e| UpgradeError::Launch(e.to_string()))?;
        if !out.success() {
            return Err(UpgradeError::Launch(format!(
                "systemd-run refused: {}",
                out.failure_detail()
            )));
        }
        let short: String = operation_id.chars().take(12).collect();
        return Ok(HelperLaunch::SystemdRun {
            unit: format!("parachute-hub-upgrade-{short}"),
        });
    }
    let exe_text = exe.display().to_string();
    let pid = runner
        .spawn_detached(&exe_text, &["upgrade", "--apply", operation_id], Some(&log))
        .map_err(|e| UpgradeError::Launch(e.to_string()))?;
    Ok(HelperLaunch::Detached { pid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_gets_its_settings_but_never_a_secret() {
        let env = forwarded_env(
            [
                ("PARACHUTE_HOME", "/h"),
                ("PARACHUTE_UPDATE_URL", "https://f"),
                ("PARACHUTE_UPDATE_PUBKEY", "RWQ"),
                ("PARACHUTE_SIGNING_KEY", "k"),
                ("PARACHUTE_INITIAL_ADMIN_PASSWORD", "hunter2"),
                ("PARACHUTE_OPERATOR_TOKEN", "eyJ"),
                ("PATH", "/usr/bin"),
                ("AWS_SECRET_ACCESS_KEY", "x"),
                ("TERM", "xterm"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "PARACHUTE_HOME",
                "PARACHUTE_UPDATE_PUBKEY",
                "PARACHUTE_UPDATE_URL",
                "PATH"
            ]
        );
    }

    #[test]
    fn the_transient_unit_runs_the_helper_with_its_environment_and_log() {
        let args = systemd_run_args(
            &["--user"],
            "0123456789abcdef",
            Path::new("/opt/p/parachute"),
            Path::new("/h/hub/logs/upgrade.log"),
            &[("PARACHUTE_HOME".into(), "/h".into())],
        );
        assert_eq!(
            args,
            [
                "--user",
                "--collect",
                "--quiet",
                "--unit=parachute-hub-upgrade-0123456789ab",
                "--description=Parachute hub upgrade 0123456789abcdef",
                "--property=StandardOutput=append:/h/hub/logs/upgrade.log",
                "--property=StandardError=append:/h/hub/logs/upgrade.log",
                "--setenv=PARACHUTE_HOME=/h",
                "/opt/p/parachute",
                "upgrade",
                "--apply",
                "0123456789abcdef",
            ]
        );
    }
}

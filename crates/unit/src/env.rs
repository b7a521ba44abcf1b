//! Who we are and which service manager we talk to: uid, user, home, manager, unit scope.

use std::path::PathBuf;

use parachute_os::CommandRunner;

use crate::error::UnitError;

/// Env var that redirects the directory unit files are written to (packaging, tests).
pub const UNIT_DIR_ENV: &str = "PARACHUTE_UNIT_DIR";
/// Env var that forces the systemd scope: `user` or `system`.
pub const UNIT_SCOPE_ENV: &str = "PARACHUTE_UNIT_SCOPE";
/// Env var that forces the manager: `systemd`, `launchd` or `none`.
pub const UNIT_MANAGER_ENV: &str = "PARACHUTE_UNIT_MANAGER";

/// The service manager that keeps our units alive on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerKind {
    /// systemd, driven with `systemctl` (Linux).
    Systemd,
    /// launchd, driven with `launchctl` (macOS).
    Launchd,
    /// No manager: containers and init-less hosts run `parachute serve` in the foreground.
    None,
}

impl ManagerKind {
    /// Finds the platform's manager through `runner`'s search path: `launchctl` on macOS,
    /// `systemctl` elsewhere, else [`ManagerKind::None`]. (A `launchctl` on Linux means
    /// nothing; tests that exercise launchd on Linux force it with `manager_override`.)
    pub fn detect(runner: &dyn CommandRunner) -> Self {
        let (kind, tool) = if cfg!(target_os = "macos") {
            (ManagerKind::Launchd, "launchctl")
        } else {
            (ManagerKind::Systemd, "systemctl")
        };
        if runner.which(tool).is_some() {
            kind
        } else {
            ManagerKind::None
        }
    }

    /// [`ManagerKind::detect`], unless `env` forces a manager.
    pub fn resolve(runner: &dyn CommandRunner, env: &UnitEnv) -> Self {
        env.manager_override
            .unwrap_or_else(|| ManagerKind::detect(runner))
    }

    /// The tool that drives this manager (`None` for no manager).
    pub fn tool(self) -> Option<&'static str> {
        match self {
            ManagerKind::Systemd => Some("systemctl"),
            ManagerKind::Launchd => Some("launchctl"),
            ManagerKind::None => None,
        }
    }

    /// Parses `systemd`, `launchd` or `none` (the `PARACHUTE_UNIT_MANAGER` values).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "systemd" => Some(ManagerKind::Systemd),
            "launchd" => Some(ManagerKind::Launchd),
            "none" => Some(ManagerKind::None),
            _ => None,
        }
    }
}

/// A forced systemd scope (from `PARACHUTE_UNIT_SCOPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeOverride {
    /// A per-user unit under the user manager (`systemctl --user`).
    User,
    /// A system unit under PID 1 (`systemctl`, no `--user`).
    System,
}

/// Where a unit lives and how the manager is addressed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// systemd user manager: `~/.config/systemd/user`, `systemctl --user`.
    SystemdUser,
    /// systemd system manager: `/etc/systemd/system`, plain `systemctl`, `User=` pinned.
    SystemdSystem,
    /// launchd per-user agent in the `gui/<uid>` domain.
    LaunchdAgent {
        /// The launchd domain, `gui/<uid>`.
        domain: String,
    },
}

impl UnitScope {
    /// The flags that select this scope on a `systemctl` command line.
    pub fn systemctl_flags(&self) -> &'static [&'static str] {
        match self {
            UnitScope::SystemdUser => &["--user"],
            _ => &[],
        }
    }

    /// A short human name: "systemd user unit", "systemd system unit", "launchd agent".
    pub fn describe(&self) -> &'static str {
        match self {
            UnitScope::SystemdUser => "systemd user unit",
            UnitScope::SystemdSystem => "systemd system unit",
            UnitScope::LaunchdAgent { .. } => "launchd agent",
        }
    }
}

/// Everything about the invoking user that decides where units go, gathered once.
///
/// Build it with [`UnitEnv::from_process`] in production; tests fill the fields directly so
/// nothing depends on (or changes) the real process environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEnv {
    /// Effective uid: 0 picks a systemd system unit; launchd's domain is `gui/<uid>`.
    pub uid: u32,
    /// Login name, for `loginctl enable-linger` and `User=` on system units.
    pub user_name: String,
    /// Home directory: user unit files and LaunchAgents live under it.
    pub home_dir: PathBuf,
    /// Write unit files here instead of the scope's standard directory (packaging, tests).
    pub unit_dir_override: Option<PathBuf>,
    /// Force a systemd user or system unit regardless of `uid`.
    pub scope_override: Option<ScopeOverride>,
    /// Skip manager detection and use this one.
    pub manager_override: Option<ManagerKind>,
}

impl UnitEnv {
    /// Reads the current process: uid, `USER`/`LOGNAME` (else the passwd entry), `HOME` (else
    /// the passwd entry), plus `PARACHUTE_UNIT_DIR`, `PARACHUTE_UNIT_SCOPE` and
    /// `PARACHUTE_UNIT_MANAGER` (see the crate docs).
    pub fn from_process() -> Result<Self, UnitError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// [`UnitEnv::from_process`] with the variables taken from `lookup` instead of the
    /// process environment (an entry point that read the environment once, such as the hub's
    /// configuration); the uid and passwd entry are still this process's.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, UnitError> {
        let uid = nix::unistd::getuid().as_raw();
        let passwd = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten();
        let var = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let user_name = var("USER")
            .or_else(|| var("LOGNAME"))
            .or_else(|| passwd.as_ref().map(|p| p.name.clone()))
            .unwrap_or_default();
        let home_dir = var("HOME")
            .map(PathBuf::from)
            .or_else(|| passwd.as_ref().map(|p| p.dir.clone()))
            .ok_or(UnitError::NoHome)?;
        let scope_override = match var(UNIT_SCOPE_ENV) {
            None => None,
            Some(v) => Some(match v.trim() {
                "user" => ScopeOverride::User,
                "system" => ScopeOverride::System,
                _ => {
                    return Err(UnitError::BadEnv {
                        key: UNIT_SCOPE_ENV,
                        value: v,
                        expected: "`user` or `system`",
                    });
                }
            }),
        };
        let manager_override = match var(UNIT_MANAGER_ENV) {
            None => None,
            Some(v) => Some(ManagerKind::parse(&v).ok_or(UnitError::BadEnv {
                key: UNIT_MANAGER_ENV,
                value: v.clone(),
                expected: "`systemd`, `launchd` or `none`",
            })?),
        };
        Ok(Self {
            uid,
            user_name,
            home_dir,
            unit_dir_override: var(UNIT_DIR_ENV).map(PathBuf::from),
            scope_override,
            manager_override,
        })
    }

    /// The scope a unit gets under `manager` (`None` when there is no manager).
    pub fn scope(&self, manager: ManagerKind) -> Option<UnitScope> {
        match manager {
            ManagerKind::Systemd => Some(match self.scope_override {
                Some(ScopeOverride::User) => UnitScope::SystemdUser,
                Some(ScopeOverride::System) => UnitScope::SystemdSystem,
                None if self.uid == 0 => UnitScope::SystemdSystem,
                None => UnitScope::SystemdUser,
            }),
            ManagerKind::Launchd => Some(UnitScope::LaunchdAgent {
                domain: format!("gui/{}", self.uid),
            }),
            ManagerKind::None => None,
        }
    }

    /// The directory unit files of `scope` are written to.
    pub fn unit_dir(&self, scope: &UnitScope) -> PathBuf {
        if let Some(dir) = &self.unit_dir_override {
            return dir.clone();
        }
        match scope {
            UnitScope::SystemdUser => self.home_dir.join(".config/systemd/user"),
            UnitScope::SystemdSystem => PathBuf::from("/etc/systemd/system"),
            UnitScope::LaunchdAgent { .. } => self.home_dir.join("Library/LaunchAgents"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(uid: u32) -> UnitEnv {
        UnitEnv {
            uid,
            user_name: "alice".into(),
            home_dir: "/home/alice".into(),
            unit_dir_override: None,
            scope_override: None,
            manager_override: None,
        }
    }

    #[test]
    fn uid_picks_the_systemd_scope_and_directory() {
        let user = env(1000);
        let scope = user.scope(ManagerKind::Systemd).unwrap();
        assert_eq!(scope, UnitScope::SystemdUser);
        assert_eq!(scope.systemctl_flags(), &["--user"]);
        assert_eq!(
            user.unit_dir(&scope),
            PathBuf::from("/home/alice/.config/systemd/user")
        );
        let root = env(0);
        let scope = root.scope(ManagerKind::Systemd).unwrap();
        assert_eq!(scope, UnitScope::SystemdSystem);
        assert!(scope.systemctl_flags().is_empty());
        assert_eq!(root.unit_dir(&scope), PathBuf::from("/etc/systemd/system"));
    }

    #[test]
    fn overrides_win_over_uid() {
        let mut e = env(0);
        e.scope_override = Some(ScopeOverride::User);
        e.unit_dir_override = Some("/tmp/units".into());
        let scope = e.scope(ManagerKind::Systemd).unwrap();
        assert_eq!(scope, UnitScope::SystemdUser);
        assert_eq!(e.unit_dir(&scope), PathBuf::from("/tmp/units"));
    }

    #[test]
    fn launchd_uses_the_gui_domain_and_launch_agents() {
        let e = env(501);
        let scope = e.scope(ManagerKind::Launchd).unwrap();
        assert_eq!(
            scope,
            UnitScope::LaunchdAgent {
                domain: "gui/501".into()
            }
        );
        assert_eq!(
            e.unit_dir(&scope),
            PathBuf::from("/home/alice/Library/LaunchAgents")
        );
        assert_eq!(e.scope(ManagerKind::None), None);
    }

    #[test]
    fn variables_come_from_the_lookup_and_bad_ones_are_named() {
        let vars = [
            ("USER", "bob"),
            ("HOME", "/home/bob"),
            (UNIT_DIR_ENV, "/tmp/u"),
            (UNIT_SCOPE_ENV, "user"),
            (UNIT_MANAGER_ENV, "none"),
        ];
        let lookup = |k: &str| {
            vars.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        let e = UnitEnv::from_lookup(lookup).unwrap();
        assert_eq!(e.user_name, "bob");
        assert_eq!(e.home_dir, PathBuf::from("/home/bob"));
        assert_eq!(e.unit_dir_override, Some(PathBuf::from("/tmp/u")));
        assert_eq!(e.scope_override, Some(ScopeOverride::User));
        assert_eq!(e.manager_override, Some(ManagerKind::None));
        let err = UnitEnv::from_lookup(|k| (k == UNIT_SCOPE_ENV).then(|| "both".to_string()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(UNIT_SCOPE_ENV) && err.contains("both"),
            "{err}"
        );
    }

    #[test]
    fn detection_follows_the_search_path() {
        let dir = tempfile::tempdir().unwrap();
        let runner = parachute_os::SystemRunner::with_search_path(dir.path());
        assert_eq!(ManagerKind::detect(&runner), ManagerKind::None);
        let tool = dir.path().join("systemctl");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(ManagerKind::detect(&runner), ManagerKind::Systemd);
        let mut e = env(1000);
        e.manager_override = Some(ManagerKind::None);
        assert_eq!(ManagerKind::resolve(&runner, &e), ManagerKind::None);
    }
}

//! Install, remove, start, stop, restart and query a unit — through the manager only.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parachute_os::{CommandOutput, CommandRunner};

use crate::atomic::{remove_if_present, write_atomic};
use crate::env::{ManagerKind, UnitEnv, UnitScope};
use crate::render::{render_launchd, render_systemd};
use crate::spec::{UnitId, UnitSpec};
use crate::state::{self, UnitState};

/// How long one manager command may run before we give up on it. `enable --now` waits for the
/// start job, so this is generous.
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// Options of [`ManagedUnit::install`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOptions {
    /// Start the unit now (and enable it for boot). `false` writes and registers the file only;
    /// the migration cutover uses that to stop the old hub before the new one binds the port.
    pub start: bool,
}

/// The result of [`ManagedUnit::install`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The manager owns the unit now.
    Installed {
        /// The unit file written.
        path: PathBuf,
        /// The scope it went to.
        scope: UnitScope,
        /// Whether it was started (and enabled for boot) as well.
        started: bool,
        /// Non-fatal problems (e.g. lingering could not be enabled).
        warnings: Vec<String>,
    },
    /// No service manager here; nothing was written.
    NoManager,
    /// The manager refused or the file could not be written; no unit file was left behind.
    Failed {
        /// What went wrong, with the manager's own words.
        detail: String,
    },
}

impl InstallOutcome {
    /// A sentence for the user.
    pub fn message(&self, id: &UnitId) -> String {
        match self {
            InstallOutcome::Installed { scope, started, .. } => {
                let name = match scope {
                    UnitScope::LaunchdAgent { .. } => &id.label,
                    _ => &id.unit_name,
                };
                let when = match scope {
                    UnitScope::LaunchdAgent { .. } => "at every login",
                    _ => "at every boot",
                };
                if *started {
                    format!(
                        "Installed the {} {name}: it is running now and comes back {when}.",
                        scope.describe()
                    )
                } else {
                    format!(
                        "Installed the {} {name}: not started yet; it will run {when}.",
                        scope.describe()
                    )
                }
            }
            InstallOutcome::NoManager => NO_MANAGER.to_string(),
            InstallOutcome::Failed { detail } => format!(
                "Could not install {}: {detail}. Nothing was left behind; fix the cause and run `parachute init` again, or run `parachute serve` in the foreground.",
                id.unit_name
            ),
        }
    }
}

/// The result of [`ManagedUnit::remove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The unit was stopped, unregistered and its file deleted.
    Removed {
        /// The file that was deleted.
        path: PathBuf,
    },
    /// There was no unit file; nothing was done.
    NotInstalled,
    /// No service manager here.
    NoManager,
    /// The unit file could not be deleted.
    Failed {
        /// Why.
        detail: String,
    },
}

/// A lifecycle operation, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitOp {
    /// Start the unit.
    Start,
    /// Stop the unit.
    Stop,
    /// Restart the unit.
    Restart,
}

impl UnitOp {
    /// The verb: `start`, `stop`, `restart`.
    pub fn verb(self) -> &'static str {
        match self {
            UnitOp::Start => "start",
            UnitOp::Stop => "stop",
            UnitOp::Restart => "restart",
        }
    }
}

/// The result of [`ManagedUnit::start`], [`ManagedUnit::stop`] and [`ManagedUnit::restart`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOutcome {
    /// The manager did it.
    Ok,
    /// No service manager here.
    NoManager,
    /// No unit file is installed.
    NoUnit,
    /// The manager refused.
    Failed {
        /// Which operation.
        op: UnitOp,
        /// The manager's explanation.
        detail: String,
    },
}

pub(crate) const NO_MANAGER: &str = "This machine has no service manager (neither systemd nor launchd) to keep the hub running. Run `parachute serve` in the foreground instead, or under whatever supervises processes here.";
pub(crate) const NO_UNIT: &str = "The hub unit is not installed. Run `parachute init` to install it (or `parachute migrate --to-supervised` to move a legacy install over).";

impl OpOutcome {
    /// A sentence for the user; `None` for success.
    pub fn message(&self) -> Option<String> {
        match self {
            OpOutcome::Ok => None,
            OpOutcome::NoManager => Some(NO_MANAGER.to_string()),
            OpOutcome::NoUnit => Some(NO_UNIT.to_string()),
            OpOutcome::Failed { op, detail } => Some(format!(
                "The service manager could not {} the hub unit ({detail}). Check `parachute status`; `parachute migrate --to-supervised` rewrites the unit.",
                op.verb()
            )),
        }
    }
}

/// A unit manager for one machine: which manager, which scope, which runner.
///
/// Every operation goes through `systemctl`/`launchctl`. Nothing here signals a pid: the
/// manager would respawn a killed process (`Restart=always`, `KeepAlive`).
#[derive(Clone)]
pub struct ManagedUnit {
    /// Runs `systemctl`, `launchctl`, `loginctl`, `journalctl`.
    pub(crate) runner: Arc<dyn CommandRunner>,
    /// The manager in charge.
    pub(crate) manager: ManagerKind,
    /// User, home and overrides.
    pub(crate) env: UnitEnv,
}

impl std::fmt::Debug for ManagedUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedUnit")
            .field("manager", &self.manager)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl ManagedUnit {
    /// A manager of the given kind.
    pub fn new(runner: Arc<dyn CommandRunner>, manager: ManagerKind, env: UnitEnv) -> Self {
        Self {
            runner,
            manager,
            env,
        }
    }

    /// The manager `env` forces, else the one found on `runner`'s search path.
    pub fn detect(runner: Arc<dyn CommandRunner>, env: UnitEnv) -> Self {
        let manager = ManagerKind::resolve(runner.as_ref(), &env);
        Self::new(runner, manager, env)
    }

    /// The manager in charge.
    pub fn manager(&self) -> ManagerKind {
        self.manager
    }

    /// The user environment this manager was built with.
    pub fn env(&self) -> &UnitEnv {
        &self.env
    }

    /// The scope units go to (`None` without a manager).
    pub fn scope(&self) -> Option<UnitScope> {
        self.env.scope(self.manager)
    }

    /// The unit file of `id` (`None` without a manager).
    pub fn unit_path(&self, id: &UnitId) -> Option<PathBuf> {
        let scope = self.scope()?;
        let dir = self.env.unit_dir(&scope);
        Some(match scope {
            UnitScope::LaunchdAgent { .. } => dir.join(format!("{}.plist", id.label)),
            _ => dir.join(&id.unit_name),
        })
    }

    /// True when the unit file of `id` exists.
    pub fn is_installed(&self, id: &UnitId) -> bool {
        self.unit_path(id).is_some_and(|p| p.exists())
    }

    /// The text [`ManagedUnit::install`] would write (`None` without a manager).
    pub fn render(&self, spec: &UnitSpec) -> Option<String> {
        match self.manager {
            ManagerKind::Systemd => Some(render_systemd(spec, &self.env)),
            ManagerKind::Launchd => Some(render_launchd(spec, &self.env)),
            ManagerKind::None => None,
        }
    }

    /// Runs a tool; a tool that cannot run at all reads as a failure with the reason on stderr.
    pub(crate) fn run(&self, tool: &str, args: &[&str]) -> CommandOutput {
        tracing::debug!(tool, ?args, "running");
        match self.runner.run_with_timeout(tool, args, TOOL_TIMEOUT) {
            Ok(out) => out,
            Err(e) => CommandOutput {
                code: None,
                stdout: String::new(),
                stderr: e.to_string(),
            },
        }
    }

    fn systemctl(&self, scope: &UnitScope, args: &[&str]) -> CommandOutput {
        let mut full: Vec<&str> = scope.systemctl_flags().to_vec();
        full.extend_from_slice(args);
        self.run("systemctl", &full)
    }

    /// Writes the unit for `spec`, registers it and (with `start`) starts and enables it.
    ///
    /// launchd: write → `bootout` (result ignored) → `bootstrap`, falling back to `load -w`;
    /// both failing deletes the plist; a successful bootstrap is followed by `kickstart -k`.
    /// systemd: write → `loginctl enable-linger` for a user unit (warning only) →
    /// `daemon-reload` (failure deletes the file) → `enable --now` (failure deletes the file
    /// and reloads again). A failed install never leaves a unit file behind.
    pub fn install(&self, spec: &UnitSpec, options: InstallOptions) -> InstallOutcome {
        let (Some(scope), Some(path), Some(text)) =
            (self.scope(), self.unit_path(&spec.id), self.render(spec))
        else {
            return InstallOutcome::NoManager;
        };
        if let Some(log_dir) = spec.log_path.parent()
            && let Err(e) = parachute_home::create_private_dir_all(log_dir)
        {
            return InstallOutcome::Failed {
                detail: format!(
                    "could not create the log directory {}: {e}",
                    log_dir.display()
                ),
            };
        }
        // A reinstall that fails must leave the working unit it replaced, not nothing.
        let previous = std::fs::read_to_string(&path).ok();
        if let Err(e) = write_atomic(&path, &text, 0o644) {
            return InstallOutcome::Failed {
                detail: e.to_string(),
            };
        }
        tracing::info!(path = %path.display(), "wrote unit file");
        let rollback = Rollback { path, previous };
        match &scope {
            UnitScope::LaunchdAgent { domain } => {
                self.install_launchd(spec, options, scope.clone(), domain, rollback)
            }
            _ => self.install_systemd(spec, options, scope, rollback),
        }
    }

    fn install_launchd(
        &self,
        spec: &UnitSpec,
        options: InstallOptions,
        scope: UnitScope,
        domain: &str,
        rollback: Rollback,
    ) -> InstallOutcome {
        let mut warnings = Vec::new();
        if options.start {
            let target = format!("{domain}/{}", spec.id.label);
            let plist = rollback.path.display().to_string();
            let _ = self.run("launchctl", &["bootout", &target]);
            let boot = self.run("launchctl", &["bootstrap", domain, &plist]);
            if boot.success() {
                let kick = self.run("launchctl", &["kickstart", "-k", &target]);
                if !kick.success() {
                    warnings.push(format!(
                        "launchctl kickstart did not restart {} ({}); it starts at the next login",
                        spec.id.label,
                        kick.failure_detail()
                    ));
                }
            } else {
                let legacy = self.run("launchctl", &["load", "-w", &plist]);
                if !legacy.success() {
                    rollback.undo();
                    tracing::warn!(label = %spec.id.label, "launchctl could not load the unit");
                    return InstallOutcome::Failed {
                        detail: format!(
                            "launchctl could not load it (bootstrap: {}; load -w: {})",
                            boot.failure_detail(),
                            legacy.failure_detail()
                        ),
                    };
                }
            }
        }
        InstallOutcome::Installed {
            path: rollback.path,
            scope,
            started: options.start,
            warnings,
        }
    }

    fn install_systemd(
        &self,
        spec: &UnitSpec,
        options: InstallOptions,
        scope: UnitScope,
        rollback: Rollback,
    ) -> InstallOutcome {
        let mut warnings = Vec::new();
        if scope == UnitScope::SystemdUser && !self.env.user_name.is_empty() {
            let linger_problem = if self.runner.which("loginctl").is_none() {
                Some("loginctl is not installed".to_string())
            } else {
                let out = self.run("loginctl", &["enable-linger", &self.env.user_name]);
                (!out.success()).then(|| out.failure_detail())
            };
            if let Some(why) = linger_problem {
                tracing::warn!(%why, "could not enable lingering");
                warnings.push(format!(
                    "Lingering could not be enabled ({why}): the hub runs while you are logged in but may not start after a reboot until you log in. Run `sudo loginctl enable-linger {}` to fix that.",
                    self.env.user_name
                ));
            }
        }
        let reload = self.systemctl(&scope, &["daemon-reload"]);
        if !reload.success() {
            rollback.undo();
            return InstallOutcome::Failed {
                detail: format!(
                    "systemctl daemon-reload failed ({})",
                    reload.failure_detail()
                ),
            };
        }
        if options.start {
            let enable = self.systemctl(&scope, &["enable", "--now", &spec.id.unit_name]);
            if !enable.success() {
                rollback.undo();
                let _ = self.systemctl(&scope, &["daemon-reload"]);
                return InstallOutcome::Failed {
                    detail: format!(
                        "systemctl enable --now failed ({})",
                        enable.failure_detail()
                    ),
                };
            }
        }
        InstallOutcome::Installed {
            path: rollback.path,
            scope,
            started: options.start,
            warnings,
        }
    }

    /// Stops and unregisters the unit and deletes its file. A missing file is a no-op.
    /// Manager failures are ignored: removal must clear our state even if the tool hiccups.
    pub fn remove(&self, id: &UnitId) -> RemoveOutcome {
        let (Some(scope), Some(path)) = (self.scope(), self.unit_path(id)) else {
            return RemoveOutcome::NoManager;
        };
        if !path.exists() {
            return RemoveOutcome::NotInstalled;
        }
        match &scope {
            UnitScope::LaunchdAgent { domain } => {
                let _ = self.run("launchctl", &["bootout", &format!("{domain}/{}", id.label)]);
                if let Err(e) = remove_if_present(&path) {
                    return RemoveOutcome::Failed {
                        detail: e.to_string(),
                    };
                }
            }
            _ => {
                let _ = self.systemctl(&scope, &["disable", "--now", &id.unit_name]);
                if let Err(e) = remove_if_present(&path) {
                    return RemoveOutcome::Failed {
                        detail: e.to_string(),
                    };
                }
                let _ = self.systemctl(&scope, &["daemon-reload"]);
            }
        }
        RemoveOutcome::Removed { path }
    }

    /// Checks there is a manager and an installed unit.
    fn ready(&self, id: &UnitId) -> Result<UnitScope, OpOutcome> {
        let Some(scope) = self.scope() else {
            return Err(OpOutcome::NoManager);
        };
        if !self.is_installed(id) {
            return Err(OpOutcome::NoUnit);
        }
        Ok(scope)
    }

    fn op_result(op: UnitOp, out: &CommandOutput) -> OpOutcome {
        if out.success() {
            OpOutcome::Ok
        } else {
            OpOutcome::Failed {
                op,
                detail: out.failure_detail(),
            }
        }
    }

    /// Starts the unit: `systemctl [--user] start`, or `launchctl kickstart -k`. A launchd job
    /// that is not loaded (after a `stop`, which boots it out) is bootstrapped again instead.
    pub fn start(&self, id: &UnitId) -> OpOutcome {
        let scope = match self.ready(id) {
            Ok(s) => s,
            Err(o) => return o,
        };
        match &scope {
            UnitScope::LaunchdAgent { domain } => {
                let target = format!("{domain}/{}", id.label);
                let kick = self.run("launchctl", &["kickstart", "-k", &target]);
                if kick.success() || !not_loaded(&kick) {
                    return Self::op_result(UnitOp::Start, &kick);
                }
                let plist = self.unit_path(id).unwrap_or_default();
                let boot = self.run(
                    "launchctl",
                    &["bootstrap", domain, &plist.display().to_string()],
                );
                Self::op_result(UnitOp::Start, &boot)
            }
            _ => Self::op_result(
                UnitOp::Start,
                &self.systemctl(&scope, &["start", &id.unit_name]),
            ),
        }
    }

    /// Stops the unit: `systemctl [--user] stop`, or `launchctl bootout` (which unloads the
    /// job so `KeepAlive` cannot bring it back).
    pub fn stop(&self, id: &UnitId) -> OpOutcome {
        let scope = match self.ready(id) {
            Ok(s) => s,
            Err(o) => return o,
        };
        let out = match &scope {
            UnitScope::LaunchdAgent { domain } => {
                self.run("launchctl", &["bootout", &format!("{domain}/{}", id.label)])
            }
            _ => self.systemctl(&scope, &["stop", &id.unit_name]),
        };
        Self::op_result(UnitOp::Stop, &out)
    }

    /// Restarts the unit: `systemctl [--user] restart`, or `launchctl kickstart -k`.
    pub fn restart(&self, id: &UnitId) -> OpOutcome {
        let scope = match self.ready(id) {
            Ok(s) => s,
            Err(o) => return o,
        };
        let out = match &scope {
            UnitScope::LaunchdAgent { domain } => self.run(
                "launchctl",
                &["kickstart", "-k", &format!("{domain}/{}", id.label)],
            ),
            _ => self.systemctl(&scope, &["restart", &id.unit_name]),
        };
        Self::op_result(UnitOp::Restart, &out)
    }

    /// What the manager says about the unit. Never fails: problems read as
    /// [`UnitState::Unknown`] with the manager's words.
    pub fn query_state(&self, id: &UnitId) -> UnitState {
        let scope = match self.ready(id) {
            Ok(s) => s,
            Err(OpOutcome::NoManager) => return UnitState::NoManager,
            Err(_) => return UnitState::NoUnit,
        };
        match &scope {
            UnitScope::LaunchdAgent { domain } => {
                let out = self.run("launchctl", &["print", &format!("{domain}/{}", id.label)]);
                if out.stdout.trim().is_empty() && !not_loaded(&out) && !out.success() {
                    return UnitState::Unknown {
                        detail: out.failure_detail(),
                    };
                }
                state::from_launchctl_print(&out.stdout)
            }
            _ => {
                let out = self.systemctl(&scope, &["is-active", &id.unit_name]);
                let word = out.stdout.lines().next().unwrap_or_default().trim();
                if word.is_empty() {
                    return UnitState::Unknown {
                        detail: out.failure_detail(),
                    };
                }
                match state::from_systemd_word(word) {
                    UnitState::Failed { .. } => {
                        let show = self
                            .systemctl(&scope, &["show", "-p", "ExecMainStatus", &id.unit_name]);
                        UnitState::Failed {
                            exit_code: state::exec_main_status(&show.stdout),
                        }
                    }
                    other => other,
                }
            }
        }
    }
}

/// True when launchctl says the job is not loaded in the domain.
pub(crate) fn not_loaded(out: &CommandOutput) -> bool {
    out.code == Some(113) || out.stderr.contains("Could not find service")
}

/// How to undo writing a unit file: put back what was there before, or remove it.
struct Rollback {
    /// The unit file that was written.
    path: PathBuf,
    /// Its previous contents, when it replaced an existing unit.
    previous: Option<String>,
}

impl Rollback {
    /// Restores the previous unit (a failed reinstall keeps the working one) or deletes ours.
    fn undo(&self) {
        let restored = match &self.previous {
            Some(text) => write_atomic(&self.path, text, 0o644),
            None => remove_if_present(&self.path),
        };
        if let Err(e) = restored {
            tracing::warn!(path = %self.path.display(), %e, "could not roll the unit file back");
        }
    }
}

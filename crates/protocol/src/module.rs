//! One supervised module's state, and the answers of the lifecycle routes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a supervised module is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ModuleStatus {
    /// Being spawned.
    Starting,
    /// Process alive (`ready` says whether it answers on its port yet).
    Running,
    /// Stopped on request; stays down until started.
    Stopped,
    /// Gave up after repeated crashes, or could not start at all; waits for an operator.
    Crashed,
    /// Exited unexpectedly; a respawn is scheduled (`next_retry_at`).
    Restarting,
}

impl ModuleStatus {
    /// The lowercase word used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Crashed => "crashed",
            Self::Restarting => "restarting",
        }
    }
}

/// How a module process ended: an exit code, or the signal that killed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExitInfo {
    /// Exit code when it exited normally.
    #[serde(default)]
    pub code: Option<i32>,
    /// Signal number when a signal killed it.
    #[serde(default)]
    pub signal: Option<i32>,
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(sig)) => write!(f, "signal {sig}"),
            (None, None) => write!(f, "unknown exit"),
        }
    }
}

/// Why a module is not (properly) running, in the original's `startError` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StartError {
    /// `missing_dependency`, `started_but_unbound`, `crash_loop`, `spawn_failed`,
    /// `unresolvable`, `port_in_use`, `no_start_cmd`, `unsafe_home`.
    pub error_type: String,
    /// What happened and what to do (may span lines: a crash loop quotes the last output).
    #[serde(default)]
    pub error_description: String,
    /// The missing program, for `missing_dependency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// When it was recorded (epoch ms).
    #[serde(default)]
    #[ts(type = "number")]
    pub at: u64,
}

/// A point-in-time copy of one module's state.
///
/// Serialised with the original hub's keys (`short`, `status`, `pid`, `startedAt`,
/// `restartsInWindow`, `lastCrashAt`, `lastExitCode`, `startError`) and ours beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleState {
    /// The module's short name (`vault`, `scribe`, a third-party row name).
    pub short: String,
    /// Where it is in its lifecycle.
    pub status: ModuleStatus,
    /// Pid (= process group id) of the current process, while one exists.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The port it was told to listen on (`PORT`).
    #[serde(default)]
    pub port: Option<u16>,
    /// True once it accepted a TCP connection on its port since its last spawn.
    #[serde(default)]
    pub ready: bool,
    /// When the current process was spawned (epoch ms).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub started_at: Option<u64>,
    /// The original's key: the same instant as an ISO-8601 string.
    #[serde(rename = "startedAt", default)]
    pub started_at_iso: Option<String>,
    /// Consecutive crashes counted towards giving up (reset after a healthy run).
    #[serde(default)]
    pub consecutive_crashes: u32,
    /// The original's key for the crashes counted towards giving up.
    #[serde(rename = "restartsInWindow", default)]
    pub restarts_in_window: u32,
    /// Every respawn since the module was last started by hand.
    #[serde(default)]
    pub total_restarts: u32,
    /// When it last exited unexpectedly (epoch ms).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub last_crash_at: Option<u64>,
    /// The original's key: the same instant as an ISO-8601 string.
    #[serde(rename = "lastCrashAt", default)]
    pub last_crash_at_iso: Option<String>,
    /// How it last exited unexpectedly.
    #[serde(default)]
    pub last_exit: Option<ExitInfo>,
    /// The original's key: the exit code of the last unexpected exit.
    #[serde(rename = "lastExitCode", default)]
    pub last_exit_code: Option<i32>,
    /// When the next respawn is due, while `restarting` (epoch ms).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub next_retry_at: Option<u64>,
    /// Why it is not running properly, if it is not.
    #[serde(default)]
    pub start_error: Option<StartError>,
    /// The original's key for the same start error.
    #[serde(rename = "startError", default)]
    pub start_error_compat: Option<StartError>,
}

impl ModuleState {
    /// True while the module is on its way up (spawning, respawning, or running but neither
    /// answering yet nor flagged as unbound).
    pub fn is_transient(&self) -> bool {
        match self.status {
            ModuleStatus::Starting | ModuleStatus::Restarting => true,
            ModuleStatus::Running => !self.ready && self.start_error.is_none(),
            ModuleStatus::Stopped | ModuleStatus::Crashed => false,
        }
    }
}

/// `GET /api/modules/states`: the supervisor's full state of every module (crash details the
/// module list leaves out: last exit, restarts in the window, next retry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleStates {
    /// One entry per supervised module, by short name.
    pub modules: Vec<ModuleState>,
}

/// `POST /api/modules/<s>/start|restart`: the module and its state once spawned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleAnswer {
    /// The module.
    pub short: String,
    /// Its state after the operation.
    pub state: ModuleState,
}

/// What `POST /api/modules/<s>/restart?or_start=1` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RestartAction {
    /// The hub was running the module and restarted it.
    Restarted,
    /// The hub was not running it, so it started it.
    Started,
}

/// `POST /api/modules/<s>/restart?or_start=1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RestartAnswer {
    /// The module.
    pub short: String,
    /// Its state afterwards.
    pub state: ModuleState,
    /// Which of the two happened.
    pub action: RestartAction,
}

/// `POST /api/modules/<s>/stop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StopAnswer {
    /// The module.
    pub short: String,
    /// False when the hub was not running it (nothing to stop).
    pub stopped: bool,
    /// Its state after the stop, when it was supervised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ModuleState>,
}

/// `GET /api/modules/<s>/logs`: the buffered output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ModuleLogs {
    /// The module.
    pub short: String,
    /// Buffered lines, oldest first, as the original sends them: `[short] <line>\n`.
    #[serde(default)]
    pub lines: Vec<String>,
    /// The same lines joined into one text.
    #[serde(default)]
    pub text: String,
}

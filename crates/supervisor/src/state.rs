//! What the supervisor knows about each module, as reported to the API and the CLI.

use std::time::SystemTime;

use serde::Serialize;

/// Lifecycle of one supervised module and how a process ended: the protocol's types, so the
/// supervisor's state and the wire never need translating.
pub use parachute_protocol::{ExitInfo, ModuleStatus};

/// Why a module is not (properly) running, in the original hub's `startError` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartError {
    /// Machine-readable kind: `missing_dependency`, `started_but_unbound`, `crash_loop`,
    /// `spawn_failed`, `unresolvable`.
    pub error_type: String,
    /// One human sentence (or more lines) saying what happened and what to do.
    pub error_description: String,
    /// The program that was missing, for `missing_dependency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// When this was recorded.
    #[serde(serialize_with = "ser_time")]
    pub at: SystemTime,
}

/// A point-in-time copy of one module's state.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleState {
    /// The module's short name (`vault`, `scribe`, a third-party row name).
    pub short: String,
    /// Where it is in its lifecycle.
    pub status: ModuleStatus,
    /// Pid (= process group id) of the current process, while one exists.
    pub pid: Option<u32>,
    /// The port the module was told to listen on (`PORT`).
    pub port: Option<u16>,
    /// When the current process was spawned.
    #[serde(serialize_with = "ser_opt_time")]
    pub started_at: Option<SystemTime>,
    /// True once the module has accepted a TCP connection on its port since its last spawn.
    pub ready: bool,
    /// Consecutive crashes counted towards giving up (reset after a healthy run).
    pub consecutive_crashes: u32,
    /// Every respawn since the module was last started by hand (never reset by health).
    pub total_restarts: u32,
    /// When it last exited unexpectedly.
    #[serde(serialize_with = "ser_opt_time")]
    pub last_crash_at: Option<SystemTime>,
    /// How it last exited unexpectedly.
    pub last_exit: Option<ExitInfo>,
    /// When the next respawn is due, while `restarting`.
    #[serde(serialize_with = "ser_opt_time")]
    pub next_retry_at: Option<SystemTime>,
    /// Why it is not running properly, if it is not.
    pub start_error: Option<StartError>,
}

impl ModuleState {
    pub(crate) fn new(short: &str) -> Self {
        Self {
            short: short.to_string(),
            status: ModuleStatus::Starting,
            pid: None,
            port: None,
            started_at: None,
            ready: false,
            consecutive_crashes: 0,
            total_restarts: 0,
            last_crash_at: None,
            last_exit: None,
            next_retry_at: None,
            start_error: None,
        }
    }

    /// True while the module is on its way up (spawning, respawning, or running but not yet
    /// answering on its port and not yet flagged as unbound).
    pub fn is_transient(&self) -> bool {
        match self.status {
            ModuleStatus::Starting | ModuleStatus::Restarting => true,
            ModuleStatus::Running => !self.ready && self.start_error.is_none(),
            ModuleStatus::Stopped | ModuleStatus::Crashed => false,
        }
    }
}

/// Milliseconds since the Unix epoch, the form every timestamp takes in our JSON.
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(epoch_ms(*t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&epoch_ms(*t)),
        None => s.serialize_none(),
    }
}

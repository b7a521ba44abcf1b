//! What the supervisor announces to subscribers ([`crate::Supervisor::subscribe`]).
//!
//! Events go through a `tokio::sync::broadcast` channel: sending never blocks, and a subscriber
//! that falls behind by more than [`EVENT_CAPACITY`] events gets `Lagged` and should take fresh
//! snapshots ([`crate::Supervisor::snapshots`]) instead of relying on the events it missed.

use std::time::Duration;

use crate::state::{ExitInfo, ModuleState, StartError};

/// Events buffered per subscriber before a slow one starts lagging.
pub const EVENT_CAPACITY: usize = 256;

/// Something that happened to a supervised module.
#[derive(Debug, Clone)]
pub enum SupervisorEvent {
    /// The module's status, pid, readiness or start error changed; this is its new state.
    StateChanged(ModuleState),
    /// The module exited on its own and a respawn is scheduled.
    Crashed {
        /// The module.
        short: String,
        /// How it ended.
        exit: ExitInfo,
        /// Consecutive crashes so far, this one included.
        consecutive: u32,
        /// When the respawn happens.
        respawn_in: Duration,
    },
    /// The supervisor stopped trying: the module crashed too often in a row, or could not be
    /// started at all. It stays `crashed` until an operator starts it again.
    GaveUp {
        /// The module.
        short: String,
        /// Why (`crash_loop`, `missing_dependency`, `spawn_failed`, or the resolver's kind).
        error: StartError,
    },
    /// Lines of the module's output could not be shown on the hub's stdout (nobody was reading
    /// it) and were dropped from that copy only; the log file, buffer and followers have them.
    OutputDropped {
        /// The module.
        short: String,
        /// How many lines were dropped from stdout.
        lines: u64,
    },
}

//! In-process module supervisor.
//!
//! Every module is a child process in its own process group, with a parent-death signal so it
//! cannot outlive the hub, and a mark in its environment naming the home and the hub, so that
//! what escapes its group is still found ([`sweep_orphans`]). Its stdout and stderr are read in
//! large chunks and split into lines that go into a 64 KiB ring buffer, a size-rotated log file
//! and, prefixed with `[short] ` and escaped, to the hub's stdout through a buffer that never
//! blocks the hub. The log file, the buffer and followers ([`LogFollower`]) get every line; only
//! the stdout copy may drop lines, and it says how many.
//!
//! A module that exits on its own is respawned with exponential backoff and jitter until it
//! crashes too often in a row; then it is left `crashed` with the reason. Every state change is
//! announced to subscribers ([`Supervisor::subscribe`]).
//!
//! The supervisor knows nothing about `services.json`: callers hand it a [`SpecResolver`] that
//! produces a fresh [`SpawnSpec`] (argv, cwd, env, port) before every spawn.

mod config;
mod events;
mod follow;
mod lines;
mod logfile;
mod mark;
mod module;
mod output;
mod pump;
mod reaper;
mod ring;
mod spawn;
mod state;
mod supervisor;
mod terminal;

pub use config::{CrashPolicy, SupervisorConfig};
pub use events::{EVENT_CAPACITY, SupervisorEvent};
pub use follow::LogFollower;
pub use logfile::LogFile;
pub use mark::{
    HomeMark, MARK_VAR, MarkedProcess, SWEEP_GRACE, SweepReport, sweep_orphans,
    sweep_orphans_with_grace,
};
pub use module::{SpecResolver, StartBlocked};
pub use reaper::become_subreaper;
pub use ring::RingBuffer;
pub use spawn::SpawnSpec;
pub use state::{ExitInfo, ModuleState, ModuleStatus, StartError, epoch_ms};
pub use supervisor::{LogPathFn, StartRequest, Supervisor};
pub use terminal::{
    LineSink, OutputSink, STDOUT_BUFFER_BYTES, escape_for_terminal, escape_lines_for_terminal,
    stdout_sink,
};

//! In-process module supervisor.
//!
//! Every module is a child process in its own process group, with a parent-death signal so it
//! cannot outlive the hub. Its stdout and stderr are split into lines that go, prefixed with
//! `[short] `, to the hub's stdout, into a 64 KiB ring buffer and into a size-rotated log file.
//! A module that exits on its own is respawned with exponential backoff and jitter until it
//! crashes too often in a row; then it is left `crashed` with the reason.
//!
//! The supervisor knows nothing about `services.json`: callers hand it a [`SpecResolver`] that
//! produces a fresh [`SpawnSpec`] (argv, cwd, env, port) before every spawn.

mod config;
mod logs;
mod module;
mod reaper;
mod spawn;
mod state;
mod supervisor;

pub use config::{CrashPolicy, SupervisorConfig};
pub use logs::{LineSink, LogFile, RingBuffer, stdout_sink};
pub use module::{SpecResolver, StartBlocked};
pub use reaper::become_subreaper;
pub use spawn::SpawnSpec;
pub use state::{ExitInfo, ModuleState, ModuleStatus, StartError, epoch_ms};
pub use supervisor::{LogPathFn, StartRequest, Supervisor};

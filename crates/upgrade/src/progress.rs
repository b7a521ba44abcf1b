//! Progress reports: the CLI draws them (a progress bar for the download, a line per phase),
//! the hub turns them into events. The status file carries the same facts for everyone else.

use crate::status::Phase;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A phase began; `message` says what it does.
    Phase {
        /// The phase.
        phase: Phase,
        /// For a person.
        message: String,
    },
    /// Download progress.
    Bytes {
        /// Bytes received.
        done: u64,
        /// Bytes expected.
        total: u64,
    },
    /// A log line (also appended to the status file's `log`).
    Log(String),
}

/// Receives progress reports. Called on the upgrader's task: keep it quick.
pub trait ProgressSink: Send + Sync {
    /// One report.
    fn report(&self, event: &Progress);
}

impl<F: Fn(&Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, event: &Progress) {
        self(event)
    }
}

/// A sink that drops everything (the detached helper: the status file is its report).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _event: &Progress) {}
}

//! Where one module's output goes: its log file, its ring buffer, the hub's terminal copy, and
//! the wake-up for its followers.
//!
//! **One rule for module lines**: only the terminal copy may drop lines (and it says how many);
//! the log file, the ring buffer, the API and the follow stream are lossless and keep the lines
//! as the module wrote them (decoded as UTF-8, invalid bytes replaced). Recording a batch:
//!
//! 1. decode the batch once and build its terminal copy (`[short] ` + escaped line) — no lock;
//! 2. under the log-file lock: write the batch in one write, push it to the ring (same sequence
//!    numbers, so a follower can find in the file any line the ring no longer holds), offer the
//!    terminal copy to the sink (never blocks);
//! 3. wake the followers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::logfile::LogFile;
use crate::ring::RingBuffer;
use crate::terminal::{OutputSink, escape_for_terminal, push_terminal_lines};

/// The output state of one module, shared by its pumps, its followers and the supervisor.
pub(crate) struct ModuleOutput {
    /// The module's short name (for drop counts).
    short: String,
    /// `[short] `, escaped for a terminal.
    prefix: String,
    /// The last lines.
    ring: Mutex<RingBuffer>,
    /// The persistent log file.
    log_file: Mutex<LogFile>,
    /// The terminal copy.
    sink: OutputSink,
    /// Woken after every batch, and when the module is removed.
    progress: Notify,
    /// Set when the module is removed: followers end once they have read everything.
    closed: AtomicBool,
}

impl ModuleOutput {
    /// Output state for `short`, keeping `ring_bytes` in memory and writing `log_file`.
    pub(crate) fn new(short: &str, ring_bytes: usize, log_file: LogFile, sink: OutputSink) -> Self {
        Self {
            short: short.to_string(),
            prefix: format!("[{}] ", escape_for_terminal(short)),
            ring: Mutex::new(RingBuffer::new(ring_bytes)),
            log_file: Mutex::new(log_file),
            sink,
            progress: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// The ring buffer, locked.
    pub(crate) fn ring(&self) -> MutexGuard<'_, RingBuffer> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The log file, locked.
    pub(crate) fn log_file(&self) -> MutexGuard<'_, LogFile> {
        self.log_file.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `lines` lines (`raw` holds them, each ending in `\n`). Blocking: writes the log
    /// file, so it runs off the async runtime (see the module docs for the steps).
    pub(crate) fn record(&self, raw: Vec<u8>, lines: usize) {
        let text = match String::from_utf8(raw) {
            Ok(text) => text,
            Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
        };
        let batch = Arc::new(text);
        let mut terminal = Vec::with_capacity(batch.len() + lines * self.prefix.len());
        push_terminal_lines(&mut terminal, &self.prefix, &batch);
        {
            let mut log = self.log_file();
            let seq = log.write_batch(&batch, lines as u64);
            let ring_seq = self.ring().push_batch(&batch);
            debug_assert_eq!(seq, ring_seq, "ring and log file count lines alike");
            self.sink.offer(Some(&self.short), &terminal, lines as u64);
        }
        self.progress.notify_waiters();
    }

    /// A future that resolves at the next [`ModuleOutput::record`] or close.
    pub(crate) fn progress(&self) -> &Notify {
        &self.progress
    }

    /// True once the module was removed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the module removed and wakes its followers.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.progress.notify_waiters();
    }
}

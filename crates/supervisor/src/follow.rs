//! Following a module's output live, without losing lines.
//!
//! A [`LogFollower`] does not get a copy of every line pushed at it; it pulls lines by sequence
//! number from the ring buffer when woken. A follower that fell behind the ring (the module
//! printed more than the buffer holds since it last read) reads the missing lines back from the
//! log file and its rotated generations. Only lines that are gone from both — never written, or
//! rotated away before the follower got to them — are reported, with their exact count.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::logfile::{Located, read_lines};
use crate::output::ModuleOutput;

/// Lines copied from the ring per refill.
const RING_BATCH_LINES: usize = 1024;
/// Lines read back from a log file per refill, at most.
const FILE_BATCH_LINES: u64 = 4096;
/// Bytes read back from a log file per refill, about.
const FILE_BATCH_BYTES: usize = 1024 * 1024;

/// What a follower has to deliver next.
#[derive(Debug)]
enum Item {
    /// A line, in order.
    Line(String),
    /// This many lines are gone at this point.
    Missed(u64),
}

/// A live, lossless feed of one module's output lines (see the module docs).
///
/// Its methods mirror a `tokio::sync::broadcast::Receiver<String>`, with one difference in
/// meaning: `Lagged(n)` comes only for lines that are truly gone, never because this reader was
/// slow while the lines were still in memory or on disk. `Closed` comes once the module was
/// removed and every line before that was delivered.
pub struct LogFollower {
    /// The module's output.
    output: Arc<ModuleOutput>,
    /// Sequence number of the next line to deliver.
    next_seq: u64,
    /// What is ready to deliver, in order.
    pending: VecDeque<Item>,
}

impl LogFollower {
    /// A follower whose first line is the one with sequence number `next_seq`.
    pub(crate) fn new(output: Arc<ModuleOutput>, next_seq: u64) -> Self {
        Self {
            output,
            next_seq,
            pending: VecDeque::new(),
        }
    }

    /// The next line, waiting for the module to print one. `Err(Lagged(n))`: `n` lines are
    /// gone here (see the type docs); `Err(Closed)`: the module was removed. Cancel-safe.
    pub async fn recv(&mut self) -> Result<String, RecvError> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return match item {
                    Item::Line(line) => Ok(line),
                    Item::Missed(n) => Err(RecvError::Lagged(n)),
                };
            }
            // Registered before looking, so a batch recorded in between still wakes us.
            let output = self.output.clone();
            let woken = output.progress().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.refill() {
                continue;
            }
            if output.is_closed() {
                return Err(RecvError::Closed);
            }
            woken.await;
        }
    }

    /// The next line if one is there already: `Err(Empty)` when the follower is up to date.
    /// May read a log file back (a short blocking read) when the follower fell behind.
    pub fn try_recv(&mut self) -> Result<String, TryRecvError> {
        if self.pending.is_empty() && !self.refill() {
            return Err(if self.output.is_closed() {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        match self.pending.pop_front() {
            Some(Item::Line(line)) => Ok(line),
            Some(Item::Missed(n)) => Err(TryRecvError::Lagged(n)),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Moves the next lines into `pending`; false when there are none yet.
    fn refill(&mut self) -> bool {
        let ring_first = {
            let ring = self.output.ring();
            if self.next_seq >= ring.next_seq() {
                return false;
            }
            if self.next_seq >= ring.first_seq() {
                let lines = ring.from_seq(self.next_seq, RING_BATCH_LINES);
                self.next_seq += lines.len() as u64;
                self.pending.extend(lines.into_iter().map(Item::Line));
                return true;
            }
            ring.first_seq()
        };
        self.catch_up(ring_first);
        true
    }

    /// Reads lines before `ring_first` (no longer in memory) back from the log file, or
    /// records them as missed when no file has them.
    fn catch_up(&mut self, ring_first: u64) {
        let located = self.output.log_file().locate(self.next_seq);
        match located {
            Located::Gone { until } => {
                let until = until.min(ring_first);
                self.missed(until - self.next_seq);
                self.next_seq = until;
            }
            Located::InFile {
                file,
                offset,
                skip,
                end,
            } => {
                let end = end.min(ring_first);
                let want = (end - self.next_seq).min(FILE_BATCH_LINES);
                let (lines, ended) =
                    run_blocking(|| read_lines(file, offset, skip, want, FILE_BATCH_BYTES));
                self.next_seq += lines.len() as u64;
                self.pending.extend(lines.into_iter().map(Item::Line));
                if ended {
                    // The file is shorter than what was written to it (cut or replaced).
                    self.missed(end - self.next_seq);
                    self.next_seq = end;
                }
            }
        }
    }

    fn missed(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        match self.pending.back_mut() {
            Some(Item::Missed(count)) => *count += n,
            _ => self.pending.push_back(Item::Missed(n)),
        }
    }
}

/// Runs a short blocking read, telling a multi-threaded runtime so other tasks move off this
/// worker meanwhile.
fn run_blocking<T>(read: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(read)
    } else {
        read()
    }
}

//! Module output: the per-module ring buffer, the rotated log file, and the hub's stdout sink.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `[short] line` output goes (the hub's stdout in production, a capture in tests).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A sink that writes each line to the process stdout.
pub fn stdout_sink() -> LineSink {
    Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    })
}

/// The last lines of a module's output, bounded by total bytes.
///
/// Oldest whole lines are dropped to stay under the limit, but the newest line is always kept,
/// even if it alone is larger.
#[derive(Debug)]
pub struct RingBuffer {
    /// Lines, oldest first, without their newline.
    lines: VecDeque<String>,
    /// Sum of `lines[i].len() + 1` (the newline counts).
    bytes: usize,
    /// The byte limit.
    capacity: usize,
}

impl RingBuffer {
    /// An empty buffer holding at most `capacity` bytes of text.
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            bytes: 0,
            capacity,
        }
    }

    /// Appends one line and drops the oldest lines while over capacity.
    pub fn push(&mut self, line: &str) {
        self.bytes += line.len() + 1;
        self.lines.push_back(line.to_string());
        while self.bytes > self.capacity && self.lines.len() > 1 {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len() + 1;
            }
        }
    }

    /// All lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }

    /// The newest `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines.iter().skip(skip).cloned().collect()
    }

    /// Bytes currently held (line text plus one newline each).
    pub fn byte_len(&self) -> usize {
        self.bytes
    }
}

/// A module's persistent log, `<short>/logs/<short>.log`, rotated by size.
///
/// Failing to open, write or rotate never stops the module: the error is logged once and the
/// file is skipped until the next spawn calls [`LogFile::ensure_open`].
#[derive(Debug)]
pub struct LogFile {
    /// The live file's path.
    path: PathBuf,
    /// Open handle, `None` after a failure.
    file: Option<File>,
    /// Bytes in the live file.
    size: u64,
    /// Rotate past this size.
    max_bytes: u64,
    /// Rotated generations kept.
    kept: u32,
}

impl LogFile {
    /// Opens (creating directories) `path` for appending.
    pub fn open(path: &Path, max_bytes: u64, kept: u32) -> Self {
        let mut log = Self {
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_bytes,
            kept,
        };
        log.reopen();
        log
    }

    fn reopen(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            Ok(file) => {
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(file);
            }
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "cannot open module log file; continuing without it");
                self.file = None;
            }
        }
    }

    /// Reopens the file if an earlier failure closed it (called before every spawn).
    pub fn ensure_open(&mut self) {
        if self.file.is_none() {
            self.reopen();
        }
    }

    /// Appends one line (a newline is added).
    pub fn write_line(&mut self, line: &str) {
        if self.size >= self.max_bytes {
            self.rotate();
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.write_all(b"\n"));
        match written {
            Ok(()) => self.size += line.len() as u64 + 1,
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "module log write failed; continuing without it");
                self.file = None;
            }
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.kept == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(numbered(self.kept));
            for n in (1..self.kept).rev() {
                let _ = std::fs::rename(numbered(n), numbered(n + 1));
            }
            let _ = std::fs::rename(&self.path, numbered(1));
        }
        self.reopen();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_drops_oldest_whole_lines() {
        let mut ring = RingBuffer::new(10);
        ring.push("aaaa"); // 5
        ring.push("bbbb"); // 10
        assert_eq!(ring.lines(), vec!["aaaa", "bbbb"]);
        ring.push("cc"); // 13 -> drop aaaa -> 8
        assert_eq!(ring.lines(), vec!["bbbb", "cc"]);
        assert_eq!(ring.byte_len(), 8);
    }

    #[test]
    fn ring_keeps_an_oversized_last_line() {
        let mut ring = RingBuffer::new(4);
        ring.push("a");
        ring.push("this line is longer than the buffer");
        assert_eq!(ring.lines(), vec!["this line is longer than the buffer"]);
        assert_eq!(ring.tail(5).len(), 1);
    }

    #[test]
    fn log_file_rotates_by_size_and_keeps_generations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/m.log");
        let mut log = LogFile::open(&path, 20, 2);
        for i in 0..10 {
            log.write_line(&format!("line number {i}"));
        }
        assert!(path.exists());
        assert!(dir.path().join("logs/m.log.1").exists());
        assert!(dir.path().join("logs/m.log.2").exists());
        assert!(!dir.path().join("logs/m.log.3").exists());
        let live = std::fs::read_to_string(&path).unwrap();
        assert!(live.ends_with("line number 9\n"), "{live}");
    }

    #[test]
    fn unwritable_log_path_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let mut log = LogFile::open(&blocker.join("sub/m.log"), 100, 1);
        log.write_line("goes nowhere");
    }

    #[test]
    fn a_log_file_that_failed_is_reopened_on_the_next_spawn() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::write(&logs, "a file where the directory belongs").unwrap();
        let path = logs.join("m.log");
        let mut log = LogFile::open(&path, 1024, 1);
        log.write_line("lost");
        log.ensure_open();
        log.write_line("still lost");
        std::fs::remove_file(&logs).unwrap();
        log.ensure_open();
        log.write_line("kept");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    }
}

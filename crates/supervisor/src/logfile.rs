//! A module's persistent log, `<short>/logs/<short>.log`, rotated by size, and the index that
//! lets a follower who fell behind the in-memory buffer read its missing lines back.
//!
//! Lines are written a batch at a time (one write per read from the module's pipe). Every line
//! has the same sequence number as in the ring buffer, and the file keeps a few checkpoints —
//! "line `seq` starts at byte `offset` of generation `g`" — at most every 256 KiB, at every
//! rotation and around every stretch that could not be written. Generation `g` is the live file
//! while no rotation happened since, `<path>.<n>` after `n` rotations; files rotated beyond the
//! kept generations are gone, and so are their lines.
//!
//! The file and its directories are private: created 0600 and 0700 whatever the umask (module
//! output can carry secrets).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Bytes written between two checkpoints, at most: what a follower may have to skip.
const CHECKPOINT_BYTES: u64 = 256 * 1024;

/// Where a stretch of lines starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpoint {
    /// The first line of the stretch.
    seq: u64,
    /// Generation and byte offset where it starts, or `None` for lines that were not written.
    at: Option<(u64, u64)>,
}

/// Where the lines from a given sequence number can be read back.
#[derive(Debug)]
pub(crate) enum Located {
    /// In `file`: skip `skip` lines after byte `offset`; lines up to `end` (exclusive) follow.
    InFile {
        /// The file, opened for reading (rotations do not move what it reads).
        file: File,
        /// Where the checkpoint's line starts.
        offset: u64,
        /// Lines between the checkpoint and the one wanted.
        skip: u64,
        /// First sequence number not in this stretch.
        end: u64,
    },
    /// Lines before `until` are in no file: never written, or rotated away.
    Gone {
        /// First sequence number that may be readable again.
        until: u64,
    },
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
    /// Rotations since this log was opened: the generation of the live file.
    rotations: u64,
    /// Sequence number of the next line (every line offered so far, written or not).
    next_seq: u64,
    /// Checkpoints, oldest first, covering the generations still on disk.
    index: VecDeque<Checkpoint>,
    /// Bytes written since the last checkpoint.
    since_checkpoint: u64,
    /// Why the file is closed, until it is opened again.
    failure: Option<String>,
}

impl LogFile {
    /// Opens (creating private directories) `path` for appending.
    pub fn open(path: &Path, max_bytes: u64, kept: u32) -> Self {
        let mut log = Self {
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_bytes,
            kept,
            rotations: 0,
            next_seq: 0,
            index: VecDeque::new(),
            since_checkpoint: 0,
            failure: None,
        };
        log.reopen();
        log
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the file is not being written, while it is not (the error that closed it).
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    fn reopen(&mut self) {
        match open_private(&self.path) {
            Ok(file) => {
                self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
                self.file = Some(file);
                self.failure = None;
            }
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "cannot open module log file; continuing without it");
                self.file = None;
                self.failure = Some(format!("cannot open {}: {err}", self.path.display()));
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
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.write_batch(&text, 1);
    }

    /// Appends `lines` lines (`text` holds them, each ending in `\n`) in one write, rotating
    /// first when the live file is over its size. Returns the first line's sequence number.
    pub fn write_batch(&mut self, text: &str, lines: u64) -> u64 {
        let first = self.next_seq;
        self.next_seq += lines;
        if self.file.is_some() && self.size >= self.max_bytes {
            self.rotate();
        }
        if self.file.is_none() {
            self.mark_unwritten(first);
            return first;
        }
        if self.needs_checkpoint() {
            self.index.push_back(Checkpoint {
                seq: first,
                at: Some((self.rotations, self.size)),
            });
            self.since_checkpoint = 0;
        }
        let Some(file) = self.file.as_mut() else {
            return first;
        };
        match file.write_all(text.as_bytes()) {
            Ok(()) => {
                self.size += text.len() as u64;
                self.since_checkpoint += text.len() as u64;
            }
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "module log write failed; continuing without it");
                self.failure = Some(format!("cannot write {}: {err}", self.path.display()));
                self.file = None;
                self.mark_unwritten(first);
            }
        }
        first
    }

    fn needs_checkpoint(&self) -> bool {
        match self.index.back() {
            Some(Checkpoint {
                at: Some((generation, _)),
                ..
            }) => *generation != self.rotations || self.since_checkpoint >= CHECKPOINT_BYTES,
            _ => true,
        }
    }

    /// Records that the lines from `seq` on are not in any file (until the next checkpoint).
    fn mark_unwritten(&mut self, seq: u64) {
        match self.index.back_mut() {
            Some(last) if last.at.is_none() => {}
            Some(last) if last.seq == seq => last.at = None,
            _ => self.index.push_back(Checkpoint { seq, at: None }),
        }
    }

    fn numbered(&self, n: u64) -> PathBuf {
        PathBuf::from(format!("{}.{n}", self.path.display()))
    }

    fn rotate(&mut self) {
        self.file = None;
        if self.kept == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(self.numbered(u64::from(self.kept)));
            for n in (1..u64::from(self.kept)).rev() {
                let _ = std::fs::rename(self.numbered(n), self.numbered(n + 1));
            }
            let _ = std::fs::rename(&self.path, self.numbered(1));
        }
        self.rotations += 1;
        // Checkpoints into generations that are gone now say nothing any more.
        while let Some(front) = self.index.front() {
            let gone = match front.at {
                Some((generation, _)) => self.rotations - generation > u64::from(self.kept),
                None => true,
            };
            if !gone {
                break;
            }
            self.index.pop_front();
        }
        self.reopen();
    }

    /// Where the line with sequence number `seq` (below the next one) can be read back.
    pub(crate) fn locate(&self, seq: u64) -> Located {
        let after = self.index.partition_point(|cp| cp.seq <= seq);
        let end = self.index.get(after).map_or(self.next_seq, |cp| cp.seq);
        let Some(checkpoint) = after.checked_sub(1).and_then(|i| self.index.get(i)) else {
            return Located::Gone { until: end };
        };
        let Some((generation, offset)) = checkpoint.at else {
            return Located::Gone { until: end };
        };
        let age = self.rotations - generation;
        if age > u64::from(self.kept) {
            return Located::Gone { until: end };
        }
        let path = if age == 0 {
            self.path.clone()
        } else {
            self.numbered(age)
        };
        match File::open(&path) {
            Ok(file) => Located::InFile {
                file,
                offset,
                skip: seq - checkpoint.seq,
                end,
            },
            Err(_) => Located::Gone { until: end },
        }
    }
}

/// Reads up to `max` lines (and about `max_bytes`) after skipping `skip` lines from `offset`
/// of `file`. The flag is true when the file ended first: it holds fewer lines than were
/// written to it (it was cut short or replaced).
pub(crate) fn read_lines(
    file: File,
    offset: u64,
    skip: u64,
    max: u64,
    max_bytes: usize,
) -> (Vec<String>, bool) {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    if reader.seek(SeekFrom::Start(offset)).is_err() {
        return (Vec::new(), true);
    }
    let mut line = Vec::new();
    for _ in 0..skip {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(_) if line.ends_with(b"\n") => {}
            _ => return (Vec::new(), true),
        }
    }
    let mut lines = Vec::new();
    let mut bytes = 0;
    while (lines.len() as u64) < max && bytes < max_bytes {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(_) if line.ends_with(b"\n") => {
                line.pop();
                bytes += line.len() + 1;
                lines.push(String::from_utf8_lossy(&line).into_owned());
            }
            _ => return (lines, true),
        }
    }
    (lines, false)
}

/// Opens `path` for appending, 0600, creating missing directories 0700 (both whatever the
/// umask). An existing file readable by others is made private too.
fn open_private(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        create_private_dirs(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o777 != 0o600 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Creates `dir` and its missing ancestors, each 0700 whatever the umask; existing directories
/// are left as they are.
fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(d) = current {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d);
        current = d.parent();
    }
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "logfile_tests.rs"]
mod tests;

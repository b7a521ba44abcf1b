//! The hub's terminal copy of module output: escaping, and a sink that never blocks.
//!
//! Module lines are shown on a terminal as `[short] line`. Two things can go wrong there, and
//! both are handled here, for the terminal copy only (the log file, the ring buffer, the API and
//! the follow stream keep every line as the module wrote it):
//!
//! - **Injection**: a module printing `\r`, `ESC [2J` or other control characters could
//!   overwrite its prefix, forge a `[supervisor]` line or clear the screen. [`escape_for_terminal`]
//!   rewrites them as visible escapes; the CLI's `logs` uses the same function.
//! - **Stalls**: when the hub's stdout is a pipe nobody reads, writing to it blocks. The stdout
//!   sink ([`stdout_sink`]) hands chunks of lines to a dedicated thread through a bounded buffer;
//!   when the buffer is full, lines are dropped and counted, and once the thread gets its output
//!   through again it prints `[supervisor] N line(s) of module output dropped: stdout is not
//!   being read` where the gap is.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::events::SupervisorEvent;

/// A per-line callback sink: called with each `[short] line` (already escaped) or
/// `[supervisor] …` line, without its newline. It must not block.
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How many bytes of terminal output may wait for a stalled stdout before lines are dropped.
pub const STDOUT_BUFFER_BYTES: usize = 1024 * 1024;

/// True for the characters [`escape_for_terminal`] rewrites: C0 controls except tab, DEL, and
/// the C1 controls U+0080–U+009F.
fn is_terminal_control(c: char) -> bool {
    (c < ' ' && c != '\t') || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// True when `bytes` (lines with their newlines) may hold a character [`escape_for_terminal`]
/// rewrites; newlines themselves do not count. A false positive only costs the slow path.
fn may_need_escaping(bytes: &[u8]) -> bool {
    // C1 controls are U+0080–U+009F: encoded as 0xC2 0x80–0x9F.
    bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f || b == 0xc2)
}

/// `line` with every terminal control character rewritten as a visible escape: `\r` and `\n`
/// as themselves (`\r`, `\n`), other C0 controls and DEL as `\xNN`, C1 controls as `\u{NN}`.
/// Tabs and every printable character, of any script, are kept. Borrowed when nothing changes.
pub fn escape_for_terminal(line: &str) -> Cow<'_, str> {
    if !line.contains(is_terminal_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        push_escaped_char(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape_for_terminal`] for text of several lines: the same rule, except that `\n` is kept
/// as the line break it is (for streams such as `logs -f` that pass lines through in chunks).
pub fn escape_lines_for_terminal(text: &str) -> Cow<'_, str> {
    if !text.contains(|c| c != '\n' && is_terminal_control(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            push_escaped_char(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped_char(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if (c as u32) < 0x80 && is_terminal_control(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_terminal_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Appends `[prefix]line\n` for every line of `batch` (lines terminated by `\n`) to `out`,
/// escaped for a terminal.
pub(crate) fn push_terminal_lines(out: &mut Vec<u8>, prefix: &str, batch: &str) {
    let clean = !may_need_escaping(batch.as_bytes());
    for line in batch.split_terminator('\n') {
        out.extend_from_slice(prefix.as_bytes());
        if clean {
            out.extend_from_slice(line.as_bytes());
        } else {
            out.extend_from_slice(escape_for_terminal(line).as_bytes());
        }
        out.push(b'\n');
    }
}

/// Where the terminal copy of module output goes: the hub's stdout (through a thread that
/// never lets a stalled reader block the hub), or a per-line callback (tests, embedders).
/// Cheap to clone; clones share one buffer and thread.
#[derive(Clone)]
pub struct OutputSink {
    /// The kind of sink.
    kind: Arc<SinkKind>,
}

/// The two kinds of [`OutputSink`].
enum SinkKind {
    /// A bounded buffer drained by a dedicated writer thread.
    Buffered(BufferedWriter),
    /// Called with each line.
    Lines(LineSink),
}

/// A sink writing to the process stdout through a bounded buffer of
/// [`STDOUT_BUFFER_BYTES`] and a dedicated thread (see the module docs).
pub fn stdout_sink() -> OutputSink {
    OutputSink::buffered(std::io::stdout(), STDOUT_BUFFER_BYTES)
}

impl<F> From<Arc<F>> for OutputSink
where
    F: Fn(&str) + Send + Sync + ?Sized + 'static,
{
    fn from(callback: Arc<F>) -> Self {
        let callback: LineSink = Arc::new(move |line: &str| callback(line));
        Self {
            kind: Arc::new(SinkKind::Lines(callback)),
        }
    }
}

impl OutputSink {
    /// A sink that writes to `writer` from a thread of its own, buffering at most `limit` bytes;
    /// the thread ends (after writing what is buffered) when the last clone is dropped.
    pub fn buffered(writer: impl Write + Send + 'static, limit: usize) -> Self {
        Self {
            kind: Arc::new(SinkKind::Buffered(BufferedWriter::start(
                Box::new(writer),
                limit,
            ))),
        }
    }

    /// Lets this sink report dropped output as [`SupervisorEvent::OutputDropped`] on `events`.
    pub(crate) fn attach_events(&self, events: broadcast::Sender<SupervisorEvent>) {
        if let SinkKind::Buffered(writer) = &*self.kind {
            writer.shared.lock().listeners.push(events);
        }
    }

    /// Offers `chunk` (whole lines, each ending in `\n`; `lines` of them) from module `short`,
    /// or from the supervisor itself when `short` is `None`. Never blocks on the reader:
    /// what does not fit in the buffer is dropped and counted.
    pub(crate) fn offer(&self, short: Option<&str>, chunk: &[u8], lines: u64) {
        match &*self.kind {
            SinkKind::Buffered(writer) => writer.offer(short, chunk, lines),
            SinkKind::Lines(callback) => {
                for line in String::from_utf8_lossy(chunk).split_terminator('\n') {
                    callback(line);
                }
            }
        }
    }

    /// Waits (blocking) until everything offered so far has been written out, or `timeout`
    /// passed; true when it was. For the end of the process, which would cut the writer thread
    /// short. A stdout nobody reads makes this wait the whole timeout.
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let SinkKind::Buffered(writer) = &*self.kind else {
            return true;
        };
        let deadline = std::time::Instant::now() + timeout;
        let mut state = writer.shared.lock();
        while !state.is_flushed() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = writer
                .shared
                .written
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// True when nothing waits for the writer thread and the next chunk will be taken (tests).
    #[cfg(test)]
    pub(crate) fn is_drained(&self) -> bool {
        match &*self.kind {
            SinkKind::Buffered(writer) => {
                let state = writer.shared.lock();
                state.pending.is_empty() && !state.dropping && state.dropped.is_empty()
            }
            SinkKind::Lines(_) => true,
        }
    }

    /// Offers one line of the hub's own (`line`, without its newline, shown as it is): the
    /// non-blocking way for the hub to print while modules print too.
    pub fn print_line(&self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.offer(None, &bytes, 1);
    }

    /// Offers one `[supervisor] message` line.
    pub(crate) fn say(&self, message: &str) {
        let mut line = Vec::with_capacity(message.len() + 14);
        line.extend_from_slice(b"[supervisor] ");
        line.extend_from_slice(escape_for_terminal(message).as_bytes());
        line.push(b'\n');
        self.offer(None, &line, 1);
    }
}

/// The shared state of a buffered sink and its writer thread.
struct BufferedWriter {
    /// Buffer, counters and listeners, shared with the thread.
    shared: Arc<Buffer>,
}

/// What the sink and its writer thread share.
struct Buffer {
    /// The waiting output and drop counts.
    state: Mutex<BufferState>,
    /// Wakes the writer thread.
    wake: Condvar,
    /// Signalled by the writer thread after each write ([`OutputSink::flush`] waits on it).
    written: Condvar,
    /// Most bytes that may wait.
    limit: usize,
}

/// The buffer proper, behind [`Buffer::state`].
#[derive(Default)]
struct BufferState {
    /// Output waiting for the writer thread.
    pending: Vec<u8>,
    /// Set once a chunk did not fit: everything is dropped until the thread takes `pending`, so
    /// the gap sits at the end of `pending`, where its report goes.
    dropping: bool,
    /// Lines dropped since the last report, per module (`None` = the supervisor's own lines).
    dropped: Vec<(Option<String>, u64)>,
    /// Where reports of dropped output go as events.
    listeners: Vec<broadcast::Sender<SupervisorEvent>>,
    /// Set while the writer thread writes what it took.
    writing: bool,
    /// Set when the last sink clone is gone: the thread writes what is left and ends.
    closed: bool,
}

impl BufferState {
    /// True when everything offered so far has been written out (or reported dropped).
    fn is_flushed(&self) -> bool {
        self.pending.is_empty() && self.dropped.is_empty() && !self.writing
    }
}

impl Buffer {
    fn lock(&self) -> MutexGuard<'_, BufferState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BufferedWriter {
    fn start(writer: Box<dyn Write + Send>, limit: usize) -> Self {
        let shared = Arc::new(Buffer {
            state: Mutex::new(BufferState::default()),
            wake: Condvar::new(),
            written: Condvar::new(),
            limit,
        });
        let for_thread = shared.clone();
        let started = std::thread::Builder::new()
            .name("parachute-stdout".into())
            .spawn(move || drain(&for_thread, writer));
        if let Err(err) = started {
            // Without the thread nothing reaches stdout; the log files still get everything.
            tracing::error!(%err, "cannot start the stdout writer thread; module output is not shown");
        }
        Self { shared }
    }

    fn offer(&self, short: Option<&str>, chunk: &[u8], lines: u64) {
        let mut state = self.shared.lock();
        let mut dropped = lines;
        if !state.dropping {
            let room = self.shared.limit.saturating_sub(state.pending.len());
            let fits = if chunk.len() <= room {
                chunk.len()
            } else {
                state.dropping = true;
                memchr::memrchr(b'\n', &chunk[..room]).map_or(0, |i| i + 1)
            };
            state.pending.extend_from_slice(&chunk[..fits]);
            dropped = memchr::memchr_iter(b'\n', &chunk[fits..]).count() as u64;
            if fits > 0 {
                self.shared.wake.notify_one();
            }
        }
        if dropped > 0 {
            match state
                .dropped
                .iter_mut()
                .find(|(s, _)| s.as_deref() == short)
            {
                Some((_, count)) => *count += dropped,
                None => state.dropped.push((short.map(str::to_string), dropped)),
            }
        }
    }
}

impl Drop for BufferedWriter {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// What the writer thread took in one go.
struct Work {
    /// Output to write.
    chunk: Vec<u8>,
    /// Lines dropped after it, per module.
    dropped: Vec<(Option<String>, u64)>,
    /// Where to announce the drops.
    listeners: Vec<broadcast::Sender<SupervisorEvent>>,
}

/// The writer thread: takes whatever is waiting, writes it, and reports drops after it.
fn drain(buffer: &Buffer, mut writer: Box<dyn Write + Send>) {
    let mut spare = Vec::new();
    while let Some(mut work) = take_work(buffer, std::mem::take(&mut spare)) {
        write_work(&mut writer, &work);
        work.chunk.clear();
        spare = work.chunk;
        buffer.lock().writing = false;
        buffer.written.notify_all();
    }
}

/// Waits for output (or drops to report) and takes it, leaving `spare` as the new buffer.
/// `None` once the sink is gone and everything was written.
fn take_work(buffer: &Buffer, spare: Vec<u8>) -> Option<Work> {
    let mut state = buffer.lock();
    while state.pending.is_empty() && state.dropped.is_empty() && !state.closed {
        state = buffer.wake.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    if state.pending.is_empty() && state.dropped.is_empty() {
        return None;
    }
    state.writing = true;
    state.dropping = false;
    let chunk = std::mem::replace(&mut state.pending, spare);
    let dropped = std::mem::take(&mut state.dropped);
    let listeners = if dropped.is_empty() {
        Vec::new()
    } else {
        state.listeners.clone()
    };
    Some(Work {
        chunk,
        dropped,
        listeners,
    })
}

/// Writes what was taken, then the report of what was dropped after it.
fn write_work(writer: &mut Box<dyn Write + Send>, work: &Work) {
    // A failed write (stdout closed) loses this copy only; the log files have the lines.
    let _ = writer.write_all(&work.chunk).and_then(|()| writer.flush());
    if work.dropped.is_empty() {
        return;
    }
    let total: u64 = work.dropped.iter().map(|(_, n)| n).sum();
    let report = format!(
        "[supervisor] {total} line(s) of module output dropped: stdout is not being read\n"
    );
    let _ = writer
        .write_all(report.as_bytes())
        .and_then(|()| writer.flush());
    for (short, lines) in &work.dropped {
        let Some(short) = short else { continue };
        for listener in &work.listeners {
            let _ = listener.send(SupervisorEvent::OutputDropped {
                short: short.clone(),
                lines: *lines,
            });
        }
    }
}

#[cfg(test)]
#[path = "terminal_tests.rs"]
mod tests;

//! The pumps: one task per output pipe of a module, moving its bytes into the module's output.
//!
//! Each pump reads the pipe in large chunks on the async runtime, then hands the chunk to the
//! blocking pool, which splits it into lines and records them ([`ModuleOutput::record`]: one
//! file write per read, not per line). The pump waits for that before reading again, so the
//! lines of one pipe stay in order and a module that prints faster than its log can be written
//! is slowed down by its pipe rather than buffered without bound.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use crate::lines::LineSplitter;
use crate::output::ModuleOutput;

/// Longest line kept whole; longer output is split so one runaway line cannot exhaust memory.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;

/// Bytes asked for per read: a full pipe buffer.
const READ_CHUNK: usize = 64 * 1024;

/// Starts a pump moving `reader`'s output into `output`; the task ends at end of file.
pub(crate) fn spawn_pump<R>(reader: R, output: Arc<ModuleOutput>) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(pump(reader, output))
}

async fn pump<R: AsyncRead + Unpin>(mut reader: R, output: Arc<ModuleOutput>) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let out = output.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            let mut raw = Vec::with_capacity(n + 64);
            let lines = splitter.feed(&buf[..n], &mut raw);
            if lines > 0 {
                out.record(raw, lines);
            }
            (buf, splitter)
        })
        .await;
        match recorded {
            Ok((b, s)) => (buf, splitter) = (b, s),
            // The runtime is shutting down: nobody is left to read the output.
            Err(_) => return,
        }
    }
    // A last line without its newline is kept too.
    let _ = tokio::task::spawn_blocking(move || {
        let mut raw = Vec::new();
        let lines = splitter.finish(&mut raw);
        if lines > 0 {
            output.record(raw, lines);
        }
    })
    .await;
}

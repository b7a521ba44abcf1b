//! `parachute logs <svc> [-f] [-n N]`: a module's output.
//!
//! While the hub answers, the lines come from its in-memory buffer of the module
//! (`GET /api/modules/<short>/logs`; `-f` keeps the hub's follow stream open until Ctrl-C).
//! Otherwise — hub down, no operator token, module not supervised — they come from the
//! module's persisted log file `<short>/logs/<short>.log` (`-f` follows the file, across
//! rotations). `logs hub` always reads `hub/logs/hub.log`, where the hub unit writes.

mod file;

use std::io::Write;
use std::path::Path;

use parachute_client::{ClientError, HubClient};
use parachute_home::Home;
use parachute_supervisor::escape_for_terminal;
use parachute_unit::probe_health;

use crate::args::LogsArgs;
use crate::commands::hub_access;

/// Runs `logs`; returns the exit code.
pub fn run(args: &LogsArgs) -> i32 {
    let home = match hub_access::home() {
        Ok(home) => home,
        Err(e) => {
            eprintln!("parachute logs: {e}");
            return 1;
        }
    };
    let svc = args.service.as_deref().map(str::trim).unwrap_or_default();
    if svc == "hub" {
        return from_file(&home.hub_log(), "hub", args);
    }
    let manifest = match parachute_home::services::read_strict(&home) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("parachute logs: {e}");
            return 1;
        }
    };
    let known = || {
        let mut known = vec!["hub".to_string()];
        known.extend(manifest.module_rows().iter().map(|row| row.short()));
        known.join(", ")
    };
    if svc.is_empty() {
        eprintln!("Usage: parachute logs <SERVICE> [-f] [-n N]");
        eprintln!(
            "parachute logs: name the service to show; known services: {}",
            known()
        );
        return 1;
    }
    let Some(short) = manifest
        .find(svc)
        .map(|row| row.short())
        .or_else(|| manifest.find_short(svc).map(|row| row.short()))
    else {
        eprintln!(
            "parachute logs: unknown service \"{svc}\"; known services: {}",
            known()
        );
        return 1;
    };
    let cfg = match hub_access::ensure_config(&home) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("parachute logs: {e}");
            return 1;
        }
    };
    if probe_health(cfg.port, cfg.health_timeout) {
        match from_hub(&home, &short, args) {
            Ok(code) => return code,
            Err(reason) => eprintln!("(reading {short}'s log file instead: {reason})"),
        }
    }
    from_file(&home.module_log(&short), &short, args)
}

/// The lines from the running hub. `Err` carries why the file should be used instead.
fn from_hub(home: &Home, short: &str, args: &LogsArgs) -> Result<i32, String> {
    let runtime = hub_access::runtime()?;
    runtime.block_on(async {
        let client = HubClient::with_operator_token(home)
            .await
            .map_err(|e| e.to_string())?;
        if args.follow {
            follow_hub(&client, short, args.lines).await
        } else {
            let lines = client
                .module_logs(short, Some(args.lines))
                .await
                .map_err(|e| describe(short, &e))?;
            let mut out = std::io::stdout().lock();
            for line in &lines {
                let _ = writeln!(out, "{}", escape_for_terminal(line));
            }
            if lines.is_empty() {
                eprintln!("{short} has printed nothing since it was started.");
            }
            Ok(0)
        }
    })
}

/// Why the hub's copy cannot be used.
fn describe(short: &str, err: &ClientError) -> String {
    match err.code() {
        Some("not_supervised") => format!("the hub is not running {short}"),
        Some("unknown_module") => format!("the hub does not know {short}"),
        _ => err.to_string(),
    }
}

/// Streams the hub's follow endpoint: the newest `n` buffered lines (the hub trims them), then
/// every new line until the hub closes the stream or the user interrupts. Each line arrives as
/// `[short] <line>`; the prefix is dropped (one module is shown), the hub's own notes keep
/// theirs.
async fn follow_hub(client: &HubClient, short: &str, n: usize) -> Result<i32, String> {
    let mut resp = client
        .follow_module_logs(short, Some(n))
        .await
        .map_err(|e| describe(short, &e))?;
    let mut out = std::io::stdout();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => {
                pending.extend_from_slice(&bytes);
                let (complete, _) = split_partial(&pending);
                let upto = complete.len();
                let text = String::from_utf8_lossy(&pending[..upto]).into_owned();
                for line in text.lines() {
                    let line = parachute_client::unprefixed(short, line);
                    let _ = writeln!(out, "{}", escape_for_terminal(line));
                }
                let _ = out.flush();
                pending.drain(..upto);
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("(the log stream from the hub broke: {e})");
                return Ok(1);
            }
        }
    }
    if !pending.is_empty() {
        let text = String::from_utf8_lossy(&pending).into_owned();
        let line = parachute_client::unprefixed(short, &text);
        let _ = writeln!(out, "{}", escape_for_terminal(line));
    }
    eprintln!(
        "(the hub closed {short}'s log stream: the module is no longer supervised, or the hub stopped)"
    );
    Ok(0)
}

/// Splits `bytes` into complete lines and a trailing partial line.
fn split_partial(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => bytes.split_at(i + 1),
        None => (&[], bytes),
    }
}

/// The lines from the persisted log file.
fn from_file(path: &Path, short: &str, args: &LogsArgs) -> i32 {
    if !path.exists() {
        if short == "hub" {
            println!(
                "no logs yet for the hub ({} does not exist). The hub unit writes there; a hub started with `parachute serve` prints to its own terminal.",
                path.display()
            );
        } else {
            println!("no logs yet for {short}. `parachute start {short}` to begin.");
        }
        return 0;
    }
    // Measure first: a line written between the two reads is shown twice rather than lost.
    let from = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let lines = match file::tail(path, args.lines) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("parachute logs: cannot read {}: {e}", path.display());
            return 1;
        }
    };
    let mut out = std::io::stdout().lock();
    for line in &lines {
        let _ = writeln!(out, "{}", escape_for_terminal(line));
    }
    let _ = out.flush();
    if !args.follow {
        return 0;
    }
    drop(out);
    let mut out = TerminalLines::new(std::io::stdout());
    match file::follow(path, from, &mut out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("parachute logs: stopped following {}: {e}", path.display());
            1
        }
    }
}

/// Writes whole lines to a terminal with their control characters escaped (a module must not
/// be able to move the cursor or forge lines); a trailing partial line waits for its end.
struct TerminalLines<W: Write> {
    /// Where escaped lines go.
    inner: W,
    /// Bytes of an unfinished line.
    pending: Vec<u8>,
}

impl<W: Write> TerminalLines<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for TerminalLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let (complete, _) = split_partial(&self.pending);
        let upto = complete.len();
        if upto > 0 {
            let text = String::from_utf8_lossy(&self.pending[..upto]).into_owned();
            for line in text.lines() {
                writeln!(self.inner, "{}", escape_for_terminal(line))?;
            }
            self.pending.drain(..upto);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_escape_controls_and_wait_for_line_ends() {
        let mut out = TerminalLines::new(Vec::new());
        out.write_all(b"one\x1b[2J\ntw").unwrap();
        out.write_all(b"o\r[supervisor] forged\n").unwrap();
        let shown = String::from_utf8(out.inner).unwrap();
        assert!(
            !shown.contains('\x1b') && !shown.contains('\r'),
            "{shown:?}"
        );
        assert_eq!(shown.lines().count(), 2, "{shown:?}");
        assert!(
            shown.lines().nth(1).unwrap().starts_with("two"),
            "{shown:?}"
        );
    }

    #[test]
    fn partial_lines_are_held_back() {
        assert_eq!(split_partial(b"a\nb\nc"), (&b"a\nb\n"[..], &b"c"[..]));
        assert_eq!(split_partial(b"a\n"), (&b"a\n"[..], &b""[..]));
        assert_eq!(split_partial(b"abc"), (&b""[..], &b"abc"[..]));
    }
}

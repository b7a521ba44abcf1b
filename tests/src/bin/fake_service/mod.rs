//! Shared by the fake `systemctl` and `launchctl`: failure injection and running a unit's
//! program in the background the way a service manager does.
//!
//! A job lives in a directory: `job.json` (what to run), `pid` (the program's pid, written by
//! the monitor), `exit` (`code N` or `signal N`, written when it ends) and `stopped` (present
//! when the manager stopped it on purpose). The fake re-executes itself as a detached monitor
//! (`<fake> __supervise <jobdir>`, own session, stdio closed) that starts the program in its own
//! process group, waits for it and records how it ended, so `is-active`/`print` can tell
//! "failed" from "stopped" the way the real managers do.
//!
//! Failure injection (all fakes): each line of `<state>/<tool>.fail` is
//! `<verb> <exit code> <text>`; the first line whose verb matches (or is `*`) makes the fake
//! print the text (to stderr, or to stdout after a `stdout:` prefix; `\n` is a newline) and
//! exit with that code without doing anything.

#![allow(dead_code)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The argument that turns a fake into a job monitor.
pub const SUPERVISE_ARG: &str = "__supervise";

/// What a job runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The argv; `argv[0]` absolute.
    pub argv: Vec<String>,
    /// The complete environment of the program.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Append stdout here (`None`: lines go to `journal`).
    pub stdout: Option<PathBuf>,
    /// Append stderr here (`None`: lines go to `journal`).
    pub stderr: Option<PathBuf>,
    /// A journal file receiving output lines and exit notices (`None`: discard).
    pub journal: Option<PathBuf>,
    /// The unit name used in journal notices.
    pub unit: String,
}

/// Failure injection: the first line of `<state>/<tool>.fail` whose first word is `verb` (or
/// `*`) gives the exit code and the stderr text (`\n` in the text becomes a newline).
pub fn injected_failure(state: &Path, tool: &str, verb: &str) -> Option<(i32, String)> {
    let text = std::fs::read_to_string(state.join(format!("{tool}.fail"))).ok()?;
    for line in text.lines() {
        let mut parts = line.trim().splitn(3, ' ');
        let (Some(v), Some(code)) = (parts.next(), parts.next()) else {
            continue;
        };
        if v != verb && v != "*" {
            continue;
        }
        let Ok(code) = code.parse::<i32>() else {
            continue;
        };
        let msg = parts.next().unwrap_or("").replace("\\n", "\n");
        return Some((code, msg));
    }
    None
}

/// Exits with an injected failure for `verb`, if one is configured. The text goes to stderr,
/// or to stdout when it starts with `stdout:` (e.g. `is-active 3 stdout:activating`).
pub fn fail_if_injected(state: &Path, tool: &str, verb: &str) {
    if let Some((code, msg)) = injected_failure(state, tool, verb) {
        if let Some(out) = msg.strip_prefix("stdout:") {
            println!("{out}");
        } else if !msg.is_empty() {
            eprintln!("{msg}");
        }
        std::process::exit(code);
    }
}

/// A short-format journal line: `Mon DD HH:MM:SS host ident[pid]: message`.
pub fn journal_line(ident: &str, pid: u32, message: &str) -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    format!(
        "{} {host} {ident}[{pid}]: {message}\n",
        chrono::Local::now().format("%b %d %H:%M:%S")
    )
}

/// Appends a line to a journal file.
pub fn append_journal(journal: &Path, ident: &str, pid: u32, message: &str) {
    if let Some(dir) = journal.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)
    {
        let _ = f.write_all(journal_line(ident, pid, message).as_bytes());
    }
}

fn write_file_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write job file");
    std::fs::rename(&tmp, path).expect("rename job file");
}

/// The recorded pid of a job, if any.
pub fn job_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// True when the job's program is alive (a zombie counts as dead).
pub fn job_running(dir: &Path) -> bool {
    job_pid(dir).is_some_and(pid_alive)
}

/// True when `pid` exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].trim_start().chars().next())
            .is_some_and(|s| s != 'Z' && s != 'X'),
        Err(_) => false,
    }
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// How the job's last run ended (waits up to 2 s for the monitor to record it when the
/// program is already gone).
pub fn job_ended(dir: &Path) -> Option<Ended> {
    job_pid(dir)?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("exit")) {
            let mut parts = text.split_whitespace();
            let kind = parts.next();
            let n: i32 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            return match kind {
                Some("signal") => Some(Ended::Signal(n)),
                _ => Some(Ended::Code(n)),
            };
        }
        if job_running(dir) || Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when the manager stopped the job on purpose.
pub fn job_stopped(dir: &Path) -> bool {
    dir.join("stopped").exists()
}

/// Starts `job` in the background under a detached monitor and returns the program's pid.
pub fn launch(dir: &Path, job: &Job) -> Result<u32, String> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for f in ["pid", "exit", "stopped", "spawn-error"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    write_file_atomic(
        &dir.join("job.json"),
        &serde_json::to_string(job).expect("job json"),
    );
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(me);
    cmd.arg(SUPERVISE_ARG)
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no Rust state.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start the monitor: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = job_pid(dir) {
            return Ok(pid);
        }
        if let Ok(err) = std::fs::read_to_string(dir.join("spawn-error")) {
            return Err(err);
        }
        if Instant::now() >= deadline {
            return Err("the job monitor did not report a pid".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops a job: SIGTERM to its process group, then SIGKILL after `grace`. Marks it stopped.
pub fn stop(dir: &Path, grace: Duration) {
    let _ = std::fs::write(dir.join("stopped"), "");
    let Some(pid) = job_pid(dir) else {
        return;
    };
    if !pid_alive(pid) {
        return;
    }
    let group = nix::unistd::Pid::from_raw(-(pid as i32));
    let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if pid_alive(pid) {
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Let the monitor record the exit.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !dir.join("exit").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The monitor: runs the job, records its pid and how it ended. Never returns.
pub fn supervise(dir: &Path) -> ! {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Stdio;
    let job: Job = serde_json::from_str(
        &std::fs::read_to_string(dir.join("job.json")).expect("read job.json"),
    )
    .expect("parse job.json");
    let mut cmd = std::process::Command::new(&job.argv[0]);
    cmd.args(&job.argv[1..])
        .env_clear()
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&job.cwd)
        .stdin(Stdio::null())
        .process_group(0);
    let stdout_piped = match &job.stdout {
        Some(p) => match open_append(p) {
            Ok(f) => {
                cmd.stdout(f);
                false
            }
            Err(_) => {
                cmd.stdout(Stdio::null());
                false
            }
        },
        None => {
            cmd.stdout(Stdio::piped());
            true
        }
    };
    let stderr_piped = match &job.stderr {
        Some(p) => match open_append(p) {
            Ok(f) => {
                cmd.stderr(f);
                false
            }
            Err(_) => {
                cmd.stderr(Stdio::null());
                false
            }
        },
        None => {
            cmd.stderr(Stdio::piped());
            true
        }
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            // Like systemd's "status=203/EXEC": the unit starts and fails at once.
            if let Some(j) = &job.journal {
                append_journal(
                    j,
                    "systemd",
                    std::process::id(),
                    &format!("{}: Failed to execute {}: {e}", job.unit, job.argv[0]),
                );
            }
            write_file_atomic(&dir.join("pid"), &format!("{}\n", u32::MAX - 1));
            write_file_atomic(&dir.join("exit"), "code 203\n");
            std::process::exit(0);
        }
    };
    let pid = child.id();
    write_file_atomic(&dir.join("pid"), &format!("{pid}\n"));
    let ident = Path::new(&job.argv[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unit".into());
    let mut readers = Vec::new();
    let pipes: Vec<Box<dyn std::io::Read + Send>> = [
        stdout_piped
            .then(|| {
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>)
            })
            .flatten(),
        stderr_piped
            .then(|| {
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>)
            })
            .flatten(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for pipe in pipes {
        let journal = job.journal.clone();
        let ident = ident.clone();
        readers.push(std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(j) = &journal {
                    append_journal(j, &ident, pid, &line);
                }
            }
        }));
    }
    let status = child.wait().expect("wait for the job");
    for r in readers {
        let _ = r.join();
    }
    let ended = match (status.code(), status.signal()) {
        (Some(code), _) => format!("code {code}\n"),
        (None, Some(sig)) => format!("signal {sig}\n"),
        _ => "code 255\n".to_string(),
    };
    if let Some(j) = &job.journal
        && !dir.join("stopped").exists()
    {
        let me = std::process::id();
        match (status.code(), status.signal()) {
            (Some(0), _) => append_journal(
                j,
                "systemd",
                me,
                &format!("{}: Deactivated successfully.", job.unit),
            ),
            (Some(code), _) => {
                append_journal(
                    j,
                    "systemd",
                    me,
                    &format!(
                        "{}: Main process exited, code=exited, status={code}/n/a",
                        job.unit
                    ),
                );
                append_journal(
                    j,
                    "systemd",
                    me,
                    &format!("{}: Failed with result 'exit-code'.", job.unit),
                );
            }
            (None, sig) => append_journal(
                j,
                "systemd",
                me,
                &format!(
                    "{}: Main process exited, code=killed, status={}",
                    job.unit,
                    sig.unwrap_or(0)
                ),
            ),
        }
    }
    write_file_atomic(&dir.join("exit"), &ended);
    std::process::exit(0);
}

/// Splits a systemd-style command line: whitespace separates words, double quotes group,
/// backslash escapes inside quotes, `%%` is `%`, and (when `dollars`, as in `ExecStart=`)
/// `$$` is `$`.
pub fn split_words(line: &str, dollars: bool) -> Vec<String> {
    const DOLLAR: char = '\u{0}';
    let mut line = line.replace("%%", "%");
    if dollars {
        line = line.replace("$$", &DOLLAR.to_string());
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => cur.push('\n'),
                            Some('t') => cur.push('\t'),
                            Some(other) => cur.push(other),
                            None => {}
                        },
                        other => cur.push(other),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            other => {
                cur.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words.into_iter().map(|w| w.replace(DOLLAR, "$")).collect()
}

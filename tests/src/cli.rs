//! Running the real `parachute` binary in the suites: one private environment (fake tools first
//! on `PATH`, a temp `HOME`, unit files in a temp dir, nothing inherited from the test process),
//! bounded runs, and background runs whose output lines are collected.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{FakeTools, bin, wait_for};

/// The longest any single CLI run may take before the suite calls it hung.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// `parachute <args>` with the private environment: `PARACHUTE_HOME=home`, `HOME=user_home`,
/// the fakes first (and alone) on `PATH`, user-scope units in `unit_dir`, stdin closed. Add
/// anything else with `.env(…)` on the result.
pub fn private_command(
    args: &[&str],
    home: &Path,
    user_home: &Path,
    fakes: &FakeTools,
    unit_dir: &Path,
) -> Command {
    let mut cmd = Command::new(bin("parachute"));
    cmd.args(args)
        .env_clear()
        .env("PARACHUTE_HOME", home)
        .env("HOME", user_home)
        .env("USER", "tester")
        .env("PATH", fakes.path_env())
        .env(crate::fake::STATE_ENV, fakes.state_dir())
        .env("PARACHUTE_UNIT_DIR", unit_dir)
        .env("PARACHUTE_UNIT_SCOPE", "user")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` to completion (killed and reported after [`RUN_LIMIT`]); `args` names it in the
/// message.
pub fn run_bounded(mut cmd: Command, args: &[&str]) -> Output {
    finish(cmd.spawn().expect("spawn parachute"), args)
}

/// What a finished CLI run printed.
#[derive(Debug)]
pub struct Output {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Waits for `child` (bounded) and collects its output.
pub fn finish(mut child: Child, args: &[&str]) -> Output {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`parachute {}` did not finish within {RUN_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// A CLI process running in the background (`logs -f`).
pub struct Running {
    /// The child.
    child: Child,
    /// Its stdout lines so far.
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (generously) until a stdout line contains `needle`.
    pub fn wait_line(&self, needle: &str) -> String {
        wait_for(Duration::from_secs(60), || {
            self.lines().into_iter().find(|l| l.contains(needle))
        })
        .unwrap_or_else(|| {
            panic!(
                "no line containing {needle:?}; got:\n{}",
                self.lines().join("\n")
            )
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` in the background, collecting its stdout lines.
pub fn spawn_lines(mut cmd: Command) -> Running {
    let mut child = cmd.spawn().expect("spawn parachute");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut pending = String::new();
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                    while let Some(i) = pending.find('\n') {
                        let line: String = pending.drain(..=i).collect();
                        sink.lock().unwrap().push(line.trim_end().to_string());
                    }
                }
            }
        }
    });
    Running { child, lines }
}

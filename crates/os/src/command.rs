//! Running external tools (`systemctl`, `tailscale`, `cloudflared`, …) behind a small trait.
//!
//! Libraries never call `std::process::Command` for an external tool directly: they take a
//! [`CommandRunner`]. Production code uses [`SystemRunner`]; tests use a `SystemRunner` whose
//! search path points at a directory of fake executables, so no test mutates the process-wide
//! `PATH` (tests run on parallel threads).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What a finished external command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code; `None` when the process was killed by a signal (or timed out).
    pub code: Option<i32>,
    /// Everything the tool wrote to stdout, lossily decoded as UTF-8.
    pub stdout: String,
    /// Everything the tool wrote to stderr, lossily decoded as UTF-8.
    pub stderr: String,
}

impl CommandOutput {
    /// True when the tool exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The most useful one-line explanation of a failure: stderr, else stdout, else the code.
    pub fn failure_detail(&self) -> String {
        let text = if !self.stderr.trim().is_empty() {
            self.stderr.trim()
        } else {
            self.stdout.trim()
        };
        if text.is_empty() {
            match self.code {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".to_string(),
            }
        } else {
            text.to_string()
        }
    }
}

/// Why an external command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program is not on the runner's search path.
    #[error("`{program}` was not found on PATH")]
    NotFound {
        /// The program name that was looked up.
        program: String,
    },
    /// The program exists but could not be started or waited for.
    #[error("could not run `{program}`: {source}")]
    Io {
        /// The program name.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran longer than the caller allowed and was killed.
    #[error("`{program}` did not finish within {timeout:?}")]
    TimedOut {
        /// The program name.
        program: String,
        /// The limit that was exceeded.
        timeout: Duration,
    },
}

/// Runs external programs. The one seam between our code and tools we cannot run in tests.
pub trait CommandRunner: Send + Sync {
    /// Finds `program` on this runner's search path.
    fn which(&self, program: &str) -> Option<PathBuf>;

    /// Runs `program args…` to completion, capturing stdout and stderr, stdin closed.
    fn run(&self, program: &str, args: &[&str]) -> Result<CommandOutput, CommandError>;

    /// Like [`CommandRunner::run`] but kills the program after `timeout`.
    fn run_with_timeout(
        &self,
        program: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<CommandOutput, CommandError>;

    /// Starts `program args…` detached (own session, stdio to `log` or /dev/null) and returns its
    /// pid without waiting. Used for transient fallbacks such as a cloudflared connector.
    fn spawn_detached(
        &self,
        program: &str,
        args: &[&str],
        log: Option<&Path>,
    ) -> Result<u32, CommandError>;
}

/// The real runner: looks programs up on a search path (the process `PATH` by default).
#[derive(Debug, Clone)]
pub struct SystemRunner {
    /// The `PATH`-style search list used to find programs and passed to children as `PATH`.
    search_path: OsString,
    /// Extra environment variables set on every child (tests point fakes at their state dir).
    extra_env: Vec<(OsString, OsString)>,
}

impl Default for SystemRunner {
    fn default() -> Self {
        Self::from_env()
    }
}

impl SystemRunner {
    /// A runner that uses the process `PATH`.
    pub fn from_env() -> Self {
        Self {
            search_path: std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            extra_env: Vec::new(),
        }
    }

    /// A runner that searches `search_path` instead of the process `PATH`.
    pub fn with_search_path(search_path: impl Into<OsString>) -> Self {
        Self {
            search_path: search_path.into(),
            extra_env: Vec::new(),
        }
    }

    /// Adds an environment variable to every child this runner starts.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// The search path this runner uses.
    pub fn search_path(&self) -> &OsStr {
        &self.search_path
    }

    fn command(&self, program: &str, args: &[&str]) -> Result<Command, CommandError> {
        let resolved = self.which(program).ok_or_else(|| CommandError::NotFound {
            program: program.to_string(),
        })?;
        let mut cmd = Command::new(resolved);
        cmd.args(args).env("PATH", &self.search_path);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        Ok(cmd)
    }
}

/// Finds `program` on a `PATH`-style list. A name containing `/` is returned as is if it exists.
pub fn which_in(program: &str, search_path: &OsStr) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    std::env::split_paths(search_path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

impl CommandRunner for SystemRunner {
    fn which(&self, program: &str) -> Option<PathBuf> {
        which_in(program, &self.search_path)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<CommandOutput, CommandError> {
        let output = self
            .command(program, args)?
            .output()
            .map_err(|source| CommandError::Io {
                program: program.to_string(),
                source,
            })?;
        Ok(CommandOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn run_with_timeout(
        &self,
        program: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<CommandOutput, CommandError> {
        use std::io::Read;
        let io_err = |source| CommandError::Io {
            program: program.to_string(),
            source,
        };
        let mut child = self
            .command(program, args)?
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io_err)?;
        // Drain both pipes on threads so a chatty tool cannot block on a full pipe.
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        let deadline = std::time::Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(io_err)? {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
        match status {
            Some(status) => Ok(CommandOutput {
                code: status.code(),
                stdout,
                stderr,
            }),
            None => Err(CommandError::TimedOut {
                program: program.to_string(),
                timeout,
            }),
        }
    }

    fn spawn_detached(
        &self,
        program: &str,
        args: &[&str],
        log: Option<&Path>,
    ) -> Result<u32, CommandError> {
        use std::os::unix::process::CommandExt;
        let io_err = |source| CommandError::Io {
            program: program.to_string(),
            source,
        };
        let mut cmd = self.command(program, args)?;
        match log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(io_err)?;
                let file2 = file.try_clone().map_err(io_err)?;
                cmd.stdout(file).stderr(file2);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        // SAFETY: setsid is async-signal-safe and touches no Rust state.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io_err)?;
        Ok(child.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_a_real_program_and_captures_both_streams() {
        let runner = SystemRunner::from_env();
        let out = runner
            .run("sh", &["-c", "echo out; echo err >&2; exit 3"])
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.failure_detail(), "err");
    }

    #[test]
    fn missing_program_is_not_found() {
        let runner = SystemRunner::with_search_path("/nonexistent-dir");
        let err = runner.run("sh", &[]).unwrap_err();
        assert!(matches!(err, CommandError::NotFound { .. }), "{err}");
    }

    #[test]
    fn timeout_kills_the_program() {
        let runner = SystemRunner::from_env();
        let err = runner
            .run_with_timeout("sleep", &["5"], Duration::from_millis(100))
            .unwrap_err();
        assert!(matches!(err, CommandError::TimedOut { .. }), "{err}");
    }
}

//! Turning a [`SpawnSpec`] into a child process tied to the hub's lifetime.

use std::path::PathBuf;
use std::process::Stdio;

/// Everything needed to spawn one module process. Re-resolved before every spawn, so a respawn
/// or restart always sees the current `.env` and hub origin (SPEC Part A item 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnSpec {
    /// Program and arguments; `argv[0]` is looked up on the `PATH` in `env`.
    pub argv: Vec<String>,
    /// Working directory (the row's `installDir`), or the hub's own when `None`.
    pub cwd: Option<PathBuf>,
    /// The child's complete environment (the hub does the layering).
    pub env: Vec<(String, String)>,
    /// The port the module must bind, for the readiness gate.
    pub port: Option<u16>,
}

impl SpawnSpec {
    /// The value of `key` in this spec's environment (last assignment wins).
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Where `argv[0]` resolves on this spec's `PATH`, or `None` when it cannot be found.
    pub fn resolve_program(&self) -> Option<PathBuf> {
        let program = self.argv.first()?;
        let search = self
            .env_var("PATH")
            .unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let resolved = parachute_os::command::which_in(program, search.as_ref())?;
        // A relative argv[0] with a slash is relative to the module's cwd.
        if resolved.is_relative()
            && let Some(cwd) = &self.cwd
        {
            return Some(cwd.join(resolved));
        }
        Some(resolved)
    }
}

/// Builds the tokio command for `spec`: own process group, parent-death signal, piped output.
pub(crate) fn command(spec: &SpawnSpec, program: PathBuf) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let hub_pid = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Own process group: stop and crash cleanup signal the whole group, so a module's
            // grandchildren go with it.
            if libc::setpgid(0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                // If the hub dies without cleaning up (SIGKILL), the kernel kills the module.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // The hub may already have died between fork and prctl.
                if libc::getppid() != hub_pid {
                    libc::_exit(1);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = hub_pid;
            Ok(())
        });
    }
    cmd
}

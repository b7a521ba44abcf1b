//! Turning a [`SpawnSpec`] into a child process tied to the hub's lifetime.
//!
//! Every module is forked from one dedicated thread that lives as long as the process. Linux
//! delivers `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, not the process:
//! a module forked from a runtime thread that later goes away (a tokio blocking-pool thread, a
//! worker replaced after `block_in_place`, the thread of a short-lived runtime) would be killed
//! while the hub is still running.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard, OnceLock, mpsc};

use tokio::sync::oneshot;

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

/// Builds the tokio command for `spec`: own process group, parent-death signal, piped output,
/// and the tree's mark ([`crate::mark`]) in its environment when there is one.
pub(crate) fn command(
    spec: &SpawnSpec,
    program: PathBuf,
    mark: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(mark) = mark {
        cmd.env(crate::mark::MARK_VAR, mark);
    }
    cmd.stdin(Stdio::null())
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

/// Pids of the module processes this process spawned and has not yet waited for. Held locked
/// while a fork is in progress, so the reaper never sees a fresh child before it is listed.
static DIRECT_CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Locks [`DIRECT_CHILDREN`] (a poisoned lock is still a valid list).
pub(crate) fn direct_children() -> MutexGuard<'static, Vec<u32>> {
    DIRECT_CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets `pid` once its exit status has been collected.
pub(crate) fn forget_child(pid: u32) {
    direct_children().retain(|p| *p != pid);
}

/// One fork request for the spawner thread.
struct Job {
    /// The command, fully configured.
    cmd: tokio::process::Command,
    /// The runtime the child's pipes and exit watcher belong to.
    runtime: tokio::runtime::Handle,
    /// Where the result goes.
    reply: oneshot::Sender<std::io::Result<tokio::process::Child>>,
}

/// The queue of the spawner thread; `None` when that thread could not be started.
static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();

/// Starts the spawner thread. The sender lives in a static and is never dropped, so the
/// thread's loop never ends: the thread lives exactly as long as the process.
fn spawner() -> Option<&'static mpsc::Sender<Job>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let started = std::thread::Builder::new()
                .name("parachute-spawner".into())
                .spawn(move || {
                    for mut job in rx {
                        let _runtime = job.runtime.enter();
                        let _ = job.reply.send(spawn_listed(&mut job.cmd));
                    }
                });
            match started {
                Ok(_) => Some(tx),
                Err(err) => {
                    tracing::warn!(%err, "cannot start the module spawner thread; modules are forked from runtime threads");
                    None
                }
            }
        })
        .as_ref()
}

/// Forks `cmd` and lists the child in [`DIRECT_CHILDREN`] before anyone else can look.
fn spawn_listed(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut children = direct_children();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        children.push(pid);
    }
    Ok(child)
}

/// Spawns `cmd` from the process-lifetime spawner thread (see the module docs). Must be called
/// inside a tokio runtime; the child belongs to that runtime.
pub(crate) async fn spawn(
    mut cmd: tokio::process::Command,
) -> std::io::Result<tokio::process::Child> {
    let Some(spawner) = spawner() else {
        return spawn_listed(&mut cmd);
    };
    let (reply, answer) = oneshot::channel();
    let job = Job {
        cmd,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    if let Err(mpsc::SendError(mut job)) = spawner.send(job) {
        return spawn_listed(&mut job.cmd);
    }
    answer.await.unwrap_or_else(|_| {
        Err(std::io::Error::other(
            "the module spawner thread stopped before answering",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when SIGKILL is pending for `pid` or it has already exited.
    fn killed_or_doomed(pid: u32) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let pending = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or(0)
        };
        let sigkill = 1u64 << (libc::SIGKILL - 1);
        !parachute_os::process::is_alive(pid)
            || (pending("SigPnd:") | pending("ShdPnd:")) & sigkill != 0
    }

    fn sleeper() -> SpawnSpec {
        SpawnSpec {
            argv: vec!["sleep".into(), "30".into()],
            cwd: None,
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            port: None,
        }
    }

    /// A module forked while the caller runs on a thread that then exits keeps running: the
    /// parent-death signal is tied to the spawner thread, which never exits.
    #[test]
    fn a_module_outlives_the_thread_that_asked_for_it() {
        let spec = sleeper();
        let program = spec.resolve_program().expect("sleep on PATH");
        let (pid, tid) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let child = runtime
                .block_on(spawn(command(&spec, program, None)))
                .unwrap();
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            (child.id().unwrap(), tid)
        })
        .join()
        .unwrap();
        // The thread is fully gone once its /proc entry is (its exit already sent any
        // parent-death signal by then).
        let task = format!("/proc/self/task/{tid}");
        while std::path::Path::new(&task).exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let doomed = killed_or_doomed(pid);
        let _ = parachute_os::process::signal_group_only(pid, nix::sys::signal::Signal::SIGKILL);
        forget_child(pid);
        assert!(
            !doomed,
            "module {pid} died with the thread that requested it"
        );
    }

    #[tokio::test]
    async fn spawned_children_are_listed_until_forgotten() {
        let spec = sleeper();
        let program = spec.resolve_program().unwrap();
        let mut child = spawn(command(&spec, program, None)).await.unwrap();
        let pid = child.id().unwrap();
        assert!(direct_children().contains(&pid));
        parachute_os::process::signal_group_only(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        child.wait().await.unwrap();
        forget_child(pid);
        assert!(!direct_children().contains(&pid));
    }
}

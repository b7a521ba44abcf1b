//! Turning a [`SpawnSpec`] into a child process tied to the hub's lifetime.
//!
//! Every module is forked from a small pool of dedicated threads that live as long as the
//! process. Linux delivers `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, not
//! the process: a module forked from a runtime thread that later goes away (a tokio
//! blocking-pool thread, a worker replaced after `block_in_place`, the thread of a short-lived
//! runtime) would be killed while the hub is still running. A pool (rather than one thread)
//! lets a boot of many modules fork several at once; forks only share a read lock
//! ([`FORK_GATE`]), which the orphan reaper takes exclusively for its scan.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockWriteGuard, mpsc};

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

/// Pids of the module processes this process spawned and has not yet waited for.
static DIRECT_CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Held shared from before a fork until its child is in [`DIRECT_CHILDREN`] (forks run in
/// parallel), and exclusively by the reaper's scan, so the reaper never sees a fresh child
/// before it is listed.
static FORK_GATE: RwLock<()> = RwLock::new(());

/// Waits for the forks in progress to list their children and keeps new ones from starting
/// until the guard is dropped (a poisoned gate still guards).
pub(crate) fn quiesce_forks() -> RwLockWriteGuard<'static, ()> {
    FORK_GATE.write().unwrap_or_else(|e| e.into_inner())
}

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

/// The queue the spawner threads share; `None` when not one of them could be started.
static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();

/// How many spawner threads fork in parallel: enough to overlap forks on every core, few enough
/// to stay cheap while idle (each is a parked thread).
fn spawner_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// Starts the spawner threads. The sender lives in a static and is never dropped, so their
/// loops never end: the threads live exactly as long as the process.
fn spawner() -> Option<&'static mpsc::Sender<Job>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            let mut started = 0;
            for n in 0..spawner_threads() {
                let rx = rx.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("parachute-spawner-{n}"))
                    .spawn(move || spawner_loop(&rx));
                match thread {
                    Ok(_) => started += 1,
                    Err(err) => tracing::warn!(%err, "cannot start a module spawner thread"),
                }
            }
            if started == 0 {
                tracing::warn!("no module spawner thread; modules are forked from runtime threads");
                return None;
            }
            Some(tx)
        })
        .as_ref()
}

/// One spawner thread: takes the next job (whichever thread is free gets it) and forks it.
fn spawner_loop(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(mut job) = next else { return };
        let _runtime = job.runtime.enter();
        let _ = job.reply.send(spawn_listed(&mut job.cmd));
    }
}

/// Forks `cmd` and lists the child in [`DIRECT_CHILDREN`] before the reaper can look.
fn spawn_listed(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let _gate = FORK_GATE.read().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        direct_children().push(pid);
    }
    Ok(child)
}

/// Spawns `cmd` from a process-lifetime spawner thread (see the module docs). Must be called
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

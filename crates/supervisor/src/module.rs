//! One supervised module: the task that spawns it, watches it and respawns it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::SupervisorConfig;
use crate::events::SupervisorEvent;
use crate::mark;
use crate::output::ModuleOutput;
use crate::pump::spawn_pump;
use crate::spawn::{self, SpawnSpec};
use crate::state::{ExitInfo, ModuleState, ModuleStatus, StartError};
use crate::terminal::OutputSink;

/// Produces a fresh [`SpawnSpec`] for every spawn; an `Err` says why the module cannot be
/// started right now (it becomes the module's start error and the module is left `crashed`).
pub type SpecResolver = Arc<dyn Fn() -> Result<SpawnSpec, StartBlocked> + Send + Sync>;

/// Why a resolver refused to produce a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartBlocked {
    /// Machine-readable kind, e.g. `port_in_use` or `unresolvable`.
    pub error_type: String,
    /// What is wrong and what to do about it.
    pub description: String,
}

/// Spawns started by this process so far: numbers each process tree's mark.
static SPAWNS: AtomicU64 = AtomicU64::new(0);

/// Requests to a running module task.
pub(crate) enum Control {
    /// Stop the process (group SIGTERM, grace, group SIGKILL) and end the task.
    Stop(oneshot::Sender<()>),
}

/// The parts of a module shared between its task and the supervisor handle.
pub(crate) struct Shared {
    /// Current state, updated by the task through [`Shared::update`].
    pub state: Mutex<ModuleState>,
    /// Ring buffer, log file and followers' wake-up.
    pub output: Arc<ModuleOutput>,
    /// Where state changes are announced.
    pub events: broadcast::Sender<SupervisorEvent>,
}

impl Shared {
    /// Changes the state; announces the new state when its status, pid, readiness or start
    /// error changed (under the state lock, so events come in the order of the changes).
    pub(crate) fn update(&self, f: impl FnOnce(&mut ModuleState)) {
        let mut state = self.state.lock().expect("module state lock");
        let before = (
            state.status,
            state.pid,
            state.ready,
            state.start_error.clone(),
        );
        f(&mut state);
        let changed = before.0 != state.status
            || before.1 != state.pid
            || before.2 != state.ready
            || before.3 != state.start_error;
        if changed && self.events.receiver_count() > 0 {
            let _ = self
                .events
                .send(SupervisorEvent::StateChanged(state.clone()));
        }
    }

    pub(crate) fn snapshot(&self) -> ModuleState {
        self.state.lock().expect("module state lock").clone()
    }

    /// Announces `event` (never blocks; nobody listening is fine).
    pub(crate) fn announce(&self, event: SupervisorEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event);
        }
    }
}

/// What a module task needs besides its control channel.
pub(crate) struct ModuleTask {
    /// The module's short name.
    pub short: String,
    /// State and output shared with the supervisor handle.
    pub shared: Arc<Shared>,
    /// Produces the spec before every spawn.
    pub resolver: SpecResolver,
    /// Tuning shared by all modules.
    pub config: Arc<SupervisorConfig>,
    /// Where `[supervisor]` lines go.
    pub sink: OutputSink,
}

/// How one run of the process ended.
enum RunEnd {
    /// The process exited on its own.
    Exited(ExitInfo, Duration),
    /// An operator asked for a stop; the process is gone.
    Stopped(oneshot::Sender<()>),
}

impl ModuleTask {
    fn say(&self, message: &str) {
        self.sink.say(message);
    }

    fn give_up(&self, error_type: &str, description: String, binary: Option<String>) {
        self.say(&format!("{} is down: {description}", self.short));
        let error = StartError {
            error_type: error_type.to_string(),
            error_description: description,
            binary,
            at: SystemTime::now(),
        };
        let recorded = error.clone();
        self.shared.update(|s| {
            s.status = ModuleStatus::Crashed;
            s.pid = None;
            s.ready = false;
            s.next_retry_at = None;
            s.start_error = Some(recorded);
        });
        self.shared.announce(SupervisorEvent::GaveUp {
            short: self.short.clone(),
            error,
        });
    }

    /// Runs until the module is stopped or given up on.
    pub(crate) async fn run(self, mut control: mpsc::UnboundedReceiver<Control>) {
        loop {
            let spec = match (self.resolver)() {
                Ok(spec) => spec,
                Err(blocked) => {
                    self.give_up(&blocked.error_type, blocked.description, None);
                    return;
                }
            };
            let end = match self.run_once(&spec, &mut control).await {
                Some(end) => end,
                None => return,
            };
            let (exit, ran) = match end {
                RunEnd::Stopped(reply) => {
                    let _ = reply.send(());
                    return;
                }
                RunEnd::Exited(exit, ran) => (exit, ran),
            };
            let policy = &self.config.crash_policy;
            let mut crashes = self.shared.snapshot().consecutive_crashes;
            if ran >= policy.healthy_after {
                crashes = 0;
            }
            crashes += 1;
            self.shared.update(|s| {
                s.consecutive_crashes = crashes;
                s.last_exit = Some(exit.clone());
                s.last_crash_at = Some(SystemTime::now());
                s.pid = None;
                s.ready = false;
            });
            if crashes >= policy.give_up_after {
                let tail = self
                    .shared
                    .output
                    .ring()
                    .tail(self.config.crash_reason_lines);
                let mut why = format!(
                    "crashed {crashes} times in a row (last: {exit}); not restarting until an operator starts it again"
                );
                if !tail.is_empty() {
                    why.push_str(". Last output:\n");
                    why.push_str(&tail.join("\n"));
                }
                self.give_up("crash_loop", why, None);
                return;
            }
            let delay = policy.delay(crashes);
            self.say(&format!(
                "{} exited ({exit}); respawn {crashes}/{} in {} ms",
                self.short,
                policy.give_up_after - 1,
                delay.as_millis()
            ));
            self.shared.update(|s| {
                s.status = ModuleStatus::Restarting;
                s.next_retry_at = Some(SystemTime::now() + delay);
            });
            self.shared.announce(SupervisorEvent::Crashed {
                short: self.short.clone(),
                exit: exit.clone(),
                consecutive: crashes,
                respawn_in: delay,
            });
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                msg = control.recv() => {
                    self.shared.update(|s| { s.status = ModuleStatus::Stopped; s.next_retry_at = None; });
                    if let Some(Control::Stop(reply)) = msg {
                        let _ = reply.send(());
                    }
                    return;
                }
            }
            self.shared.update(|s| {
                s.total_restarts += 1;
                s.next_retry_at = None;
            });
        }
    }

    /// Spawns once and waits for exit or a stop. `None` means the module could not be spawned
    /// (it is now `crashed` with a start error).
    async fn run_once(
        &self,
        spec: &SpawnSpec,
        control: &mut mpsc::UnboundedReceiver<Control>,
    ) -> Option<RunEnd> {
        let Some(program) = spec.resolve_program() else {
            let binary = spec.argv.first().cloned().unwrap_or_default();
            self.give_up(
                "missing_dependency",
                format!(
                    "`{binary}` is not installed or not on PATH; install it, then start {} again",
                    self.short
                ),
                Some(binary),
            );
            return None;
        };
        self.shared.update(|s| {
            s.status = ModuleStatus::Starting;
            s.port = spec.port;
            s.ready = false;
        });
        let (mut child, tree) = self.spawn_marked(spec, program).await?;
        let pid = tree.leader;
        let started = Instant::now();
        tracing::debug!(short = %self.short, pid, argv = ?spec.argv, "module spawned");

        let pumps = [
            child
                .stdout
                .take()
                .map(|out| spawn_pump(out, self.shared.output.clone())),
            child
                .stderr
                .take()
                .map(|err| spawn_pump(err, self.shared.output.clone())),
        ];
        let readiness = spec.port.map(|port| {
            tokio::spawn(readiness_gate(
                self.short.clone(),
                pid,
                port,
                self.shared.clone(),
                self.config.clone(),
            ))
        });

        let end = tokio::select! {
            status = child.wait() => {
                spawn::forget_child(pid);
                let exit = status.map(exit_info).unwrap_or(ExitInfo { code: None, signal: None });
                // Grandchildren left in the group would keep the port and our pipes: end them.
                // The leader is reaped, so its pid may be recycled: signal the group only.
                let _ = parachute_os::process::signal_group_only(pid, Signal::SIGKILL);
                // And so would marked descendants that left the group.
                self.kill_stragglers(tree).await;
                RunEnd::Exited(exit, started.elapsed())
            }
            msg = control.recv() => {
                self.terminate(tree, &mut child).await;
                self.shared.update(|s| {
                    s.status = ModuleStatus::Stopped;
                    s.pid = None;
                    s.ready = false;
                });
                match msg {
                    Some(Control::Stop(reply)) => RunEnd::Stopped(reply),
                    None => RunEnd::Stopped(oneshot::channel().0),
                }
            }
        };
        if let Some(task) = readiness {
            task.abort();
        }
        for mut pump in pumps.into_iter().flatten() {
            // Output still buffered in the pipes is drained. A pipe still held open (by a
            // descendant that left the process group) does not block us, nor keep its task.
            if tokio::time::timeout(Duration::from_secs(2), &mut pump)
                .await
                .is_err()
            {
                pump.abort();
            }
        }
        Some(end)
    }

    /// Spawns the process with its tree's mark and reports it running. `None` means it could
    /// not be spawned (the module is now `crashed` with a start error).
    async fn spawn_marked(
        &self,
        spec: &SpawnSpec,
        program: std::path::PathBuf,
    ) -> Option<(tokio::process::Child, Tree)> {
        // A log file that failed earlier gets another chance with every spawn.
        self.shared.output.log_file().ensure_open();
        let serial = SPAWNS.fetch_add(1, Ordering::Relaxed) + 1;
        let marked = self
            .config
            .home_mark
            .as_ref()
            .map(|home| mark::spawn_mark(home, serial));
        let spawned = spawn::spawn(spawn::command(spec, program, marked.as_deref())).await;
        let child = match spawned {
            Ok(child) => child,
            Err(err) => {
                let binary = spec.argv.first().cloned();
                let kind = if err.kind() == std::io::ErrorKind::NotFound {
                    "missing_dependency"
                } else {
                    "spawn_failed"
                };
                self.give_up(
                    kind,
                    format!("could not start {}: {err}", self.short),
                    binary,
                );
                return None;
            }
        };
        let Some(pid) = child.id() else {
            // Only a child that was already waited for has no pid; never true right after spawn.
            self.give_up(
                "spawn_failed",
                format!("could not start {}: the new process has no pid", self.short),
                spec.argv.first().cloned(),
            );
            return None;
        };
        self.shared.update(|s| {
            s.status = ModuleStatus::Running;
            s.pid = Some(pid);
            s.started_at = Some(SystemTime::now());
            s.start_error = None;
        });
        Some((
            child,
            Tree {
                leader: pid,
                serial,
            },
        ))
    }

    /// Group SIGTERM, wait up to the grace period, then group SIGKILL; the tree's marked
    /// processes outside the group get the same treatment and the same grace.
    async fn terminate(&self, tree: Tree, child: &mut tokio::process::Child) {
        let pid = tree.leader;
        let deadline = Instant::now() + self.config.stop_grace;
        // The leader is not reaped yet (we hold its `Child`), so `pid` is still ours.
        let _ = parachute_os::process::signal_group(pid, Signal::SIGTERM);
        let early = self.stragglers(tree).await;
        mark::signal_all(&early, Signal::SIGTERM);
        let grace = self.config.stop_grace;
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            self.say(&format!(
                "{} still running {} ms after SIGTERM; sending SIGKILL",
                self.short,
                grace.as_millis()
            ));
            let _ = parachute_os::process::signal_group_only(pid, Signal::SIGKILL);
            let _ = child.wait().await;
        }
        spawn::forget_child(pid);
        // Anything left in the group (a grandchild ignoring SIGTERM) goes now; the leader is
        // reaped, so never fall back to signalling its (possibly recycled) pid.
        let _ = parachute_os::process::signal_group_only(pid, Signal::SIGKILL);
        let late = self.stragglers(tree).await;
        if !late.is_empty() {
            let _ =
                tokio::task::spawn_blocking(move || mark::stop_processes(&late, deadline)).await;
        }
    }

    /// The tree's marked processes that left its process group (none without a home mark).
    async fn stragglers(&self, tree: Tree) -> Vec<mark::MarkedProcess> {
        let Some(home) = self.config.home_mark.clone() else {
            return Vec::new();
        };
        tokio::task::spawn_blocking(move || mark::stragglers(&home, tree.serial, tree.leader))
            .await
            .unwrap_or_default()
    }

    /// SIGKILLs the tree's marked processes that left its process group.
    async fn kill_stragglers(&self, tree: Tree) {
        let left = self.stragglers(tree).await;
        mark::signal_all(&left, Signal::SIGKILL);
    }
}

/// One spawned process tree: its leader (= process group) and its mark's spawn number.
#[derive(Debug, Clone, Copy)]
struct Tree {
    /// The leader's pid, which is also the group id.
    leader: u32,
    /// The spawn number in the tree's mark.
    serial: u64,
}

fn exit_info(status: std::process::ExitStatus) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    ExitInfo {
        code: status.code(),
        signal: status.signal(),
    }
}

/// The wait after the first failed readiness probe; each later wait doubles, up to
/// [`SupervisorConfig::readiness_interval`].
const FIRST_PROBE_INTERVAL: Duration = Duration::from_millis(5);

/// Polls `127.0.0.1:port` until the module accepts a connection. Past the readiness timeout the
/// module is flagged `started_but_unbound` but polling continues, so a slow module still turns
/// ready (and the flag clears) when it finally binds.
async fn readiness_gate(
    short: String,
    pid: u32,
    port: u16,
    shared: Arc<Shared>,
    config: Arc<SupervisorConfig>,
) {
    let started = Instant::now();
    let mut flagged = false;
    let mut backoff = FIRST_PROBE_INTERVAL;
    loop {
        let probe = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await;
        if matches!(probe, Ok(Ok(_))) {
            shared.update(|s| {
                if s.pid == Some(pid) {
                    s.ready = true;
                    if s.start_error.as_ref().map(|e| e.error_type.as_str())
                        == Some("started_but_unbound")
                    {
                        s.start_error = None;
                    }
                }
            });
            return;
        }
        if !flagged && started.elapsed() >= config.readiness_timeout {
            flagged = true;
            let waited = config.readiness_timeout.as_millis();
            shared.update(|s| {
                if s.pid == Some(pid) {
                    s.start_error = Some(StartError {
                        error_type: "started_but_unbound".into(),
                        error_description: format!(
                            "{short} started (pid {pid}) but is not listening on port {port} after {waited} ms; check its log, or whether its PORT setting matches services.json"
                        ),
                        binary: None,
                        at: SystemTime::now(),
                    });
                }
            });
        }
        let interval = if flagged {
            Duration::from_secs(1)
        } else {
            backoff.min(config.readiness_interval)
        };
        backoff = backoff.saturating_mul(2);
        tokio::time::sleep(interval).await;
    }
}

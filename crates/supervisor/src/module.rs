//! One supervised module: the task that spawns it, watches it and respawns it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::SupervisorConfig;
use crate::logs::{LineSink, LogFile, RingBuffer};
use crate::spawn::{self, SpawnSpec};
use crate::state::{ExitInfo, ModuleState, ModuleStatus, StartError};

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

/// Longest line kept whole; longer output is split so one runaway line cannot exhaust memory.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// Requests to a running module task.
pub(crate) enum Control {
    /// Stop the process (group SIGTERM, grace, group SIGKILL) and end the task.
    Stop(oneshot::Sender<()>),
}

/// The parts of a module shared between its task and the supervisor handle.
pub(crate) struct Shared {
    /// Current state, updated by the task.
    pub state: Mutex<ModuleState>,
    /// The last lines of output.
    pub ring: Mutex<RingBuffer>,
    /// Live line feed for `logs --follow`.
    pub lines: broadcast::Sender<String>,
    /// The persistent log file.
    pub log_file: Mutex<LogFile>,
}

impl Shared {
    pub(crate) fn update(&self, f: impl FnOnce(&mut ModuleState)) {
        f(&mut self.state.lock().expect("module state lock"));
    }

    pub(crate) fn snapshot(&self) -> ModuleState {
        self.state.lock().expect("module state lock").clone()
    }

    fn record_line(&self, short: &str, line: &str, sink: &LineSink) {
        sink(&format!("[{short}] {line}"));
        self.log_file.lock().expect("log lock").write_line(line);
        // Push and broadcast under one ring lock: `Supervisor::follow` copies the ring and
        // subscribes under the same lock, so a follower sees every line exactly once.
        let mut ring = self.ring.lock().expect("ring lock");
        ring.push(line);
        let _ = self.lines.send(line.to_string());
    }
}

/// What a module task needs besides its control channel.
pub(crate) struct ModuleTask {
    pub short: String,
    pub shared: Arc<Shared>,
    pub resolver: SpecResolver,
    pub config: Arc<SupervisorConfig>,
    pub sink: LineSink,
}

enum RunEnd {
    /// The process exited on its own.
    Exited(ExitInfo, Duration),
    /// An operator asked for a stop; the process is gone.
    Stopped(oneshot::Sender<()>),
}

impl ModuleTask {
    fn say(&self, message: &str) {
        (self.sink)(&format!("[supervisor] {message}"));
    }

    fn give_up(&self, error_type: &str, description: String, binary: Option<String>) {
        self.say(&format!("{} is down: {description}", self.short));
        self.shared.update(|s| {
            s.status = ModuleStatus::Crashed;
            s.pid = None;
            s.ready = false;
            s.next_retry_at = None;
            s.start_error = Some(StartError {
                error_type: error_type.to_string(),
                error_description: description,
                binary,
                at: SystemTime::now(),
            });
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
                    .ring
                    .lock()
                    .expect("ring lock")
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
        // A log file that failed earlier gets another chance with every spawn.
        self.shared.log_file.lock().expect("log lock").ensure_open();
        let spawned = spawn::spawn(spawn::command(spec, program)).await;
        let mut child = match spawned {
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
        let started = Instant::now();
        self.shared.update(|s| {
            s.status = ModuleStatus::Running;
            s.pid = Some(pid);
            s.started_at = Some(SystemTime::now());
            s.start_error = None;
        });
        tracing::debug!(short = %self.short, pid, argv = ?spec.argv, "module spawned");

        let pumps = [
            child.stdout.take().map(|out| self.pump(out)),
            child.stderr.take().map(|err| self.pump(err)),
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
                RunEnd::Exited(exit, started.elapsed())
            }
            msg = control.recv() => {
                self.terminate(pid, &mut child).await;
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

    /// Group SIGTERM, wait up to the grace period, then group SIGKILL.
    async fn terminate(&self, pid: u32, child: &mut tokio::process::Child) {
        // The leader is not reaped yet (we hold its `Child`), so `pid` is still ours.
        let _ = parachute_os::process::signal_group(pid, Signal::SIGTERM);
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
    }

    fn pump<R: AsyncRead + Unpin + Send + 'static>(
        &self,
        reader: R,
    ) -> tokio::task::JoinHandle<()> {
        let short = self.short.clone();
        let shared = self.shared.clone();
        let sink = self.sink.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let read = (&mut reader)
                    .take(MAX_LINE_BYTES as u64)
                    .read_until(b'\n', &mut buf)
                    .await;
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                            if buf.last() == Some(&b'\r') {
                                buf.pop();
                            }
                        }
                        let line = String::from_utf8_lossy(&buf);
                        shared.record_line(&short, &line, &sink);
                    }
                }
            }
        })
    }
}

use tokio::io::AsyncReadExt as _;

fn exit_info(status: std::process::ExitStatus) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    ExitInfo {
        code: status.code(),
        signal: status.signal(),
    }
}

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
            config.readiness_interval
        };
        tokio::time::sleep(interval).await;
    }
}

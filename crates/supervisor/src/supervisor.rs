//! The supervisor handle: start, stop, restart, inspect and shut down modules.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::SupervisorConfig;
use crate::events::{EVENT_CAPACITY, SupervisorEvent};
use crate::follow::LogFollower;
use crate::logfile::LogFile;
use crate::module::{Control, ModuleTask, Shared, SpecResolver};
use crate::output::ModuleOutput;
use crate::state::{ModuleState, ModuleStatus};
use crate::terminal::OutputSink;

/// How long [`Supervisor::shutdown`] waits for the stdout copy of the last lines to get out.
const SHUTDOWN_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// Where a module's persistent log file lives, given its short name.
pub type LogPathFn = Arc<dyn Fn(&str) -> PathBuf + Send + Sync>;

/// A request to supervise one module.
#[derive(Clone)]
pub struct StartRequest {
    /// Short name, the key for every later operation.
    pub short: String,
    /// Called before every spawn for a fresh spec.
    pub resolver: SpecResolver,
}

/// One entry in the supervisor's table.
struct Entry {
    /// The request it was started with (reused by `restart`).
    request: StartRequest,
    /// State, logs and line feed shared with the task.
    shared: Arc<Shared>,
    /// Control channel to the task; closed once the task ended.
    control: mpsc::UnboundedSender<Control>,
    /// The task itself, awaited on stop.
    task: Option<JoinHandle<()>>,
}

/// Runs every module as a child of this process. Cheap to clone; all clones share one table.
#[derive(Clone)]
pub struct Supervisor {
    /// The shared table and settings.
    inner: Arc<Inner>,
}

/// What every clone of a [`Supervisor`] shares.
struct Inner {
    /// Tuning shared by all modules.
    config: Arc<SupervisorConfig>,
    /// Where the terminal copy of module output (`[short] line`) goes.
    sink: OutputSink,
    /// Log file location per module.
    log_path: LogPathFn,
    /// Modules in the order they were first started (shutdown and listings keep that order).
    entries: Mutex<Vec<(String, Entry)>>,
    /// Where events are announced ([`Supervisor::subscribe`]).
    events: broadcast::Sender<SupervisorEvent>,
}

impl Supervisor {
    /// A supervisor with no modules yet. `sink` takes the terminal copy of module output:
    /// [`crate::stdout_sink`] in the hub, or a per-line callback (`Arc<impl Fn(&str)>`).
    pub fn new(config: SupervisorConfig, sink: impl Into<OutputSink>, log_path: LogPathFn) -> Self {
        let sink = sink.into();
        let events = broadcast::channel(EVENT_CAPACITY).0;
        sink.attach_events(events.clone());
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                sink,
                log_path,
                entries: Mutex::new(Vec::new()),
                events,
            }),
        }
    }

    /// A feed of what happens to the modules from now on: state changes, crashes, give-ups,
    /// output dropped from stdout (see [`SupervisorEvent`]). Sending never blocks the
    /// supervisor; a receiver that falls far behind gets `Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.inner.events.subscribe()
    }

    /// Prints one line of the hub's own (without its newline) through the same non-blocking
    /// sink as module output: unlike `println!`, it never waits for a stalled stdout.
    pub fn print_line(&self, line: &str) {
        self.inner.sink.print_line(line);
    }

    /// Waits (blocking) up to `timeout` for everything offered to the stdout sink so far to be
    /// written out; false when it was not (nobody reads stdout).
    pub fn flush_output(&self, timeout: std::time::Duration) -> bool {
        self.inner.sink.flush(timeout)
    }

    fn new_shared(&self, short: &str) -> Arc<Shared> {
        let config = &self.inner.config;
        let log_file = LogFile::open(
            &(self.inner.log_path)(short),
            config.log_file_max_bytes,
            config.log_files_kept,
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(ModuleState::new(short)),
            output: Arc::new(ModuleOutput::new(
                short,
                config.ring_bytes,
                log_file,
                self.inner.sink.clone(),
            )),
            events: self.inner.events.clone(),
        });
        shared.announce(SupervisorEvent::StateChanged(shared.snapshot()));
        shared
    }

    /// Starts `request.short` unless it is already up (starting, running or restarting), in which
    /// case its current state is returned unchanged. A stopped or crashed module starts afresh
    /// with a reset crash count; its log buffer is kept.
    pub fn start(&self, request: StartRequest) -> ModuleState {
        let mut entries = self.inner.entries.lock().expect("supervisor lock");
        if let Some((_, entry)) = entries.iter().find(|(s, _)| *s == request.short) {
            let state = entry.shared.snapshot();
            if matches!(
                state.status,
                ModuleStatus::Starting | ModuleStatus::Running | ModuleStatus::Restarting
            ) && !entry.control.is_closed()
            {
                return state;
            }
        }
        let previous = entries
            .iter()
            .position(|(s, _)| *s == request.short)
            .map(|i| entries.remove(i).1);
        let shared = match previous {
            Some(old) => {
                old.shared.update(|s| *s = ModuleState::new(&request.short));
                old.shared
            }
            None => self.new_shared(&request.short),
        };
        let (control, rx) = mpsc::unbounded_channel();
        let task = ModuleTask {
            short: request.short.clone(),
            shared: shared.clone(),
            resolver: request.resolver.clone(),
            config: self.inner.config.clone(),
            sink: self.inner.sink.clone(),
        };
        let handle = tokio::spawn(task.run(rx));
        let state = shared.snapshot();
        entries.push((
            request.short.clone(),
            Entry {
                request,
                shared,
                control,
                task: Some(handle),
            },
        ));
        state
    }

    /// Stops a module (group SIGTERM, grace, group SIGKILL) and waits until it is down.
    /// Returns `None` for a module this supervisor never started.
    pub async fn stop(&self, short: &str) -> Option<ModuleState> {
        let (control, task, shared) = {
            let mut entries = self.inner.entries.lock().expect("supervisor lock");
            let (_, entry) = entries.iter_mut().find(|(s, _)| s == short)?;
            (
                entry.control.clone(),
                entry.task.take(),
                entry.shared.clone(),
            )
        };
        let (reply, done) = oneshot::channel();
        if control.send(Control::Stop(reply)).is_ok() {
            let _ = done.await;
        }
        if let Some(task) = task {
            let _ = task.await;
        }
        let entries = self.inner.entries.lock().expect("supervisor lock");
        // A `start` that ran while we waited replaced the entry (a new control channel) and its
        // task owns the shared state now: marking it stopped would hide a running process.
        let still_ours = entries
            .iter()
            .any(|(s, e)| s == short && e.control.same_channel(&control));
        if still_ours {
            // A crashed module that is stopped counts as acknowledged; its start_error stays.
            shared.update(|s| {
                s.status = ModuleStatus::Stopped;
                s.pid = None;
                s.ready = false;
                s.next_retry_at = None;
            });
        }
        drop(entries);
        Some(shared.snapshot())
    }

    /// Stops then starts a module with its original request (the spec is re-resolved, so the
    /// new process sees the current env). `None` for a module never started.
    pub async fn restart(&self, short: &str) -> Option<ModuleState> {
        let request = {
            let entries = self.inner.entries.lock().expect("supervisor lock");
            entries
                .iter()
                .find(|(s, _)| s == short)
                .map(|(_, e)| e.request.clone())?
        };
        self.stop(short).await;
        Some(self.start(request))
    }

    /// The current state of one module.
    pub fn snapshot(&self, short: &str) -> Option<ModuleState> {
        let entries = self.inner.entries.lock().expect("supervisor lock");
        entries
            .iter()
            .find(|(s, _)| s == short)
            .map(|(_, e)| e.shared.snapshot())
    }

    /// The current state of every module, in start order.
    pub fn snapshots(&self) -> Vec<ModuleState> {
        let entries = self.inner.entries.lock().expect("supervisor lock");
        entries.iter().map(|(_, e)| e.shared.snapshot()).collect()
    }

    /// The buffered output lines of one module, oldest first: all of them, or the newest
    /// `tail` (at most what the in-memory buffer holds; older lines are in the log file).
    pub fn logs(&self, short: &str, tail: Option<usize>) -> Option<Vec<String>> {
        let output = self.output(short)?;
        let ring = output.ring();
        Some(match tail {
            Some(n) => ring.tail(n),
            None => ring.lines(),
        })
    }

    /// Buffered lines (all, or the newest `tail`) plus a lossless live feed of every later
    /// line, for `logs --follow`: nothing falls between the two.
    pub fn follow(&self, short: &str, tail: Option<usize>) -> Option<(Vec<String>, LogFollower)> {
        let output = self.output(short)?;
        let ring = output.ring();
        let lines = match tail {
            Some(n) => ring.tail(n),
            None => ring.lines(),
        };
        let next = ring.next_seq();
        drop(ring);
        Some((lines, LogFollower::new(output, next)))
    }

    fn output(&self, short: &str) -> Option<Arc<ModuleOutput>> {
        let entries = self.inner.entries.lock().expect("supervisor lock");
        entries
            .iter()
            .find(|(s, _)| s == short)
            .map(|(_, e)| e.shared.output.clone())
    }

    /// True when this supervisor has an entry for `short` (in any state).
    pub fn is_supervised(&self, short: &str) -> bool {
        let entries = self.inner.entries.lock().expect("supervisor lock");
        entries.iter().any(|(s, _)| s == short)
    }

    /// Forgets a module entirely (after stopping it), e.g. on uninstall. Its followers get
    /// the lines still due, then `Closed`.
    pub async fn remove(&self, short: &str) -> Option<ModuleState> {
        let state = self.stop(short).await;
        let mut entries = self.inner.entries.lock().expect("supervisor lock");
        entries.retain(|(s, e)| {
            let gone = s == short;
            if gone {
                e.shared.output.close();
            }
            !gone
        });
        state
    }

    /// Stops every module concurrently and waits for all of them, then (for up to 2 s) for the
    /// stdout copy of their last lines to be written.
    pub async fn shutdown(&self) {
        let shorts: Vec<String> = {
            let entries = self.inner.entries.lock().expect("supervisor lock");
            entries.iter().map(|(s, _)| s.clone()).collect()
        };
        let mut stops = tokio::task::JoinSet::new();
        for short in shorts {
            let me = self.clone();
            stops.spawn(async move { me.stop(&short).await });
        }
        while stops.join_next().await.is_some() {}
        // The process usually exits next: let the stdout copy of the last lines get out.
        let sink = self.inner.sink.clone();
        let _ = tokio::task::spawn_blocking(move || sink.flush(SHUTDOWN_FLUSH)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::SpawnSpec;
    use std::time::Duration;

    /// A supervisor whose modules run `sleep <marker>` (the marker finds their processes).
    fn sleeping(dir: &std::path::Path, marker: &str) -> (Supervisor, StartRequest) {
        let logs = dir.to_path_buf();
        let supervisor = Supervisor::new(
            SupervisorConfig::default(),
            Arc::new(|_: &str| {}),
            Arc::new(move |short: &str| logs.join(format!("{short}.log"))),
        );
        let marker = marker.to_string();
        let request = StartRequest {
            short: "sleepy".into(),
            resolver: Arc::new(move || {
                Ok(SpawnSpec {
                    argv: vec!["sleep".into(), marker.clone()],
                    cwd: None,
                    env: vec![("PATH".into(), "/usr/bin:/bin".into())],
                    port: None,
                })
            }),
        };
        (supervisor, request)
    }

    /// Live module processes running `sleep <marker>`.
    fn live(marker: &str) -> Vec<u32> {
        let want = format!("/sleep {marker}");
        let pids: Vec<u32> = crate::spawn::direct_children().clone();
        pids.into_iter()
            .filter(|pid| parachute_os::process::is_alive(*pid))
            .filter(|pid| {
                parachute_os::process::command_line(*pid).is_some_and(|c| c.ends_with(&want))
            })
            .collect()
    }

    async fn settled(supervisor: &Supervisor, short: &str) -> ModuleState {
        loop {
            let state = supervisor.snapshot(short).expect("supervised");
            if state.status != ModuleStatus::Starting {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A `start` that lands while a `stop` is finishing must not be reported as stopped while
    /// its process runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_racing_a_stop_keeps_a_truthful_state() {
        let dir = tempfile::tempdir().unwrap();
        let marker = "4242.17";
        let (supervisor, request) = sleeping(dir.path(), marker);
        for _ in 0..20 {
            supervisor.start(request.clone());
            let running = settled(&supervisor, "sleepy").await;
            assert_eq!(running.status, ModuleStatus::Running);
            let starter = {
                let supervisor = supervisor.clone();
                let request = request.clone();
                tokio::spawn(async move {
                    // Start again the moment the task reports the process gone.
                    while supervisor.snapshot("sleepy").unwrap().status != ModuleStatus::Stopped {
                        tokio::task::yield_now().await;
                    }
                    supervisor.start(request);
                })
            };
            supervisor.stop("sleepy").await;
            starter.await.unwrap();
            let state = settled(&supervisor, "sleepy").await;
            let pids = live(marker);
            match state.status {
                ModuleStatus::Running => {
                    assert_eq!(pids, vec![state.pid.unwrap()], "{state:?}");
                }
                other => {
                    panic!("the restarted module is reported {other:?} with processes {pids:?}")
                }
            }
            supervisor.stop("sleepy").await;
            assert!(live(marker).is_empty());
        }
    }

    #[tokio::test]
    async fn stop_restart_and_remove_of_a_running_module() {
        let dir = tempfile::tempdir().unwrap();
        let marker = "4242.23";
        let (supervisor, request) = sleeping(dir.path(), marker);
        assert!(supervisor.stop("sleepy").await.is_none());
        assert!(supervisor.restart("sleepy").await.is_none());
        supervisor.start(request.clone());
        let first = settled(&supervisor, "sleepy").await;
        assert_eq!(live(marker), vec![first.pid.unwrap()]);
        // Starting a running module changes nothing.
        assert_eq!(supervisor.start(request).pid, first.pid);

        supervisor.restart("sleepy").await.unwrap();
        let second = settled(&supervisor, "sleepy").await;
        assert_eq!(second.status, ModuleStatus::Running);
        assert_ne!(second.pid, first.pid);
        assert_eq!(live(marker), vec![second.pid.unwrap()]);

        let removed = supervisor.remove("sleepy").await.unwrap();
        assert_eq!(removed.status, ModuleStatus::Stopped);
        assert!(live(marker).is_empty());
        assert!(!supervisor.is_supervised("sleepy"));
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod pipeline_tests;

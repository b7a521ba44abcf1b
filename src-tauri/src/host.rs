//! The hub the app shows: one it runs in process, or one it attached to (its unit's, or one that
//! proved it serves this home).
//!
//! Both give the same two things to the tray: a [`HubSnapshot`] now ([`Host::snapshot`]) and a
//! call back on every hub event ([`Host::watch`]) — the in-process hub's event bus, or the
//! attached hub's `/api/events` stream. Nothing polls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parachute_client::HubClient;
use parachute_home::Home;
use parachute_hub::{Hub, HubConfig, HubHandle, ServeError};
use parachute_protocol::{AdminState, BootProgress, HubEvent, HubSnapshot, ModuleStatus};

/// How long Quit waits for the in-process hub to stop its modules.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(15);

/// How the app relates to the hub.
enum Kind {
    /// The hub runs in this process.
    InProcess {
        /// Its handle.
        handle: HubHandle,
        /// `Hub::run`, until it returns.
        run: Mutex<Option<tokio::task::JoinHandle<Result<(), ServeError>>>>,
    },
    /// Another process runs it; we are its client.
    Attached,
}

/// The hub the app shows and steers.
pub struct Host {
    /// The runtime everything async runs on (also Tauri's).
    runtime: Arc<tokio::runtime::Runtime>,
    /// In process or attached.
    kind: Kind,
    /// The config home.
    home: Home,
    /// The hub port.
    port: u16,
}

impl Host {
    /// Binds and runs the hub in this process (its modules are this app's children).
    pub fn start_in_process(
        runtime: Arc<tokio::runtime::Runtime>,
        config: HubConfig,
    ) -> Result<Self, ServeError> {
        let home = config.home.clone();
        let hub = runtime.block_on(Hub::bind(config))?;
        let handle = hub.handle();
        let stopping = handle.stopping();
        let run = runtime.spawn(hub.run(stopping));
        Ok(Self {
            port: handle.port(),
            kind: Kind::InProcess {
                handle,
                run: Mutex::new(Some(run)),
            },
            runtime,
            home,
        })
    }

    /// The client of a hub that runs elsewhere on `port`.
    pub fn attached(runtime: Arc<tokio::runtime::Runtime>, home: Home, port: u16) -> Self {
        Self {
            runtime,
            kind: Kind::Attached,
            home,
            port,
        }
    }

    /// The hub port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The config home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The shared runtime.
    pub fn runtime(&self) -> &Arc<tokio::runtime::Runtime> {
        &self.runtime
    }

    /// The in-process hub's handle (`None` when attached).
    pub fn handle(&self) -> Option<&HubHandle> {
        match &self.kind {
            Kind::InProcess { handle, .. } => Some(handle),
            Kind::Attached => None,
        }
    }

    /// The hub's state now; `None` when it does not answer.
    pub fn snapshot(&self) -> Option<HubSnapshot> {
        match &self.kind {
            Kind::InProcess { handle, .. } => Some(handle.snapshot()),
            Kind::Attached => self
                .runtime
                .block_on(remote_snapshot(&self.home, self.port)),
        }
    }

    /// Calls `changed` with every hub event, on a thread of its own, until the hub is gone.
    pub fn watch(&self, changed: impl Fn(&HubEvent) + Send + 'static) {
        match &self.kind {
            Kind::InProcess { handle, .. } => {
                let mut events = handle.subscribe();
                spawn_named("hub-events", move || {
                    while let Some(envelope) = events.blocking_recv() {
                        changed(&envelope.event);
                    }
                });
            }
            Kind::Attached => {
                let runtime = self.runtime.clone();
                let home = self.home.clone();
                let port = self.port;
                spawn_named("hub-events", move || {
                    runtime.block_on(follow_remote(&home, port, &changed));
                });
            }
        }
    }

    /// How many modules this app supervises that are running (0 when attached: the other
    /// process keeps them).
    pub fn supervised_running(&self) -> usize {
        match &self.kind {
            Kind::InProcess { handle, .. } => handle
                .snapshot()
                .modules
                .iter()
                .filter(|m| m.status != ModuleStatus::Stopped && m.status != ModuleStatus::Crashed)
                .count(),
            Kind::Attached => 0,
        }
    }

    /// Stops the in-process hub and its modules, waiting up to `budget`; true when it stopped
    /// in time (attached: nothing to stop, true).
    pub fn shutdown(&self, budget: Duration) -> bool {
        let Kind::InProcess { handle, run } = &self.kind else {
            return true;
        };
        handle.shutdown();
        let Some(run) = run.lock().ok().and_then(|mut r| r.take()) else {
            return true;
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(budget, run).await })
        {
            Ok(Ok(Ok(()))) => true,
            Ok(Ok(Err(err))) => {
                tracing::warn!(%err, "the hub stopped with an error");
                true
            }
            Ok(Err(err)) => {
                tracing::warn!(%err, "the hub task failed");
                false
            }
            Err(_) => false,
        }
    }
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(err) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::error!(%err, "cannot start the {name} thread; the tray will not refresh");
    }
}

/// The attached hub's state over its API (after the proof, with the operator token).
async fn remote_snapshot(home: &Home, port: u16) -> Option<HubSnapshot> {
    let client = HubClient::with_operator_token(home).await.ok()?;
    let list = client.modules().await.ok()?;
    let hub = client.hub_info().await.ok()?;
    let modules = list
        .modules
        .iter()
        .filter(|m| m.installed)
        .filter_map(|m| {
            let status = m.supervisor_status?;
            serde_json::from_value(serde_json::json!({
                "short": m.short,
                "status": status,
                "pid": m.pid,
                "port": m.port,
                "ready": m.supervisor_ready.unwrap_or(false),
            }))
            .ok()
        })
        .collect::<Vec<_>>();
    let total = u32::try_from(modules.len()).unwrap_or(u32::MAX);
    tracing::debug!(port, modules = total, "attached hub snapshot");
    Some(HubSnapshot {
        hub,
        admin: AdminState::Exists,
        modules,
        exposure: parachute_hub::watch::exposure_snapshot(home),
        boot: BootProgress {
            total,
            done: total,
            finished: true,
        },
    })
}

/// Reads the attached hub's `/api/events` and calls `changed` per event; returns when the
/// stream ends (the hub went away).
async fn follow_remote(home: &Home, port: u16, changed: &(dyn Fn(&HubEvent) + Send)) {
    use futures_util::StreamExt;
    let Ok(client) = HubClient::with_operator_token(home).await else {
        tracing::warn!(port, "cannot follow the attached hub's events");
        return;
    };
    let Ok(resp) = client.events().await else {
        return;
    };
    let mut body = resp.bytes_stream();
    let mut pending = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let frame: String = pending.drain(..end + 2).collect();
            let data: String = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if let Ok(envelope) = serde_json::from_str::<parachute_protocol::EventEnvelope>(&data) {
                changed(&envelope.event);
            }
        }
    }
}

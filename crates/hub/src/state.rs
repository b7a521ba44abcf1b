//! State shared by every request handler.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use parachute_auth::HubDb;
use parachute_home::Home;
use parachute_supervisor::Supervisor;

use crate::boot::BootOutcome;
use crate::operations::Operations;
use crate::packages::Packages;
use crate::routes::proxy::ProxyContext;

/// The hub's version, reported by `/health` and `/api/hub`.
pub const HUB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Cheap to clone: everything is behind `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// The config home.
    home: Home,
    /// Runs the modules.
    supervisor: Supervisor,
    /// Keys, tokens, users and settings.
    db: Arc<HubDb>,
    /// The port we listen on (part of our loopback origins).
    port: u16,
    /// Origin fixed by the environment at startup, if any.
    env_origin: Option<String>,
    /// When `serve` started.
    started_at: SystemTime,
    /// `None` until the boot sequence has handed every row to the supervisor.
    boot: Mutex<Option<Vec<BootOutcome>>>,
    /// Install/upgrade/uninstall operations, polled by clients.
    operations: Operations,
    /// Runs `bun`/`npm` for module installs.
    packages: Packages,
    /// The reverse proxy's pooled client and routing table cache.
    proxy: ProxyContext,
    /// Becomes `true` once the hub has been asked to stop. Long-lived responses (log follow
    /// streams) watch it: the server waits for open responses before the modules are stopped,
    /// so they must end by themselves. A watch, not a signal handler per stream, so a stream
    /// that starts listening after the signal still sees it.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State for a hub listening on `port`.
    pub fn new(
        home: Home,
        supervisor: Supervisor,
        db: Arc<HubDb>,
        port: u16,
        env_origin: Option<String>,
    ) -> Self {
        let proxy = ProxyContext::new(&home);
        Self {
            inner: Arc::new(Inner {
                home,
                supervisor,
                db,
                port,
                env_origin,
                started_at: SystemTime::now(),
                boot: Mutex::new(None),
                operations: Operations::new(),
                packages: Packages::from_env(),
                proxy,
                stopping: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Replaces the package-manager runner (e.g. one with a private search path). Call it
    /// right after [`AppState::new`], before the state is cloned.
    pub fn with_packages(mut self, packages: Packages) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_packages must be called before the state is shared")
            .packages = packages;
        self
    }

    /// The module operations registry.
    pub fn operations(&self) -> &Operations {
        &self.inner.operations
    }

    /// The package-manager runner.
    pub fn packages(&self) -> &Packages {
        &self.inner.packages
    }

    /// The config home.
    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    /// The supervisor.
    pub fn supervisor(&self) -> &Supervisor {
        &self.inner.supervisor
    }

    /// The hub database.
    pub fn db(&self) -> &HubDb {
        &self.inner.db
    }

    /// A shared handle on the hub database.
    pub fn db_handle(&self) -> Arc<HubDb> {
        self.inner.db.clone()
    }

    /// The `hub_origin` setting, read fresh (an admin can change it at any time).
    pub fn hub_origin_setting(&self) -> Option<String> {
        self.inner
            .db
            .setting(parachute_auth::SETTING_HUB_ORIGIN)
            .ok()
            .flatten()
            .map(|o| parachute_auth::normalize_origin(&o))
            .filter(|o| !o.is_empty())
    }

    /// True once an admin account exists (the setup gate opens).
    pub fn has_admin(&self) -> bool {
        self.inner.db.user_count().map(|n| n > 0).unwrap_or(false)
    }

    /// The listen port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The origin fixed by the environment, if any.
    pub fn env_origin(&self) -> Option<&str> {
        self.inner.env_origin.as_deref()
    }

    /// When `serve` started.
    pub fn started_at(&self) -> SystemTime {
        self.inner.started_at
    }

    /// The reverse proxy's shared client and routing table (also the discovery document's
    /// source of rows).
    pub fn proxy(&self) -> &ProxyContext {
        &self.inner.proxy
    }

    /// Marks the hub as stopping: every [`AppState::stopping`] future resolves.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once [`AppState::begin_shutdown`] has been called (at once if it already was).
    /// Holds only the channel, not the state.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.stopping.subscribe();
        async move {
            // An error means the state is gone, which also means the hub is going away.
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Records that boot has finished.
    pub fn set_booted(&self, outcomes: Vec<BootOutcome>) {
        *self.inner.boot.lock().expect("boot lock") = Some(outcomes);
    }

    /// Boot outcomes, or `None` while boot is still running.
    pub fn boot(&self) -> Option<Vec<BootOutcome>> {
        self.inner.boot.lock().expect("boot lock").clone()
    }
}

//! State shared by every request handler, the module service and the hub handle.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use parachute_auth::HubDb;
use parachute_home::Home;
use parachute_protocol::{AdminState, BootProgress, HubEvent};
use parachute_supervisor::Supervisor;

use crate::boot::BootOutcome;
use crate::config::{BuildInfo, HubConfig};
use crate::events::EventBus;
use crate::operations::Operations;
use crate::packages::{Channel, Packages};
use crate::routes::host::HostGuard;
use crate::routes::proxy::ProxyContext;
use crate::routes::signin::SignInState;

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
    /// The install channel pinned by the environment; wins over the stored setting.
    install_channel: Option<Channel>,
    /// The environment modules start from (the hub's own, minus its secrets, or whatever the
    /// embedding front end chose).
    module_env: Arc<Vec<(String, String)>>,
    /// Deployment facts for `GET /api/hub`.
    build: BuildInfo,
    /// Whether an admin existed (or was seeded) when the hub started.
    admin_at_start: AdminState,
    /// When the hub started.
    started_at: SystemTime,
    /// Boot progress; the outcomes once every row has been dealt with.
    boot: Mutex<BootRecord>,
    /// Install/upgrade/uninstall operations, polled by clients.
    operations: Operations,
    /// Runs `bun`/`npm` for module installs.
    packages: Packages,
    /// The reverse proxy's pooled client and routing table cache.
    proxy: ProxyContext,
    /// The host-name allowlist (421 for anything else).
    hosts: Arc<HostGuard>,
    /// Every change, fanned out to subscribers.
    events: EventBus,
    /// The hub's self-upgrade: upgrader, update checks, progress events.
    upgrades: Arc<crate::upgrade::HubUpgrades>,
    /// Sign-in's in-memory state: pending second factors, attempt limiters, window tickets.
    signin: SignInState,
    /// The one-shot token first-run setup's account step asks for; made at start when no
    /// admin exists (printed by `serve`, handed over in process by the desktop app).
    bootstrap: parachute_auth::bootstrap::BootstrapToken,
    /// What `/api/expose` needs to run the exposure library as the CLI would: the search path
    /// for `tailscale`/`cloudflared`, and who runs the hub (home directory, service manager).
    expose: crate::routes::expose::ExposeContext,
    /// Becomes `true` once the hub has been asked to stop. Long-lived responses (log follow
    /// streams, event streams) watch it: the server waits for open responses before the
    /// modules are stopped, so they must end by themselves. A watch, not a signal handler per
    /// stream, so a stream that starts listening after the request still sees it.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// How far boot has got.
#[derive(Debug, Clone, Default)]
struct BootRecord {
    /// Counts for `/api/ready` and events.
    progress: BootProgress,
    /// What boot did with each row, once finished.
    outcomes: Option<Vec<BootOutcome>>,
}

impl AppState {
    /// State for a hub serving `config` on `port` (the port actually bound).
    pub fn new(
        config: &HubConfig,
        supervisor: Supervisor,
        db: Arc<HubDb>,
        port: u16,
        admin_at_start: AdminState,
    ) -> Self {
        let home = config.home.clone();
        let proxy = ProxyContext::new(&home);
        let packages = Packages::new(
            Arc::new(parachute_os::SystemRunner::with_search_path(
                config.tools.search_path.clone(),
            )),
            config.tools.bun_global_roots.clone(),
        );
        let events = EventBus::new(config.runtime.event_capacity);
        let upgrades = crate::upgrade::HubUpgrades::new(
            config,
            port,
            Arc::new(parachute_os::SystemRunner::with_search_path(
                config.tools.search_path.clone(),
            )),
        );
        Self {
            inner: Arc::new(Inner {
                home,
                supervisor,
                db,
                port,
                env_origin: config.env_origin.clone(),
                install_channel: config.install_channel,
                module_env: Arc::new(config.module_env.clone()),
                build: config.build.clone(),
                admin_at_start,
                started_at: SystemTime::now(),
                boot: Mutex::new(BootRecord::default()),
                operations: Operations::new(events.clone()),
                packages,
                proxy,
                hosts: Arc::new(HostGuard::new(config.allowed_hosts.clone())),
                events,
                upgrades: Arc::new(upgrades),
                signin: SignInState::new(Arc::new(parachute_auth::SystemClock)),
                expose: crate::routes::expose::ExposeContext::new(
                    config.tools.search_path.clone(),
                    config.upgrade.units.clone(),
                ),
                bootstrap: {
                    let token = parachute_auth::bootstrap::BootstrapToken::new();
                    if admin_at_start == AdminState::NeedsSetup {
                        token.generate();
                    }
                    token
                },
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

    /// The hub's self-upgrade machinery.
    pub fn upgrades(&self) -> &crate::upgrade::HubUpgrades {
        &self.inner.upgrades
    }

    /// The exposure API's context.
    pub fn expose(&self) -> &crate::routes::expose::ExposeContext {
        &self.inner.expose
    }

    /// First-run setup's bootstrap token (live until the first admin is created).
    pub fn bootstrap(&self) -> &parachute_auth::bootstrap::BootstrapToken {
        &self.inner.bootstrap
    }

    /// Sign-in's in-memory state.
    pub fn signin(&self) -> &SignInState {
        &self.inner.signin
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

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Emits one event.
    pub fn emit(&self, event: HubEvent) {
        self.inner.events.emit(event);
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

    /// Whether an admin exists now, in the words of the startup line.
    pub fn admin_state(&self) -> AdminState {
        match (self.has_admin(), self.inner.admin_at_start) {
            (false, _) => AdminState::NeedsSetup,
            (true, AdminState::NeedsSetup) => AdminState::Exists,
            (true, at_start) => at_start,
        }
    }

    /// The listen port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The origin fixed by the environment, if any.
    pub fn env_origin(&self) -> Option<&str> {
        self.inner.env_origin.as_deref()
    }

    /// The install channel pinned by the environment, if any.
    pub fn pinned_channel(&self) -> Option<Channel> {
        self.inner.install_channel
    }

    /// The environment modules start from.
    pub fn module_env(&self) -> Arc<Vec<(String, String)>> {
        self.inner.module_env.clone()
    }

    /// Deployment facts.
    pub fn build(&self) -> &BuildInfo {
        &self.inner.build
    }

    /// When the hub started.
    pub fn started_at(&self) -> SystemTime {
        self.inner.started_at
    }

    /// The reverse proxy's shared client and routing table (also the discovery document's
    /// source of rows).
    pub fn proxy(&self) -> &ProxyContext {
        &self.inner.proxy
    }

    /// The host-name allowlist.
    pub fn hosts(&self) -> &Arc<HostGuard> {
        &self.inner.hosts
    }

    /// Marks the hub as stopping: every [`AppState::stopping`] future resolves.
    pub fn begin_shutdown(&self) {
        if !self.inner.stopping.send_replace(true) {
            self.emit(HubEvent::Stopping);
        }
    }

    /// True once [`AppState::begin_shutdown`] was called.
    pub fn is_stopping(&self) -> bool {
        *self.inner.stopping.borrow()
    }

    /// Resolves once [`AppState::begin_shutdown`] has been called (at once if it already was).
    /// Holds only the channel, not the state.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static + use<> {
        let mut rx = self.inner.stopping.subscribe();
        async move {
            // An error means the state is gone, which also means the hub is going away.
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Records boot progress (and emits it).
    pub fn set_boot_progress(&self, progress: BootProgress) {
        self.inner.boot.lock().expect("boot lock").progress = progress;
        self.emit(HubEvent::BootProgress { progress });
    }

    /// Records that boot has finished.
    pub fn set_booted(&self, outcomes: Vec<BootOutcome>) {
        let total = u32::try_from(outcomes.len()).unwrap_or(u32::MAX);
        let progress = BootProgress {
            total,
            done: total,
            finished: true,
        };
        {
            let mut boot = self.inner.boot.lock().expect("boot lock");
            boot.progress = progress;
            boot.outcomes = Some(outcomes);
        }
        self.emit(HubEvent::BootProgress { progress });
    }

    /// Boot outcomes, or `None` while boot is still running.
    pub fn boot(&self) -> Option<Vec<BootOutcome>> {
        self.inner.boot.lock().expect("boot lock").outcomes.clone()
    }

    /// How far boot has got.
    pub fn boot_progress(&self) -> BootProgress {
        self.inner.boot.lock().expect("boot lock").progress
    }
}

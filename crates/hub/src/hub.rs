//! The hub as a library: bind with a validated config, run until a shutdown future resolves,
//! and steer it through a cloneable [`HubHandle`].
//!
//! ```text
//! let hub = Hub::bind(config).await?;      // port bound, hub.db open, hub.port written
//! let handle = hub.handle();               // snapshot / subscribe / modules / shutdown
//! let mut events = handle.subscribe();     // before run: nothing is missed
//! hub.run(shutdown_signal).await?;         // accepts at once, boots modules, serves
//! ```
//!
//! # What `run` does, in order
//! 1. Starts accepting connections (so `/health` answers at once, whatever the module count).
//! 2. Emits `listening`, then boots every `services.json` row off the accept path, emitting
//!    `boot_progress` as rows are handed to the supervisor.
//! 3. Forwards module state changes and crash loops from the supervisor, and watches
//!    `services.json` / `expose-state.json` / `cloudflared-state.json` /
//!    `hub-upgrade-status.json` for changes made by other processes, as events; checks the
//!    release feed on its interval (see [`crate::upgrade`]).
//! 4. When `shutdown` resolves or [`HubHandle::shutdown`] is called: emits `stopping`, stops
//!    accepting, gives open connections [`crate::config::RuntimeOptions::connection_grace`],
//!    stops every module (group SIGTERM, grace, SIGKILL), removes `hub/run/hub.port` if it is
//!    still ours, and returns.
//!
//! The caller chooses what is process-wide: a child subreaper and `[short] line` output on
//! stdout are [`crate::config::RuntimeOptions`]; signals are the caller's (the CLI passes
//! SIGTERM/SIGINT as the shutdown future, the desktop app its quit).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use parachute_auth::HubDb;
use parachute_home::hub_port;
use parachute_protocol::{AdminState, HubEvent, HubSnapshot};
use parachute_supervisor::{HomeMark, OutputSink, Supervisor, SupervisorConfig};
use tokio::net::TcpListener;

use crate::boot::{self, BootStep, SpawnContext};
use crate::config::{HubConfig, SeedAdmin};
use crate::events::Subscription;
use crate::routes;
use crate::serve::{ServeError, bind_listener, finish_or_give_up};
use crate::service::ModuleService;
use crate::state::{AppState, HUB_VERSION};

/// A hub that has bound its port and opened `hub.db`, not yet serving.
pub struct Hub {
    /// The bound listener.
    listener: TcpListener,
    /// The address it is bound to.
    local: SocketAddr,
    /// Shared state (also behind every handle).
    state: AppState,
    /// The configuration it was bound with.
    config: HubConfig,
    /// The mark this hub's process trees carry.
    home_mark: HomeMark,
}

/// Steers a running hub. Cheap to clone; every clone talks to the same hub.
#[derive(Clone)]
pub struct HubHandle {
    /// The hub's shared state.
    state: AppState,
}

impl Hub {
    /// Binds `config.bind_host:config.port` (port 0 picks a free one), opens `hub.db`, seeds the
    /// first admin when configured and none exists, and records the port in
    /// `hub/run/hub.port`. A port in use is reported with who holds it.
    pub async fn bind(config: HubConfig) -> Result<Hub, ServeError> {
        let listener = bind_listener(config.bind_host, config.port).await?;
        let local = listener.local_addr().map_err(ServeError::Server)?;
        let home = config.home.clone();
        parachute_home::sweep_stale_temp_files(&home);
        // Before the port file: a hub that cannot open its database exits at once and must not
        // leave CLI verbs pointing at a port nobody serves.
        let db = Arc::new(HubDb::open(&home.hub_db())?);
        let admin = seed_admin(&db, config.seed_admin.as_ref());
        if let Err(err) = hub_port::write(&home, local.port()) {
            tracing::warn!(%err, "cannot write hub/run/hub.port; CLI verbs will assume port 1939");
        }
        let log_home = home.clone();
        let sink: OutputSink = if config.runtime.stdout_lines {
            parachute_supervisor::stdout_sink()
        } else {
            OutputSink::from(Arc::new(|_: &str| {}))
        };
        // Every process tree this hub starts carries this home's mark, so a later hub can find
        // what survived this one's SIGKILL (and only that).
        let home_mark = HomeMark::for_home(home.root());
        let supervisor = Supervisor::new(
            SupervisorConfig {
                home_mark: Some(home_mark.clone()),
                ..config.runtime.supervisor.clone()
            },
            sink,
            // The module's directories are made private here, before the supervisor opens the log.
            Arc::new(move |short| {
                let path = log_home.module_log(short);
                if let Some(dir) = path.parent() {
                    let _ = parachute_home::create_private_dir_all(dir);
                }
                path
            }),
        );
        let state = AppState::new(&config, supervisor, db, local.port(), admin);
        Ok(Hub {
            listener,
            local,
            state,
            config,
            home_mark,
        })
    }

    /// A handle to steer the hub once it runs (subscribe before [`Hub::run`] to miss nothing).
    pub fn handle(&self) -> HubHandle {
        HubHandle {
            state: self.state.clone(),
        }
    }

    /// The address the hub listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves until `shutdown` resolves (or a handle asks), then stops every module and
    /// returns. See the module docs for the steps.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Hub {
            listener,
            local,
            state,
            config,
            home_mark,
        } = self;
        if config.runtime.subreaper {
            // The supervisor keeps its own module leaders out of the reaper's hands.
            parachute_supervisor::become_subreaper(|_| false);
        }
        let app = routes::router(state.clone());
        let stopping = state.clone();
        let server = crate::server::serve(listener, app, config.runtime.http.clone(), async move {
            tokio::select! {
                () = shutdown => {}
                () = stopping.stopping() => {}
            }
            stopping.begin_shutdown();
        });
        state.emit(HubEvent::Listening {
            port: local.port(),
            version: HUB_VERSION.to_string(),
            admin: state.admin_state(),
        });
        crate::watch::spawn(state.clone());
        crate::upgrade::spawn_checks(state.clone());
        tokio::spawn(forward_supervisor_events(state.clone()));
        let booting = tokio::spawn(boot_modules(state.clone(), home_mark));
        let result =
            finish_or_give_up(server, state.stopping(), config.runtime.connection_grace).await;
        state.begin_shutdown();
        // Boot may still be handing rows over; let it finish so shutdown sees every module.
        let _ = booting.await;
        state.supervisor().shutdown().await;
        if hub_port::read(state.home()).ok().flatten() == Some(local.port()) {
            let _ = hub_port::remove(state.home());
        }
        tracing::info!("hub stopped; every module is down");
        result
    }
}

/// Turns the supervisor's announcements into hub events until the hub stops. A lag (the
/// supervisor outran this task) is made good by re-announcing every module's current state.
async fn forward_supervisor_events(state: AppState) {
    use parachute_supervisor::SupervisorEvent;
    use tokio::sync::broadcast::error::RecvError;
    let mut rx = state.supervisor().subscribe();
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        let received = tokio::select! {
            received = rx.recv() => received,
            () = &mut stopping => return,
        };
        match received {
            Ok(SupervisorEvent::StateChanged(module)) => state.emit(HubEvent::ModuleState {
                state: crate::wire::module_state(&module),
            }),
            Ok(SupervisorEvent::GaveUp { short, error }) => {
                let exit = state
                    .supervisor()
                    .snapshot(&short)
                    .and_then(|m| m.last_exit)
                    .map(|e| crate::wire::exit(&e));
                state.emit(HubEvent::CrashLoop {
                    short,
                    reason: error.error_description,
                    exit,
                });
            }
            Ok(SupervisorEvent::OutputDropped { lines, .. }) => {
                state.emit(HubEvent::OutputDropped { count: lines });
            }
            Ok(SupervisorEvent::Crashed { .. }) => {}
            Err(RecvError::Lagged(_)) => {
                for module in state.supervisor().snapshots() {
                    state.emit(HubEvent::ModuleState {
                        state: crate::wire::module_state(&module),
                    });
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Hands every row to the supervisor off the accept path, emitting progress.
async fn boot_modules(state: AppState, home_mark: HomeMark) {
    let ctx = SpawnContext::of(&state);
    let booted = state.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        // What a previous hub of this home left running (it was SIGKILLed) would hold the
        // ports: stopped first, and only trees of this home whose hub is dead.
        parachute_supervisor::sweep_orphans(&home_mark);
        let supervisor = booted.supervisor().clone();
        let notice = |step: BootStep<'_>| match step {
            BootStep::Skipped(warning) => booted.emit(HubEvent::Notice {
                source: "supervisor".into(),
                level: "warn".into(),
                message: warning.to_string(),
            }),
            BootStep::Progress {
                outcome,
                command,
                done,
                total,
            } => {
                booted.emit(HubEvent::Notice {
                    source: "supervisor".into(),
                    level: "info".into(),
                    message: outcome.describe(command),
                });
                booted.set_boot_progress(parachute_protocol::BootProgress {
                    total: u32::try_from(total).unwrap_or(u32::MAX),
                    done: u32::try_from(done).unwrap_or(u32::MAX),
                    finished: false,
                });
            }
        };
        // Blocking-pool threads are inside the runtime, so the supervisor can spawn its tasks.
        boot::boot_all(&ctx, &supervisor, &notice)
    })
    .await
    .unwrap_or_default();
    state.set_booted(outcomes);
}

impl HubHandle {
    /// Asks the hub to stop (the same as the shutdown future resolving). Returns at once;
    /// [`Hub::run`] returns once every module is down.
    pub fn shutdown(&self) {
        self.state.begin_shutdown();
    }

    /// Resolves once the hub has been asked to stop.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        self.state.stopping()
    }

    /// Every change from now on (see [`HubEvent`]).
    pub fn subscribe(&self) -> Subscription {
        self.state.events().subscribe()
    }

    /// Module operations, in process.
    pub fn modules(&self) -> ModuleService {
        ModuleService::new(self.state.clone())
    }

    /// The hub, every module, exposure and boot progress, now.
    pub fn snapshot(&self) -> HubSnapshot {
        HubSnapshot {
            hub: routes::modules::hub_info::hub_info(&self.state),
            admin: self.state.admin_state(),
            modules: self
                .state
                .supervisor()
                .snapshots()
                .iter()
                .map(crate::wire::module_state)
                .collect(),
            exposure: crate::watch::exposure_snapshot(self.state.home()),
            boot: self.state.boot_progress(),
        }
    }

    /// Prints one line of the front end's own on the hub's stdout, in order with module lines
    /// and without ever blocking (see [`parachute_supervisor::Supervisor::print_line`]).
    pub fn print_line(&self, line: &str) {
        self.state.supervisor().print_line(line);
    }

    /// Waits up to `timeout` for everything printed so far to reach stdout; false when stdout
    /// is not being read.
    pub fn flush_output(&self, timeout: std::time::Duration) -> bool {
        self.state.supervisor().flush_output(timeout)
    }

    /// The port the hub listens on.
    pub fn port(&self) -> u16 {
        self.state.port()
    }

    /// First-run setup's one-shot bootstrap token, while no admin has claimed the hub (`None`
    /// once one exists). `serve` prints it; the desktop app passes it to its setup window.
    pub fn bootstrap_token(&self) -> Option<String> {
        self.state.bootstrap().current()
    }

    /// The hub database (the desktop app mints its window's short-lived token with it).
    pub fn db(&self) -> Arc<HubDb> {
        self.state.db_handle()
    }

    /// A one-time sign-in for the desktop app's window: load the returned URL (or path) in the
    /// window within a minute and it is signed in as the hub's admin, without a password. Each
    /// one works once; nothing outside this process can make one.
    pub fn mint_window_login(
        &self,
    ) -> Result<crate::routes::signin::WindowLogin, crate::routes::signin::WindowLoginError> {
        use crate::routes::signin::WindowLoginError;
        let admin = self
            .state
            .db()
            .first_user_id()?
            .ok_or(WindowLoginError::NoAdmin)?;
        let (ticket, expires_at) = self.state.signin().issue_ticket(&admin);
        let path = format!("/login/ticket?t={ticket}");
        Ok(crate::routes::signin::WindowLogin {
            url: format!("http://127.0.0.1:{}{path}", self.state.port()),
            path,
            expires_at,
        })
    }

    /// The config home the hub serves.
    pub fn home(&self) -> &parachute_home::Home {
        self.state.home()
    }

    /// The shared state, for routes mounted by the embedding crate's tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// Seeds the first admin when there is no user yet; says what the hub found.
fn seed_admin(db: &HubDb, seed: Option<&SeedAdmin>) -> AdminState {
    let (username, password) = match seed {
        Some(s) => (Some(s.username.as_str()), Some(s.password.as_str())),
        None => (None, None),
    };
    match db.seed_initial_admin(username, password) {
        Ok(parachute_auth::SeedOutcome::Exists) => AdminState::Exists,
        Ok(parachute_auth::SeedOutcome::Seeded(_)) => AdminState::Seeded,
        Ok(parachute_auth::SeedOutcome::NeedsSetup) => AdminState::NeedsSetup,
        Err(err) => {
            tracing::error!(%err, "could not seed the initial admin");
            AdminState::NeedsSetup
        }
    }
}

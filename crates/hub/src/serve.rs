//! `parachute serve`: bind first, then boot every module, then serve until SIGTERM/SIGINT.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parachute_home::hub_port;
use parachute_os::port;
use parachute_supervisor::{HomeMark, Supervisor, SupervisorConfig, stdout_sink};
use tokio::net::TcpListener;

use crate::boot::{self, OriginSource};
use crate::config::ServeConfig;
use crate::routes;
use crate::state::AppState;

/// Why `serve` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Another process holds the port.
    #[error("{0}")]
    PortInUse(String),
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `hub.db` could not be opened.
    #[error("{0}")]
    Database(#[from] parachute_auth::AuthError),
    /// The server failed while running.
    #[error("the HTTP server failed: {0}")]
    Server(#[source] std::io::Error),
}

/// Binds the listener, explaining who holds the port when it is taken.
pub async fn bind(config: &ServeConfig) -> Result<TcpListener, ServeError> {
    let addr = SocketAddr::new(config.bind_host, config.port);
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            Err(ServeError::PortInUse(port_in_use_message(config.port)))
        }
        Err(source) => Err(ServeError::Bind { addr, source }),
    }
}

fn port_in_use_message(port: u16) -> String {
    let holders = port::listeners(port);
    let who = if holders.is_empty() {
        "another process (its owner is not visible to this user)".to_string()
    } else {
        holders
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hint = if holders.iter().any(|h| {
        h.command
            .as_deref()
            .is_some_and(|c| c.contains("parachute"))
    }) {
        "A Parachute hub is probably already running: check it with `parachute status`, or stop it with `parachute stop`."
    } else {
        "Stop that process, or run on another port with PORT=<port> parachute serve."
    };
    format!("port {port} is already in use by {who}. {hint}")
}

/// Runs the hub until SIGTERM or SIGINT, then stops every module and returns.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let listener = bind(&config).await?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    let home = config.home.clone();
    // Before the port file: a hub that cannot open its database exits at once and must not
    // leave CLI verbs pointing at a port nobody serves.
    let db = Arc::new(parachute_auth::HubDb::open(&home.hub_db())?);
    if let Err(err) = hub_port::write(&home, local.port()) {
        tracing::warn!(%err, "cannot write hub/run/hub.port; CLI verbs will assume port 1939");
    }

    let log_home = home.clone();
    let home_mark = HomeMark::for_home(home.root());
    let supervisor = Supervisor::new(
        SupervisorConfig {
            home_mark: Some(home_mark.clone()),
            ..SupervisorConfig::default()
        },
        stdout_sink(),
        Arc::new(move |short| log_home.module_log(short)),
    );
    // The supervisor itself keeps its module leaders out of the reaper's hands; nothing else
    // needs excluding.
    parachute_supervisor::become_subreaper(|_| false);

    let admin = seed_admin(&db);
    let state = AppState::new(
        home.clone(),
        supervisor.clone(),
        db.clone(),
        local.port(),
        config.env_origin.clone(),
    );
    let shown_host = if config.bind_host.is_loopback() {
        "127.0.0.1".to_string()
    } else {
        config.bind_host.to_string()
    };
    println!(
        "parachute serve: listening on http://{shown_host}:{} (PARACHUTE_HOME={}, issuer={}, admin={admin})",
        local.port(),
        home.root().display(),
        config.env_origin.as_deref().unwrap_or("<request origin>"),
    );
    if admin == "needs-setup" {
        println!(
            "parachute serve: no admin account yet; create one with `parachute auth set-password` (API routes answer 503 until then)"
        );
    }

    // Boot and API-started modules see the same origin: the hub_origin setting, else the
    // environment's, asked again before every spawn.
    let origin: OriginSource = routes::modules::origin_source(&state);
    // What a previous hub of this home left running (it was SIGKILLed) would hold the ports.
    parachute_supervisor::sweep_orphans(&home_mark);
    let outcomes = boot::boot_all(&home, &supervisor, &origin);
    let started = outcomes
        .iter()
        .filter(|o| matches!(o, boot::BootOutcome::Started { .. }))
        .count();
    println!("parachute serve: supervising {started} module(s) from services.json");
    state.set_booted(outcomes);

    let app = routes::router(state.clone());
    let stopping = state.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        stopping.begin_shutdown();
    });
    let result = finish_or_give_up(server.into_future(), state.stopping()).await;
    println!("parachute serve: shutting down; stopping modules");
    supervisor.shutdown().await;
    if hub_port::read(&home) == Some(local.port()) {
        let _ = hub_port::remove(&home);
    }
    println!("parachute serve: stopped");
    result
}

/// How long open connections may keep the hub from stopping its modules after SIGTERM.
///
/// The server finishes every open response before it returns, but a module's long-lived
/// response (an event stream, a long poll) only ends when that module stops — which happens
/// after the server returns. Past this grace the modules are stopped anyway, which ends such
/// responses. Together with a module's own 5 s stop grace it stays well inside launchd's 20 s
/// and systemd's 90 s stop timeouts.
pub const CONNECTION_GRACE: Duration = Duration::from_secs(5);

/// Runs `server` to its end, but once `stopping` has resolved waits at most
/// [`CONNECTION_GRACE`] for it (the connections still open then are abandoned).
async fn finish_or_give_up(
    server: impl std::future::Future<Output = std::io::Result<()>>,
    stopping: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let grace_over = async {
        stopping.await;
        tokio::time::sleep(CONNECTION_GRACE).await;
    };
    tokio::select! {
        result = server => result.map_err(ServeError::Server),
        () = grace_over => {
            println!(
                "parachute serve: connections still open {} s after the stop request (long-lived module responses); stopping the modules anyway",
                CONNECTION_GRACE.as_secs()
            );
            Ok(())
        }
    }
}

/// Seeds the first admin from `PARACHUTE_INITIAL_ADMIN_USERNAME`/`_PASSWORD` when there is no
/// user yet; returns `exists`, `seeded` or `needs-setup` for the startup line.
fn seed_admin(db: &parachute_auth::HubDb) -> &'static str {
    let username = std::env::var("PARACHUTE_INITIAL_ADMIN_USERNAME").ok();
    let password = std::env::var("PARACHUTE_INITIAL_ADMIN_PASSWORD").ok();
    match db.seed_initial_admin(username.as_deref(), password.as_deref()) {
        Ok(parachute_auth::SeedOutcome::Exists) => "exists",
        Ok(parachute_auth::SeedOutcome::Seeded(_)) => "seeded",
        Ok(parachute_auth::SeedOutcome::NeedsSetup) => "needs-setup",
        Err(err) => {
            tracing::error!(%err, "could not seed the initial admin");
            "needs-setup"
        }
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

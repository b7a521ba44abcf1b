//! Binding the hub's port, and the bounded end of serving.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use parachute_os::port;
use tokio::net::TcpListener;

/// Why the hub could not run.
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
pub async fn bind_listener(host: IpAddr, port: u16) -> Result<TcpListener, ServeError> {
    let addr = SocketAddr::new(host, port);
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            Err(ServeError::PortInUse(port_in_use_message(port)))
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

/// How long open connections may keep the hub from stopping its modules after a stop request,
/// by default.
///
/// The server finishes every open response before it returns, but a module's long-lived
/// response (an event stream, a long poll) only ends when that module stops — which happens
/// after the server returns. Past this grace the modules are stopped anyway, which ends such
/// responses. Together with a module's own 5 s stop grace it stays well inside launchd's 20 s
/// and systemd's 90 s stop timeouts.
pub const CONNECTION_GRACE: Duration = Duration::from_secs(5);

/// Runs `server` to its end, but once `stopping` has resolved waits at most `grace` for it
/// (the connections still open then are abandoned).
pub(crate) async fn finish_or_give_up(
    server: impl std::future::Future<Output = std::io::Result<()>>,
    stopping: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> Result<(), ServeError> {
    let grace_over = async {
        stopping.await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result.map_err(ServeError::Server),
        () = grace_over => {
            tracing::warn!(
                "connections still open {} s after the stop request (long-lived module responses); stopping the modules anyway",
                grace.as_secs()
            );
            Ok(())
        }
    }
}

//! The hub's HTTP server: its own accept loop over hyper's HTTP/1 connections, serving the
//! router with the slow-client limits of [`HttpLimits`].
//!
//! # What it does, in order
//! 1. Accepts a connection; past [`HttpLimits::max_connections`] open ones it is closed at once
//!    (the open ones keep working), otherwise it holds one permit until it ends.
//! 2. Serves it on a task of its own ([`conn`]): HTTP/1 keep-alive, upgrades, the peer address
//!    as `ConnectInfo<SocketAddr>` for the routes, and the header and idle timeouts.
//! 3. When `shutdown` resolves: stops accepting, asks every connection to finish its request in
//!    flight and close, and returns once all are closed (the caller bounds that wait).

mod conn;
mod limits;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use limits::{BadLimit, HEADER_TIMEOUT_ENV, HttpLimits, IDLE_TIMEOUT_ENV, MAX_CONNECTIONS_ENV};

/// Serves `app` on `listener` until `shutdown` resolves and every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    let limits = Arc::new(limits);
    // Set while connections are being turned away, so the log says so once per episode.
    let refusing = AtomicBool::new(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                accept_failed(&err).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !refusing.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    %peer,
                    limit = max,
                    "closing new connections: {max} are open (the {MAX_CONNECTIONS_ENV} limit)"
                );
            }
            drop(stream);
            continue;
        };
        refusing.store(false, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        tokio::spawn(conn::serve_connection(
            stream,
            peer,
            app.clone(),
            limits.clone(),
            stopped.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends.
    let _ = permits
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// An accept that failed: a connection reset before it was accepted is nothing; anything else
/// (out of file descriptors) is logged and the loop pauses a little, so it does not spin.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%err, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

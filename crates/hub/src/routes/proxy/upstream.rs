//! The proxy's client: HTTP/1 connections to module ports, pooled per port and driven on the
//! task of the request that uses them.
//!
//! A pooled client with a task per connection (hyper-util's) moves every request over a
//! channel to that task and every answer back, often between worker threads. Here the request
//! future polls its connection itself while it waits for the response head, and the response
//! body it hands back polls the connection while the hub's server writes it out — so one
//! proxied request runs on the task of the client connection that sent it, start to end.
//!
//! # What a request does, in order
//! 1. Takes an idle connection to the port from the pool (polling it once, so one the module
//!    closed is noticed and dropped), or connects (5 s limit) when there is none.
//! 2. Sends the request and polls the connection until the response head arrives. A pooled
//!    connection that turns out closed before the request was written is replaced by a fresh
//!    one, once; anything else is the caller's error.
//! 3. Returns the response with a body that drives the connection; when the body has ended the
//!    connection goes back to the pool (at most [`MAX_IDLE_PER_PORT`], for at most
//!    [`IDLE_FOR`]); a body dropped early closes it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections kept per module port (enough for a busy page or a benchmark's 32
/// connections, few enough to stay cheap).
pub const MAX_IDLE_PER_PORT: usize = 64;
/// How long an idle connection is kept.
pub const IDLE_FOR: Duration = Duration::from_secs(60);
/// How long a connect to a module may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The hyper state machine of one upstream connection (boxed once per connection so it can be
/// moved between the pool and the bodies that drive it).
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Body>>>;

/// One upstream connection: the request side and the state machine that must be polled.
struct Lease {
    /// Sends requests on the connection.
    send: http1::SendRequest<Body>,
    /// Reads and writes the socket when polled.
    driver: Driver,
    /// When it was last put back in the pool.
    since: Instant,
}

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The module's port did not accept a connection.
    #[error("cannot connect to 127.0.0.1:{port}")]
    Connect {
        /// The module port.
        port: u16,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The exchange failed after connecting.
    #[error("the module's connection failed")]
    Http(#[source] hyper::Error),
}

impl UpstreamError {
    /// True when the client's own request body failed (it sent an invalid chunked body, or
    /// went away mid-upload): the client's fault, not the module's.
    pub fn is_request_body(&self) -> bool {
        matches!(self, UpstreamError::Http(err) if err.is_user() && std::error::Error::source(err).is_some())
    }
}

/// Idle connections by module port.
#[derive(Default)]
pub struct UpstreamPool {
    /// The connections, most recently used last.
    idle: Mutex<HashMap<u16, Vec<Lease>>>,
}

impl UpstreamPool {
    /// Sends `request` (origin-form URI, `Host` set) to `127.0.0.1:port`; the response streams
    /// from the module as it is read.
    pub async fn send(
        self: &Arc<Self>,
        port: u16,
        mut request: hyper::Request<Body>,
    ) -> Result<hyper::Response<UpstreamBody>, UpstreamError> {
        let mut retried = false;
        loop {
            let (mut lease, reused) = match self.checkout(port) {
                Some(lease) => (lease, true),
                None => (connect(port).await?, false),
            };
            match exchange(&mut lease, request).await {
                Ok((response, open)) => {
                    let lease = open.then_some(lease);
                    return Ok(response.map(|incoming| UpstreamBody {
                        incoming,
                        lease,
                        pool: self.clone(),
                        port,
                    }));
                }
                Err(mut err) => match err.take_message() {
                    // Never written: the pooled connection was closed under us. Once.
                    Some(unsent) if reused && !retried => {
                        retried = true;
                        request = unsent;
                    }
                    _ => return Err(UpstreamError::Http(err.into_error())),
                },
            }
        }
    }

    /// An idle connection to `port` that is still open and ready, if any.
    fn checkout(&self, port: u16) -> Option<Lease> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&port)?;
        let mut cx = Context::from_waker(Waker::noop());
        while let Some(mut lease) = list.pop() {
            if lease.since.elapsed() > IDLE_FOR {
                continue;
            }
            // One poll lets the connection read an EOF the module sent meanwhile.
            if lease.driver.as_mut().poll(&mut cx).is_ready() {
                continue;
            }
            if matches!(lease.send.poll_ready(&mut cx), Poll::Ready(Ok(()))) {
                return Some(lease);
            }
        }
        None
    }

    /// Puts a connection whose last response has ended back in the pool.
    fn checkin(&self, port: u16, mut lease: Lease) {
        if lease.send.is_closed() {
            return;
        }
        lease.since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(port).or_default();
        if list.len() >= MAX_IDLE_PER_PORT {
            // The oldest goes.
            list.remove(0);
        }
        list.push(lease);
    }
}

/// A fresh connection to `127.0.0.1:port`.
async fn connect(port: u16) -> Result<Lease, UpstreamError> {
    let failed = |source| UpstreamError::Connect { port, source };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(("127.0.0.1", port)))
        .await
        .map_err(|_| failed(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
        .map_err(failed)?;
    let _ = stream.set_nodelay(true);
    let (send, driver) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(UpstreamError::Http)?;
    Ok(Lease {
        send,
        driver: Box::pin(driver),
        since: Instant::now(),
    })
}

/// Sends `request` on `lease` and drives the connection until the response head is in. The
/// flag says whether the connection is still open afterwards.
async fn exchange(
    lease: &mut Lease,
    request: hyper::Request<Body>,
) -> Result<
    (hyper::Response<Incoming>, bool),
    hyper::client::conn::TrySendError<hyper::Request<Body>>,
> {
    let answer = lease.send.try_send_request(request);
    tokio::pin!(answer);
    let mut open = true;
    std::future::poll_fn(|cx| {
        loop {
            if let Poll::Ready(result) = answer.as_mut().poll(cx) {
                return Poll::Ready(result.map(|response| (response, open)));
            }
            if !open || lease.driver.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The connection ended; the answer resolves (with the error) on the next poll.
            open = false;
        }
    })
    .await
}

/// A module's response body, driving its connection while it is read.
pub struct UpstreamBody {
    /// The body as hyper receives it.
    incoming: Incoming,
    /// The connection, until it ends or goes back to the pool.
    lease: Option<Lease>,
    /// Where the connection goes back to.
    pool: Arc<UpstreamPool>,
    /// The module port it belongs to.
    port: u16,
}

impl UpstreamBody {
    /// Hands the connection back once the body has ended.
    fn finish(&mut self) {
        if let Some(lease) = self.lease.take() {
            self.pool.checkin(self.port, lease);
        }
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        if let Some(lease) = &mut this.lease
            && lease.driver.as_mut().poll(cx).is_ready()
        {
            // Closed: what it delivered is still in `incoming`; nothing to give back.
            this.lease = None;
        }
        let frame = Pin::new(&mut this.incoming).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Ok(_))) if this.incoming.is_end_stream() => this.finish(),
            Poll::Ready(Some(Err(_))) => this.lease = None,
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // A body that had nothing to send (or whose last frame was read) leaves the connection
        // reusable; one dropped part-way closes it with the lease.
        if self.incoming.is_end_stream() {
            self.finish();
        }
    }
}

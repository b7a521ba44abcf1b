//! One connection: hyper's HTTP/1 state machine driven together with the hub's timeouts.
//!
//! The deadlines are kept by the connection's own task with no extra wake-ups: every event
//! that moves one (a first byte after an idle spell, a request starting, the last response
//! body ending) happens while hyper is being polled on this task, so the driver compares a
//! generation counter after each poll and re-arms its one timer when it moved.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::Service;

use super::HttpLimits;

/// What the connection is doing, as far as the timeouts care.
#[derive(Default)]
struct Activity {
    /// Requests whose response (body included) has not ended.
    inflight: AtomicUsize,
    /// Bytes arrived since the last response ended (or since the accept): a request head is
    /// being read.
    reading: AtomicBool,
    /// Bumped whenever one of the above changes in a way that moves a deadline.
    generation: AtomicU64,
}

impl Activity {
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The deadline that applies from `since` (when the current phase began), if any.
    fn deadline(&self, since: Instant, limits: &HttpLimits) -> Option<Instant> {
        if self.inflight.load(Ordering::Relaxed) > 0 {
            None
        } else if self.reading.load(Ordering::Relaxed) {
            Some(since + limits.header_timeout)
        } else {
            Some(since + limits.idle_timeout)
        }
    }
}

/// Serves one accepted connection to its end (or its timeout, or the server's shutdown).
pub(super) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Arc<HttpLimits>,
    mut stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::default());
    // A new connection is reading its first request head from the start.
    activity.reading.store(true, Ordering::Relaxed);
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = HubService {
        app,
        peer,
        activity: activity.clone(),
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    let stop = async move {
        while !*stopped.borrow_and_update() {
            if stopped.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::pin!(stop);
    let timer = tokio::time::sleep(limits.header_timeout);
    tokio::pin!(timer);
    let mut seen = activity.generation.load(Ordering::Relaxed);
    let mut deadline = Some(Instant::now() + limits.header_timeout);
    let mut closing = false;
    let ended = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(result.err().map(|e| e.to_string()));
        }
        if !closing && stop.as_mut().poll(cx).is_ready() {
            // Finishes the request in flight, then closes; an idle connection closes now.
            conn.as_mut().graceful_shutdown();
            closing = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let now_seen = activity.generation.load(Ordering::Relaxed);
        if now_seen != seen {
            seen = now_seen;
            deadline = activity.deadline(Instant::now(), &limits);
            if let Some(at) = deadline {
                timer.as_mut().reset(at);
            }
        }
        if deadline.is_some() && timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(expired_reason(&activity)));
        }
        Poll::Pending
    })
    .await;
    if let Some(reason) = ended {
        tracing::debug!(%peer, "connection closed: {reason}");
    }
}

fn expired_reason(activity: &Activity) -> String {
    if activity.reading.load(Ordering::Relaxed) {
        "the request head did not arrive in time (header timeout)".into()
    } else {
        "idle past the idle timeout".into()
    }
}

/// The socket, noting when bytes arrive after an idle spell.
struct Watched {
    /// The accepted socket.
    inner: TcpStream,
    /// The connection's timeout state.
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.activity.inflight.load(Ordering::Relaxed) == 0
            && !self.activity.reading.swap(true, Ordering::Relaxed)
        {
            self.activity.bump();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router as hyper's service for one connection.
struct HubService {
    /// The hub's routes.
    app: Router,
    /// The peer, handed to the routes as `ConnectInfo`.
    peer: SocketAddr,
    /// The connection's timeout state.
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for HubService {
    type Response = hyper::Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let guard = InFlight::start(self.activity.clone());
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let mut app = self.app.clone();
        Box::pin(async move {
            let response = match app.call(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| Tracked {
                inner: body,
                _guard: guard,
            }))
        })
    }
}

/// One request in flight, from its head until its response body ends (or is dropped).
struct InFlight {
    /// The connection's timeout state.
    activity: Arc<Activity>,
}

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.inflight.fetch_add(1, Ordering::Relaxed);
        activity.bump();
        Self { activity }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.activity.inflight.fetch_sub(1, Ordering::Relaxed) == 1 {
            // Idle from now: the next byte starts a new request head.
            self.activity.reading.store(false, Ordering::Relaxed);
            self.activity.bump();
        }
    }
}

/// A response body that keeps its request counted as in flight until it ends.
pub(super) struct Tracked {
    /// The router's body.
    inner: Body,
    /// Released when hyper drops the body (it was sent, or the client went away).
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

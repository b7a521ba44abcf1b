//! Helpers for the proxy suite: rows edited in place, a test module run outside the hub, and an
//! in-process upstream whose streaming steps the test controls.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::routing::{get, post};
use futures_util::StreamExt;
use parachute_tests::{bin, free_port, wait_for};
use serde_json::Value;

/// A blocking client that never follows redirects and waits long enough for a loaded machine.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// `http://127.0.0.1:<port><path>`.
pub fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// Edits the `services.json` row named `name` in place.
pub fn patch_row(home: &Path, name: &str, edit: impl FnOnce(&mut Value)) {
    let path = home.join("services.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let row = doc["services"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}"));
    edit(row);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

/// Polls `GET path` through the hub until it answers `status` (modules boot concurrently with
/// the hub); returns that response's JSON body when it has one.
pub fn wait_status(port: u16, path: &str, status: u16) -> reqwest::blocking::Response {
    wait_for(Duration::from_secs(60), || {
        client()
            .get(url(port, path))
            .send()
            .ok()
            .filter(|r| r.status().as_u16() == status)
    })
    .unwrap_or_else(|| panic!("GET {path} never answered {status}"))
}

/// A `test-module` started by the test itself (not supervised by the hub), killed on drop.
pub struct Standalone {
    /// The process.
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Standalone {
    /// Starts `test-module` on a free port and waits until it answers `/health`.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(bin("test-module"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn test-module");
        let up = wait_for(Duration::from_secs(30), || {
            parachute_tests::http::get(port, "/health")
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(up.is_some(), "standalone test-module never came up");
        Self { child, port }
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signals between the test and the in-process upstream.
#[derive(Clone)]
struct Steps {
    /// The test tells `/live/stream` to send its second chunk.
    release: Arc<Mutex<Option<tokio::sync::oneshot::Receiver<()>>>>,
    /// `/live/upload` tells the test it has received the first bytes of the body.
    got_first: Arc<Mutex<mpsc::Sender<usize>>>,
}

/// An upstream served from this test process, so the test can hold a stream open mid-way.
///
/// `GET /live/stream` sends `first\n`, then waits until [`Live::release`] is called, then sends
/// `second\n`. `POST /live/upload` reports the size of the first body chunk it receives (see
/// [`Live::first_chunk`]), reads the rest and answers with the total byte count.
pub struct Live {
    /// Its port.
    pub port: u16,
    /// Send side of the stream's release.
    release: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// Where the upload handler reports its first chunk.
    first: Mutex<mpsc::Receiver<usize>>,
    /// Keeps the server's runtime alive.
    _runtime: tokio::runtime::Runtime,
}

impl Live {
    /// Starts the server on a free port.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel();
        let (first_tx, first_rx) = mpsc::channel();
        let steps = Steps {
            release: Arc::new(Mutex::new(Some(release_rx))),
            got_first: Arc::new(Mutex::new(first_tx)),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .route("/live/stream", get(stream))
            .route("/live/upload", post(upload))
            .with_state(steps);
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            port,
            release: Mutex::new(Some(release_tx)),
            first: Mutex::new(first_rx),
            _runtime: runtime,
        }
    }

    /// Lets `/live/stream` finish.
    pub fn release(&self) {
        if let Some(tx) = self.release.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }

    /// Waits (up to 60 s) for `/live/upload` to see the first bytes of its body.
    pub fn first_chunk(&self) -> Option<usize> {
        self.first
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60))
            .ok()
    }
}

async fn stream(State(steps): State<Steps>) -> Body {
    let release = steps.release.lock().unwrap().take();
    let first =
        futures_util::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("first\n")) });
    let second = futures_util::stream::once(async move {
        if let Some(rx) = release {
            let _ = rx.await;
        }
        Ok::<_, std::io::Error>(Bytes::from("second\n"))
    });
    Body::from_stream(first.chain(second))
}

async fn upload(State(steps): State<Steps>, request: Request) -> String {
    let mut body = request.into_body().into_data_stream();
    let mut total = 0usize;
    let mut reported = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("body chunk");
        total += chunk.len();
        if !reported && !chunk.is_empty() {
            reported = true;
            let _ = steps.got_first.lock().unwrap().send(chunk.len());
        }
    }
    total.to_string()
}

/// A request body that sends `first`, then blocks until `gate` says the upstream has seen it,
/// then sends `rest`: a proxy that buffered the body would never deliver `first` on its own.
pub struct GatedBody {
    /// Still to send, in order.
    parts: Vec<Vec<u8>>,
    /// Offset into `parts[0]`.
    offset: usize,
    /// Called once, between the first part and the rest; false aborts the body.
    gate: Option<Box<dyn FnOnce() -> bool + Send>>,
}

impl GatedBody {
    /// `first`, then (once `gate` returns true) `rest`.
    pub fn new(
        first: Vec<u8>,
        rest: Vec<u8>,
        gate: impl FnOnce() -> bool + Send + 'static,
    ) -> Self {
        Self {
            parts: vec![first, rest],
            offset: 0,
            gate: Some(Box::new(gate)),
        }
    }
}

impl Read for GatedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(part) = self.parts.first() else {
                return Ok(0);
            };
            if self.offset < part.len() {
                let n = buf.len().min(part.len() - self.offset);
                buf[..n].copy_from_slice(&part[self.offset..self.offset + n]);
                self.offset += n;
                return Ok(n);
            }
            self.parts.remove(0);
            self.offset = 0;
            if let Some(gate) = self.gate.take()
                && !gate()
            {
                return Err(std::io::Error::other(
                    "the upstream never saw the first part of the body",
                ));
            }
        }
    }
}

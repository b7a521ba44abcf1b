//! `start`, `stop`, `restart` and `logs` (JSON or a live text stream) for one module.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_supervisor::{LogFollower, ModuleStatus, Supervisor};
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{Lookup, ok_json, origin_source, require_start_command, settle};
use crate::boot::start_request;
use crate::error::ApiError;
use crate::state::AppState;

/// `POST …/start`: starts the module of the row (no-op when it is already up) and answers
/// `{short, state}` once the process is spawned. No row: `400 not_installed` for a known
/// module, `404 unknown_module` otherwise; nothing to run: `422 no_start_cmd`.
pub async fn start(state: &AppState, short: &str) -> Result<Response, ApiError> {
    let lookup = Lookup::resolve(state, short);
    let row = lookup.require_row()?;
    require_start_command(state, row)?;
    let request = start_request(state.home(), row, origin_source(state));
    let initial = state.supervisor().start(request);
    let module = settle(state, short, initial).await;
    Ok(ok_json(json!({"short": short, "state": module})))
}

/// `POST …/stop`: `{short, stopped: true, state}`, or `{short, stopped: false}` when the hub
/// is not running it.
pub async fn stop(state: &AppState, short: &str) -> Result<Response, ApiError> {
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    match state.supervisor().stop(short).await {
        Some(module) => Ok(ok_json(
            json!({"short": short, "stopped": true, "state": module}),
        )),
        None => Ok(ok_json(json!({"short": short, "stopped": false}))),
    }
}

/// `POST …/restart`: stops and respawns the module with a freshly resolved environment;
/// `404 not_supervised` when the hub is not running it (start it instead).
pub async fn restart(state: &AppState, short: &str) -> Result<Response, ApiError> {
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    let Some(initial) = state.supervisor().restart(short).await else {
        return Err(not_supervised(short));
    };
    let module = settle(state, short, initial).await;
    Ok(ok_json(json!({"short": short, "state": module})))
}

/// `404 not_supervised` for a known module the hub is not running.
pub fn not_supervised(short: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_supervised",
        format!(
            "{short} is not running under this hub; start it with POST /api/modules/{short}/start (or install it first)"
        ),
    )
}

/// `GET …/logs`: `{short, lines, text}` from the module's output buffer, or with
/// `?follow=1|true` a `text/plain` stream that replays the buffer and then sends every new
/// line until the module is stopped or removed.
pub fn logs(
    state: &AppState,
    short: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    let follow = query.get("follow").is_some_and(|v| v == "1" || v == "true");
    if follow {
        let Some((lines, rx)) = state.supervisor().follow(short, None) else {
            return Err(not_supervised(short));
        };
        return Ok(follow_response(
            state.supervisor().clone(),
            short.to_string(),
            lines,
            rx,
            Box::pin(state.stopping()),
        ));
    }
    let Some(lines) = state.supervisor().logs(short, None) else {
        return Err(not_supervised(short));
    };
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok(ok_json(
        json!({"short": short, "lines": lines, "text": text}),
    ))
}

/// How often a follow stream checks whether its module is still supervised.
const FOLLOW_CHECK: Duration = Duration::from_millis(500);

/// State of one follow stream.
struct Follow {
    /// The supervisor, to notice the module going away.
    supervisor: Supervisor,
    /// The module followed.
    short: String,
    /// Lines waiting to be sent.
    pending: VecDeque<String>,
    /// Live feed of new lines.
    rx: LogFollower,
    /// Set once the module is gone: send what is pending, then end.
    done: bool,
    /// Resolves when the hub is asked to stop ([`AppState::stopping`]): the server waits for
    /// open responses before it stops the modules, so a follow stream must end by itself then.
    hub_stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Follow {
    /// True when the module was stopped or removed.
    fn module_gone(&self) -> bool {
        self.supervisor
            .snapshot(&self.short)
            .is_none_or(|s| s.status == ModuleStatus::Stopped)
    }

    /// Moves every line already in the feed to `pending`.
    fn drain(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(line) => self.pending.push_back(line),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    self.pending.push_back(skipped(n))
                }
                Err(_) => break,
            }
        }
    }
}

fn skipped(n: u64) -> String {
    format!("[hub] {n} line(s) skipped: this reader fell behind the module's output")
}

fn follow_response(
    supervisor: Supervisor,
    short: String,
    lines: Vec<String>,
    rx: LogFollower,
    hub_stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Response {
    let start = Follow {
        supervisor,
        short,
        pending: lines.into(),
        rx,
        done: false,
        hub_stopping,
    };
    let stream = futures_util::stream::unfold(start, |mut st| async move {
        loop {
            if let Some(mut line) = st.pending.pop_front() {
                line.push('\n');
                return Some((Ok::<_, Infallible>(Bytes::from(line)), st));
            }
            if st.done {
                return None;
            }
            tokio::select! {
                received = st.rx.recv() => match received {
                    Ok(line) => st.pending.push_back(line),
                    Err(RecvError::Lagged(n)) => st.pending.push_back(skipped(n)),
                    Err(RecvError::Closed) => st.done = true,
                },
                () = tokio::time::sleep(FOLLOW_CHECK) => {
                    if st.module_gone() {
                        st.drain();
                        st.done = true;
                    }
                }
                () = &mut st.hub_stopping => {
                    st.drain();
                    st.pending.push_back("[hub] the hub is stopping; this log stream ends here".into());
                    st.done = true;
                }
            }
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

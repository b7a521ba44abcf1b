//! `start`, `stop`, `restart` and `logs` (JSON or a live text stream) for one module.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_protocol::{ModuleAnswer, ModuleLogs, RestartAction, RestartAnswer, StopAnswer};
use parachute_supervisor::{LogFollower, ModuleStatus, Supervisor};
use tokio::sync::broadcast::{self, error::RecvError};

use super::ok_json;
use crate::error::ApiError;
use crate::service::ModuleService;
use crate::state::AppState;

/// `POST …/start`: starts the module of the row (no-op when it is already up) and answers
/// `{short, state}` once the process is spawned. No row: `400 not_installed` for a known
/// module, `404 unknown_module` otherwise; nothing to run: `422 no_start_cmd`.
pub async fn start(service: &ModuleService, short: &str) -> Result<Response, ApiError> {
    let state = service.start(short).await?;
    Ok(ok_json(ModuleAnswer {
        short: short.to_string(),
        state,
    }))
}

/// `POST …/stop`: `{short, stopped: true, state}`, or `{short, stopped: false}` when the hub
/// is not running it.
pub async fn stop(service: &ModuleService, short: &str) -> Result<Response, ApiError> {
    let state = service.stop(short).await?;
    Ok(ok_json(StopAnswer {
        short: short.to_string(),
        stopped: state.is_some(),
        state,
    }))
}

/// `POST …/restart`: stops and respawns the module with a freshly resolved environment;
/// `404 not_supervised` when the hub is not running it — unless `?or_start=1`, which starts it
/// then (what `parachute restart <svc>` means; the answer's `action` says which happened).
pub async fn restart(
    service: &ModuleService,
    short: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    if flag(query, "or_start") {
        let (kind, state) = service.restart_or_start(short).await?;
        let action = match kind {
            crate::service::RestartKind::Restarted => RestartAction::Restarted,
            crate::service::RestartKind::Started => RestartAction::Started,
        };
        return Ok(ok_json(RestartAnswer {
            short: short.to_string(),
            state,
            action,
        }));
    }
    let state = service.restart(short).await?;
    Ok(ok_json(ModuleAnswer {
        short: short.to_string(),
        state,
    }))
}

/// True when `query[key]` is `1` or `true`.
fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query.get(key).is_some_and(|v| v == "1" || v == "true")
}

/// `?lines=N`: only the newest N buffered lines. Anything but a number is a 400.
fn tail(query: &HashMap<String, String>) -> Result<Option<usize>, ApiError> {
    match query.get("lines") {
        None => Ok(None),
        Some(raw) => raw.trim().parse().map(Some).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("lines must be a number of lines such as 50, got {raw:?}"),
            )
        }),
    }
}

/// One output line as the original sends it: `[short] <line>\n`.
fn prefixed(short: &str, line: &str) -> String {
    format!("[{short}] {line}\n")
}

/// `GET …/logs`: `{short, lines, text}` from the module's output buffer (each line
/// `[short] <line>\n`, as the original), or with `?follow=1|true` a `text/plain` stream that
/// replays the buffer and then sends every new line until the module is stopped or removed.
/// `?lines=N` keeps only the newest N buffered lines in either form.
pub fn logs(
    state: &AppState,
    service: &ModuleService,
    short: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let tail = tail(query)?;
    if flag(query, "follow") {
        let (lines, rx) = service.follow(short, tail)?;
        return Ok(follow_response(
            state.supervisor().clone(),
            short.to_string(),
            lines,
            rx,
            Box::pin(state.stopping()),
        ));
    }
    let lines: Vec<String> = service
        .logs(short, tail)?
        .iter()
        .map(|l| prefixed(short, l))
        .collect();
    let text = lines.concat();
    Ok(ok_json(ModuleLogs {
        short: short.to_string(),
        lines,
        text,
    }))
}

/// How often a follow stream checks whether its module is still supervised.
const FOLLOW_CHECK: Duration = Duration::from_millis(500);

/// One line of a follow stream: the module's own (sent `[short] <line>`), or the hub's
/// (sent `[hub] <note>`).
enum Out {
    /// A module output line.
    Line(String),
    /// A note from the hub about the stream itself.
    Note(String),
}

/// State of one follow stream.
struct Follow {
    /// The supervisor, to notice the module going away.
    supervisor: Supervisor,
    /// The module followed.
    short: String,
    /// Lines waiting to be sent.
    pending: VecDeque<Out>,
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
                Ok(line) => self.pending.push_back(Out::Line(line)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    self.pending.push_back(skipped(n))
                }
                Err(_) => break,
            }
        }
    }
}

fn skipped(n: u64) -> Out {
    Out::Note(format!(
        "{n} line(s) skipped: this reader fell behind the module's output"
    ))
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
        pending: lines.into_iter().map(Out::Line).collect(),
        rx,
        done: false,
        hub_stopping,
    };
    let stream = futures_util::stream::unfold(start, |mut st| async move {
        loop {
            if let Some(out) = st.pending.pop_front() {
                let text = match out {
                    Out::Line(line) => prefixed(&st.short, &line),
                    Out::Note(note) => prefixed("hub", &note),
                };
                return Some((Ok::<_, Infallible>(Bytes::from(text)), st));
            }
            if st.done {
                return None;
            }
            tokio::select! {
                received = st.rx.recv() => match received {
                    Ok(line) => st.pending.push_back(Out::Line(line)),
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
                    st.pending.push_back(Out::Note("the hub is stopping; this log stream ends here".into()));
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

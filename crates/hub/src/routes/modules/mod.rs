//! The module operations API (`/api/modules/*`) and `GET /api/hub`.
//!
//! Every route checks its bearer scope first (`parachute:host:admin`, or `parachute:host:auth`
//! for the listing), then resolves the module. Unlike the original, which only managed
//! vault and scribe, every `services.json` row is addressable by its short name, plus the
//! first-party modules that are not installed yet (for `install`). Anything else is a JSON
//! `404 unknown_module`.
//!
//! | route | handler |
//! |---|---|
//! | `GET /api/modules` | [`list::modules`] |
//! | `PUT /api/modules/channel` | [`list::set_channel`] |
//! | `GET /api/modules/operations/{id}` | [`install::operation`] |
//! | `POST /api/modules/{s}/start\|stop\|restart`, `GET …/logs` | [`lifecycle`] |
//! | `POST /api/modules/{s}/install\|upgrade\|uninstall` | [`install`] |
//! | `GET /api/hub` | [`hub_info::hub`] |

pub mod hub_info;
pub mod install;
pub mod lifecycle;
pub mod list;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use parachute_home::ServiceRow;
use parachute_home::services::{self, StartCommand};
use parachute_supervisor::{ModuleState, ModuleStatus};

use crate::auth::{SCOPE_HOST_ADMIN, require_scope};
use crate::boot::OriginSource;
use crate::error::ApiError;
use crate::packages::FirstParty;
use crate::state::AppState;

/// The routes of this area, to merge into the hub's router (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/modules",
            get(list::modules).fallback(method_not_allowed),
        )
        .route(
            "/api/modules/channel",
            put(list::set_channel).fallback(method_not_allowed),
        )
        .route(
            "/api/modules/operations/{id}",
            get(install::operation).fallback(method_not_allowed),
        )
        .route("/api/modules/{short}/{action}", any(dispatch))
        .route("/api/hub", get(hub_info::hub).fallback(method_not_allowed))
}

/// 405 in the API's JSON shape.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not supported on this route"),
    )
}

/// The actions under `/api/modules/{short}/` and the method each takes.
const ACTIONS: &[(&str, Method)] = &[
    ("start", Method::POST),
    ("stop", Method::POST),
    ("restart", Method::POST),
    ("logs", Method::GET),
    ("install", Method::POST),
    ("upgrade", Method::POST),
    ("uninstall", Method::POST),
];

/// `/api/modules/{short}/{action}`: validates the action and method, checks the bearer, then
/// hands over to the action's handler.
async fn dispatch(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match dispatch_checked(&state, path, query, method, &headers, body).await {
        Ok(response) | Err(response) => response,
    }
}

/// [`dispatch`] with every refusal as an `Err` response: an unreadable path, an unknown
/// action or the wrong method, then the bearer, then an unreadable query or body.
async fn dispatch_checked(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    method: Method,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Response> {
    let refuse = |err: ApiError| err.into_response();
    let Path((short, action)) = path.map_err(|e| refuse(e.into()))?;
    let Some((_, expected)) = ACTIONS.iter().find(|(name, _)| *name == action) else {
        let known: Vec<&str> = ACTIONS.iter().map(|(name, _)| *name).collect();
        return Err(refuse(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "there is no module action {action:?}; use one of: {}",
                known.join(", ")
            ),
        )));
    };
    if method != *expected {
        return Err(refuse(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use {expected} for /api/modules/{{module}}/{action}"),
        )));
    }
    require_scope(state, headers, SCOPE_HOST_ADMIN).map_err(refuse)?;
    let Query(query) = query.map_err(|e| refuse(e.into()))?;
    let body = body.map_err(|e| refuse(e.into()))?;
    let result = match action.as_str() {
        "start" => lifecycle::start(state, &short).await,
        "stop" => lifecycle::stop(state, &short).await,
        "restart" => lifecycle::restart(state, &short).await,
        "logs" => lifecycle::logs(state, &short, &query),
        "install" => install::install(state, headers, &short, &body),
        "upgrade" => install::upgrade(state, headers, &short, &body),
        _ => install::uninstall(state, headers, &short).await,
    };
    Ok(result.unwrap_or_else(IntoResponse::into_response))
}

/// What the hub knows about a module name.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The name asked for.
    pub short: String,
    /// Its `services.json` row (the first row with this short name).
    pub row: Option<ServiceRow>,
    /// Its first-party catalog entry.
    pub first_party: Option<&'static FirstParty>,
    /// Whether the supervisor has an entry for it (in any state).
    pub supervised: bool,
}

impl Lookup {
    /// Resolves `short` against `services.json`, the catalog and the supervisor.
    pub fn resolve(state: &AppState, short: &str) -> Lookup {
        let manifest = services::read_lenient(state.home()).manifest;
        let row = manifest
            .module_rows()
            .into_iter()
            .find(|r| r.short() == short)
            .cloned();
        Lookup {
            short: short.to_string(),
            row,
            first_party: FirstParty::get(short),
            supervised: state.supervisor().is_supervised(short),
        }
    }

    /// Known at all: a row, a first-party module or a supervised process.
    pub fn known(&self) -> bool {
        self.row.is_some() || self.first_party.is_some() || self.supervised
    }

    /// `Err(404 unknown_module)` unless known.
    pub fn require_known(&self) -> Result<(), ApiError> {
        if self.known() {
            Ok(())
        } else {
            Err(unknown_module(&self.short))
        }
    }

    /// The row, or `400 not_installed` (first-party) / `404 unknown_module`.
    pub fn require_row(&self) -> Result<&ServiceRow, ApiError> {
        match &self.row {
            Some(row) => Ok(row),
            None if self.known() => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_installed",
                format!(
                    "{short} is not installed (services.json has no row for it); install it first (POST /api/modules/{short}/install, or Install on the dashboard's Modules page)",
                    short = self.short
                ),
            )),
            None => Err(unknown_module(&self.short)),
        }
    }
}

/// `404 unknown_module` for `short`.
pub fn unknown_module(short: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_module",
        format!(
            "no module named {short:?}: services.json has no row for it and it is not a first-party module; GET /api/modules lists the modules this hub knows"
        ),
    )
}

/// `422 no_start_cmd` unless `row` has something to run.
pub fn require_start_command(state: &AppState, row: &ServiceRow) -> Result<(), ApiError> {
    let short = row.short();
    let why = match services::start_command(state.home(), row) {
        StartCommand::Argv(argv) if !argv.is_empty() => return Ok(()),
        StartCommand::Argv(_) | StartCommand::CliOnly => format!(
            "{short} declares no start command (a CLI-only module): there is nothing for the hub to run"
        ),
        StartCommand::Unresolvable => format!(
            "the hub does not know how to start {short}: it is not a first-party module with a fixed command and its installDir has no .parachute/module.json with a startCmd; reinstall it or fix the module.json"
        ),
    };
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_start_cmd",
        why,
    ))
}

/// The hub origin handed to modules as `PARACHUTE_HUB_ORIGIN`, asked before every spawn: the
/// `hub_origin` setting, else the origin fixed by the environment. Holds the database handle
/// rather than the whole state, so the supervisor's stored requests do not keep the state alive.
pub fn origin_source(state: &AppState) -> OriginSource {
    let db = state.db_handle();
    let env_origin = state.env_origin().map(str::to_string);
    Arc::new(move || {
        db.setting(parachute_auth::SETTING_HUB_ORIGIN)
            .ok()
            .flatten()
            .map(|o| parachute_auth::normalize_origin(&o))
            .filter(|o| !o.is_empty())
            .or_else(|| env_origin.clone())
    })
}

/// How long a start waits for the process to be spawned before answering.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits (briefly) until the module has left `starting`, so the answer carries its pid or the
/// reason it could not start; returns the latest state.
pub async fn settle(state: &AppState, short: &str, initial: ModuleState) -> ModuleState {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut current = initial;
    while current.status == ModuleStatus::Starting && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
        match state.supervisor().snapshot(short) {
            Some(s) => current = s,
            None => break,
        }
    }
    current
}

/// A JSON 200.
pub fn ok_json(value: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

#[cfg(test)]
mod tests;

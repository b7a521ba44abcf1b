//! The module operations API (`/api/modules/*`) and `GET /api/hub`: HTTP over
//! [`crate::service::ModuleService`].
//!
//! Every route checks its bearer scope first (`parachute:host:admin`, or `parachute:host:auth`
//! for the listing), then parses the request, calls the service and maps its answer. Unlike
//! the original, which only managed vault and scribe, every `services.json` row is addressable
//! by its short name, plus the first-party modules that are not installed yet (for `install`).
//! Anything else is a JSON `404 unknown_module`.
//!
//! | route | handler |
//! |---|---|
//! | `GET /api/modules` | [`list::modules`] |
//! | `GET /api/modules/states` | [`list::states`] |
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

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};

use crate::auth::{SCOPE_HOST_ADMIN, require_scope};
use crate::error::ApiError;
use crate::service::{ModuleError, ModuleService};
use crate::state::AppState;

/// The routes of this area, to merge into the hub's router (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/modules",
            get(list::modules).fallback(method_not_allowed),
        )
        .route(
            "/api/modules/states",
            get(list::states).fallback(method_not_allowed),
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

/// A service refusal as an HTTP answer: the only place module errors get status codes.
impl From<ModuleError> for ApiError {
    fn from(err: ModuleError) -> Self {
        let status = match &err {
            ModuleError::UnknownModule { .. } | ModuleError::NotSupervised { .. } => {
                StatusCode::NOT_FOUND
            }
            ModuleError::NotInstalled { .. } => StatusCode::BAD_REQUEST,
            ModuleError::NoStartCommand { .. } | ModuleError::NotInstallable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ModuleError::InFlight(_) => StatusCode::CONFLICT,
            ModuleError::UninstallFailed { .. } | ModuleError::Internal { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let base = ApiError::new(status, err.code(), err.to_string());
        match err {
            ModuleError::InFlight(busy) => base.with("operation_id", busy.id),
            ModuleError::UninstallFailed { operation_id, .. } => {
                base.with("operation_id", operation_id)
            }
            _ => base,
        }
    }
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
    let service = ModuleService::new(state.clone());
    let result = match action.as_str() {
        "start" => lifecycle::start(&service, &short).await,
        "stop" => lifecycle::stop(&service, &short).await,
        "restart" => lifecycle::restart(&service, &short, &query).await,
        "logs" => lifecycle::logs(state, &service, &short, &query),
        "install" => install::install(state, &service, headers, &short, &body),
        "upgrade" => install::upgrade(state, &service, headers, &short, &body),
        _ => install::uninstall(state, &service, headers, &short).await,
    };
    Ok(result.unwrap_or_else(IntoResponse::into_response))
}

/// A JSON 200.
pub fn ok_json(value: impl serde::Serialize) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

#[cfg(test)]
#[path = "modules_tests.rs"]
mod tests;

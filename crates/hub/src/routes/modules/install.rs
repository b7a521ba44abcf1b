//! `install`, `upgrade` and `uninstall`, and operation polling: HTTP over the module service.
//!
//! Install and upgrade answer `202 {operation_id}` and run in the background; uninstall runs
//! inline and answers `{short, log, operation_id}`. Progress is polled at
//! `GET /api/modules/operations/<id>` or followed as `operation` events.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_protocol::{ModuleUpgradeRequest, OperationAccepted};
use serde_json::{Value, json};

use super::ok_json;
use crate::auth::{SCOPE_HOST_ADMIN, request_issuer, require_scope};
use crate::error::ApiError;
use crate::packages::Channel;
use crate::service::ModuleService;
use crate::state::AppState;

/// `GET /api/modules/operations/{id}`: the operation, or `404 not_found`.
pub async fn operation(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    let Path(id) = id?;
    match state.operations().get(&id) {
        Some(op) => Ok(Json(op).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no operation with id {id:?}; operations are kept in memory and forgotten when the hub restarts"
            ),
        )),
    }
}

/// Parses an optional `{"channel": "rc"|"latest"}` body. An empty body means no channel.
pub fn parse_channel_body(body: &Bytes) -> Result<Option<Channel>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match channel_member(body)? {
        Value::Null => Ok(None),
        Value::String(raw) if Channel::parse(&raw).is_some() => Ok(Channel::parse(&raw)),
        other => Err(invalid_channel(&other)),
    }
}

/// The `channel` member of a JSON object body (`null` when absent); `400 invalid_request` when
/// the body is not a JSON object.
pub fn channel_member(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "the request body is not JSON ({e}); send an object such as {{\"channel\": \"rc\"}}"
            ),
        )
    })?;
    match value {
        Value::Object(mut object) => Ok(object.remove("channel").unwrap_or(Value::Null)),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body must be a JSON object such as {\"channel\": \"rc\"}",
        )),
    }
}

/// `400 invalid_channel` for `got`.
pub fn invalid_channel(got: &Value) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_channel",
        format!("channel must be \"latest\" or \"rc\", got {got}"),
    )
}

fn accepted(id: String) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(OperationAccepted { operation_id: id }),
    )
        .into_response()
}

/// `POST …/install`: `202 {operation_id}`.
pub fn install(
    state: &AppState,
    service: &ModuleService,
    headers: &HeaderMap,
    short: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let channel = parse_channel_body(body)?;
    let op = service.install(short, channel, request_issuer(state, headers))?;
    Ok(accepted(op.id))
}

/// `POST …/upgrade` `{channel?, allow_downgrade?}`: `202 {operation_id}`.
pub fn upgrade(
    state: &AppState,
    service: &ModuleService,
    headers: &HeaderMap,
    short: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let request = ModuleUpgradeRequest {
        channel: parse_channel_body(body)?,
        allow_downgrade: parse_allow_downgrade(body)?,
    };
    let op = service.upgrade(short, request, request_issuer(state, headers))?;
    Ok(accepted(op.id))
}

/// The optional `allow_downgrade` member (`true`/`false`) of an upgrade body.
fn parse_allow_downgrade(body: &Bytes) -> Result<bool, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match value.get("allow_downgrade").unwrap_or(&Value::Null) {
        Value::Null => Ok(false),
        Value::Bool(allow) => Ok(*allow),
        other => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("allow_downgrade must be true or false, got {other}"),
        )),
    }
}

/// `POST …/uninstall`: `{short, log, operation_id}` once done.
pub async fn uninstall(
    state: &AppState,
    service: &ModuleService,
    headers: &HeaderMap,
    short: &str,
) -> Result<Response, ApiError> {
    let op = service
        .uninstall(short, request_issuer(state, headers))
        .await?;
    Ok(ok_json(
        json!({"short": short, "log": op.log, "operation_id": op.id}),
    ))
}

//! The hub's own upgrade over HTTP (scope `parachute:host:admin`), over
//! [`parachute_upgrade::Upgrader`] (see [`crate::upgrade`]):
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/hub/upgrade` `{channel?, allow_downgrade?}` | `202` [`HubUpgradeAccepted`]; the detached helper does the work |
//! | `GET /api/hub/upgrade/status` | `200` the status file ([`parachute_protocol::HubUpgradeStatus`]), `404 not_found` before any upgrade |
//! | `POST /api/hub/upgrade/check` | `200` [`parachute_protocol::HubUpdate`]: the feed checked now (nothing downloaded) |
//!
//! Refusals carry the original's `{"error", "error_description"}`: `400 invalid_channel` (the
//! channel becomes part of a URL, so it is a closed set), `400 invalid_request`, `409
//! upgrade_in_flight` while one runs (with its `operation_id`; its lock expires if the
//! upgrader died), `409 up_to_date`, `409 downgrade_refused`, `502` for a feed that failed
//! verification or could not be fetched. A missing or refused bearer is answered as the
//! original answers it on its admin routes: `401 invalid_token` / `403 insufficient_scope`
//! with a `WWW-Authenticate: Bearer error=…` header.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parachute_protocol::HubUpgradeAccepted;
use parachute_upgrade::{Channel, StartRequest, UpgradeError, UpgradeStatus};
use serde_json::Value;

use crate::auth::{SCOPE_HOST_ADMIN, require_scope_rfc6750};
use crate::error::ApiError;
use crate::routes::modules::install::invalid_channel;
use crate::routes::modules::method_not_allowed;
use crate::state::AppState;

/// The routes of this area, to merge into the hub's router (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hub/upgrade", post(start).fallback(method_not_allowed))
        .route(
            "/api/hub/upgrade/status",
            get(status).fallback(method_not_allowed),
        )
        .route(
            "/api/hub/upgrade/check",
            post(check).fallback(method_not_allowed),
        )
}

/// `POST /api/hub/upgrade`.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = admin_refusal(&state, &headers) {
        return refused;
    }
    let request = match body.map_err(ApiError::from).and_then(|b| parse_start(&b)) {
        Ok(request) => request,
        Err(err) => return no_store(err.into_response()),
    };
    let started = off_the_runtime(state, move |state| async move {
        upgrader(&state)?
            .start_upgrade(&request)
            .await
            .map_err(refusal)
    })
    .await;
    let response = match started {
        Ok(started) => {
            let body: HubUpgradeAccepted = crate::upgrade::progress::accepted(&started);
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(err) => err.into_response(),
    };
    no_store(response)
}

/// `GET /api/hub/upgrade/status`: the last upgrade, after resolving one whose upgrader died
/// or whose lock expired (the hub never restarts itself to do so).
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin_refusal(&state, &headers) {
        return refused;
    }
    let found: Result<Option<UpgradeStatus>, ApiError> =
        off_the_runtime(state, |state| async move {
            upgrader(&state)?.status().await.map_err(refusal)
        })
        .await;
    let response = match found {
        Ok(Some(status)) => axum::Json(status).into_response(),
        Ok(None) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no hub upgrade has been started on this machine; start one with POST /api/hub/upgrade",
        )
        .into_response(),
        Err(err) => err.into_response(),
    };
    no_store(response)
}

/// `POST /api/hub/upgrade/check`: fetches and verifies the feed now and answers whether a
/// newer hub is offered; `GET /api/hub` shows the same answer afterwards.
pub async fn check(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin_refusal(&state, &headers) {
        return refused;
    }
    let upgrades = state.upgrades();
    let response = match upgrades.check_now(&state).await {
        Ok(update) => axum::Json(update).into_response(),
        Err(err) => {
            let update = serde_json::to_value(upgrades.update()).unwrap_or(Value::Null);
            refusal(err).with("update", update).into_response()
        }
    };
    no_store(response)
}

/// Parses `{channel?, allow_downgrade?}`; an empty body asks for the defaults.
pub fn parse_start(body: &Bytes) -> Result<StartRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(StartRequest::default());
    }
    let bad = |detail: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "{detail}; send a JSON object such as {{\"channel\": \"rc\", \"allow_downgrade\": false}}"
            ),
        )
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the request body is not JSON ({e})")))?;
    let Value::Object(object) = value else {
        return Err(bad("the request body must be a JSON object".into()));
    };
    let channel = match object.get("channel").unwrap_or(&Value::Null) {
        Value::Null => None,
        Value::String(raw) if Channel::parse(raw).is_some() && raw.trim() == raw => {
            Channel::parse(raw)
        }
        other => return Err(invalid_channel(other)),
    };
    let allow_downgrade = match object.get("allow_downgrade").unwrap_or(&Value::Null) {
        Value::Null => false,
        Value::Bool(allow) => *allow,
        other => {
            return Err(bad(format!(
                "allow_downgrade must be true or false, got {other}"
            )));
        }
    };
    Ok(StartRequest {
        channel,
        allow_downgrade,
    })
}

/// The upgrader, or `500 upgrade_misconfigured` saying why there is none.
fn upgrader(state: &AppState) -> Result<&parachute_upgrade::Upgrader, ApiError> {
    state.upgrades().upgrader().map_err(|why| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "upgrade_misconfigured",
            format!("this hub cannot upgrade itself: {why}; fix the setting and restart the hub"),
        )
    })
}

/// An upgrade refusal as an HTTP answer: the status and code the upgrade crate assigns.
fn refusal(err: UpgradeError) -> ApiError {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() && !matches!(err, UpgradeError::FeedUnreachable { .. }) {
        tracing::warn!(%err, "hub upgrade refused");
    }
    let base = ApiError::new(status, err.code(), err.to_string());
    match err {
        UpgradeError::InFlight {
            operation_id,
            phase,
            expires_at,
        } => base
            .with("operation_id", operation_id)
            .with("phase", phase)
            .with("lock_expires_at", expires_at),
        _ => base,
    }
}

/// Runs `work` on a blocking thread (it takes file locks and may run `dpkg` or `systemd-run`,
/// which must not stall the runtime's few worker threads) and waits for it.
async fn off_the_runtime<T, F, Fut>(state: AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work(state)))
        .await
        .unwrap_or_else(|e| Err(ApiError::internal("the upgrade request did not finish", e)))
}

/// Checks for an admin bearer: `None` when it is there, else the refusal in the original's
/// admin-route dialect (RFC 6750, as `GET /api/hub` answers).
fn admin_refusal(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    require_scope_rfc6750(state, headers, SCOPE_HOST_ADMIN)
        .err()
        .map(|refusal| no_store(refusal.into_response()))
}

/// Marks an answer as never to be cached (status and refusals change by the second).
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
#[path = "upgrade_tests.rs"]
mod tests;

//! `/health`: liveness, answered from memory (no disk, no database).

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::HUB_VERSION;

/// 200 with the service name and version, for any method.
pub async fn health() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"status": "ok", "service": "parachute-hub", "version": HUB_VERSION})),
    )
}

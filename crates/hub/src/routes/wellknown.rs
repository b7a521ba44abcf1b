//! `/.well-known/jwks.json` and `/.well-known/parachute-revocation.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The public keys tokens are verified with: the active key plus keys retired < 24 h ago.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.db().jwks() {
        Ok(keys) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            Json(keys),
        )
            .into_response(),
        Err(err) => ApiError::internal("cannot read the signing keys", err).into_response(),
    }
}

/// The `jti`s of revoked, not yet expired tokens, for modules that cache validation.
pub async fn revocations(State(state): State<AppState>) -> Response {
    match state.db().active_revocations() {
        Ok(jtis) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            Json(json!({ "revoked": jtis })),
        )
            .into_response(),
        Err(err) => ApiError::internal("cannot read the token registry", err).into_response(),
    }
}

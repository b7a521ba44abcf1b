//! `GET /.well-known/parachute-hub-proof?nonce=<n>`: the hub proves who it is.
//!
//! Clients (the CLI, the desktop app) ask before they send a bearer, so the operator token
//! never goes to a process that merely listens on the hub's port. The answer is
//! `{"proof": "<JWS>"}`, a short-lived RS256 signature with the hub's active key over the
//! client's nonce, the port this hub listens on and the id of its home (see
//! [`parachute_auth::proof`] for what the client checks). It needs no credential and is open
//! before setup: it reveals nothing the JWKS does not.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Where the proof is served.
pub const PATH: &str = "/.well-known/parachute-hub-proof";

/// Signs the proof for the `nonce` query parameter.
pub async fn proof(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    match answer(&state, query).await {
        Ok(jws) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "proof": jws })),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn answer(
    state: &AppState,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<String, ApiError> {
    let Query(query) = query?;
    let nonce = query.get("nonce").cloned().unwrap_or_default();
    if !parachute_auth::is_acceptable_nonce(&nonce) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send ?nonce=<16 to 128 base64url characters>, a fresh random challenge",
        ));
    }
    let home_id = state
        .home()
        .id()
        .map_err(|e| ApiError::internal("cannot name this hub's home", e))?;
    let db = state.db_handle();
    let port = state.port();
    // RSA signing takes a moment: off the async workers.
    tokio::task::spawn_blocking(move || db.sign_hub_proof(&nonce, port, &home_id))
        .await
        .map_err(|e| ApiError::internal("the proof signer stopped", e))?
        .map_err(|e| ApiError::internal("cannot sign the hub proof", e))
}

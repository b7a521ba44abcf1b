//! `GET /admin/host-admin-token`: the admin's session becomes a 10-minute bearer carrying
//! `parachute:host:admin` and `parachute:host:auth`, which the dashboard keeps in memory and
//! sends to the `/api/*` routes. The original's shape and rules: only the hub's admin (the
//! first user) gets one (`403 not_admin` for other accounts, `401 unauthenticated` without a
//! session); `aud` is `hub`, `client_id` `parachute-hub-spa`, no vault pin, not recorded in the
//! token registry (it expires on its own), `iss` by the one issuer rule.
//!
//! A cross-site page cannot read the answer: there is no CORS, and the session cookie is
//! `SameSite=Lax`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parachute_auth::{CreatedVia, MintRequest};
use parachute_protocol::HostAdminToken;

use super::me::no_store;
use super::session::signed_in;
use crate::auth::{SCOPE_HOST_ADMIN, SCOPE_HOST_AUTH, mint_issuer};
use crate::error::ApiError;
use crate::state::AppState;

/// Lifetime of the dashboard's bearer.
pub const HOST_ADMIN_TOKEN_TTL: Duration = Duration::from_secs(10 * 60);
/// Its `client_id`.
pub const HOST_ADMIN_CLIENT_ID: &str = "parachute-hub-spa";

/// The route.
pub async fn mint(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(who) = signed_in(&state, &headers)? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "no admin session: sign in at /login first",
        ));
    };
    if !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_admin",
            "only the hub's admin may manage the hub; your account's page is /account/",
        ));
    }
    let scopes = vec![SCOPE_HOST_ADMIN.to_owned(), SCOPE_HOST_AUTH.to_owned()];
    let request = MintRequest {
        client_id: HOST_ADMIN_CLIENT_ID.to_owned(),
        created_via: CreatedVia::CliMint,
        user_id: Some(who.user.id.clone()),
        ..MintRequest::cli(
            &who.user.id,
            scopes.clone(),
            "hub",
            &mint_issuer(&state, &headers),
            HOST_ADMIN_TOKEN_TTL,
        )
    };
    let minted = state
        .db()
        .mint_unrecorded(&request)
        .map_err(|e| ApiError::internal("cannot mint the dashboard's token", e))?;
    Ok(no_store(Json(HostAdminToken {
        token: minted.token,
        expires_at: minted.expires_at,
        scopes,
    })))
}

//! `GET /api/oauth/clients` (every client, pending first), `GET /api/oauth/clients/<id>` and
//! `POST /api/oauth/clients/<id>/approve` (what `parachute auth approve-client` does).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parachute_auth::clients::{ClientStatus, OAuthClient};
use parachute_protocol::{OAuthClientList, OAuthClientView};

use super::json;
use crate::auth::{SCOPE_HOST_ADMIN, require_scope_rfc6750};
use crate::error::ApiError;
use crate::state::AppState;

fn view(c: OAuthClient) -> OAuthClientView {
    OAuthClientView {
        status: c.status.as_str().to_owned(),
        client_id: c.client_id,
        client_name: c.client_name,
        redirect_uris: c.redirect_uris,
        scopes: c.scopes,
        registered_at: c.registered_at,
        same_hub: c.same_hub,
    }
}

/// `GET /api/oauth/clients`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    let mut clients = Vec::new();
    for status in [ClientStatus::Pending, ClientStatus::Approved] {
        let rows = state
            .db()
            .clients_with_status(status)
            .map_err(|e| ApiError::internal("cannot list OAuth clients", e))?;
        clients.extend(rows.into_iter().map(view));
    }
    Ok(json(&OAuthClientList { clients }))
}

fn find(state: &AppState, client_id: &str) -> Result<OAuthClient, ApiError> {
    state
        .db()
        .client(client_id)
        .map_err(|e| ApiError::internal("cannot read the OAuth client", e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no client registered with id {client_id}"),
            )
        })
}

/// `GET /api/oauth/clients/<id>`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    Ok(json(&view(find(&state, &client_id)?)))
}

/// `POST /api/oauth/clients/<id>/approve`.
pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    find(&state, &client_id)?;
    state
        .db()
        .approve_client(&client_id)
        .map_err(|e| ApiError::internal("cannot approve the OAuth client", e))?;
    Ok(json(&view(find(&state, &client_id)?)))
}

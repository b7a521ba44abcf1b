//! `GET /api/grants[?vault=<name>]`: the bearer's user's remembered consents (optionally only
//! those touching one vault); `DELETE /api/grants/<client id>`: forget one (consent is asked
//! again next time; issued tokens stay until they expire or are revoked, as the original).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_auth::grants::grant_touches_vault;
use parachute_auth::scopes::is_valid_vault_name;
use parachute_protocol::{GrantList, GrantRow};
use serde::Deserialize;

use super::json;
use crate::auth::{SCOPE_HOST_ADMIN, require_scope_rfc6750};
use crate::error::ApiError;
use crate::state::AppState;

/// The filter.
#[derive(Debug, Default, Deserialize)]
pub struct GrantQuery {
    /// Only grants touching this vault.
    vault: Option<String>,
}

fn subject(claims: &parachute_auth::Claims) -> Result<String, ApiError> {
    claims.sub.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the bearer has no subject",
        )
    })
}

/// `GET /api/grants`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<GrantQuery>,
) -> Result<Response, ApiError> {
    let claims = require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    if let Some(v) = &query.vault
        && !is_valid_vault_name(v)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "?vault must match [a-zA-Z0-9_-]+",
        ));
    }
    let grants = state
        .db()
        .list_grants(&subject(&claims)?)
        .map_err(|e| ApiError::internal("cannot list grants", e))?;
    let grants = grants
        .into_iter()
        .filter(|g| {
            query
                .vault
                .as_deref()
                .is_none_or(|v| grant_touches_vault(&g.grant.scopes, v))
        })
        .map(|g| GrantRow {
            user_id: g.grant.user_id,
            client_id: g.grant.client_id,
            client_name: g.client_name,
            scopes: g.grant.scopes,
            granted_at: g.grant.granted_at,
        })
        .collect();
    Ok(json(&GrantList { grants }))
}

/// `DELETE /api/grants/<client id>`: `204`, or `404` when there was none.
pub async fn forget(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let claims = require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    let removed = state
        .db()
        .revoke_grant(&subject(&claims)?, &client_id)
        .map_err(|e| ApiError::internal("cannot delete the grant", e))?;
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no grant for client {client_id}"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

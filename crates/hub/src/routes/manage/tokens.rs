//! `GET /api/auth/tokens` (the registry, filterable by `revoked=true|false|all`, `subject`,
//! `created_via`) and `POST /api/auth/revoke-token` (`{jti}`: the bearer must have been able
//! to mint every scope of that token — nobody revokes more than they could hand out).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parachute_auth::attenuation::{can_grant, has_minting_authority};
use parachute_auth::{CreatedVia, TokenFilter, TokenRecord};
use parachute_protocol::{RevokeTokenAnswer, RevokeTokenRequest, TokenList, TokenRow};
use serde::Deserialize;

use super::json;
use crate::auth::{SCOPE_HOST_AUTH, require_bearer_rfc6750, require_scope_rfc6750};
use crate::error::ApiError;
use crate::state::AppState;

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `true`, `false` or `all`.
    revoked: Option<String>,
    /// A user id or subject.
    subject: Option<String>,
    /// `oauth_refresh`, `cli_mint` or `operator_mint`.
    created_via: Option<String>,
}

/// `GET /api/auth/tokens`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_AUTH)?;
    let bad = |d: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", d);
    let revoked = match query.revoked.as_deref() {
        None | Some("all") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(bad("revoked must be one of: true | false | all")),
    };
    let created_via = match query.created_via.as_deref() {
        None => None,
        Some("oauth_refresh") => Some(CreatedVia::OauthRefresh),
        Some("cli_mint") => Some(CreatedVia::CliMint),
        Some("operator_mint") => Some(CreatedVia::OperatorMint),
        Some(_) => {
            return Err(bad(
                "created_via must be one of: oauth_refresh | operator_mint | cli_mint",
            ));
        }
    };
    let filter = TokenFilter {
        revoked,
        subject: query.subject.filter(|s| !s.is_empty()),
        created_via,
    };
    let rows = state
        .db()
        .list_tokens(&filter)
        .map_err(|e| ApiError::internal("cannot list tokens", e))?;
    Ok(json(&TokenList {
        tokens: rows.into_iter().map(row).collect(),
        next_cursor: None,
    }))
}

fn row(r: TokenRecord) -> TokenRow {
    TokenRow {
        permissions: r
            .permissions
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
        jti: r.jti,
        user_id: r.user_id,
        subject: r.subject,
        client_id: r.client_id,
        scopes: r.scopes,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
        created_at: r.created_at,
        created_via: r.created_via,
    }
}

/// `POST /api/auth/revoke-token`.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let bearer = require_any_authority(&state, &headers)?;
    let held: Vec<&str> = bearer.scopes().collect();
    let request: RevokeTokenRequest = serde_json::from_slice(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be {\"jti\": \"<token id>\"}",
        )
    })?;
    let Some(record) = state
        .db()
        .token_record(request.jti.trim())
        .map_err(|e| ApiError::internal("cannot read the token registry", e))?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no token with jti {} is in the registry", request.jti),
        ));
    };
    if let Some(scope) = record.scopes.iter().find(|s| !can_grant(&held, s)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("the bearer could not have minted {scope}, so it may not revoke this token"),
        ));
    }
    let already = record.revoked_at.is_some();
    if !already {
        state
            .db()
            .revoke_token(&record.jti)
            .map_err(|e| ApiError::internal("cannot revoke the token", e))?;
    }
    let revoked_at = state
        .db()
        .token_record(&record.jti)
        .ok()
        .flatten()
        .and_then(|r| r.revoked_at)
        .unwrap_or_default();
    Ok(json(&RevokeTokenAnswer {
        jti: record.jti,
        revoked_at,
        already_revoked: already,
    }))
}

/// A bearer without `parachute:host:auth` may still revoke within its minting authority
/// (`parachute:host:admin`, `vault:<n>:admin`).
fn require_any_authority(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<parachute_auth::Claims, ApiError> {
    let claims = require_bearer_rfc6750(state, headers)?;
    let held: Vec<&str> = claims.scopes().collect();
    if has_minting_authority(&held) {
        Ok(claims)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the bearer holds no minting authority; it needs parachute:host:auth, parachute:host:admin or a vault:<name>:admin scope",
        ))
    }
}

//! `POST /oauth/token`: `authorization_code` and `refresh_token` grants.
//!
//! Steps: the form is read (client id from the form or an `Authorization: Basic` header, the
//! secret from either); the client's request budget is checked ([`super::super::signin::state::TOKEN_LIMIT`]
//! per client id, `429` with `Retry-After` past it); then the auth crate does the rest —
//! client authentication and approval, the one-use code with PKCE S256 and the exact
//! redirect URI (a replayed code revokes what it issued), refresh rotation (a spent refresh
//! token revokes its family; a `scope` wider than the grant is `invalid_scope`), RFC 8707
//! `resource` against the token's audience. Tokens carry the issuer the one issuer rule gives
//! this request. Answers are never cached and readable cross-origin.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::clients::ClientCredentials;
use parachute_auth::oauth_tokens::{CodeExchange, RefreshRequest, TokenIssuer};
use parachute_auth::scopes::parse_scope_string;
use serde::Deserialize;

use super::support::{
    auth_error_json, bound_origins, cors, no_store, oauth_json, parse_form, scope_registry,
};
use crate::auth::mint_issuer;
use crate::state::AppState;

/// The token request's fields.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    /// `authorization_code` or `refresh_token`.
    #[serde(default)]
    grant_type: String,
    /// The authorization code.
    code: Option<String>,
    /// The redirect URI the code was issued for.
    redirect_uri: Option<String>,
    /// The PKCE verifier.
    code_verifier: Option<String>,
    /// The refresh token.
    refresh_token: Option<String>,
    /// The client (public clients send it here).
    client_id: Option<String>,
    /// A confidential client's secret (`client_secret_post`).
    client_secret: Option<String>,
    /// A narrower scope at refresh.
    scope: Option<String>,
    /// RFC 8707 resource.
    resource: Option<String>,
}

/// The route.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(form) = parse_form::<TokenForm>(&body) else {
        return invalid_request(
            "the body must be application/x-www-form-urlencoded token parameters",
        );
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials = ClientCredentials::from_request(authorization, form.client_secret.as_deref());
    let client_id = match (credentials.header_client_id.clone(), form.client_id.clone()) {
        (Some(id), _) | (None, Some(id)) if !id.is_empty() => id,
        _ => return invalid_request("client_id is required"),
    };
    let decision = state.signin().token_limiter.check_and_record(&client_id);
    if let Some(secs) = decision.retry_after_secs() {
        tracing::warn!(%client_id, "token requests over the client's budget");
        let mut refused = oauth_json(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            &format!("too many token requests for this client; retry in {secs} s"),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            refused.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return refused;
    }
    let issuer = mint_issuer(&state, &headers);
    let origins = bound_origins(&state);
    let registry = scope_registry(&state);
    let issuer = TokenIssuer {
        issuer: &issuer,
        bound_origins: &origins,
        registry: &registry,
    };
    let db = state.db_handle();
    let result = match form.grant_type.as_str() {
        "authorization_code" => {
            let (Some(code), Some(redirect_uri), Some(verifier)) =
                (&form.code, &form.redirect_uri, &form.code_verifier)
            else {
                return invalid_request(
                    "authorization_code needs code, redirect_uri and code_verifier (PKCE)",
                );
            };
            db.exchange_authorization_code(
                &issuer,
                &CodeExchange {
                    code,
                    client_id: &client_id,
                    redirect_uri,
                    code_verifier: verifier,
                    credentials: &credentials,
                    resource: form.resource.as_deref(),
                },
            )
        }
        "refresh_token" => {
            let Some(refresh) = &form.refresh_token else {
                return invalid_request("refresh_token is required");
            };
            let scopes = form
                .scope
                .as_deref()
                .map(parse_scope_string)
                .filter(|s| !s.is_empty());
            db.refresh_oauth_tokens(
                &issuer,
                &RefreshRequest {
                    refresh_token: refresh,
                    client_id: &client_id,
                    credentials: &credentials,
                    scopes: scopes.as_deref(),
                    resource: form.resource.as_deref(),
                },
            )
        }
        other => {
            return oauth_json(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!(
                    "grant_type {other:?} is not supported; use authorization_code or refresh_token"
                ),
            );
        }
    };
    match result {
        Ok(tokens) => {
            let mut response = axum::Json(tokens.token_response()).into_response();
            no_store(&mut response);
            cors(response)
        }
        Err(err) => auth_error_json(err),
    }
}

fn invalid_request(description: &str) -> Response {
    oauth_json(StatusCode::BAD_REQUEST, "invalid_request", description)
}

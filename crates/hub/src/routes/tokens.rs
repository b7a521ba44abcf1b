//! `POST /api/auth/mint-token`: the network companion of `parachute auth mint-token`, in the
//! original's shape, for automation that holds a bearer but no shell on the box.
//!
//! Steps: the bearer must verify (refusals in the module API's dialect, as the original's
//! route answers: `401 unauthenticated`) and hold some minting authority (`403
//! insufficient_scope`); the body is `{scope, audience?, expires_in?, subject?,
//! permissions?}`; every requested scope must be well formed and grantable by the bearer
//! ([`parachute_auth::attenuation::can_grant`]: nobody hands out more than they hold, `400
//! invalid_scope`); the token is minted for the issuer the rule gives this request
//! ([`crate::auth::mint_issuer`]), recorded in the registry (`cli_mint`) and returned once.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parachute_auth::attenuation::{
    MINT_HOST_ADMIN_SCOPE, MINT_HOST_AUTH_SCOPE, can_grant, has_minting_authority,
};
use parachute_auth::scopes::{
    is_vault_admin_scope, is_well_formed_or_non_vault_scope, vault_scope_name,
};
use parachute_auth::tokens::{MINT_DEFAULT_TTL, MINT_MAX_TTL};
use parachute_auth::{
    AuthFailure, Claims, MintRequest, ValidationRequest, canonical_permissions, infer_audience,
    parse_bearer,
};
use parachute_protocol::MintedTokenAnswer;
use serde_json::{Map, Value};

use crate::auth::{accepted_issuers, mint_issuer};
use crate::error::ApiError;
use crate::routes::modules::method_not_allowed;
use crate::state::AppState;

/// The route's path.
pub const MINT_TOKEN_PATH: &str = "/api/auth/mint-token";

/// The routes of this area, to merge into the hub's router (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new().route(
        MINT_TOKEN_PATH,
        post(mint_token).fallback(method_not_allowed),
    )
}

/// `POST`: mints the requested token; `{jti, token, expires_at, scope, permissions?}`.
async fn mint_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bearer = bearer_claims(&state, &headers)?;
    let bearer_scopes: Vec<&str> = bearer.scopes().collect();
    if !has_minting_authority(&bearer_scopes) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "the bearer token holds no minting authority; it needs {MINT_HOST_AUTH_SCOPE}, {MINT_HOST_ADMIN_SCOPE} or a vault:<name>:admin scope"
            ),
        ));
    }
    let body = body?;
    let request = MintBody::parse(&body)?;
    let sub = bearer.sub.clone().unwrap_or_default();
    let mint = request.into_mint(&bearer_scopes, &sub, &mint_issuer(&state, &headers))?;
    let minted = state
        .db()
        .mint(&mint)
        .map_err(|e| ApiError::internal("cannot mint the token", e))?;
    let answer = MintedTokenAnswer {
        jti: minted.jti,
        token: minted.token,
        expires_at: minted.expires_at,
        scope: mint.scopes.join(" "),
        permissions: mint.permissions,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

/// The bearer's verified claims (any scope; authority is checked per requested scope).
fn bearer_claims(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = parse_bearer(value)?;
    let request = ValidationRequest {
        accepted_issuers: accepted_issuers(state),
        required_scope: None,
        expected_audience: None,
        now: state.db().now(),
    };
    let claims = state.db().validate(token, &request)?;
    if claims.sub.as_deref().is_none_or(str::is_empty) {
        return Err(AuthFailure::NoSubject.into());
    }
    Ok(claims)
}

/// A validated request body.
struct MintBody {
    scopes: Vec<String>,
    audience: Option<String>,
    ttl: Duration,
    subject: Option<String>,
    permissions: Option<Value>,
}

fn invalid(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

impl MintBody {
    fn parse(body: &Bytes) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            invalid(format!(
                "the body must be JSON such as {{\"scope\": \"vault:default:read\"}} ({e})"
            ))
        })?;
        let Value::Object(mut object) = value else {
            return Err(invalid(
                "the body must be a JSON object such as {\"scope\": \"vault:default:read\"}",
            ));
        };
        let scopes: Vec<String> = match object.remove("scope") {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        if scopes.is_empty() {
            return Err(invalid(
                "scope is required: a non-empty, space-separated string such as \"vault:default:read\"",
            ));
        }
        Ok(Self {
            scopes,
            audience: optional_string(&mut object, "audience")?,
            ttl: expires_in(object.remove("expires_in"))?,
            subject: optional_string(&mut object, "subject")?,
            permissions: match object.remove("permissions") {
                None => None,
                Some(v) => Some(
                    canonical_permissions(v)
                        .map_err(|_| invalid("permissions must be a JSON object"))?,
                ),
            },
        })
    }

    /// The mint, once every scope passed the shape and authority checks.
    fn into_mint(
        self,
        bearer_scopes: &[&str],
        bearer_sub: &str,
        issuer: &str,
    ) -> Result<MintRequest, ApiError> {
        let invalid_scope = |d: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_scope", d);
        let malformed: Vec<&str> = self
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !is_well_formed_or_non_vault_scope(s))
            .collect();
        if !malformed.is_empty() {
            return Err(invalid_scope(format!(
                "malformed vault scope {}; expected vault:<name>:<read|write|admin>",
                malformed.join(", ")
            )));
        }
        let blocked: Vec<&str> = self
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !can_grant(bearer_scopes, s))
            .collect();
        if !blocked.is_empty() {
            return Err(invalid_scope(format!(
                "scope {} is not grantable by this bearer (nobody hands out more than they hold); use the OAuth flow or `parachute auth rotate-operator`",
                blocked.join(", ")
            )));
        }
        let audience = self
            .audience
            .unwrap_or_else(|| infer_audience(&self.scopes));
        let subject = self.subject.unwrap_or_else(|| bearer_sub.to_string());
        let mut mint = MintRequest::cli(&subject, self.scopes.clone(), &audience, issuer, self.ttl);
        mint.permissions = self.permissions;
        mint.vault_scope = vault_pins(&self.scopes, bearer_scopes);
        Ok(mint)
    }
}

/// Vaults a minted token is pinned to: those whose scopes the bearer granted through its own
/// `vault:<n>:admin`, or a `vault:<n>:admin` granted through `parachute:host:admin`.
fn vault_pins(scopes: &[String], bearer_scopes: &[&str]) -> Vec<String> {
    let host_admin = bearer_scopes.contains(&MINT_HOST_ADMIN_SCOPE);
    let mut pins: Vec<String> = Vec::new();
    for scope in scopes {
        let Some(name) = vault_scope_name(scope) else {
            continue;
        };
        let own_admin = bearer_scopes.contains(&format!("vault:{name}:admin").as_str());
        if (own_admin || (host_admin && is_vault_admin_scope(scope)))
            && !pins.iter().any(|p| p == name)
        {
            pins.push(name.to_string());
        }
    }
    pins
}

fn optional_string(object: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match object.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(invalid(format!(
            "{key} must be a non-empty string when present"
        ))),
    }
}

fn expires_in(value: Option<Value>) -> Result<Duration, ApiError> {
    let Some(value) = value else {
        return Ok(MINT_DEFAULT_TTL);
    };
    let secs = value
        .as_u64()
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid("expires_in must be a positive integer (seconds)"))?;
    if secs > MINT_MAX_TTL.as_secs() {
        return Err(invalid(format!(
            "expires_in exceeds the 365-day cap ({} seconds)",
            MINT_MAX_TTL.as_secs()
        )));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<MintBody, ApiError> {
        MintBody::parse(&Bytes::from(json.to_string()))
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        for (bad, needle) in [
            ("nope", "must be JSON"),
            ("[]", "JSON object"),
            ("{}", "scope is required"),
            (r#"{"scope": "  "}"#, "scope is required"),
            (r#"{"scope": "a:b", "audience": ""}"#, "audience"),
            (r#"{"scope": "a:b", "subject": 3}"#, "subject"),
            (r#"{"scope": "a:b", "expires_in": 0}"#, "positive integer"),
            (r#"{"scope": "a:b", "expires_in": 1.5}"#, "positive integer"),
            (r#"{"scope": "a:b", "expires_in": 99999999999}"#, "365-day"),
            (r#"{"scope": "a:b", "permissions": [1]}"#, "JSON object"),
        ] {
            let err = body(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} was accepted"));
            assert_eq!(err.error, "invalid_request", "{bad}");
            assert!(
                err.description.contains(needle),
                "{bad}: {}",
                err.description
            );
        }
        let ok = body(
            r#"{"scope": "vault:work:read", "expires_in": 60, "permissions": {"b": 1, "a": 2}}"#,
        )
        .unwrap();
        assert_eq!(ok.ttl, Duration::from_secs(60));
        assert_eq!(ok.permissions.unwrap().to_string(), r#"{"b":1,"a":2}"#);
    }

    #[test]
    fn scopes_are_attenuated_and_pinned() {
        let work_admin = ["vault:work:admin"];
        let mint = body(r#"{"scope": "vault:work:read"}"#)
            .unwrap()
            .into_mint(&work_admin, "u1", "https://hub.example")
            .unwrap();
        assert_eq!(mint.audience, "vault.work");
        assert_eq!(mint.vault_scope, ["work"]);
        assert_eq!(mint.sub, "u1");
        assert_eq!(mint.issuer, "https://hub.example");
        for (scope, needle) in [
            ("vault:other:read", "not grantable"),
            ("parachute:host:auth", "not grantable"),
            ("vault:work:ADMIN", "malformed"),
        ] {
            let err = body(&format!(r#"{{"scope": "{scope}"}}"#))
                .unwrap()
                .into_mint(&work_admin, "u1", "https://hub.example")
                .unwrap_err();
            assert_eq!(err.error, "invalid_scope", "{scope}");
            assert!(
                err.description.contains(needle),
                "{scope}: {}",
                err.description
            );
        }
        let host_auth = ["parachute:host:auth"];
        let mint = body(r#"{"scope": "scribe:transcribe vault:default:write", "audience": "scribe", "subject": "robot"}"#)
            .unwrap()
            .into_mint(&host_auth, "u1", "http://127.0.0.1:1939")
            .unwrap();
        assert_eq!(mint.audience, "scribe");
        assert_eq!(mint.sub, "robot");
        assert!(mint.vault_scope.is_empty());
        let host_admin = ["parachute:host:admin"];
        let mint = body(r#"{"scope": "vault:work:admin"}"#)
            .unwrap()
            .into_mint(&host_admin, "u1", "http://127.0.0.1:1939")
            .unwrap();
        assert_eq!(mint.vault_scope, ["work"]);
    }
}

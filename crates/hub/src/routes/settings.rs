//! `GET|PUT /api/settings/hub-origin` (scope `parachute:host:admin`): the hub's canonical
//! origin, as the original's Settings page reads and writes it.
//!
//! - `GET` → `{hub_origin, resolved_issuer, source}`: the stored setting (or `null`), the
//!   issuer the rule gives this request, and its layer (`settings|env|exposure|request`).
//! - `PUT {"hub_origin": "<origin>"|null}` → validated ([`validate_hub_origin`]), stored, and
//!   propagated by [`crate::hub_origin::set_hub_origin`]; answers `{hub_origin, …}`.
//!
//! Refusals keep the original's body for this route (`401 unauthenticated`, `403
//! insufficient_scope`, `400 invalid_request|invalid_hub_origin`) and add an RFC 6750
//! `WWW-Authenticate` challenge to the bearer ones.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parachute_auth::OriginError;
use parachute_protocol::HubOriginSetting;
use serde_json::Value;

use crate::auth::{SCOPE_HOST_ADMIN, request_origin, require_scope_challenged, resolve_issuer};
use crate::error::ApiError;
use crate::hub_origin::{set_hub_origin, wire_source};
use crate::routes::modules::method_not_allowed;
use crate::state::AppState;

/// The route's path.
pub const HUB_ORIGIN_PATH: &str = "/api/settings/hub-origin";

/// The routes of this area, to merge into the hub's router (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new().route(
        HUB_ORIGIN_PATH,
        get(get_hub_origin)
            .put(put_hub_origin)
            .fallback(method_not_allowed),
    )
}

/// `GET`: the stored setting, the resolved issuer and its source.
async fn get_hub_origin(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_scope_challenged(&state, &headers, SCOPE_HOST_ADMIN)?;
    let resolved = resolve_issuer(&state, &headers);
    Ok(Json(HubOriginSetting {
        hub_origin: crate::auth::stored_hub_origin(state.db()),
        resolved_issuer: resolved.origin,
        source: wire_source(resolved.source),
    })
    .into_response())
}

/// `PUT`: validates, stores and propagates the new origin.
async fn put_hub_origin(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require_scope_challenged(&state, &headers, SCOPE_HOST_ADMIN)?;
    let body = body?;
    let origin = parse_update(&body)?;
    let answer = set_hub_origin(&state, origin, &request_origin(&state, &headers))
        .await
        .map_err(|e| ApiError::internal("cannot change the hub origin", e))?;
    Ok(Json(answer).into_response())
}

/// The body's `hub_origin`, validated: `Ok(None)` clears the setting.
fn parse_update(body: &Bytes) -> Result<Option<String>, ApiError> {
    let invalid =
        |description: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description);
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        invalid(
            "the request body must be JSON such as {\"hub_origin\": \"https://hub.example.com\"}",
        )
    })?;
    let Value::Object(mut object) = value else {
        return Err(invalid(
            "the request body must be a JSON object such as {\"hub_origin\": \"https://hub.example.com\"}",
        ));
    };
    let Some(field) = object.remove("hub_origin") else {
        return Err(invalid(
            "the request body must include a hub_origin field: an origin such as \"https://hub.example.com\", or null to clear the setting",
        ));
    };
    validate_hub_origin(&field).map_err(|description| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_hub_origin", description)
    })
}

/// The original's rules for a stored origin: `null` or `""` clears it; otherwise a string
/// that [`parachute_auth::parse_origin`] accepts (an `http(s)://host[:port]` origin with no
/// path, query, fragment or credentials) and that does not end in `/` (the stored value is
/// concatenated into `iss` claims and document URLs). The answer is the normalised origin.
pub fn validate_hub_origin(value: &Value) -> Result<Option<String>, String> {
    let raw = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => s,
        other => {
            return Err(format!(
                "hub_origin must be a string such as \"https://hub.example.com\", or null to clear it (got {})",
                json_type(other)
            ));
        }
    };
    let fix = "give the scheme and host only, e.g. https://hub.example.com";
    let origin = parachute_auth::parse_origin(raw).map_err(|why| {
        let what = match why {
            OriginError::Scheme => "must start with http:// or https://",
            OriginError::NoHost => "names no host",
            OriginError::Credentials => "must not include credentials (user:password@)",
            OriginError::PathOrQuery => "must not include a path, query string or fragment",
            OriginError::Whitespace => "must not contain spaces or control characters",
        };
        format!("hub_origin {raw:?} {what}; {fix}")
    })?;
    if raw.ends_with('/') {
        return Err(format!(
            "hub_origin {raw:?} must not end with a slash; {fix}"
        ));
    }
    Ok(Some(origin))
}

/// JavaScript's word for a JSON value's type (what the original's message names).
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_are_validated_as_the_original_does() {
        assert_eq!(validate_hub_origin(&json!(null)), Ok(None));
        assert_eq!(validate_hub_origin(&json!("")), Ok(None));
        assert_eq!(
            validate_hub_origin(&json!("HTTPS://Hub.Example.com:8443")),
            Ok(Some("https://hub.example.com:8443".into()))
        );
        for (bad, needle) in [
            (json!(42), "got number"),
            (json!(["x"]), "got object"),
            (json!(true), "got boolean"),
            (json!("https://hub.example.com/"), "slash"),
            (json!("hub.example.com"), "http:// or https://"),
            (json!("ftp://hub.example.com"), "http:// or https://"),
            (json!("https://"), "no host"),
            (json!("https://u:p@hub.example.com"), "credentials"),
            (json!("https://hub.example.com/path"), "path"),
            (json!("https://hub.example.com?q=1"), "query"),
            (json!("https://hub.example.com#frag"), "fragment"),
            (json!("https://hub example.com"), "spaces"),
        ] {
            let err = validate_hub_origin(&bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
            assert!(err.contains("hub_origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn bodies_must_be_objects_with_the_field() {
        for (body, needle) in [
            (&b"not json"[..], "must be JSON"),
            (b"[1]", "JSON object"),
            (b"{}", "hub_origin field"),
        ] {
            let err = parse_update(&Bytes::from_static(body)).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.error, "invalid_request");
            assert!(err.description.contains(needle), "{}", err.description);
        }
        let err = parse_update(&Bytes::from_static(br#"{"hub_origin": 1}"#)).unwrap_err();
        assert_eq!(err.error, "invalid_hub_origin");
        assert_eq!(
            parse_update(&Bytes::from_static(br#"{"hub_origin": null}"#)).unwrap(),
            None
        );
    }
}

//! `POST /oauth/register`: RFC 7591 dynamic client registration.
//!
//! Steps: the body is a JSON object (`redirect_uris`, `client_name`, `scope`,
//! `token_endpoint_auth_method`); who registers decides the status — a valid `hub:admin`
//! bearer, or the admin's session on a same-origin request, registers an approved
//! operator client; a bearer that does not verify is refused rather than downgraded; anyone
//! else registers a pending client (unless the setup wizard's first-client window is open).
//! Redirect URIs are checked by `parachute_auth::redirect_uri` (https, or http to loopback or
//! to one of the hub's own origins). The answer is `201` with the original's members.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::clients::{ClientRegistration, Registrant};
use parachute_auth::scopes::parse_scope_string;
use serde_json::Value;

use super::support::{auth_error_json, bound_origins, cors, no_store, oauth_json};
use crate::auth::require_scope_rfc6750;
use crate::routes::signin::origin::same_origin;
use crate::routes::signin::session::signed_in;
use crate::state::AppState;

/// The scope a bearer needs to register an operator client.
const OPERATOR_REGISTRATION_SCOPE: &str = "hub:admin";

/// The route.
pub async fn register(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let metadata: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return oauth_json(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                "the body must be a JSON object of client metadata (RFC 7591), with at least redirect_uris",
            );
        }
    };
    let registrant = match registrant(&state, &headers) {
        Ok(r) => r,
        Err(refusal) => return cors(*refusal),
    };
    let Some(redirect_uris) = string_list(&metadata["redirect_uris"]) else {
        return oauth_json(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uris is required: a non-empty array of URI strings",
        );
    };
    let request = ClientRegistration {
        redirect_uris,
        scopes: parse_scope_string(metadata["scope"].as_str().unwrap_or_default()),
        client_name: metadata["client_name"]
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        confidential: matches!(
            metadata["token_endpoint_auth_method"].as_str(),
            Some("client_secret_post" | "client_secret_basic")
        ),
        registrant,
    };
    match state.db().register_client(&request, &bound_origins(&state)) {
        Ok(registered) => {
            let mut body = registered.registration_response();
            if let (Some(method), Value::Object(map)) =
                (metadata["token_endpoint_auth_method"].as_str(), &mut body)
                && method == "client_secret_basic"
            {
                map.insert("token_endpoint_auth_method".into(), method.into());
            }
            let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
            no_store(&mut response);
            cors(response)
        }
        Err(err) => auth_error_json(err),
    }
}

/// Who is registering (see the module docs).
fn registrant(state: &AppState, headers: &HeaderMap) -> Result<Registrant, Box<Response>> {
    if headers.contains_key(header::AUTHORIZATION) {
        return require_scope_rfc6750(state, headers, OPERATOR_REGISTRATION_SCOPE)
            .map(|_| Registrant::Operator)
            .map_err(|e| Box::new(e.into_response()));
    }
    let admin_session = signed_in(state, headers)
        .map_err(|e| Box::new(e.into_response()))?
        .is_some_and(|s| s.admin);
    if admin_session && headers.contains_key(header::ORIGIN) && same_origin(state, headers) {
        return Ok(Registrant::Operator);
    }
    Ok(Registrant::Public)
}

/// A JSON array of strings (`None` when absent, empty or holding anything else).
fn string_list(value: &Value) -> Option<Vec<String>> {
    let items = value.as_array()?;
    let list: Option<Vec<String>> = items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect();
    list.filter(|l| !l.is_empty())
}

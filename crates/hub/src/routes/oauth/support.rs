//! What every OAuth handler shares: JSON refusals in RFC 6749's shape, CORS for the JSON
//! endpoints, form bodies, the hub's own origins, the scope registry and the vault list.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::scopes::ScopeRegistry;
use parachute_auth::{AuthError, OAuthError};
use parachute_home::discovery::vault_instance_name;
use parachute_home::services;
use serde_json::json;

use crate::auth::accepted_issuers;
use crate::state::AppState;

/// Largest OAuth request body read (forms and registration JSON are small).
pub const BODY_LIMIT: usize = 64 * 1024;

/// `{error, error_description}` with `status`, never cached, CORS-readable.
pub fn oauth_json(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    no_store(&mut response);
    cors(response)
}

/// A refusal from the auth crate in RFC 6749's words (internal failures are logged and
/// answered `server_error`).
pub fn auth_error_json(err: AuthError) -> Response {
    match err {
        AuthError::OAuth(oauth) => oauth_error_json(&oauth),
        other => {
            tracing::error!(error = %other, "an OAuth request failed inside the hub");
            oauth_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the hub could not complete the request; see the hub log",
            )
        }
    }
}

/// An [`OAuthError`] as JSON.
pub fn oauth_error_json(err: &OAuthError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    oauth_json(status, err.error_code(), &err.to_string())
}

/// Adds `Cache-Control: no-store` (token answers must never be cached, RFC 6749 §5.1).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Adds the JSON endpoints' CORS headers: any origin, no credentials.
pub fn cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    response
}

/// `OPTIONS` on a JSON endpoint: the CORS preflight.
pub async fn preflight() -> Response {
    let mut response = cors(StatusCode::NO_CONTENT.into_response());
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, MCP-Protocol-Version"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// An `application/x-www-form-urlencoded` body as `T` (unknown fields ignored); `None` when
/// it does not parse.
pub fn parse_form<T: serde::de::DeserializeOwned>(body: &Bytes) -> Option<T> {
    serde_urlencoded::from_bytes(body).ok()
}

/// Every origin this hub is known by (loopback on its port, the `hub_origin` setting, the
/// environment's origin, the exposed origin): a `resource` on one of them names our vaults,
/// and plain-http redirect URIs to them are allowed.
pub fn bound_origins(state: &AppState) -> Vec<String> {
    accepted_issuers(state)
}

/// The scopes this hub will sign: the first-party list plus what installed modules declare
/// in their `module.json` (`scopes.defines`, as the original reads it).
pub fn scope_registry(state: &AppState) -> ScopeRegistry {
    let table = state.proxy().table(state.home());
    let mut declared = Vec::new();
    for row in &table.rows {
        let Some(meta) = services::module_json(row) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&meta.path) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(defines) = doc["scopes"]["defines"].as_array() {
            declared.extend(defines.iter().filter_map(|s| s.as_str()).map(str::to_owned));
        }
    }
    ScopeRegistry::with_module_scopes(declared)
}

/// The vault names `services.json` serves now (one per path of each vault row).
pub fn live_vaults(state: &AppState) -> Vec<String> {
    let table = state.proxy().table(state.home());
    let mut names = Vec::new();
    for row in table.rows.iter().filter(|r| r.is_vault()) {
        let paths: Vec<&str> = if row.paths.is_empty() {
            vec!["/"]
        } else {
            row.paths.iter().map(String::as_str).collect()
        };
        for path in paths {
            let name = vault_instance_name(&row.name, path);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The row names of `services.json` (which optional modules' scopes to advertise).
pub fn installed_services(state: &AppState) -> Vec<String> {
    let table = state.proxy().table(state.home());
    table.rows.iter().map(|r| r.name.clone()).collect()
}

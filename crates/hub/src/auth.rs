//! Who is asking: per-request issuer, the issuers we accept, and bearer checks for routes.

use axum::http::HeaderMap;
use axum::http::header;
use parachute_auth::{Claims, ValidationRequest, known_issuers, parse_bearer};
use parachute_home::expose_state;

use crate::error::ApiError;
use crate::state::AppState;

/// The scope every module-operations route needs.
pub const SCOPE_HOST_ADMIN: &str = "parachute:host:admin";
/// The scope `GET /api/modules` needs.
pub const SCOPE_HOST_AUTH: &str = "parachute:host:auth";

/// The origin this request reached us at, as an issuer: the `hub_origin` setting, else the
/// environment origin, else the exposed origin when the request came in on the exposed host
/// name (the tunnel terminates TLS, so the request itself looks like plain http), else the
/// request's own origin (`https` when a proxy says so).
pub fn request_issuer(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = state.hub_origin_setting() {
        return origin;
    }
    if let Some(origin) = state.env_origin() {
        return origin.to_string();
    }
    let origin = request_origin(state, headers);
    if let Some(exposed) = exposed_origin_for(state, &origin) {
        return exposed;
    }
    origin
}

/// The recorded exposed origin when `request_origin` names the exposed host.
fn exposed_origin_for(state: &AppState, request_origin: &str) -> Option<String> {
    let exposed = expose_state::read(state.home()).ok().flatten()?;
    let host = request_origin.split_once("://")?.1;
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if !host.eq_ignore_ascii_case(&exposed.canonical_fqdn) {
        return None;
    }
    Some(exposed.advertised_origin())
}

/// `scheme://host` of the request itself.
pub fn request_origin(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(',').next().unwrap_or(h).trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("127.0.0.1:{}", state.port()));
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| {
            p.split(',')
                .next()
                .unwrap_or(p)
                .trim()
                .eq_ignore_ascii_case("https")
        });
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Every issuer a token presented to this hub may carry (SPEC Part A item 5): the loopback
/// origins, the `hub_origin` setting, the environment origin and the exposed origin.
pub fn accepted_issuers(state: &AppState) -> Vec<String> {
    let exposed = expose_state::read(state.home())
        .ok()
        .flatten()
        .map(|s| s.advertised_origin());
    known_issuers(
        state.port(),
        state.hub_origin_setting().as_deref(),
        state.env_origin(),
        exposed.as_deref(),
    )
}

/// Checks the request's bearer token and that it carries `scope`.
pub fn require_scope(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = parse_bearer(value)?;
    let request = ValidationRequest {
        accepted_issuers: accepted_issuers(state),
        required_scope: Some(scope.to_string()),
        expected_audience: None,
        now: state.db().now(),
    };
    Ok(state.db().validate(token, &request)?)
}

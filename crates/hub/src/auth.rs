//! Who is asking and who we are: the issuer rule applied to a request, the issuers we accept,
//! and bearer checks for routes in the two dialects the original's routes answer in.
//!
//! Every origin decision of the hub goes through [`parachute_auth::IssuerLayers`] (setting >
//! environment > exposure > request): [`issuer_layers`] reads the layers, [`resolve_issuer`]
//! applies them to a request (the `iss` of tokens minted for it), [`module_origin`] gives what
//! modules are told as `PARACHUTE_HUB_ORIGIN`. Links in documents ([`request_issuer`]) follow
//! the same rule, with the exposed origin only for requests that arrived through the exposure.

use axum::http::HeaderMap;
use axum::http::header;
use parachute_auth::{
    AuthFailure, Claims, IssuerLayers, ResolvedIssuer, ValidationRequest, known_issuers,
    parse_bearer,
};
use parachute_home::expose_state;

use crate::error::ApiError;
use crate::state::AppState;

/// The scope every module-operations route needs.
pub const SCOPE_HOST_ADMIN: &str = "parachute:host:admin";
/// The scope `GET /api/modules` needs.
pub const SCOPE_HOST_AUTH: &str = "parachute:host:auth";

/// The configured layers of the issuer rule, read now: the `hub_origin` setting (fresh from
/// `hub.db`: an admin can change it at any time), the environment's origin (fixed at start)
/// and the exposed origin recorded in `expose-state.json` (a malformed file counts as none:
/// the CLI reports it, a request must not fail over it).
pub struct OriginLayers {
    /// The `hub_origin` setting.
    pub setting: Option<String>,
    /// The environment's origin.
    pub env: Option<String>,
    /// The exposed origin.
    pub exposure: Option<String>,
}

impl OriginLayers {
    /// The layers as the rule takes them.
    pub fn as_layers(&self) -> IssuerLayers<'_> {
        IssuerLayers {
            setting: self.setting.as_deref(),
            env: self.env.as_deref(),
            exposure: self.exposure.as_deref(),
        }
    }
}

/// Reads the layers of the issuer rule for the hub of `state`.
pub fn issuer_layers(state: &AppState) -> OriginLayers {
    OriginLayers {
        setting: state.hub_origin_setting(),
        env: state.env_origin().map(str::to_string),
        exposure: exposed_origin(state.home()),
    }
}

/// The `hub_origin` setting stored in `db`, normalised (`None` when unset or blank).
pub fn stored_hub_origin(db: &parachute_auth::HubDb) -> Option<String> {
    db.setting(parachute_auth::SETTING_HUB_ORIGIN)
        .ok()
        .flatten()
        .map(|o| parachute_auth::normalize_origin(&o))
        .filter(|o| !o.is_empty())
}

/// The exposed origin recorded for `home`, if a layer is up.
pub fn exposed_origin(home: &parachute_home::Home) -> Option<String> {
    expose_state::read(home)
        .ok()
        .flatten()
        .map(|s| s.advertised_origin())
}

/// The issuer rule for this request: setting, else environment, else exposure, else the
/// request's own origin (`https` when a proxy says so), with the layer it came from. The `iss`
/// of every token the hub mints for a request, so it matches what modules are told.
pub fn resolve_issuer(state: &AppState, headers: &HeaderMap) -> ResolvedIssuer {
    issuer_layers(state)
        .as_layers()
        .resolve(&request_origin(state, headers))
}

/// The `iss` of tokens minted for this request ([`resolve_issuer`]'s origin).
pub fn mint_issuer(state: &AppState, headers: &HeaderMap) -> String {
    resolve_issuer(state, headers).origin
}

/// The origin links in documents served to this request are built on (discovery): the rule,
/// except that the exposed origin counts only for requests that came in on the exposed host
/// name (the tunnel terminates TLS, so they look like plain http), so a caller on loopback
/// gets links it can follow on loopback. Tokens never use this: see [`mint_issuer`].
pub fn request_issuer(state: &AppState, headers: &HeaderMap) -> String {
    let layers = issuer_layers(state);
    let origin = request_origin(state, headers);
    let exposure = layers
        .exposure
        .as_deref()
        .filter(|exposed| same_host(exposed, &origin));
    IssuerLayers {
        exposure,
        ..layers.as_layers()
    }
    .resolve(&origin)
    .origin
}

/// Whether two `scheme://host[:port]` origins name the same host (ports and scheme ignored).
fn same_host(a: &str, b: &str) -> bool {
    fn host(origin: &str) -> &str {
        let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
        match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => rest.rsplit_once(':').map_or(rest, |(h, _)| h),
        }
    }
    host(a).eq_ignore_ascii_case(host(b))
}

/// What modules are told as `PARACHUTE_HUB_ORIGIN`: the configured part of the rule (nothing
/// configured: nothing is set, and a module keeps its own `.env` value or default).
pub fn module_origin(layers: &OriginLayers) -> Option<String> {
    layers.as_layers().configured().map(|r| r.origin)
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
    let layers = issuer_layers(state);
    known_issuers(
        state.port(),
        layers.setting.as_deref(),
        layers.env.as_deref(),
        layers.exposure.as_deref(),
    )
}

/// Checks the request's bearer token and that it carries `scope`; refusals in the module
/// operations API's dialect (`401 unauthenticated`, `403 insufficient_scope`).
pub fn require_scope(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = parse_bearer(value)?;
    Ok(validate(state, token, scope)?)
}

/// [`require_scope`] in the dialect of the original's admin routes (`GET /api/hub`): RFC 6750
/// `401 invalid_token` / `403 insufficient_scope`, each with a `WWW-Authenticate: Bearer
/// error="…", error_description="…"` challenge. The scheme word is matched case-insensitively
/// there, as the original does.
pub fn require_scope_rfc6750(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = bearer_any_case(value).map_err(rfc6750)?;
    validate(state, token, scope).map_err(rfc6750)
}

/// [`require_scope`] with the module API's body (`unauthenticated`, `insufficient_scope`, as
/// the original's settings route answers) plus an RFC 6750 `WWW-Authenticate` challenge
/// (`invalid_token` / `insufficient_scope`) for clients that read the header.
pub fn require_scope_challenged(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    parse_bearer(value)
        .and_then(|token| validate(state, token, scope))
        .map_err(|failure| {
            let challenge = rfc6750(failure.clone()).challenge;
            let refusal = ApiError::from(failure);
            match challenge {
                Some(c) => refusal.with_challenge(c),
                None => refusal,
            }
        })
}

/// `value` after a `Bearer` scheme word in any case and its whitespace.
fn bearer_any_case(value: Option<&str>) -> Result<&str, AuthFailure> {
    let value = value.ok_or(AuthFailure::MissingBearer)?;
    let (scheme, rest) = value
        .split_once(char::is_whitespace)
        .ok_or(AuthFailure::MissingBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::MissingBearer);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(AuthFailure::EmptyBearer);
    }
    Ok(token)
}

/// [`require_scope_rfc6750`] without a scope: any valid bearer of this hub (for routes that
/// judge the bearer's scopes themselves, such as revocation under minting authority).
pub fn require_bearer_rfc6750(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = bearer_any_case(value).map_err(rfc6750)?;
    validate_with(state, token, None).map_err(rfc6750)
}

fn validate(state: &AppState, token: &str, scope: &str) -> Result<Claims, AuthFailure> {
    validate_with(state, token, Some(scope))
}

fn validate_with(
    state: &AppState,
    token: &str,
    scope: Option<&str>,
) -> Result<Claims, AuthFailure> {
    let request = ValidationRequest {
        accepted_issuers: accepted_issuers(state),
        required_scope: scope.map(str::to_string),
        expected_audience: None,
        now: state.db().now(),
    };
    state.db().validate(token, &request)
}

/// A refusal in RFC 6750's words, with its challenge header.
fn rfc6750(failure: AuthFailure) -> ApiError {
    let code = match failure.status() {
        403 => "insufficient_scope",
        500 => return ApiError::from(failure),
        _ => "invalid_token",
    };
    let description = failure.description();
    let status = axum::http::StatusCode::from_u16(failure.status())
        .unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
    ApiError::new(status, code, description.clone())
        .with_challenge(bearer_challenge(code, &description))
}

/// `Bearer error="<code>", error_description="<description>"`, double quotes in the
/// description turned into single ones (as the original does) so the header stays one
/// quoted-string.
pub fn bearer_challenge(code: &str, description: &str) -> String {
    let description: String = description
        .chars()
        .map(|c| if c == '"' { '\'' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    format!("Bearer error=\"{code}\", error_description=\"{description}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_compare_without_scheme_or_port() {
        assert!(same_host("https://Box.ts.net", "http://box.ts.net:1939"));
        assert!(same_host("http://[::1]:1939", "http://[::1]"));
        assert!(!same_host("https://box.ts.net", "http://127.0.0.1:1939"));
    }

    #[test]
    fn the_scheme_word_is_case_insensitive_in_the_admin_dialect() {
        assert_eq!(bearer_any_case(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_any_case(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_any_case(Some("BEARER\tabc")), Ok("abc"));
        assert_eq!(bearer_any_case(None), Err(AuthFailure::MissingBearer));
        assert_eq!(
            bearer_any_case(Some("Basic abc")),
            Err(AuthFailure::MissingBearer)
        );
        assert_eq!(
            bearer_any_case(Some("Bearer")),
            Err(AuthFailure::MissingBearer)
        );
        assert_eq!(
            bearer_any_case(Some("Bearer   ")),
            Err(AuthFailure::EmptyBearer)
        );
    }

    #[test]
    fn refusals_become_rfc6750_challenges() {
        let e = rfc6750(AuthFailure::Malformed("not \"a\" JWT".into()));
        assert_eq!(e.status, 401);
        assert_eq!(e.error, "invalid_token");
        assert_eq!(
            e.challenge.as_deref(),
            Some(
                "Bearer error=\"invalid_token\", error_description=\"bearer token invalid: not 'a' JWT\""
            )
        );
        let e = rfc6750(AuthFailure::InsufficientScope {
            required: SCOPE_HOST_ADMIN.into(),
        });
        assert_eq!(e.status, 403);
        assert_eq!(e.error, "insufficient_scope");
        assert!(
            e.challenge
                .as_deref()
                .unwrap()
                .starts_with("Bearer error=\"insufficient_scope\"")
        );
        let e = rfc6750(AuthFailure::Internal("disk".into()));
        assert_eq!(e.status, 500);
        assert_eq!(e.challenge, None);
    }
}

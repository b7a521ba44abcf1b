//! `/.well-known/jwks.json` and `/.well-known/parachute-revocation.json`: what modules verify
//! hub tokens with, in exactly the shape and headers the original's token library
//! (`@openparachute/scope-guard`) reads.
//!
//! - JWKS: `{"keys":[{kty,n,e,kid,alg,use}]}`, `Content-Type: application/json`, CORS
//!   `Access-Control-Allow-Origin: *` and `Access-Control-Allow-Methods: GET, OPTIONS`, no
//!   `Cache-Control` (the library's JWKS cache keeps keys 5 minutes on its own). Any method but
//!   `OPTIONS` gets the keys, as in the original.
//! - Revocation list: `{"generated_at": <ISO time>, "jtis": [...]}` with `Cache-Control:
//!   public, max-age=60` (the library polls on that cadence) and the same CORS headers; methods
//!   other than `GET`/`HEAD`/`OPTIONS` are `405 {"error":"method_not_allowed"}`.
//! - `OPTIONS` on either is a `204` preflight with the CORS headers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_protocol::RevocationList;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a module may cache the revocation list (seconds): the library's polling cadence.
pub const REVOCATION_MAX_AGE_SECS: u64 = 60;

/// The CORS headers both documents carry (cross-origin fetch targets by design: they hold
/// only public keys and opaque ids).
const CORS: [(header::HeaderName, &str); 2] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
];

/// The public keys tokens are verified with: the active key plus keys retired < 24 h ago.
pub async fn jwks(State(state): State<AppState>, method: Method) -> Response {
    if method == Method::OPTIONS {
        return preflight();
    }
    let response = match state.db().jwks() {
        Ok(keys) => Json(keys).into_response(),
        Err(err) => ApiError::internal("cannot read the signing keys", err).into_response(),
    };
    with_cors(response)
}

/// The `jti`s of revoked, not yet expired tokens, for modules that cache validation.
pub async fn revocations(State(state): State<AppState>, method: Method) -> Response {
    if method == Method::OPTIONS {
        return preflight();
    }
    if method != Method::GET && method != Method::HEAD {
        let refused = (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({"error": "method_not_allowed"})),
        );
        return with_cors(refused.into_response());
    }
    let response = match revocation_list(&state) {
        Ok(list) => (
            [(
                header::CACHE_CONTROL,
                format!("public, max-age={REVOCATION_MAX_AGE_SECS}"),
            )],
            Json(list),
        )
            .into_response(),
        Err(err) => ApiError::internal("cannot read the token registry", err).into_response(),
    };
    with_cors(response)
}

/// The revocation list as of the hub's clock.
pub fn revocation_list(state: &AppState) -> Result<RevocationList, parachute_auth::AuthError> {
    let jtis = state.db().active_revocations()?;
    Ok(RevocationList {
        generated_at: crate::wire::iso(state.db().now()),
        jtis,
    })
}

/// `204` with the CORS headers: the answer to a browser's preflight.
fn preflight() -> Response {
    with_cors(StatusCode::NO_CONTENT.into_response())
}

fn with_cors(mut response: Response) -> Response {
    for (name, value) in CORS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

//! The OAuth 2.1 authorization server MCP clients connect through: discovery (RFC 8414 and
//! RFC 9728), dynamic client registration (RFC 7591), `/oauth/authorize` with sign-in and a
//! consent page, `/oauth/authorize/approve` for pending clients, the token endpoint
//! (authorization code with PKCE S256, refresh rotation) and revocation (RFC 7009).
//!
//! The rules and storage are `parachute_auth`'s (clients, codes, grants, consent, resource
//! binding, token rotation); these handlers only map requests and answers. Rows are the
//! original's, so clients connected through either hub keep working on the other.
//!
//! Cross-origin: the JSON endpoints (`register`, `token`, `revoke`, the metadata documents)
//! answer `Access-Control-Allow-Origin: *` without credentials, so browser-based clients can
//! call them; the authorize pages carry the session cookie and have no CORS at all.

pub mod approve;
pub mod authorize;
pub mod consent_page;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod support;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The routes of this area, to merge into the hub's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server).options(support::preflight),
        )
        .route(
            "/.well-known/oauth-authorization-server/{*rest}",
            get(metadata::authorization_server).options(support::preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource).options(support::preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*rest}",
            get(metadata::protected_resource_for_path).options(support::preflight),
        )
        .route(
            "/oauth/register",
            post(register::register).options(support::preflight),
        )
        .route(
            "/oauth/authorize",
            get(authorize::authorize).post(authorize::consent_submit),
        )
        .route("/oauth/authorize/approve", post(approve::approve_client))
        .route(
            "/oauth/token",
            post(token::token).options(support::preflight),
        )
        .route(
            "/oauth/revoke",
            post(revoke::revoke).options(support::preflight),
        )
}

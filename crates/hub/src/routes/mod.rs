//! HTTP routes, one module per area.
//!
//! Layers, outermost first: the host allowlist (421 for unknown host names, see [`host`]), the
//! setup gate (503 until an admin exists), then the routes.
//! Each area module exposes its handlers; this file is the single place they are mounted.

pub mod admin;
pub mod discovery;
pub mod events;
pub mod expose;
pub mod gate;
pub mod health;
pub mod host;
pub mod modules;
pub mod oauth;
pub mod proof;
pub mod proxy;
pub mod ready;
pub mod redirects;
pub mod security;
pub mod settings;
pub mod setup;
pub mod signin;
pub mod tokens;
pub mod upgrade;
pub mod wellknown;

use axum::Router;
use axum::middleware;
use axum::routing::{any, get};

use crate::state::AppState;

/// Every route of the hub.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", any(health::health))
        .route("/api/ready", get(ready::ready).head(ready::ready))
        .route("/.well-known/jwks.json", any(wellknown::jwks))
        .route("/.well-known/parachute.json", any(discovery::discovery))
        .route(
            "/.well-known/parachute-revocation.json",
            any(wellknown::revocations),
        )
        .route(proof::PATH, get(proof::proof))
        .route("/api/events", get(events::events))
        .route(
            "/api/expose",
            get(expose::get)
                .post(expose::post)
                .fallback(modules::method_not_allowed),
        )
        .merge(modules::router())
        .merge(settings::router())
        .merge(signin::router())
        .merge(oauth::router())
        .merge(setup::router())
        .merge(tokens::router())
        .merge(upgrade::router())
        // The dashboard and the hub page (`admin.rs`); other `/admin/*` routes (setup, the
        // host-admin token) are more specific and win over the SPA's wildcard.
        .route("/", get(admin::hub_page))
        .route("/hub.html", get(admin::hub_page))
        .route("/admin", get(admin::shell))
        .route("/admin/", get(admin::shell))
        .route("/admin/assets/{*file}", get(admin::asset))
        .route("/admin/{*rest}", get(admin::shell))
        // The hub's own routes only: proxied module answers pass through untouched.
        .route_layer(middleware::from_fn(security::headers))
        // Module mounts (`/vault/<name>/*`, `/<mount>/*`): every route above wins over them.
        // Set before the layer so the setup gate covers the fallback too.
        .fallback(proxy::proxy)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gate::setup_gate,
        ))
        // The original's 301s of retired paths come before the gate, as there.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            redirects::legacy_redirects,
        ))
        // Outermost: unknown host names are refused before anything else runs.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            host::host_allowlist,
        ))
        .with_state(state)
}

//! The management API the dashboard's Users, Permissions and Tokens pages (and scripts) use,
//! in the original's shapes and bearer dialect (RFC 6750 refusals with a challenge):
//! `GET /api/auth/tokens` and `POST /api/auth/revoke-token` (`parachute:host:auth`),
//! `GET /api/grants`, `DELETE /api/grants/<client id>`, `GET /api/oauth/clients[/<id>]`,
//! `POST /api/oauth/clients/<id>/approve` and `GET /api/users` (`parachute:host:admin`).
//! The dashboard gets its bearer from `/admin/host-admin-token`.

pub mod clients;
pub mod grants;
pub mod tokens;
pub mod users;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::state::AppState;

/// The routes of this area (inside the setup gate).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/tokens", get(tokens::list))
        .route("/api/auth/revoke-token", post(tokens::revoke))
        .route("/api/grants", get(grants::list))
        .route("/api/grants/{client_id}", delete(grants::forget))
        .route("/api/oauth/clients", get(clients::list))
        .route("/api/oauth/clients/{client_id}", get(clients::show))
        .route(
            "/api/oauth/clients/{client_id}/approve",
            post(clients::approve),
        )
        .route("/api/users", get(users::list))
}

/// `Cache-Control: no-store` JSON.
pub fn json<T: serde::Serialize>(body: &T) -> axum::response::Response {
    crate::routes::signin::me::no_store(axum::Json(body))
}

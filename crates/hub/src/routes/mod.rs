//! HTTP routes, one module per area.

pub mod health;
pub mod ready;

use axum::Router;
use axum::routing::{any, get};

use crate::state::AppState;

/// Every route of the hub.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", any(health::health))
        .route("/api/ready", get(ready::ready).head(ready::ready))
        .with_state(state)
}

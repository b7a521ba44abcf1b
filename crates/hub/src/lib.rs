//! The hub HTTP server: health, readiness, discovery, JWKS, module operations API and reverse
//! proxy, plus the `serve` wiring that binds it and boots the supervisor.

pub mod auth;
pub mod boot;
pub mod config;
pub mod error;
pub mod operations;
pub mod packages;
pub mod routes;
pub mod serve;
pub mod state;

pub use config::{ConfigError, DEFAULT_PORT, ServeConfig};
pub use serve::{ServeError, serve};
pub use state::{AppState, HUB_VERSION};

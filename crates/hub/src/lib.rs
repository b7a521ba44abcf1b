//! The hub as a library: HTTP server (health, readiness, discovery, JWKS, module operations,
//! events, reverse proxy) and supervisor in one process, steered through a [`HubHandle`].
//!
//! Front ends (the `parachute` CLI's `serve`, the desktop app, tests) build a [`HubConfig`]
//! once, [`Hub::bind`] it, subscribe to its events, and [`Hub::run`] it until their shutdown
//! future resolves. Module operations go through [`service::ModuleService`], in process or over
//! HTTP (`/api/modules/*`), with the same rules.

pub mod auth;
pub mod boot;
pub mod config;
pub mod error;
pub mod events;
mod hub;
pub mod hub_origin;
pub mod operations;
pub mod packages;
pub mod routes;
pub mod serve;
pub mod server;
pub mod service;
pub mod state;
pub mod upgrade;
pub mod watch;
pub mod wire;

pub use config::{
    ConfigError, DEFAULT_PORT, HubConfig, RuntimeOptions, SeedAdmin, ToolPaths, UpgradeOptions,
};
pub use events::{EventBus, Subscription};
pub use hub::{Hub, HubHandle};
pub use routes::signin::{WindowLogin, WindowLoginError};
pub use serve::ServeError;
pub use service::{ModuleError, ModuleService, RestartKind};
pub use state::{AppState, HUB_VERSION};

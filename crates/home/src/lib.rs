//! The Parachute config home: paths, services.json, .env files and state files, written atomically.
//!
//! Everything under `PARACHUTE_HOME` (default `~/.parachute`) that the hub, the CLI and the
//! modules share goes through this crate, so the file formats stay compatible with the original
//! hub (release 0.6.3-rc.2) and every file we own is written atomically. A malformed file is
//! reported with its path and the fix, and never silently overwritten.

pub mod atomic;
pub mod cloudflared_state;
pub mod envfile;
pub mod error;
pub mod expose_last_provider;
pub mod expose_state;
pub mod hub_port;
mod json;
pub mod paths;
pub mod port;
pub mod services;

pub use atomic::write_atomic;
pub use cloudflared_state::{CloudflaredState, TunnelRecord};
pub use envfile::EnvFile;
pub use error::{HomeError, ServicesError, StateError};
pub use expose_last_provider::{ExposeLastProvider, Provider};
pub use expose_state::{EntryKind, ExposeEntry, ExposeState, ExposedVia, Layer, Mode};
pub use paths::Home;
pub use port::{BadPort, DEFAULT_HUB_PORT, parse_port};
pub use services::{
    CANONICAL_PORTS, LenientRead, Manifest, ModuleJson, PublicExposure, ServiceRow, StartCommand,
    StartErrorRecord,
};

/// The current time as the original stamps it (`2026-01-02T03:04:05.678Z`).
pub(crate) fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

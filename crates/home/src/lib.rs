//! The Parachute config home: paths, services.json, .env files and state files, written atomically.
//!
//! Everything under `PARACHUTE_HOME` (default `~/.parachute`) that the hub, the CLI and the
//! modules share goes through this crate, so the file formats stay compatible with the original
//! hub (release 0.6.3-rc.2) and every file we own is written atomically, private to its owner
//! (files `0600`, directories `0700`, whatever the umask). A malformed file is reported with its
//! path and the fix, and never silently overwritten. [`Home::check_not_writable_by_others`]
//! tells the hub when other users could change what it runs.

pub mod atomic;
pub mod cloudflared_state;
pub mod discovery;
pub mod envfile;
pub mod error;
pub mod expose_last_provider;
pub mod expose_state;
pub mod hub_port;
mod json;
pub mod module_origin;
pub mod paths;
pub mod permissions;
pub mod port;
pub mod services;
mod sweep;

pub use atomic::{PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, create_private_dir_all, write_atomic};
pub use cloudflared_state::{CloudflaredState, TunnelRecord};
pub use envfile::{EnvFile, SkippedLine, SpawnVars, read_spawn_vars};
pub use error::{HomeError, ServicesError, StateError};
pub use expose_last_provider::{ExposeLastProvider, Provider};
pub use expose_state::{EntryKind, ExposeEntry, ExposeState, ExposedVia, Layer, Mode};
pub use module_origin::{
    HUB_ORIGIN_VAR, ModuleOriginError, env_origin_of, origin_dependent_modules, write_module_origin,
};
pub use paths::Home;
pub use permissions::PermissionError;
pub use port::{BadPort, DEFAULT_HUB_PORT, parse_port};
pub use services::{
    CANONICAL_PORTS, LenientRead, Manifest, ModuleJson, PublicExposure, ServiceRow, StartCommand,
    StartErrorRecord,
};
pub use sweep::sweep_stale_temp_files;

/// The current time as the original stamps it (`2026-01-02T03:04:05.678Z`).
pub(crate) fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

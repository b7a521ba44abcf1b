//! Managed units: the hub under launchd or systemd, ensure-hub-up, and the desktop login item.
//!
//! The hub (`parachute serve`) survives reboots because a service manager keeps it alive: a
//! launchd LaunchAgent on macOS, a systemd unit on Linux, nothing at all in a container (the
//! container runtime runs `serve` itself). This crate
//!
//! - describes a unit ([`UnitSpec`]: the hub, or a cloudflared connector) and renders it
//!   ([`render_systemd`], [`render_launchd`]);
//! - installs, removes, starts, stops, restarts and queries it through `systemctl` /
//!   `launchctl` only ([`ManagedUnit`]) — never by signalling a pid, because the manager would
//!   resurrect a killed process (`Restart=always` / `KeepAlive`);
//! - brings the hub up on demand ([`ManagedUnit::ensure_hub_up`]) and installs it
//!   ([`ManagedUnit::install_and_start`]);
//! - disables stale per-module units left by older installs
//!   ([`ManagedUnit::disable_stale_module_units`]);
//! - registers the desktop app as a login item ([`LoginItem`]).
//!
//! # Where unit files go
//!
//! | manager | scope | directory | manager flag |
//! |---|---|---|---|
//! | systemd | user (uid ≠ 0) | `~/.config/systemd/user/` | `--user` |
//! | systemd | system (uid 0) | `/etc/systemd/system/` (unit runs as `User=<name>`) | none |
//! | launchd | agent | `~/Library/LaunchAgents/` | domain `gui/<uid>` |
//!
//! # Environment overrides
//!
//! [`UnitEnv::from_process`] reads three variables, meant for packaging and tests:
//!
//! - `PARACHUTE_UNIT_DIR=<dir>` — write unit files to `<dir>` instead of the directory above
//!   (a package build stages units in its own tree; tests keep everything in a temp dir). The
//!   fake `systemctl`/`launchctl` in the test package honour the same variable.
//! - `PARACHUTE_UNIT_SCOPE=user|system` — force a systemd user or system unit whatever the uid
//!   (tests run as root but want to exercise the user-unit path).
//! - `PARACHUTE_UNIT_MANAGER=systemd|launchd|none` — skip manager detection (a container image
//!   that ships `systemctl` but no running systemd sets `none`).
//!
//! # Logs
//!
//! The hub's stdout and stderr go to `$PARACHUTE_HOME/hub/logs/hub.log` under both managers:
//! launchd through `StandardOutPath`/`StandardErrorPath`, systemd through
//! `StandardOutput=append:`/`StandardError=append:`. One file on every platform means
//! `parachute logs hub` needs no journald access; the manager's own view (start, exit, crash
//! lines) stays in the journal and is shown next to the file's tail when a start times out.

#![warn(missing_docs)]

mod atomic;
mod ensure;
mod env;
mod error;
mod health;
mod login;
mod manager;
mod render;
mod spec;
mod stale;
mod state;

pub use ensure::{EnsureConfig, EnsureOutcome, InstallAndStartReport};
pub use env::{ManagerKind, ScopeOverride, UnitEnv, UnitScope};
pub use error::UnitError;
pub use health::probe_health;
pub use login::{LoginItem, LoginItemBackend, LoginItemConfig, LoginItemStatus, XdgAutostart};
pub use manager::{InstallOptions, InstallOutcome, ManagedUnit, OpOutcome, RemoveOutcome, UnitOp};
pub use render::{render_launchd, render_systemd};
pub use spec::{
    CloudflaredUnitConfig, CrashCeiling, HUB_LABEL, HUB_UNIT_NAME, HubUnitConfig, PARACHUTE_BINARY,
    UnitId, UnitSpec, parachute_binary,
};
pub use stale::StaleUnitReport;
pub use state::UnitState;

/// The provenance line at the top of every unit file we write.
pub const GENERATED_HEADER: &str =
    "Written by parachute; changes here are lost on the next install.";

//! Signed self-upgrade of the `parachute` binary, with a health gate and automatic rollback.
//!
//! A release is described by a minisign-signed feed per channel (`<feed>/latest.json`,
//! `<feed>/rc.json`; see [`feed`]). An upgrade of the hub goes:
//!
//! 1. **start** ([`Upgrader::start_upgrade`], or [`Upgrader::begin`] in the CLI): fetch and
//!    verify the feed, refuse a replayed feed, an up-to-date hub or an unasked-for downgrade,
//!    decide the mode (in place, or redeploy-required for a package-owned, container or
//!    unwritable binary), take the in-flight lock by writing `pending` to
//!    `hub-upgrade-status.json`, and (for the API) start the detached helper
//!    `parachute upgrade --apply <operation>` outside the hub's cgroup ([`launch`]);
//! 2. **apply** ([`Upgrader::apply`]): `downloading` to a temp file beside the binary with a
//!    size limit → `verifying` size, sha256, signature and that the new binary runs →
//!    `swapping` (previous kept as `<binary>.previous`, one rename) → `restarting` the hub unit
//!    exactly once, then the health gate ([`gate`]): `/health` must report the new version and
//!    `/api/ready` `booting: false` within the limit, else the previous binary is put back,
//!    restarted, and the operation ends `rolled-back` with the reason. Without a unit the
//!    verified swap is the end (`succeeded`, "restart the hub to run it").
//! 3. **status** ([`Upgrader::status`]): the status file, after resolving an operation whose
//!    upgrader died or whose lock expired ([`resolve`]).
//!
//! # Configuration
//!
//! The entry point reads its environment once: [`UpgradeSettings::from_vars`] (the hub's
//! `HubConfig::from_vars` keeps them; the CLI's `upgrade` verb reads them when it starts), then
//! [`UpgradeConfig::new`] binds them to a home and a port. Nothing here reads the process
//! environment.
//!
//! # In the hub
//!
//! `crates/hub/src/upgrade/` builds one [`Upgrader`] (marked [`Upgrader::inside_hub`]) and
//! `crates/hub/src/routes/upgrade.rs` mounts it: `POST /api/hub/upgrade` calls
//! [`Upgrader::start_upgrade`] (202 with [`Started`]; an error answers
//! [`UpgradeError::http_status`] with `{"error": code(), "error_description": …}`, 409
//! `upgrade_in_flight` while one runs), `GET /api/hub/upgrade/status` answers
//! [`Upgrader::status`] (404 `not_found` for `None`), and `POST /api/hub/upgrade/check` calls
//! [`Upgrader::check`], whose answer `GET /api/hub` shows from then on (it never fetches the
//! feed itself). The status file the helper writes is watched and becomes `hub_upgrade`
//! events.

#![warn(missing_docs)]

mod apply;
pub mod config;
pub mod error;
pub mod feed;
pub mod fetch;
pub mod gate;
pub mod launch;
pub mod mode;
pub mod prefs;
pub mod progress;
pub mod resolve;
pub mod signature;
mod start;
pub mod status;
pub mod swap;
pub mod version;

use std::sync::Arc;

use parachute_os::CommandRunner;
use parachute_unit::ManagedUnit;

pub use config::{DEFAULT_FEED_URL, Hold, RELEASE_PUBLIC_KEY, UpgradeConfig, UpgradeSettings};
pub use error::UpgradeError;
pub use launch::HelperLaunch;
pub use mode::Redeploy;
pub use progress::{NoProgress, Progress, ProgressSink};
pub use start::{CheckReport, StartRequest, Started};
pub use status::{Mode, Phase, RestartKind, StatusStore, UpgradeStatus};
pub use version::{Channel, channel_for_version};

/// Runs hub upgrades for one home with one configuration.
pub struct Upgrader {
    /// The settings, read once at the entry point.
    config: UpgradeConfig,
    /// The key releases must be signed with.
    key: signature::TrustedKey,
    /// Restarts the hub unit.
    units: ManagedUnit,
    /// Runs `dpkg`, `systemd-run` and the new binary's `--version`.
    runner: Arc<dyn CommandRunner>,
    /// The status file.
    store: StatusStore,
    /// Fetches the feed and the binary.
    http: reqwest::Client,
    /// False inside the hub: resolving a dead upgrade there must never restart the hub that
    /// is answering the request.
    may_restart_hub: bool,
}

impl std::fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrader")
            .field("config", &self.config)
            .field("key", &self.key)
            .field("units", &self.units)
            .finish_non_exhaustive()
    }
}

impl Upgrader {
    /// An upgrader with `config`, restarting through `units`, running tools with `runner`.
    pub fn new(
        config: UpgradeConfig,
        units: ManagedUnit,
        runner: Arc<dyn CommandRunner>,
    ) -> Result<Self, UpgradeError> {
        let key = signature::TrustedKey::parse(&config.public_key)
            .map_err(|e| UpgradeError::Config(format!("the release public key: {e}")))?;
        Ok(Self {
            store: StatusStore::for_home(&config.home),
            http: fetch::http_client()?,
            config,
            key,
            units,
            runner,
            may_restart_hub: true,
        })
    }

    /// Marks this upgrader as running inside the hub's own process.
    pub fn inside_hub(mut self) -> Self {
        self.may_restart_hub = false;
        self
    }

    /// The settings.
    pub fn config(&self) -> &UpgradeConfig {
        &self.config
    }

    /// The status file.
    pub fn store(&self) -> &StatusStore {
        &self.store
    }

    /// The last upgrade's status (`None` when there was none), after resolving an operation
    /// whose upgrader is gone or whose lock expired.
    pub async fn status(&self) -> Result<Option<UpgradeStatus>, UpgradeError> {
        resolve::resolve_stale(self).await
    }
}

//! The hub's side of its own upgrade: the [`parachute_upgrade::Upgrader`] its routes use, the
//! cached answer to "is there a newer hub?", and the upgrade's progress as events.
//!
//! - **Upgrades** are `parachute_upgrade`'s: `POST /api/hub/upgrade` starts one (a detached
//!   helper outside the hub's process and cgroup does the work), `GET /api/hub/upgrade/status`
//!   reads `hub-upgrade-status.json` (see [`crate::routes::upgrade`]).
//! - **Update checks** ([`check`]) fetch and verify the signed feed, never the binary. `GET
//!   /api/hub` only shows the last answer; a check runs when asked (`POST
//!   /api/hub/upgrade/check`) or every [`crate::config::UpgradeOptions::check_interval`], the
//!   first one an interval (at most an hour) after the start — so a hub that lives a few
//!   minutes, as in tests, never fetches the feed unasked.
//! - **Progress** ([`progress`]): whoever writes the status file (this hub, the detached
//!   helper, the CLI), the home watcher ([`crate::watch`]) sees it replaced and
//!   [`HubUpgrades::status_changed`] emits a `hub_upgrade` event when it says something new.

pub mod check;
pub mod progress;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parachute_os::CommandRunner;
use parachute_protocol::{HubEvent, HubUpdate, HubUpgradeProgress};
use parachute_unit::ManagedUnit;
use parachute_upgrade::{StatusStore, UpgradeConfig, UpgradeError, Upgrader};

use crate::config::HubConfig;
use crate::state::{AppState, HUB_VERSION};

/// The upgrade machinery of one hub. Shared through [`AppState::upgrades`].
pub struct HubUpgrades {
    /// Runs upgrades and checks; an error (the running binary cannot be found, …) is
    /// answered by the routes as `500 upgrade_misconfigured`.
    upgrader: Result<Upgrader, String>,
    /// `hub-upgrade-status.json`, read for events even when the upgrader could not be built.
    store: StatusStore,
    /// The last answer to "is there a newer hub?".
    update: check::UpdateCache,
    /// How often to check by itself (`None`: only when asked).
    check_interval: Option<Duration>,
    /// The progress last announced, so an unchanged rewrite announces nothing.
    last_progress: Mutex<Option<HubUpgradeProgress>>,
}

impl std::fmt::Debug for HubUpgrades {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubUpgrades")
            .field("upgrader", &self.upgrader)
            .field("check_interval", &self.check_interval)
            .finish_non_exhaustive()
    }
}

impl HubUpgrades {
    /// The upgrade machinery for the hub of `config`, bound to `port`, running tools (the
    /// service manager, `systemd-run`, `dpkg`) with `runner`.
    pub fn new(config: &HubConfig, port: u16, runner: Arc<dyn CommandRunner>) -> Self {
        let options = &config.upgrade;
        let upgrader = UpgradeConfig::new(
            config.home.clone(),
            HUB_VERSION,
            options.settings.clone(),
            Some(port),
        )
        .and_then(|cfg| {
            let units = ManagedUnit::detect(runner.clone(), options.units.clone());
            Upgrader::new(cfg, units, runner)
        })
        .map(Upgrader::inside_hub)
        .map_err(|e| e.to_string());
        if let Err(err) = &upgrader {
            tracing::warn!(%err, "hub upgrades are unavailable");
        }
        let store = StatusStore::for_home(&config.home);
        let last = store.read().ok().flatten().map(|s| progress::of_status(&s));
        Self {
            upgrader,
            store,
            update: check::UpdateCache::default(),
            check_interval: options.check_interval,
            last_progress: Mutex::new(last),
        }
    }

    /// The upgrader, or why there is none.
    pub fn upgrader(&self) -> Result<&Upgrader, &str> {
        self.upgrader.as_ref().map_err(String::as_str)
    }

    /// The last answer to "is there a newer hub?" (no check yet: `available: false`,
    /// `checked_at: null`). Never fetches anything.
    pub fn update(&self) -> HubUpdate {
        self.update
            .current()
            .unwrap_or_else(|| check::unchecked(self.upgrader.as_ref().ok()))
    }

    /// Checks the feed now (one check at a time: a caller that waited for another's check gets
    /// its answer), remembers the answer and announces it.
    pub async fn check_now(&self, state: &AppState) -> Result<HubUpdate, UpgradeError> {
        let upgrader = self
            .upgrader
            .as_ref()
            .map_err(|e| UpgradeError::Config(e.clone()))?;
        let (update, outcome) = self.update.refresh(upgrader).await;
        state.emit(HubEvent::UpdateChecked {
            update: update.clone(),
        });
        outcome.map(|()| update)
    }

    /// Re-reads the status file after it was replaced and announces what changed. A file that
    /// cannot be read is logged (it names itself and the fix) and announces nothing.
    pub fn status_changed(&self, state: &AppState) {
        let status = match self.store.read() {
            Ok(Some(status)) => status,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%err, "cannot read the hub upgrade status");
                return;
            }
        };
        let now = progress::of_status(&status);
        {
            let mut last = self.last_progress.lock().expect("progress lock");
            if last.as_ref() == Some(&now) {
                return;
            }
            *last = Some(now.clone());
        }
        state.emit(HubEvent::HubUpgrade { upgrade: now });
    }
}

/// Checks the feed every [`crate::config::UpgradeOptions::check_interval`] until the hub
/// stops (nothing when checks are off). The first check waits one interval, at most an hour.
pub fn spawn_checks(state: AppState) {
    let Some(interval) = state.upgrades().check_interval else {
        return;
    };
    let interval = interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let stopping = state.stopping();
        tokio::pin!(stopping);
        let mut wait = interval.min(Duration::from_secs(60 * 60));
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut stopping => return,
            }
            if let Err(err) = state.upgrades().check_now(&state).await {
                tracing::info!(%err, "the scheduled update check failed");
            }
            wait = interval;
        }
    });
}

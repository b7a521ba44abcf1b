//! Checking for an update and starting an upgrade.
//!
//! Start steps: resolve the channel (asked > remembered > the installed version's) → fetch and
//! verify the feed → refuse up-to-date and unasked downgrades → decide the mode → under the
//! status lock: resolve a stale operation, refuse a live one (`upgrade_in_flight`), write
//! `pending` (or `redeploy-required`, which ends there) → for the API, start the helper.

use serde::Serialize;

use crate::error::UpgradeError;
use crate::feed::Release;
use crate::fetch::{FeedRequest, fetch_release};
use crate::launch::HelperLaunch;
use crate::mode::{self, Redeploy};
use crate::status::{Mode, Phase, RestartKind, UpgradeStatus, Upgrader as Owner, now_iso};
use crate::version::{self, Channel, Direction, channel_for_version};
use crate::{Upgrader, prefs, resolve};

/// What the caller asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartRequest {
    /// The channel (`None`: the remembered one, else the installed version's).
    pub channel: Option<Channel>,
    /// Accept a feed that names an older version.
    pub allow_downgrade: bool,
}

/// An accepted upgrade: the API's 202 body (the original's keys first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    /// The operation's id.
    pub operation_id: String,
    /// The version it installs.
    pub target_version: String,
    /// The channel it follows.
    pub channel: Channel,
    /// In place, or redeploy-required (nothing runs; see `redeploy`).
    pub mode: Mode,
    /// The version running now.
    pub current_version: String,
    /// How the new binary gets to run (`None` for redeploy-required).
    pub restart: Option<RestartKind>,
    /// Why and how to upgrade a redeploy-required install.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeploy: Option<RedeployBody>,
    /// The release notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// How the detached helper was started (API starts only).
    #[serde(skip)]
    pub helper: Option<HelperLaunch>,
}

/// The redeploy answer as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedeployBody {
    /// Why.
    pub reason: String,
    /// What upgrades it.
    pub command: String,
}

/// Whether an update is available (nothing downloaded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The version running now.
    pub current_version: String,
    /// The channel read.
    pub channel: Channel,
    /// The version the channel offers.
    pub latest_version: String,
    /// When it was published.
    pub pub_date: String,
    /// Its notes.
    pub notes: Option<String>,
    /// True when it is newer than the running version.
    pub update_available: bool,
    /// True when it is older (only an explicit `--allow-downgrade` would install it).
    pub downgrade: bool,
}

impl Upgrader {
    /// The channel to follow: asked, else remembered, else the installed version's.
    pub fn channel_for(&self, asked: Option<Channel>) -> Result<Channel, UpgradeError> {
        if let Some(c) = asked {
            return Ok(c);
        }
        Ok(prefs::read(&self.config.home)?
            .channel
            .unwrap_or_else(|| channel_for_version(&self.config.current_version)))
    }

    async fn release(&self, channel: Channel) -> Result<Release, UpgradeError> {
        let req = FeedRequest {
            feed_url: &self.config.feed_url,
            key: &self.key,
            channel,
            platform: &self.config.platform,
            max_size: self.config.max_download_bytes,
        };
        fetch_release(&self.http, &self.config.home, req).await
    }

    /// Whether the channel offers a newer version (fetches and verifies the feed only).
    pub async fn check(&self, channel: Option<Channel>) -> Result<CheckReport, UpgradeError> {
        let channel = self.channel_for(channel)?;
        let release = self.release(channel).await?;
        let direction = version::direction(&self.config.current_version, release.version());
        Ok(CheckReport {
            current_version: self.config.current_version.clone(),
            channel,
            latest_version: release.version().to_string(),
            pub_date: release.feed.pub_date.clone(),
            notes: release.feed.notes.clone(),
            update_available: matches!(direction, Some(Direction::Upgrade) | None),
            downgrade: direction == Some(Direction::Downgrade),
        })
    }

    /// Starts an upgrade run by a detached helper (`parachute upgrade --apply <id>`) outside
    /// the hub's process and cgroup. What the hub's `POST /api/hub/upgrade` calls.
    pub async fn start_upgrade(&self, req: &StartRequest) -> Result<Started, UpgradeError> {
        let mut started = self.prepare(req, None).await?;
        if started.mode == Mode::RedeployRequired {
            return Ok(started);
        }
        let exe = crate::config::running_executable()?;
        let restart = started.restart.unwrap_or(RestartKind::Manual);
        match crate::launch::launch(
            self.runner.as_ref(),
            &self.units,
            restart,
            &self.config.home,
            &exe,
            &started.operation_id,
            &self.config.helper_env,
        ) {
            Ok(helper) => {
                tracing::info!(operation = %started.operation_id, ?helper, "upgrade helper started");
                started.helper = Some(helper);
                Ok(started)
            }
            Err(e) => {
                let _ = self.store.update(&started.operation_id, |s| {
                    s.finish(Phase::Failed, format!("{e}; nothing was changed"))
                });
                Err(e)
            }
        }
    }

    /// Starts an upgrade this process runs itself with [`Upgrader::apply`] (the CLI).
    pub async fn begin(&self, req: &StartRequest) -> Result<Started, UpgradeError> {
        self.prepare(req, Some(Owner::this_process())).await
    }

    async fn prepare(
        &self,
        req: &StartRequest,
        owner: Option<Owner>,
    ) -> Result<Started, UpgradeError> {
        let channel = self.channel_for(req.channel)?;
        // A dead upgrade is resolved (and a live one refused) before the network is asked.
        resolve::refuse_in_flight(self).await?;
        let release = self.release(channel).await?;
        let current = &self.config.current_version;
        match version::direction(current, release.version()) {
            Some(Direction::Same) => {
                return Err(UpgradeError::UpToDate {
                    version: current.clone(),
                    channel: channel.to_string(),
                });
            }
            Some(Direction::Downgrade) if !req.allow_downgrade => {
                return Err(UpgradeError::Downgrade {
                    current: current.clone(),
                    target: release.version().to_string(),
                    channel: channel.to_string(),
                });
            }
            _ => {}
        }
        let binary = &self.config.binary;
        let user = &self.units.env().user_name;
        let placement = mode::in_place(self.runner.as_ref(), &self.config.home, binary, user);
        let restart = match &placement {
            Ok(()) => Some(mode::restart_kind(&self.units, binary)?),
            Err(_) => None,
        };
        let mut status = self.new_status(channel, &release, restart, owner);
        if let Err(redeploy) = &placement {
            mark_redeploy(&mut status, redeploy);
        }
        {
            let _guard = self.store.lock()?;
            if let Some(live) = self.store.read()?.filter(UpgradeStatus::in_flight) {
                return Err(resolve::in_flight_error(&live));
            }
            self.store.write(&status)?;
        }
        if req.channel.is_some() {
            prefs::remember_channel(&self.config.home, channel)?;
        }
        Ok(Started {
            operation_id: status.operation_id.clone(),
            target_version: release.version().to_string(),
            channel,
            mode: status.mode,
            current_version: current.clone(),
            restart,
            redeploy: placement.err().map(|r| RedeployBody {
                reason: r.reason,
                command: r.command,
            }),
            notes: release.feed.notes.clone(),
            helper: None,
        })
    }

    fn new_status(
        &self,
        channel: Channel,
        release: &Release,
        restart: Option<RestartKind>,
        owner: Option<Owner>,
    ) -> UpgradeStatus {
        let mut status = UpgradeStatus {
            operation_id: uuid::Uuid::new_v4().simple().to_string(),
            phase: Phase::Pending,
            mode: Mode::InPlace,
            current_version: self.config.current_version.clone(),
            target_version: Some(release.version().to_string()),
            channel,
            log: vec![format!(
                "upgrade {} → {} accepted ({} channel, {})",
                self.config.current_version,
                release.version(),
                channel,
                release.platform
            )],
            error: None,
            started_at: now_iso(),
            finished_at: None,
            bytes_done: 0,
            bytes_total: release.artifact().size,
            previous_binary: None,
            reason: None,
            binary: Some(self.config.binary.display().to_string()),
            target_sha256: Some(release.artifact().sha256.to_lowercase()),
            restart,
            hub_port: Some(self.config.hub_port),
            redeploy_command: None,
            upgrader: owner,
            lock_expires_at: None,
            other: Default::default(),
        };
        status.renew_lock(self.config.lock_ttl);
        status
    }
}

fn mark_redeploy(status: &mut UpgradeStatus, redeploy: &Redeploy) {
    status.mode = Mode::RedeployRequired;
    status.phase = Phase::RedeployRequired;
    status.log.push(redeploy.reason.clone());
    status.reason = Some(redeploy.reason.clone());
    status.redeploy_command = Some(redeploy.command.clone());
    status.finished_at = Some(now_iso());
    status.lock_expires_at = None;
}

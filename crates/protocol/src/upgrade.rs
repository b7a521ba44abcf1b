//! The hub's self-upgrade on the wire: whether an update is available (`GET /api/hub`'s
//! `update`, `POST /api/hub/upgrade/check`), an accepted upgrade (`POST /api/hub/upgrade`,
//! 202), its status (`GET /api/hub/upgrade/status`, the original's keys plus ours) and its
//! progress events.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::modules_list::Channel;

/// Where a hub upgrade is. Phases move forward only:
/// `pending → downloading → verifying → swapping → restarting → succeeded | rolled-back`, any of
/// them `→ failed`; `redeploy-required` ends an upgrade that cannot run in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradePhase {
    /// Accepted; the upgrader has not started downloading.
    Pending,
    /// The original hub's word for "the helper is working" (never written by ours).
    Running,
    /// Fetching the new binary (`bytes_done` of `bytes_total`).
    Downloading,
    /// Checking size, hash and signature, and that the new binary runs.
    Verifying,
    /// Keeping the previous binary and putting the new one in place.
    Swapping,
    /// Restarting the hub unit and waiting for the new hub to prove itself.
    Restarting,
    /// The new version answers (or, without a unit, is in place for the next start).
    Succeeded,
    /// Stopped without changing the running hub; `error` says why.
    Failed,
    /// The new hub did not prove itself; the previous binary was put back and restarted.
    RolledBack,
    /// This install cannot be upgraded in place; `redeploy_command` says what upgrades it.
    RedeployRequired,
}

impl UpgradePhase {
    /// True once nothing more will happen to the operation.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::RolledBack | Self::RedeployRequired
        )
    }
}

/// Whether the binary is replaced in place or must come from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeMode {
    /// The binary is replaced where it is.
    InPlace,
    /// The package manager or image that installed it must deliver the new version.
    RedeployRequired,
}

/// How the new binary gets to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeRestart {
    /// The hub unit is restarted through its manager, then health-gated (rollback promised).
    Unit,
    /// No unit: the person who started the hub restarts it.
    Manual,
}

/// Whether a newer hub is offered on the channel an upgrade would follow (nothing downloaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubUpdate {
    /// True when the channel offers a version newer than the running one.
    pub available: bool,
    /// The version the channel offers (`null` until a check succeeded).
    #[serde(default)]
    pub version: Option<String>,
    /// The channel read: the remembered one, else the running version's.
    pub channel: Channel,
    /// When the feed was last asked (ISO 8601; `null`: never since the hub started).
    #[serde(default)]
    pub checked_at: Option<String>,
    /// When the offered version was published.
    #[serde(default)]
    pub pub_date: Option<String>,
    /// Its release notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// True when the channel offers an older version (only an explicit downgrade installs it).
    #[serde(default)]
    pub downgrade: bool,
    /// Why the last check failed (the feed unreachable, a bad signature, …).
    #[serde(default)]
    pub error: Option<String>,
}

/// How to upgrade an install that cannot upgrade itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RedeployAdvice {
    /// Why it cannot upgrade in place.
    pub reason: String,
    /// What upgrades it.
    pub command: String,
}

/// `POST /api/hub/upgrade` → 202: the original's four keys, then ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubUpgradeAccepted {
    /// The operation to follow in `GET /api/hub/upgrade/status` and `hub_upgrade` events.
    pub operation_id: String,
    /// The version it installs.
    pub target_version: String,
    /// The channel it follows.
    pub channel: Channel,
    /// In place, or redeploy-required (nothing runs; see `redeploy`).
    pub mode: UpgradeMode,
    /// The version running now.
    #[serde(default)]
    pub current_version: Option<String>,
    /// How the new binary gets to run (`null` for redeploy-required).
    #[serde(default)]
    pub restart: Option<UpgradeRestart>,
    /// Why and how to upgrade a redeploy-required install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy: Option<RedeployAdvice>,
    /// The release notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `GET /api/hub/upgrade/status`: the last hub upgrade (`hub-upgrade-status.json`), in the
/// original's keys (`operation_id` … `finished_at`) plus ours. Keys this type does not name
/// (the upgrader's pid, a newer hub's) may be present and are ignored; `error`,
/// `finished_at` and `redeploy_command` are absent until they apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubUpgradeStatus {
    /// Random id of the operation.
    pub operation_id: String,
    /// Where it is.
    pub phase: UpgradePhase,
    /// In place or redeploy.
    pub mode: UpgradeMode,
    /// The version running when it started.
    pub current_version: String,
    /// The version it installs (`null` when unknown).
    #[serde(default)]
    pub target_version: Option<String>,
    /// The channel it follows.
    pub channel: Channel,
    /// Progress lines for a person, oldest first.
    #[serde(default)]
    pub log: Vec<String>,
    /// Why it failed or rolled back.
    #[serde(default)]
    #[ts(optional)]
    pub error: Option<String>,
    /// When it was accepted (ISO 8601).
    pub started_at: String,
    /// When it ended.
    #[serde(default)]
    #[ts(optional)]
    pub finished_at: Option<String>,
    /// Bytes downloaded so far.
    #[serde(default)]
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Bytes to download (0 until known).
    #[serde(default)]
    #[ts(type = "number")]
    pub bytes_total: u64,
    /// Where the previous binary is kept once the swap began.
    #[serde(default)]
    pub previous_binary: Option<String>,
    /// One sentence on how it ended (or what to do next).
    #[serde(default)]
    pub reason: Option<String>,
    /// The binary being replaced.
    #[serde(default)]
    pub binary: Option<String>,
    /// How the new binary gets to run.
    #[serde(default)]
    pub restart: Option<UpgradeRestart>,
    /// The command that upgrades a redeploy-required install.
    #[serde(default)]
    #[ts(optional)]
    pub redeploy_command: Option<String>,
    /// When the in-flight lock lapses without progress (`null` once it ended).
    #[serde(default)]
    pub lock_expires_at: Option<String>,
}

/// A hub upgrade moved on: what the `hub_upgrade` event carries (read from the status file,
/// whoever wrote it: the hub, the detached helper or the CLI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubUpgradeProgress {
    /// The operation.
    pub operation_id: String,
    /// Where it is now.
    pub phase: UpgradePhase,
    /// The version running when it started.
    pub current_version: String,
    /// The version it installs.
    #[serde(default)]
    pub target_version: Option<String>,
    /// Bytes downloaded so far.
    #[serde(default)]
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Bytes to download (0 until known).
    #[serde(default)]
    #[ts(type = "number")]
    pub bytes_total: u64,
    /// The newest progress line.
    #[serde(default)]
    pub message: Option<String>,
    /// How it ended (terminal phases).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/modules/{short}/upgrade` body (every member optional; an empty body is `{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ModuleUpgradeRequest {
    /// The dist-tag to install from (else the pinned or stored install channel, else the
    /// channel of the installed version: `-rc.N` follows `rc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub channel: Option<Channel>,
    /// Install even when the channel's version is older than the installed one (the hub
    /// reads an absent member as `false`).
    #[serde(default)]
    pub allow_downgrade: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_read_the_status_file_words() {
        for (word, phase) in [
            ("pending", UpgradePhase::Pending),
            ("rolled-back", UpgradePhase::RolledBack),
            ("redeploy-required", UpgradePhase::RedeployRequired),
        ] {
            let read: UpgradePhase = serde_json::from_value(word.into()).unwrap();
            assert_eq!(read, phase);
            assert_eq!(serde_json::to_value(phase).unwrap(), word);
        }
        assert!(UpgradePhase::RolledBack.is_terminal());
        assert!(!UpgradePhase::Restarting.is_terminal());
    }

    #[test]
    fn an_original_hub_status_reads() {
        // What the original hub writes: its keys only, phase `restarting` forever.
        let text = r#"{"operation_id":"5d1f","phase":"restarting","mode":"in-place",
            "current_version":"0.6.3-rc.2","target_version":null,"channel":"rc",
            "log":["accepted hub-upgrade (in-place)"],"started_at":"2026-06-01T10:00:00.000Z"}"#;
        let status: HubUpgradeStatus = serde_json::from_str(text).unwrap();
        assert_eq!(status.phase, UpgradePhase::Restarting);
        assert_eq!(status.channel, Channel::Rc);
        assert_eq!(status.bytes_total, 0);
        assert_eq!(status.restart, None);
    }
}

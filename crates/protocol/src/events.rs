//! Change events: what `HubHandle::subscribe` delivers in process and `GET /api/events`
//! streams as server-sent events (`id: <seq>`, `event: <type>`, `data: <json of the event>`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::exposure::ExposureSnapshot;
use crate::hub::{AdminState, BootProgress};
use crate::module::{ExitInfo, ModuleState};
use crate::modules_list::Channel;
use crate::operation::Operation;
use crate::upgrade::{HubUpdate, HubUpgradeProgress};

/// Something that changed in the hub, at the place it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubEvent {
    /// The hub listens and accepts connections.
    Listening {
        /// The port it listens on.
        port: u16,
        /// Its version.
        version: String,
        /// Whether an admin exists.
        admin: AdminState,
    },
    /// Boot handed another row to the supervisor (or skipped it).
    BootProgress {
        /// Progress so far.
        progress: BootProgress,
    },
    /// A module's state changed (status, pid, readiness or start error).
    ModuleState {
        /// The new state.
        state: ModuleState,
    },
    /// A module crashed too often in a row and waits for an operator.
    CrashLoop {
        /// The module.
        short: String,
        /// What happened, with its last output.
        reason: String,
        /// How it last exited.
        #[serde(default)]
        exit: Option<ExitInfo>,
    },
    /// Module output could not be written to the hub's stdout and was dropped there (the log
    /// file, the ring buffer and the log API have every line).
    OutputDropped {
        /// Lines dropped since the last such event.
        #[ts(type = "number")]
        count: u64,
    },
    /// An install, upgrade or uninstall moved on (new status or new log lines).
    Operation {
        /// The operation as it stands now.
        operation: Operation,
    },
    /// `services.json` changed (written by the hub, the CLI or a module).
    ServicesChanged {
        /// The module short names it now lists.
        modules: Vec<String>,
    },
    /// What is exposed changed (`expose-state.json` or `cloudflared-state.json` rewritten).
    ExposureChanged {
        /// The exposure now.
        exposure: ExposureSnapshot,
    },
    /// The module install channel setting changed.
    ChannelChanged {
        /// The stored setting.
        channel: Channel,
    },
    /// The canonical hub origin setting changed (`null`: cleared).
    HubOriginChanged {
        /// The new setting.
        #[serde(default)]
        hub_origin: Option<String>,
    },
    /// A hub self-upgrade moved on (a new phase, download progress, its end), whoever runs it:
    /// read from `hub-upgrade-status.json`, so the detached helper's progress shows too.
    HubUpgrade {
        /// The upgrade as it stands now.
        upgrade: HubUpgradeProgress,
    },
    /// The release feed was checked: whether a newer hub is offered now.
    UpdateChecked {
        /// The answer.
        update: HubUpdate,
    },
    /// Something a person should know about that is not a state change (a skipped
    /// `services.json` row, a boot step); the CLI prints these as `[<source>] <message>`.
    Notice {
        /// Who says it (`supervisor`, `hub`).
        source: String,
        /// `info` or `warn`.
        level: String,
        /// The sentence.
        message: String,
    },
    /// This subscriber fell behind and missed events; re-read the state it shows.
    Lagged {
        /// How many events it missed.
        #[ts(type = "number")]
        missed: u64,
    },
    /// The hub is shutting down; the stream ends.
    Stopping,
}

impl HubEvent {
    /// The event's `type` word (the SSE `event:` field).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Listening { .. } => "listening",
            Self::BootProgress { .. } => "boot_progress",
            Self::ModuleState { .. } => "module_state",
            Self::CrashLoop { .. } => "crash_loop",
            Self::OutputDropped { .. } => "output_dropped",
            Self::Operation { .. } => "operation",
            Self::ServicesChanged { .. } => "services_changed",
            Self::ExposureChanged { .. } => "exposure_changed",
            Self::ChannelChanged { .. } => "channel_changed",
            Self::HubOriginChanged { .. } => "hub_origin_changed",
            Self::HubUpgrade { .. } => "hub_upgrade",
            Self::UpdateChecked { .. } => "update_checked",
            Self::Notice { .. } => "notice",
            Self::Lagged { .. } => "lagged",
            Self::Stopping => "stopping",
        }
    }
}

/// An event with its place in the hub's sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EventEnvelope {
    /// Increases by one per event the hub emits (a gap means events were missed).
    #[ts(type = "number")]
    pub seq: u64,
    /// When it was emitted (epoch ms).
    #[ts(type = "number")]
    pub at: u64,
    /// What happened.
    pub event: HubEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_type_word() {
        let event = HubEvent::Lagged { missed: 3 };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], event.kind());
        assert_eq!(json["missed"], 3);
        let back: HubEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(
            serde_json::to_value(HubEvent::Stopping).unwrap()["type"],
            "stopping"
        );
    }
}

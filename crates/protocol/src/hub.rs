//! The hub itself: health, readiness, what is running, and the whole-hub snapshot.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::exposure::ExposureSnapshot;
use crate::module::ModuleState;
use crate::upgrade::HubUpdate;

/// `GET /health`: `{"status":"ok","service":"parachute-hub","version":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Health {
    /// Always `ok` while the hub answers.
    pub status: String,
    /// Always `parachute-hub`.
    pub service: String,
    /// The hub's version.
    pub version: String,
}

/// `GET /api/ready`, always 200 (as the original): callers read `ready`.
///
/// A module is *ready* once it accepts connections on its port, *transient* while it is being
/// spawned or respawned or has not bound yet, and *persistent* when it is stopped, crashed or
/// flagged as started-but-unbound. `ready` is true only when boot has finished and every module
/// is ready (nothing transient, nothing down) — the original's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Ready {
    /// Boot finished and every module is up.
    pub ready: bool,
    /// Ours: true until every `services.json` row has been handed to the supervisor. The
    /// upgrade's health gate uses this (stopped modules do not count against a hub).
    #[serde(default)]
    pub booting: bool,
    /// Modules answering on their port.
    #[serde(default)]
    pub ready_modules: Vec<String>,
    /// Modules on their way up.
    #[serde(default)]
    pub transient_modules: Vec<String>,
    /// Modules that stay down until someone acts.
    #[serde(default)]
    pub persistent_modules: Vec<String>,
}

/// How far boot has got: rows handed to the supervisor out of all rows to boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct BootProgress {
    /// Rows in `services.json` that boot looks at.
    pub total: u32,
    /// Rows dealt with so far (started, or skipped as CLI-only or unresolvable).
    pub done: u32,
    /// True once every row is dealt with.
    pub finished: bool,
}

/// Whether the hub has an admin account (what the setup gate and the first-run page need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum AdminState {
    /// An admin existed when the hub started.
    Exists,
    /// Created at start from `PARACHUTE_INITIAL_ADMIN_USERNAME`/`_PASSWORD`.
    Seeded,
    /// No admin yet: `/api/*` answers 503 `setup_required` until one is created.
    NeedsSetup,
}

impl AdminState {
    /// `exists`, `seeded` or `needs-setup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exists => "exists",
            Self::Seeded => "seeded",
            Self::NeedsSetup => "needs-setup",
        }
    }
}

/// `GET /api/hub`: what is running, since when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubInfo {
    /// The hub's version.
    pub version: String,
    /// When this hub process started serving (ISO 8601).
    #[serde(default)]
    pub started_at: Option<String>,
    /// How long it has been serving.
    #[serde(default)]
    #[ts(type = "number")]
    pub uptime_ms: u64,
    /// `binary`, `desktop` (embedded in the desktop app) or `container`.
    #[serde(default)]
    pub source: String,
    /// The executable serving.
    #[serde(default)]
    pub executable: Option<String>,
    /// Its pid.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The port it listens on.
    #[serde(default)]
    pub port: Option<u16>,
    /// The config home it serves.
    #[serde(default)]
    pub parachute_home: Option<String>,
    /// How many modules the supervisor has entries for.
    #[serde(default)]
    pub modules: u32,
    /// Build time of a container image (`PARACHUTE_BUILD_TIME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_build_time: Option<String>,
    /// Render's commit, in a Render container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_commit: Option<String>,
    /// Render's branch, in a Render container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_branch: Option<String>,
    /// Ours: whether a newer hub is offered, from the last check of the release feed (the
    /// hub never fetches the feed to answer this; `POST /api/hub/upgrade/check` asks now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<HubUpdate>,
}

/// Everything a front end shows about a running hub, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HubSnapshot {
    /// The hub process.
    pub hub: HubInfo,
    /// Whether an admin exists.
    pub admin: AdminState,
    /// Every supervised module, in start order.
    pub modules: Vec<ModuleState>,
    /// What is exposed, from the state files.
    pub exposure: ExposureSnapshot,
    /// How far boot has got.
    pub boot: BootProgress,
}

//! `GET /api/modules`: every module the hub knows, installed or not, with its live state.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::module::{ModuleStatus, StartError};

/// The package channel modules install from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Stable releases (`@latest`).
    Latest,
    /// Release candidates (`@rc`).
    Rc,
}

impl Channel {
    /// `latest` or `rc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::Rc => "rc",
        }
    }

    /// Parses `latest` / `rc` (surrounding whitespace ignored; otherwise exactly, as the
    /// original does: the channel becomes part of a URL and a package spec).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "latest" => Some(Self::Latest),
            "rc" => Some(Self::Rc),
            _ => None,
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user interface a module declares (`uis` in `services.json`), in snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UiEntry {
    /// The slug (its key in `uis`).
    pub name: String,
    /// What to call it.
    pub display_name: String,
    /// Where it is served, under the hub.
    #[serde(default)]
    pub path: Option<String>,
    /// One line about it.
    #[serde(default)]
    pub tagline: Option<String>,
    /// Its icon.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Its version.
    #[serde(default)]
    pub version: Option<String>,
    /// The OAuth client it signs in with.
    #[serde(default)]
    pub oauth_client_id: Option<String>,
    /// `active|pending|inactive|failing` (the original's aliases normalised).
    #[serde(default)]
    pub status: Option<String>,
}

/// One entry of `GET /api/modules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModuleSummary {
    /// Short name (`vault`, a third-party row name, …).
    pub short: String,
    /// Its `services.json` row name, when installed.
    #[serde(default)]
    pub name: Option<String>,
    /// The registry package it installs from, when the hub knows one.
    #[serde(default)]
    pub package: Option<String>,
    /// What to call it.
    #[serde(default)]
    pub display_name: String,
    /// One line about it.
    #[serde(default)]
    pub tagline: String,
    /// Whether the hub can install it from a registry.
    #[serde(default)]
    pub available: bool,
    /// Whether `services.json` has a row for it.
    #[serde(default)]
    pub installed: bool,
    /// The version its row records.
    #[serde(default)]
    pub installed_version: Option<String>,
    /// The newest version on the install channel (`null` when unknown or not asked).
    #[serde(default)]
    pub latest_version: Option<String>,
    /// Its port, when installed.
    #[serde(default)]
    pub port: Option<u16>,
    /// The supervisor's status word, when the hub runs it.
    #[serde(default)]
    pub supervisor_status: Option<ModuleStatus>,
    /// Its pid while a process exists.
    #[serde(default)]
    pub pid: Option<u32>,
    /// When the current process was spawned (epoch ms).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub supervisor_started_at: Option<u64>,
    /// Whether it answers on its port.
    #[serde(default)]
    pub supervisor_ready: Option<bool>,
    /// Respawns since it was last started by hand.
    #[serde(default)]
    pub supervisor_restarts: Option<u32>,
    /// Why it is not running properly.
    #[serde(default)]
    pub supervisor_start_error: Option<StartError>,
    /// Where it is installed.
    #[serde(default)]
    pub install_dir: Option<String>,
    /// The interfaces it declares.
    #[serde(default)]
    pub uis: Vec<UiEntry>,
    /// Where the dashboard's "Open" button goes.
    #[serde(default)]
    pub management_url: Option<String>,
}

/// `GET /api/modules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModulesList {
    /// Curated first-party modules first, then every other row, then orphans the supervisor
    /// still runs.
    pub modules: Vec<ModuleSummary>,
    /// Always true for this hub (the original could run without a supervisor).
    #[serde(default = "yes")]
    pub supervisor_available: bool,
    /// The channel installs and upgrades use.
    #[serde(default)]
    pub module_install_channel: Option<Channel>,
}

fn yes() -> bool {
    true
}

impl ModulesList {
    /// The entry for `short`.
    pub fn get(&self, short: &str) -> Option<&ModuleSummary> {
        self.modules.iter().find(|m| m.short == short)
    }
}

/// `PUT /api/modules/channel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChannelAnswer {
    /// The stored setting.
    pub channel: Channel,
    /// What installs use now (an install channel in the hub's environment wins).
    pub effective_channel: Channel,
}

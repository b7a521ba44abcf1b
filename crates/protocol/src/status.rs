//! `parachute status --json`: one row per module in `services.json` order, the hub row last.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The one-word state every surface (CLI table, dashboard, tray) shows for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Running and serving.
    Active,
    /// On its way up (starting, respawning, not answering yet).
    Pending,
    /// Stopped on purpose, never started, or down with the hub.
    Inactive,
    /// Should be running and is not (crashed module, failed hub unit).
    Failing,
}

impl RowState {
    /// The STATE cell.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Inactive => "inactive",
            Self::Failing => "failing",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusRow {
    /// The `services.json` row name, or `parachute-hub (internal)`.
    pub service: String,
    /// The module's short name (`hub` for the hub row).
    pub short: String,
    /// Its port.
    pub port: u16,
    /// The version its row records (the hub's own for the hub row).
    pub version: String,
    /// What to show.
    pub state: RowState,
    /// The process, when one exists.
    pub pid: Option<u32>,
    /// How long the current process has run.
    #[ts(type = "number | null")]
    pub uptime_ms: Option<u64>,
    /// A health request straight to the port, in milliseconds (one decimal).
    pub latency_ms: Option<f64>,
    /// Where it was installed from (`npm (1.2.3)`, `bun-linked → <dir>`, `unknown`).
    pub source: String,
    /// Where it is reached directly.
    pub url: String,
    /// Things to look at, one sentence each (the table's `  ! …` lines).
    pub notes: Vec<String>,
    /// Whether this row makes `status` exit 1 (crashed module, failing hub).
    pub unhealthy: bool,
    /// The supervisor's raw status word, when it tracks the module.
    pub supervisor_status: Option<String>,
}

/// The hub part of the report's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusHub {
    /// The port probed.
    pub port: u16,
    /// Whether `/health` answered.
    pub up: bool,
    /// The service manager's view of the hub unit (`active`, `activating`, `failed`,
    /// `inactive`, `unknown`, `no-unit`, `no-manager`).
    pub manager: String,
}

/// Everything `status` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusReport {
    /// The hub.
    pub hub: StatusHub,
    /// Module rows in manifest order, then the hub row.
    pub services: Vec<StatusRow>,
    /// 1 when any row is unhealthy, else 0.
    pub exit_code: i32,
}

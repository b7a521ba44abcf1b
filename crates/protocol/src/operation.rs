//! Long-running module operations (install, upgrade, uninstall), polled or followed as events.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Install the package, add the row, start the module.
    Install,
    /// Reinstall the package from its channel and restart the module.
    Upgrade,
    /// Restart the module.
    Restart,
    /// Stop the module, drop its row, remove the package.
    Uninstall,
}

impl OperationKind {
    /// The lowercase word used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Upgrade => "upgrade",
            Self::Restart => "restart",
            Self::Uninstall => "uninstall",
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OperationStatus {
    /// Accepted, not started.
    Pending,
    /// Under way.
    Running,
    /// Done.
    Succeeded,
    /// Gave up; see `error`.
    Failed,
}

impl OperationStatus {
    /// True once the operation has ended either way.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// One operation, as `GET /api/modules/operations/<id>` reports it (the original's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Operation {
    /// Random id handed to the client.
    pub id: String,
    /// What it does.
    pub kind: OperationKind,
    /// The module it acts on.
    pub short: String,
    /// Where it is.
    pub status: OperationStatus,
    /// Progress lines for a person, oldest first.
    #[serde(default)]
    pub log: Vec<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Machine-readable failure detail (exit code and output tail, or a start error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "unknown")]
    pub error_detail: Option<Value>,
    /// When it was accepted (ISO 8601, UTC).
    #[serde(rename = "startedAt")]
    pub started_at: String,
    /// When it ended (ISO 8601, UTC).
    #[serde(
        rename = "finishedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<String>,
}

/// `202` answer of install and upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OperationAccepted {
    /// Poll `GET /api/modules/operations/<id>`, or watch `operation` events.
    pub operation_id: String,
}

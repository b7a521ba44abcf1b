//! The error body every JSON route answers with, in the original hub's shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

/// `{"error": "<code>", "error_description": "<sentence>", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    /// Machine-readable code (`unauthenticated`, `not_installed`, `unknown_module`, …).
    pub error: String,
    /// One or more sentences for a person: what is wrong and what to do.
    #[serde(default)]
    pub error_description: String,
    /// Route-specific members (`setup_url`, `operation_id`, `retry_after_ms`, …).
    #[serde(flatten, default)]
    #[ts(skip)]
    pub extra: Map<String, Value>,
}

impl ErrorBody {
    /// A body with no extra members.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: description.into(),
            extra: Map::new(),
        }
    }
}

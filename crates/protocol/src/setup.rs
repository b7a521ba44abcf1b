//! First-run setup (`/admin/setup`) in its JSON form, as the original's `setup-wizard` verb
//! reads it: camelCase state keys, snake_case step answers.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where setup stands. `account` is never returned (the original shows it only in its
/// progress header): a hub without an admin is at `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum SetupStep {
    /// No admin yet: the account step.
    Welcome,
    /// The original's visual-only account step (accepted when read).
    Account,
    /// The admin exists; no vault yet and the step was not skipped.
    Vault,
    /// The vault step is done; the exposure question is unanswered.
    Expose,
    /// Setup is complete.
    Done,
}

/// `GET /admin/setup` with `Accept: application/json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SetupState {
    /// The next step to do.
    pub step: SetupStep,
    /// An admin account exists.
    pub has_admin: bool,
    /// A vault exists or the vault step was skipped.
    pub has_vault: bool,
    /// The exposure question was answered (`setup_expose_mode`).
    pub has_expose_mode: bool,
    /// The account step needs the one-shot bootstrap token the hub printed at start.
    pub require_bootstrap_token: bool,
    /// The double-submit CSRF token each step's POST carries as `__csrf`.
    pub csrf_token: String,
}

/// The 200 answer to a step's POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupAnswer {
    /// The step setup is at now.
    pub step: SetupStep,
    /// What the POST did, in words.
    pub message: String,
    /// The vault step's install operation (`/api/modules/operations/<id>`), when one started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_id: Option<String>,
    /// The expose step's operator token for the done screen's MCP command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minted_token: Option<String>,
}

/// A refused step, in the original wizard's JSON error shape (`{error, message, status}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupError {
    /// A short title (`Bootstrap token rejected`).
    pub error: String,
    /// What to do about it.
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
}

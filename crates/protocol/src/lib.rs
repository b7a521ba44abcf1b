//! The typed wire protocol of the hub: what `/api/*` answers, what `/api/events` streams and
//! what `parachute status --json` prints.
//!
//! The hub serialises these types, the Rust client ([`parachute-client`]) and the control layer
//! deserialise them, and the dashboard gets the same shapes as TypeScript definitions generated
//! from them (`ui/src/api/protocol.ts`, checked by [`typescript::check_generated`] in this
//! crate's tests; regenerate with `scripts/gen-protocol`).
//!
//! # Compatibility rules
//! - Keys the original hub (0.6.3-rc.2) sends keep its spelling (`startedAt`, `restartsInWindow`,
//!   `error_description`, …); ours are added beside them, never instead of them.
//! - Reading is lenient: every field a hub might leave out has a serde default, so an older or
//!   newer hub still gives a usable answer.
//! - Times are either epoch milliseconds (our `*_at` keys, `u64`) or ISO-8601 strings (the
//!   original's camelCase keys); each field's doc says which.

#![warn(missing_docs)]

pub mod error;
pub mod events;
pub mod exposure;
pub mod hub;
pub mod module;
pub mod modules_list;
pub mod operation;
pub mod session;
pub mod settings;
pub mod setup;
pub mod status;
pub mod tokens;
pub mod typescript;
pub mod upgrade;

pub use error::ErrorBody;
pub use events::{EventEnvelope, HubEvent};
pub use exposure::{
    ExposeAnswer, ExposeRequest, ExposeTarget, ExposureLayer, ExposureSnapshot, TunnelSummary,
};
pub use hub::{AdminState, BootProgress, Health, HubInfo, HubSnapshot, Ready};
pub use module::{
    ExitInfo, ModuleAnswer, ModuleLogs, ModuleState, ModuleStates, ModuleStatus, RestartAction,
    RestartAnswer, StartError, StopAnswer,
};
pub use modules_list::{Channel, ChannelAnswer, ModuleSummary, ModulesList, UiEntry};
pub use operation::{Operation, OperationAccepted, OperationKind, OperationStatus};
pub use session::{HostAdminToken, MeAnswer, MeUser};
pub use settings::{HubOriginAnswer, HubOriginSetting, HubOriginUpdate, IssuerSource};
pub use setup::{SetupAnswer, SetupError, SetupState, SetupStep};
pub use status::{RowState, StatusHub, StatusReport, StatusRow};
pub use tokens::{MintTokenRequest, MintedTokenAnswer, RevocationList};
pub use upgrade::{
    HubUpdate, HubUpgradeAccepted, HubUpgradeProgress, HubUpgradeStatus, ModuleUpgradeRequest,
    RedeployAdvice, UpgradeMode, UpgradePhase, UpgradeRestart,
};

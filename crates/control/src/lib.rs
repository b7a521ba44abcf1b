//! The control layer: what every front end (the `parachute` CLI, the desktop tray, the
//! dashboard's desktop commands) does to a hub, in one place, as typed reports.
//!
//! One API style throughout: `Result<Report, Error>`, plus a progress sink for long
//! operations (as [`parachute_expose`] already does). Reports say what happened and which
//! typed [`NextStep`] applies; each front end renders its own words (the CLI `parachute …`
//! lines, the tray a menu entry). Blocking callers use [`blocking::Control`], which owns one
//! runtime, instead of private threads with their own.
//!
//! | area | module |
//! |---|---|
//! | what the desktop app does at launch: attach to a proven hub, start the unit, offer migrate, or run in process | [`attach`] |
//! | status snapshot (`parachute status`, the tray's status line) | [`status`] |
//! | the hub: find it, attach, start it in process or through its unit | [`hub`] |
//! | module start / stop / restart through the running hub | [`modules`] |
//! | `init`: hub under its unit, operator token, exposure, what is missing | [`init`] |
//! | exposure | re-exported [`parachute_expose`] |
//! | legacy installs (sweep, cutover, teardown, offer) | re-exported [`parachute_migrate`] |

#![warn(missing_docs)]

pub mod attach;
pub mod blocking;
pub mod hub;
pub mod init;
pub mod modules;
pub mod next_step;
pub mod status;

pub use next_step::NextStep;

pub use parachute_expose as expose;
pub use parachute_migrate as migrate;

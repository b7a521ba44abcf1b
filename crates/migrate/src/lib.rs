//! Legacy installs: the archive sweep, the cutover to the supervised hub, teardown, and the
//! offer lifecycle verbs make on a legacy box.
//!
//! Older Parachute installs ran every module and the hub as detached daemons recorded in pid
//! files (`hub/run/hub.pid`, `<short>/run/<short>.pid`), or ran the original hub
//! (`bun …/cli.ts serve`) under its own `parachute-hub.service`. This crate moves such a box to
//! our hub under the service manager without losing a file:
//!
//! - [`cutover::cut_over`] (`parachute migrate --to-supervised`): write our unit without
//!   starting it, stop the old processes (by pid file, then only port holders provably ours),
//!   wait for the ports, start the unit, check `/health`. Every step can be repeated, so a
//!   failed cutover is finished by running it again.
//! - [`teardown::teardown`] (`--teardown`): remove the hub unit, keep the data.
//! - [`sweep::run_sweep`] (`parachute migrate [--list|--dry-run] [--yes]`): move known leftovers
//!   into `.archive-YYYY-MM-DD/`.
//! - [`offer::legacy_offer`]: the question `start|stop|restart` ask on a legacy box.
//!
//! Everything talks to the person through a [`Prompt`], so interactive paths are tested with
//! [`Scripted`] answers.
//!
//! The hub port is `PORT` when set (tests and side-by-side installs), else 1939.

#![warn(missing_docs)]

pub mod console;
pub mod cutover;
pub mod env;
pub mod error;
pub mod legacy;
pub mod offer;
pub mod procs;
pub mod sweep;
pub mod teardown;
#[cfg(test)]
mod test_support;

pub use console::{Prompt, Scripted, is_yes};
pub use cutover::{CutoverOutcome, CutoverReport, cut_over};
pub use env::{DEFAULT_HUB_PORT, MigrateEnv, Timing, port_from};
pub use error::MigrateError;
pub use offer::{
    OfferOutcome, legacy_offer, legacy_offer_from_process, legacy_offer_with, would_offer,
};
pub use sweep::{SweepMode, SweepOutcome, SweepRequest, run_sweep};
pub use teardown::{TeardownOutcome, teardown};

//! The offer `start|stop|restart` make on a box still running the legacy detached model.
//!
//! Only when no hub unit is installed and the legacy model left pid files behind: a person at a
//! terminal is asked whether to migrate now (default no); without a terminal the command to run
//! is printed and the verb fails, so a script never stops services unasked.

use std::sync::Arc;

use parachute_os::CommandRunner;

use crate::console::{Prompt, is_yes};
use crate::cutover::{CutoverReport, cut_over};
use crate::env::MigrateEnv;
use crate::legacy;

/// What the offer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferOutcome {
    /// Nothing to offer (a hub unit is installed, or no legacy pid file exists): carry on.
    NoOffer,
    /// No terminal: the migrate command was printed.
    Printed,
    /// The person said no.
    Declined,
    /// The person said yes and the cutover succeeded: carry on with the verb.
    Migrated(CutoverReport),
    /// The person said yes and the cutover failed (re-runnable).
    MigrateFailed(CutoverReport),
}

impl OfferOutcome {
    /// `None` when the verb should carry on, else the exit code to stop with (always 1).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            OfferOutcome::NoOffer | OfferOutcome::Migrated(_) => None,
            OfferOutcome::Printed | OfferOutcome::Declined | OfferOutcome::MigrateFailed(_) => {
                Some(1)
            }
        }
    }
}

/// Makes the offer for `env` (see the module docs).
pub fn legacy_offer(env: &MigrateEnv, io: &mut dyn Prompt) -> OfferOutcome {
    if env.unit_installed() || !legacy::has_prior_detached(&env.home) {
        return OfferOutcome::NoOffer;
    }
    io.say("");
    io.say(
        "This install still runs the legacy way: separate detached daemons with pid files and no",
    );
    io.say(
        "service manager. The hub now runs as `parachute serve` under systemd or launchd, which",
    );
    io.say("survives reboots and supervises your modules.");
    if !io.is_interactive() {
        io.say("");
        io.say("To move over, run:");
        io.say("  parachute migrate --to-supervised");
        io.say("");
        return OfferOutcome::Printed;
    }
    if !is_yes(&io.ask("Migrate to the supervised hub now? [y/N] ")) {
        io.say("Skipped. Run `parachute migrate --to-supervised` whenever you are ready.");
        return OfferOutcome::Declined;
    }
    let report = cut_over(env, io);
    for line in &report.messages {
        io.say(line);
    }
    if report.outcome.succeeded() {
        OfferOutcome::Migrated(report)
    } else {
        OfferOutcome::MigrateFailed(report)
    }
}

/// [`legacy_offer`] for the running process ([`MigrateEnv::from_process`]), reduced to what a
/// lifecycle verb needs: `None` to carry on, `Some(code)` to stop with that exit code. An
/// environment that cannot be read (bad `PORT`, no home) is said on `io` and stops with 1.
pub fn legacy_offer_from_process(
    runner: Arc<dyn CommandRunner>,
    io: &mut dyn Prompt,
) -> Option<i32> {
    match MigrateEnv::from_process(runner) {
        Ok(env) => legacy_offer(&env, io).exit_code(),
        Err(e) => {
            io.say(&format!("parachute: {e}"));
            Some(1)
        }
    }
}

/// Whether the offer would be made for `env` (no unit, legacy pid files present), without
/// saying anything.
pub fn would_offer(env: &MigrateEnv) -> bool {
    !env.unit_installed() && legacy::has_prior_detached(&env.home)
}

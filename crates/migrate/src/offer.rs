//! The offer `start|stop|restart` make on a box still running the legacy detached model.
//!
//! Only when no hub unit is installed and the legacy model left pid files behind: a person at a
//! terminal is asked whether to migrate now (default no); without a terminal the command to run
//! is printed and the verb fails, so a script never stops services unasked.

use std::sync::Arc;

use parachute_home::Home;
use parachute_os::CommandRunner;
use parachute_unit::{ManagedUnit, UnitId};

use crate::console::{Prompt, is_yes};
use crate::cutover::{CutoverReport, cut_over};
use crate::env::MigrateEnv;
use crate::error::MigrateError;
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

/// [`legacy_offer`] for a lifecycle verb that already holds the home and the unit manager.
/// Costs two file checks when there is nothing to offer; an environment that cannot be read is
/// the error.
pub fn legacy_offer_with(
    home: &Home,
    units: &ManagedUnit,
    io: &mut dyn Prompt,
) -> Result<OfferOutcome, MigrateError> {
    if units.is_installed(&UnitId::hub()) || !legacy::has_prior_detached(home) {
        return Ok(OfferOutcome::NoOffer);
    }
    Ok(legacy_offer(&MigrateEnv::from_parts(home, units)?, io))
}

/// Whether the offer would be made for `env` (no unit, legacy pid files present), without
/// saying anything.
pub fn would_offer(env: &MigrateEnv) -> bool {
    !env.unit_installed() && legacy::has_prior_detached(&env.home)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::Scripted;
    use crate::test_support::{fixture, fixture_with};
    use parachute_unit::ManagerKind;

    const ROW: &str = r#"{"services":[{"name":"alpha","port":5999,"paths":["/alpha"],"health":"/health","version":"1"}]}"#;

    #[test]
    fn a_clean_box_gets_no_offer() {
        let f = fixture();
        f.write("services.json", ROW);
        let mut io = Scripted::answering(&["y"]);
        assert_eq!(legacy_offer(&f.env, &mut io), OfferOutcome::NoOffer);
        assert!(io.lines.is_empty() && io.questions.is_empty());
        assert!(!would_offer(&f.env));
        assert_eq!(
            legacy_offer_with(&f.env.home, &f.env.units, &mut io).unwrap(),
            OfferOutcome::NoOffer
        );
    }

    #[test]
    fn without_a_terminal_the_command_is_printed_and_the_verb_fails() {
        let f = fixture();
        f.write("services.json", ROW);
        f.write("alpha/run/alpha.pid", "999999\n");
        assert!(would_offer(&f.env));
        let mut io = Scripted::non_interactive();
        let outcome = legacy_offer(&f.env, &mut io);
        assert_eq!(outcome, OfferOutcome::Printed);
        assert_eq!(outcome.exit_code(), Some(1));
        assert!(io.questions.is_empty());
        assert!(
            io.text().contains("  parachute migrate --to-supervised"),
            "{}",
            io.text()
        );
        assert!(f.exists("alpha/run/alpha.pid"), "nothing touched");
    }

    #[test]
    fn at_a_terminal_no_is_the_default() {
        let f = fixture();
        f.write("hub/run/hub.pid", "999999\n");
        let mut io = Scripted::answering(&[""]);
        let outcome = legacy_offer(&f.env, &mut io);
        assert_eq!(outcome, OfferOutcome::Declined);
        assert_eq!(outcome.exit_code(), Some(1));
        assert_eq!(io.questions, ["Migrate to the supervised hub now? [y/N] "]);
        assert!(io.text().contains("Skipped"), "{}", io.text());
        assert!(f.exists("hub/run/hub.pid"));
    }

    #[test]
    fn yes_runs_the_cutover_and_a_failure_stops_the_verb() {
        let f = fixture();
        f.write("hub/run/hub.pid", "999999\n");
        let mut io = Scripted::answering(&["y"]);
        let outcome = legacy_offer(&f.env, &mut io);
        let OfferOutcome::MigrateFailed(report) = &outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(report.outcome, crate::CutoverOutcome::NoManager);
        assert_eq!(outcome.exit_code(), Some(1));
        assert!(io.text().contains("No service manager"), "{}", io.text());
    }

    #[test]
    fn an_installed_unit_means_no_offer() {
        let f = fixture_with(ManagerKind::Systemd);
        f.write("hub/run/hub.pid", "999999\n");
        let units = f.dir.path().join("units");
        std::fs::create_dir_all(&units).unwrap();
        std::fs::write(units.join("parachute-hub.service"), "[Service]\n").unwrap();
        let mut io = Scripted::answering(&["y"]);
        assert_eq!(legacy_offer(&f.env, &mut io), OfferOutcome::NoOffer);
        assert_eq!(
            legacy_offer_with(&f.env.home, &f.env.units, &mut io).unwrap(),
            OfferOutcome::NoOffer
        );
        assert!(io.lines.is_empty());
    }
}

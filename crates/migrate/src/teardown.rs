//! `parachute migrate --teardown`: remove the hub unit (and stale per-module units), never the
//! data.

use parachute_unit::{RemoveOutcome, UnitId};

use crate::console::Prompt;
use crate::env::MigrateEnv;

/// Stops and removes the hub unit, and disables per-module units of older installs (they would
/// otherwise start old modules on the ports a foreground `parachute serve` needs).
/// `PARACHUTE_HOME` is left exactly as it was. Returns the exit code: 0 when the unit is gone
/// (or was never there), 1 when its file could not be deleted.
pub fn teardown(env: &MigrateEnv, io: &mut dyn Prompt) -> i32 {
    let outcome = env.units.remove(&UnitId::hub());
    crate::cutover::disable_stale_units(env, &crate::legacy::module_targets(&env.home), io);
    match outcome {
        RemoveOutcome::Removed { path } => {
            io.say(&format!(
                "Removed the hub unit {}: the hub is stopped and no longer starts at boot or login.",
                path.display()
            ));
            io.say(&format!(
                "Your data in {} is untouched. To run the hub again, either:",
                env.home.root().display()
            ));
            io.say("  - run `parachute serve` in the foreground, or");
            io.say("  - run `parachute migrate --to-supervised` (or `parachute init`) to install the unit again.");
            0
        }
        RemoveOutcome::NotInstalled | RemoveOutcome::NoManager => {
            io.say("No hub unit is installed, so there is nothing to tear down.");
            0
        }
        RemoveOutcome::Failed { detail } => {
            io.say(&format!(
                "Could not remove the hub unit: {detail}. Fix the permissions and run `parachute migrate --teardown` again."
            ));
            1
        }
    }
}

//! `parachute migrate --teardown`: remove the hub unit (and stale per-module units), never the
//! data.

use parachute_unit::{RemoveOutcome, UnitId};

use crate::console::Prompt;
use crate::env::MigrateEnv;

/// What teardown did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeardownOutcome {
    /// The hub unit was stopped and its file removed.
    Removed {
        /// The unit file that was removed.
        path: std::path::PathBuf,
    },
    /// There was no hub unit (or no service manager).
    NothingInstalled,
    /// The unit file could not be removed.
    Failed {
        /// Why.
        detail: String,
    },
}

impl TeardownOutcome {
    /// 0 when the unit is gone (or was never there), 1 when it could not be removed.
    pub fn exit_code(&self) -> i32 {
        i32::from(matches!(self, Self::Failed { .. }))
    }
}

/// Stops and removes the hub unit, and disables per-module units of older installs (they would
/// otherwise start old modules on the ports a foreground `parachute serve` needs), saying each
/// step on `io`. `PARACHUTE_HOME` is left exactly as it was.
pub fn teardown(env: &MigrateEnv, io: &mut dyn Prompt) -> TeardownOutcome {
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
            TeardownOutcome::Removed { path }
        }
        RemoveOutcome::NotInstalled | RemoveOutcome::NoManager => {
            io.say("No hub unit is installed, so there is nothing to tear down.");
            TeardownOutcome::NothingInstalled
        }
        RemoveOutcome::Failed { detail } => {
            io.say(&format!(
                "Could not remove the hub unit: {detail}. Fix the permissions and run `parachute migrate --teardown` again."
            ));
            TeardownOutcome::Failed { detail }
        }
    }
}

//! What the hub knows about a module name: its row, its catalog entry, its supervisor entry.

use parachute_home::ServiceRow;
use parachute_home::services::{self, StartCommand};

use super::ModuleError;
use crate::packages::FirstParty;
use crate::state::AppState;

/// The facts about one module name, read once per operation.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The name asked for.
    pub short: String,
    /// Its `services.json` row (the first row with this short name).
    pub row: Option<ServiceRow>,
    /// Its first-party catalog entry.
    pub first_party: Option<&'static FirstParty>,
    /// Whether the supervisor has an entry for it (in any state).
    pub supervised: bool,
}

impl Lookup {
    /// Resolves `short` against `services.json`, the catalog and the supervisor.
    pub fn resolve(state: &AppState, short: &str) -> Lookup {
        let manifest = services::read_lenient(state.home()).manifest;
        let row = manifest
            .module_rows()
            .into_iter()
            .find(|r| r.short() == short)
            .cloned();
        Lookup {
            short: short.to_string(),
            row,
            first_party: FirstParty::get(short),
            supervised: state.supervisor().is_supervised(short),
        }
    }

    /// Known at all: a row, a first-party module or a supervised process.
    pub fn known(&self) -> bool {
        self.row.is_some() || self.first_party.is_some() || self.supervised
    }

    /// `Err(UnknownModule)` unless known.
    pub fn require_known(&self) -> Result<(), ModuleError> {
        if self.known() {
            Ok(())
        } else {
            Err(ModuleError::UnknownModule {
                short: self.short.clone(),
            })
        }
    }

    /// The row, or `NotInstalled` (a known module) / `UnknownModule`.
    pub fn require_row(&self) -> Result<&ServiceRow, ModuleError> {
        match &self.row {
            Some(row) => Ok(row),
            None if self.known() => Err(ModuleError::NotInstalled {
                short: self.short.clone(),
            }),
            None => Err(ModuleError::UnknownModule {
                short: self.short.clone(),
            }),
        }
    }
}

/// `Err(NoStartCommand)` unless `row` has something to run.
pub fn require_start_command(state: &AppState, row: &ServiceRow) -> Result<(), ModuleError> {
    let short = row.short();
    let why = match services::start_command(state.home(), row) {
        StartCommand::Argv(argv) if !argv.is_empty() => return Ok(()),
        StartCommand::Argv(_) | StartCommand::CliOnly => format!(
            "{short} declares no start command (a CLI-only module): there is nothing for the hub to run"
        ),
        StartCommand::Unresolvable => format!(
            "the hub does not know how to start {short}: it is not a first-party module with a fixed command and its installDir has no .parachute/module.json with a startCmd; reinstall it or fix the module.json"
        ),
    };
    Err(ModuleError::NoStartCommand { short, why })
}

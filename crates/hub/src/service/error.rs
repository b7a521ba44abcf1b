//! Why a module operation was refused or failed. The HTTP layer maps each variant to a status
//! code and the JSON error shape ([`crate::routes::modules`]); in-process callers match on it.

use crate::operations::InFlight;

/// A module operation that could not be done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModuleError {
    /// No row, no first-party module and no supervised process of that name.
    #[error(
        "no module named {short:?}: services.json has no row for it and it is not a first-party module; GET /api/modules lists the modules this hub knows"
    )]
    UnknownModule {
        /// The name asked for.
        short: String,
    },
    /// A known module (first-party) without a `services.json` row.
    #[error(
        "{short} is not installed (services.json has no row for it); install it first (POST /api/modules/{short}/install, or Install on the dashboard's Modules page)"
    )]
    NotInstalled {
        /// The module.
        short: String,
    },
    /// The row declares nothing to run, or how to run it cannot be found.
    #[error("{why}")]
    NoStartCommand {
        /// The module.
        short: String,
        /// What is missing and what to do.
        why: String,
    },
    /// The hub is not running the module (restart, logs).
    #[error(
        "{short} is not running under this hub; start it with POST /api/modules/{short}/start (or install it first)"
    )]
    NotSupervised {
        /// The module.
        short: String,
    },
    /// The module was not installed from a package registry, so it cannot be installed or
    /// upgraded through one.
    #[error(
        "{short} was not installed from a package registry (its installDir has no package.json naming the package), so the hub cannot install or upgrade it; update it the way it was installed"
    )]
    NotInstallable {
        /// The module.
        short: String,
    },
    /// Another install, upgrade or uninstall runs on the module.
    #[error(transparent)]
    InFlight(#[from] InFlight),
    /// Uninstall could not remove the module's row.
    #[error("{message}")]
    UninstallFailed {
        /// What failed.
        message: String,
        /// The operation that recorded it.
        operation_id: String,
    },
    /// Something inside the hub failed (the detail is in the hub's log).
    #[error("{context}; see the hub log for details")]
    Internal {
        /// What the hub was doing.
        context: String,
    },
}

impl ModuleError {
    /// The machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownModule { .. } => "unknown_module",
            Self::NotInstalled { .. } => "not_installed",
            Self::NoStartCommand { .. } => "no_start_cmd",
            Self::NotSupervised { .. } => "not_supervised",
            Self::NotInstallable { .. } => "not_installable",
            Self::InFlight(_) => "operation_in_flight",
            Self::UninstallFailed { .. } => "uninstall_failed",
            Self::Internal { .. } => "internal_error",
        }
    }
}

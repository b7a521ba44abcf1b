//! Errors of this crate: each says what is wrong and what to do about it.

use std::path::PathBuf;

/// Why a migration step could not even begin, or a file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// `PORT` is set to something that is not a port.
    #[error("PORT must be a port number 1..65535, got {0:?} — fix or unset PORT and retry")]
    BadPort(String),
    /// The config home could not be located.
    #[error("{0}")]
    Home(#[from] parachute_home::HomeError),
    /// The user environment (home directory, unit overrides) could not be read.
    #[error("{0}")]
    Unit(#[from] parachute_unit::UnitError),
    /// A file or directory could not be read, created or moved.
    #[error("could not {action} {path}: {source} — check permissions and free space, then retry")]
    Io {
        /// What we were doing ("move", "create", "read").
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl MigrateError {
    /// An I/O error on `path` while doing `action`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

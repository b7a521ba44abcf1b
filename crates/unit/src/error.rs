//! Errors of this crate: each says what is wrong and what to do about it.

use std::path::PathBuf;

/// Why a unit could not be described, written or registered.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// Neither `HOME` nor the passwd entry gives a home directory.
    #[error(
        "cannot tell where your home directory is (HOME is unset and there is no passwd entry) — set HOME and retry"
    )]
    NoHome,
    /// An override variable has a value we do not understand.
    #[error("{key}={value:?} is not valid: expected {expected} — fix or unset it")]
    BadEnv {
        /// The variable name.
        key: &'static str,
        /// What it was set to.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// A unit's program must be an absolute path: managers do not search `PATH`.
    #[error(
        "the unit's program {path:?} is not an absolute path — service managers do not search PATH, so pass the full path"
    )]
    RelativeProgram {
        /// The offending path.
        path: PathBuf,
    },
    /// The GUI-free `parachute` binary the hub unit runs is nowhere to be found.
    #[error(
        "the hub unit runs the GUI-free `parachute` binary, but there is none next to {beside} and none on PATH — install the `parachute` package (the desktop .deb installs /usr/bin/parachute), or put the binary on PATH, then retry"
    )]
    NoParachuteBinary {
        /// The running program, next to which we looked.
        beside: PathBuf,
    },
    /// A name that ends up in a file name or unit name has characters we refuse.
    #[error("{what} {value:?} is not usable in a unit name — use letters, digits, `-`, `_` or `.`")]
    BadName {
        /// What the name is (e.g. "tunnel name").
        what: &'static str,
        /// The value.
        value: String,
    },
    /// Reading, writing or removing a file failed.
    #[error("could not {action} {path}: {source} — check the directory exists and is writable")]
    Io {
        /// What we were doing ("write", "remove", …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The login-item backend (auto-launch) refused.
    #[error("could not {action} the login item: {detail}")]
    LoginItem {
        /// What we were doing ("enable", "disable", "read").
        action: &'static str,
        /// The backend's explanation.
        detail: String,
    },
}

impl UnitError {
    /// Wraps an I/O error with the action and the path it concerned.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        UnitError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

//! Error types: every message names the file and says what to do.

use std::io;
use std::path::PathBuf;

/// The config home cannot be located.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Neither `PARACHUTE_HOME` nor `HOME` is set.
    #[error(
        "cannot locate the Parachute home: neither PARACHUTE_HOME nor HOME is set. \
         Set PARACHUTE_HOME to the directory holding services.json, then re-run."
    )]
    NoHome,
}

/// Reading or writing `services.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}. Check its permissions, then re-run.")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid JSON.
    #[error("{path} is not valid JSON ({detail}). Fix or remove the file, then re-run.")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (line and column).
        detail: String,
    },
    /// The JSON has the wrong shape at the top level.
    #[error("{path} is malformed: {detail}. Fix or remove the file, then re-run.")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// One row is invalid.
    #[error("{path} is malformed: {detail}. Fix or remove that row (or the file), then re-run.")]
    Row {
        /// The file.
        path: PathBuf,
        /// Which row (1-based, with its name when known) and what is wrong.
        detail: String,
    },
    /// Two rows claim the same port (other than vault rows sharing one).
    #[error(
        "{path} is malformed: port {port} is claimed by both {first:?} and {second:?}. \
         Give each service its own port (edit or remove one of those rows), then re-run."
    )]
    DuplicatePort {
        /// The file.
        path: PathBuf,
        /// The shared port.
        port: u16,
        /// The row that claimed it first.
        first: String,
        /// The row that claims it again.
        second: String,
    },
    /// A row handed to `upsert_row` is invalid; nothing was written.
    #[error("refusing to write {path}: the row {name:?} is invalid: {detail}")]
    InvalidRow {
        /// The file that would have been written.
        path: PathBuf,
        /// The row's name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// Writing the file failed; the previous content is intact.
    #[error(
        "cannot write {path}: {source}. The previous file is unchanged; check disk space and permissions."
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Reading or writing a state file (`expose-state.json`, `cloudflared-state.json`, …) failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}. Check its permissions, then re-run.")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid JSON or does not have the expected shape.
    #[error("{path} is malformed: {detail}. Fix or remove the file, then re-run.")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Writing or removing the file failed.
    #[error(
        "cannot write {path}: {source}. The previous file is unchanged; check disk space and permissions."
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

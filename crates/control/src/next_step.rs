//! What a person can do next, as data: each front end words it (the CLI as a `parachute …`
//! command line, the tray as a menu entry, the dashboard as a button).

use std::path::PathBuf;

/// One thing to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Install the hub unit so the hub starts now and at every boot (`parachute init`).
    InstallHubUnit,
    /// Run the hub in the foreground (`parachute serve`).
    RunInForeground,
    /// Stop the hub where it runs by hand (Ctrl-C in its terminal).
    StopWhereItRuns,
    /// Move a legacy install onto the supervised hub (`parachute migrate --to-supervised`).
    MigrateToSupervised,
    /// Mint a fresh operator token (`parachute auth rotate-operator`).
    MintOperatorToken,
    /// Create the admin account (`parachute auth set-password`).
    CreateAdmin,
    /// Install a module through the hub (the command line to run).
    InstallModule {
        /// The module.
        short: String,
        /// The command that installs it on this box.
        command: String,
    },
    /// Read the hub's own output (`parachute logs hub`).
    ReadHubLog,
    /// Make a file private again.
    Chmod {
        /// The file.
        path: PathBuf,
        /// The mode it needs (octal, e.g. `600`).
        mode: String,
    },
}

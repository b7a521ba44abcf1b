//! `parachute vault <args…>`: runs `parachute-vault` with the same arguments, this terminal
//! and this environment, and exits with its exit code (a signal `N` gives `128 + N`, as a
//! shell reports it). When `parachute-vault` is not on `PATH` it says so and names the
//! command that installs it (exit 127, the shell's "command not found").
//!
//! Lifecycle stays with the hub: `parachute start|stop|restart|logs vault`.

use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use parachute_os::{CommandRunner as _, SystemRunner};

use crate::args::VaultArgs;

/// The program the verb forwards to.
pub const VAULT_PROGRAM: &str = "parachute-vault";

/// The exit code for a program that could not be found.
pub const NOT_FOUND_CODE: i32 = 127;

/// Runs `parachute-vault <args…>`; returns its exit code.
pub fn run(args: &VaultArgs) -> i32 {
    let Some(program) = SystemRunner::from_env().which(VAULT_PROGRAM) else {
        eprintln!(
            "{VAULT_PROGRAM} was not found on PATH, so `parachute vault` has nothing to run."
        );
        eprintln!("Install it with: parachute install vault");
        return NOT_FOUND_CODE;
    };
    match Command::new(&program).args(&args.args).status() {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(1),
        Err(e) => {
            eprintln!("could not run {}: {e}", program.display());
            1
        }
    }
}

//! The GUI-free `parachute` binary: every CLI verb plus `serve`.
//!
//! Flags are parsed and validated first ([`args`]); then exactly one verb module in
//! [`commands`] acts. Each verb returns its exit code.

#![allow(clippy::print_stdout, clippy::print_stderr)] // the CLI is the front end that prints.

pub mod args;
pub mod commands;

use clap::Parser;

use args::{Cli, Command};

/// Runs the CLI with the process arguments and returns the exit code.
pub fn run() -> i32 {
    run_from(std::env::args_os())
}

/// Runs the CLI with `args` (the first is the program name, as in `std::env::args_os`) and
/// returns the exit code. `parachute-desktop --cli <verb> …` calls this with
/// `["parachute", <verb>, …]`, so both binaries run exactly the same CLI.
pub fn run_from<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return parse_failure(&err),
    };
    init_tracing(matches!(cli.command, Command::Serve));
    dispatch(cli.command)
}

/// Prints a parse outcome that ends the run and returns its exit code. `--help`, `--version`
/// and a bare `parachute` (or `parachute auth`) are requests for help: stdout, exit 0. Anything
/// else is a usage error: stderr, exit 1.
fn parse_failure(err: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            print!("{}", err.render());
            0
        }
        _ => {
            let _ = err.print();
            i32::from(err.use_stderr())
        }
    }
}

fn dispatch(command: Command) -> i32 {
    if writes_home(&command)
        && let Ok(home) = parachute_home::Home::from_env()
    {
        parachute_home::sweep_stale_temp_files(&home);
    }
    match command {
        Command::Serve => commands::serve::run(),
        Command::Status(args) => commands::status::run(&args),
        Command::Start(args) => commands::lifecycle::run(commands::lifecycle::Verb::Start, &args),
        Command::Stop(args) => commands::lifecycle::run(commands::lifecycle::Verb::Stop, &args),
        Command::Restart(args) => {
            commands::lifecycle::run(commands::lifecycle::Verb::Restart, &args)
        }
        Command::Logs(args) => commands::logs::run(&args),
        Command::Auth(command) => commands::auth::run(&command),
        Command::Expose(args) => commands::expose::run(&args),
        Command::Init(args) => commands::init::run(&args),
        Command::Migrate(args) => commands::migrate::run(&args),
        Command::Upgrade(args) => commands::upgrade::run(&args),
        Command::Install(args) => commands::install::run(&args),
        Command::Vault(args) => commands::vault::run(&args),
    }
}

/// Whether `command` writes files of the home, so it first removes the temp files of writers
/// that died mid-write (`serve` does so itself; `status` and `logs` only read).
fn writes_home(command: &Command) -> bool {
    !matches!(
        command,
        Command::Serve | Command::Status(_) | Command::Logs(_) | Command::Vault(_)
    )
}

/// Logs go to stderr (`RUST_LOG` filters; default `info` for `serve`, `warn` for the other
/// verbs, which print their own messages), keeping stdout for output and for the `[module]`
/// lines of `serve`.
fn init_tracing(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: under a service manager stderr goes to hub/logs/hub.log.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

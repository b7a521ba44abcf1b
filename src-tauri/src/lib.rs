//! Parachute Desktop: the tray app that embeds the hub.
//!
//! `parachute-desktop --cli <verb> …` is exactly the `parachute` CLI ([`parachute::run_from`])
//! and returns before anything touches GTK or WebKit, so it works with no display. Anything
//! else starts the app ([`app::run`]):
//!
//! 1. read the environment once ([`launch::Launch::from_env`]): `PARACHUTE_HOME`, `PORT` and the
//!    rest exactly as `serve` reads them, plus the module environment the hub unit would give
//!    (`PATH` with Bun's bin directory, `BUN_INSTALL`), not the GUI session's;
//! 2. decide with `parachute_control::attach` whether to be the client of a hub (its unit, or a
//!    hub that proved it serves this home), offer `migrate`, or start the hub in process
//!    ([`host::Host`]);
//! 3. the tray ([`tray`]) shows [`menu_model::menu_model`] of the hub's state, rebuilt on
//!    every hub event; clicks become [`menu_model::Action`]s done by [`actions`];
//! 4. the settings window ([`window`]) shows `http://127.0.0.1:<port>/admin/`; only those
//!    pages get Tauri's IPC ([`commands`]); closing it keeps the app in the tray;
//! 5. Quit stops the modules this app supervises (the in-process hub's shutdown) and exits.

#![allow(clippy::print_stderr)] // the entry point reports start-up failures on stderr.

pub mod actions;
mod app;
pub mod commands;
pub mod host;
pub mod launch;
pub mod menu_model;
pub mod notify;
mod tray;
mod tray_host;
mod window;

use std::ffi::OsString;

/// The binary's entry: `--cli …` runs the CLI, anything else the app. Returns the exit code.
pub fn main_entry() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(cli_args) = cli_args(&args) {
        return parachute::run_from(cli_args);
    }
    app::run()
}

/// `["parachute", <verb>, …]` when `args` is `[<exe>, "--cli", <verb>, …]`.
pub fn cli_args(args: &[OsString]) -> Option<Vec<OsString>> {
    if args.get(1).map(|a| a == "--cli") != Some(true) {
        return None;
    }
    let mut out = vec![OsString::from("parachute")];
    out.extend(args[2..].iter().cloned());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_leading_cli_flag_selects_the_cli() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            cli_args(&os(&[
                "/usr/bin/parachute-desktop",
                "--cli",
                "status",
                "--json"
            ])),
            Some(os(&["parachute", "status", "--json"]))
        );
        assert_eq!(
            cli_args(&os(&["parachute-desktop", "--cli"])),
            Some(os(&["parachute"]))
        );
        assert_eq!(cli_args(&os(&["parachute-desktop"])), None);
        assert_eq!(
            cli_args(&os(&["parachute-desktop", "status", "--cli"])),
            None
        );
    }
}

//! `parachute start|stop|restart [svc] [--hub-origin URL]`.
//!
//! Without a service (or with `hub`) the verbs drive the hub unit through its service manager
//! (`systemctl`/`launchctl`, never a pid signal). With a service they make sure the hub is up
//! and ask it over loopback, with the operator token, to start/stop/restart that module.
//!
//! A box without a hub unit always gets told so, with both ways forward (`parachute init`, or
//! `parachute serve` in the foreground) — never a silent exit 1. A hub that already answers
//! (started by hand) is used as is for module operations.

use parachute_control::hub::{HubError, HubOutcome};
use parachute_control::modules::{ModuleOpError, ModuleOutcome, ModuleVerb};
use parachute_control::{self as control, NextStep};
use parachute_home::Home;
use parachute_unit::{ManagedUnit, UnitId};

use crate::args::LifecycleArgs;
use crate::commands::hub_access;

/// Which verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
}

impl Verb {
    /// The verb as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }
}

/// Runs `start|stop|restart`; returns the exit code.
pub fn run(verb: Verb, args: &LifecycleArgs) -> i32 {
    let loaded = hub_access::home().and_then(|home| {
        let units = hub_access::unit_manager()?;
        Ok((home, units))
    });
    let (home, units) = match loaded {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("parachute {}: {e}", verb.as_str());
            return 1;
        }
    };
    // A box still on the legacy detached model (pid files, no hub unit) is offered the
    // cutover first; declining, no terminal or a failed cutover ends the verb.
    if !units.is_installed(&UnitId::hub()) {
        let offered = parachute_migrate::legacy_offer_with(
            &home,
            &units,
            &mut crate::commands::terminal::Terminal,
        );
        match offered.map(|outcome| outcome.exit_code()) {
            Ok(None) => {}
            Ok(Some(code)) => return code,
            Err(e) => {
                eprintln!("parachute: {e}");
                return 1;
            }
        }
    }
    let target = args
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "hub");
    match target {
        None => hub_verb(verb, &home, &units),
        Some(svc) => module_verb(verb, &hub_access::module_short(svc), &home, &units, args),
    }
}

/// What to do when there is no hub unit to drive. `hub_up`: a hub started by hand answers.
fn no_unit_message(verb: Verb, hub_up: bool) -> String {
    let head = if hub_up {
        format!(
            "✗ The hub is running, but not under a service manager (no hub unit is installed), so `parachute {v}` cannot {v} it.\n  It was started by hand (`parachute serve`): {v} it where it runs (Ctrl-C in its terminal).",
            v = verb.as_str()
        )
    } else {
        format!(
            "✗ No hub unit is installed, so there is no hub unit to {}.",
            verb.as_str()
        )
    };
    with_ways_forward(head)
}

/// The hub is down and there is no unit to bring it up for a module operation.
fn no_hub_for_module(verb: Verb, svc: &str) -> String {
    with_ways_forward(format!(
        "✗ The hub is not running and no hub unit is installed to start it, so {svc} cannot be {}ed.",
        verb.as_str()
    ))
}

fn with_ways_forward(head: String) -> String {
    format!(
        "{head}\n  Install the unit (starts the hub now and at every boot):  parachute init\n  Or run the hub in the foreground:                          parachute serve"
    )
}

fn no_manager_message() -> String {
    "✗ This machine has no service manager (systemd or launchd) to run the hub unit.\n  Run the hub in the foreground with `parachute serve` (containers: make it the container's command).".to_string()
}

/// `start|stop|restart` (no service, or `hub`): through the hub unit.
fn hub_verb(verb: Verb, home: &Home, units: &ManagedUnit) -> i32 {
    let cfg = match hub_access::ensure_config(home) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("✗ {e}");
            return 1;
        }
    };
    let outcome = match verb {
        Verb::Start => control::hub::ensure_up(units, &cfg, &announce_start),
        Verb::Stop => control::hub::stop(units, &cfg),
        Verb::Restart => control::hub::restart(units, &cfg),
    };
    match outcome {
        Ok(HubOutcome::AlreadyUp { port }) => {
            println!(
                "✓ The hub is already up on 127.0.0.1:{port} (it runs every installed module)."
            );
            0
        }
        Ok(HubOutcome::Started { port }) => {
            println!(
                "✓ Started the hub unit; the hub is up on 127.0.0.1:{port} and boots every installed module."
            );
            0
        }
        Ok(HubOutcome::Stopped) => {
            println!("✓ Stopped the hub unit (its modules stopped with it).");
            0
        }
        Ok(HubOutcome::Restarted { .. }) => {
            println!("✓ Restarted the hub unit; the hub is back up and every module booted again.");
            0
        }
        Err(err) => {
            eprintln!("{}", hub_error_text(verb, None, &err));
            1
        }
    }
}

/// Said just before the service manager is asked to start the hub (the wait can take a while).
fn announce_start() {
    eprintln!("The hub is not answering; starting the hub unit through the service manager…");
}

/// The `✗` text for a hub that could not be driven; `svc` when a module operation needed it.
fn hub_error_text(verb: Verb, svc: Option<&str>, err: &HubError) -> String {
    match (err, svc) {
        (HubError::NoUnit { .. }, Some(svc)) => no_hub_for_module(verb, svc),
        (HubError::NoUnit { hub_up, .. }, None) => no_unit_message(verb, *hub_up),
        (HubError::NoManager { .. }, _) => no_manager_message(),
        (HubError::Failed { detail, next }, None) => {
            let mut text = format!("✗ {}", capitalised(detail));
            if next.contains(&NextStep::ReadHubLog) {
                text.push_str("\n  `parachute logs hub` shows the hub's own output.");
            }
            text
        }
        (HubError::Failed { detail, .. }, Some(svc)) => format!(
            "✗ The hub is not up, so {svc} cannot be {}ed: {detail}",
            verb.as_str()
        ),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `start|stop|restart <svc>`: through the running hub (the control layer decides when the hub
/// is brought up first, and the hub decides "restart, else start").
fn module_verb(
    verb: Verb,
    svc: &str,
    home: &Home,
    units: &ManagedUnit,
    args: &LifecycleArgs,
) -> i32 {
    let cfg = match hub_access::ensure_config(home) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("✗ {svc}: {e}");
            return 1;
        }
    };
    let runtime = match hub_access::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("✗ {svc}: {e}");
            return 1;
        }
    };
    let module_verb = match verb {
        Verb::Start => ModuleVerb::Start,
        Verb::Stop => ModuleVerb::Stop,
        Verb::Restart => ModuleVerb::Restart,
    };
    let done = runtime.block_on(control::modules::run(
        home,
        units,
        &cfg,
        module_verb,
        svc,
        args.hub_origin.as_deref(),
        &announce_start,
    ));
    match done {
        Ok(outcome) => {
            println!("{}", success_line(svc, outcome));
            0
        }
        Err(err) => {
            eprintln!("{}", error_line(verb, svc, &err));
            1
        }
    }
}

/// The `✓` line for a successful operation.
fn success_line(svc: &str, outcome: ModuleOutcome) -> String {
    match outcome {
        ModuleOutcome::Started { pid } => with_pid(svc, "started", pid),
        ModuleOutcome::Restarted { pid } => with_pid(svc, "restarted", pid),
        ModuleOutcome::Stopped => format!("✓ {svc} stopped."),
        ModuleOutcome::WasNotRunning => format!("✓ {svc} was not running; nothing to stop."),
        ModuleOutcome::HubDown => format!(
            "✓ {svc} is already stopped (the hub is not running, so none of its modules are)."
        ),
    }
}

/// `✓ <svc> <word> (pid N).`, without the pid when the hub reports none.
fn with_pid(svc: &str, word: &str, pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("✓ {svc} {word} (pid {pid})."),
        None => format!("✓ {svc} {word}."),
    }
}

/// The `✗` line for a failed operation.
fn error_line(verb: Verb, svc: &str, err: &ModuleOpError) -> String {
    match err {
        ModuleOpError::Hub(hub) => hub_error_text(verb, Some(svc), hub),
        ModuleOpError::NotInstalled {
            next: NextStep::InstallModule { command, .. },
            ..
        } => format!(
            "✗ {svc} is not installed (services.json has no row for it).\n  Install it through the hub, which starts it once installed:\n    {command}"
        ),
        other => format!("✗ {svc}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_lines_carry_the_pid_when_there_is_one() {
        assert_eq!(
            with_pid("vault", "started", Some(42)),
            "✓ vault started (pid 42)."
        );
        assert_eq!(with_pid("vault", "restarted", None), "✓ vault restarted.");
    }

    #[test]
    fn error_lines_name_the_code_or_the_fix() {
        let install = "parachute install vault";
        let not_installed = ModuleOpError::NotInstalled {
            short: "vault".into(),
            next: NextStep::InstallModule {
                short: "vault".into(),
                command: install.into(),
            },
        };
        let line = error_line(Verb::Start, "vault", &not_installed);
        assert!(
            line.starts_with("✗ vault is not installed") && line.ends_with(install),
            "{line}"
        );
        let refused = ModuleOpError::Refused {
            code: "unknown_module".into(),
            description: "desc".into(),
        };
        assert_eq!(
            error_line(Verb::Start, "x", &refused),
            "✗ x: unknown_module: desc"
        );
    }

    #[test]
    fn no_unit_messages_give_both_ways_forward() {
        for hub_up in [false, true] {
            let m = no_unit_message(Verb::Restart, hub_up);
            assert!(
                m.contains("parachute init") && m.contains("parachute serve"),
                "{m}"
            );
            assert!(
                m.contains("no hub unit is installed") || m.contains("No hub unit is installed"),
                "{m}"
            );
        }
    }
}

//! `parachute start|stop|restart [svc] [--hub-origin URL]`.
//!
//! Without a service (or with `hub`) the verbs drive the hub unit through its service manager
//! (`systemctl`/`launchctl`, never a pid signal). With a service they make sure the hub is up
//! and ask it over loopback, with the operator token, to start/stop/restart that module.
//!
//! A box without a hub unit always gets told so, with both ways forward (`parachute init`, or
//! `parachute serve` in the foreground) — never a silent exit 1. A hub that already answers
//! (started by hand) is used as is for module operations.

use std::time::Instant;

use parachute_client::{ClientError, HubClient};
use parachute_home::Home;
use parachute_protocol::RestartAction;
use parachute_unit::{EnsureConfig, EnsureOutcome, ManagedUnit, OpOutcome, UnitId, probe_health};

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
    if !units.is_installed(&UnitId::hub())
        && let Some(code) =
            parachute_migrate::legacy_offer_with(&home, &units, &mut parachute_migrate::Terminal)
    {
        return code;
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
    let id = UnitId::hub();
    match verb {
        Verb::Start => match ensure_up(units, &cfg) {
            EnsureOutcome::AlreadyUp => {
                println!(
                    "✓ The hub is already up on 127.0.0.1:{} (it runs every installed module).",
                    cfg.port
                );
                0
            }
            EnsureOutcome::Started => {
                println!(
                    "✓ Started the hub unit; the hub is up on 127.0.0.1:{} and boots every installed module.",
                    cfg.port
                );
                0
            }
            EnsureOutcome::NoUnit => {
                eprintln!("{}", no_unit_message(verb, false));
                1
            }
            EnsureOutcome::NoManager => {
                eprintln!("{}", no_manager_message());
                1
            }
            failed => {
                eprintln!("✗ {}", failed.message());
                eprintln!("  `parachute logs hub` shows the hub's own output.");
                1
            }
        },
        Verb::Stop | Verb::Restart => {
            let outcome = if verb == Verb::Stop {
                units.stop(&id)
            } else {
                units.restart(&id)
            };
            match outcome {
                OpOutcome::Ok if verb == Verb::Stop => {
                    println!("✓ Stopped the hub unit (its modules stopped with it).");
                    0
                }
                OpOutcome::Ok => wait_after_restart(units, &cfg),
                OpOutcome::NoUnit => {
                    eprintln!(
                        "{}",
                        no_unit_message(verb, probe_health(cfg.port, cfg.health_timeout))
                    );
                    1
                }
                OpOutcome::NoManager => {
                    eprintln!("{}", no_manager_message());
                    1
                }
                failed => {
                    eprintln!("✗ {}", failed.message().unwrap_or_default());
                    1
                }
            }
        }
    }
}

/// `ensure hub up`, saying so first when the manager is about to be asked (the wait for the
/// port can take a while).
fn ensure_up(units: &ManagedUnit, cfg: &EnsureConfig) -> EnsureOutcome {
    if units.is_installed(&UnitId::hub()) && !probe_health(cfg.port, cfg.health_timeout) {
        eprintln!("The hub is not answering; starting the hub unit through the service manager…");
    }
    units.ensure_hub_up(cfg)
}

/// After the manager restarted the unit: wait for the hub to answer again.
fn wait_after_restart(units: &ManagedUnit, cfg: &EnsureConfig) -> i32 {
    let deadline = Instant::now() + cfg.ready_timeout;
    while Instant::now() < deadline {
        if probe_health(cfg.port, cfg.health_timeout) {
            println!("✓ Restarted the hub unit; the hub is back up and every module booted again.");
            return 0;
        }
        std::thread::sleep(cfg.poll_interval);
    }
    eprintln!(
        "✗ The hub unit was restarted, but the hub did not answer on 127.0.0.1:{} within {}s.",
        cfg.port,
        cfg.ready_timeout.as_secs()
    );
    let log = units.recent_log(&UnitId::hub(), cfg.log_lines, cfg.log_path.as_deref());
    if !log.trim().is_empty() {
        eprintln!("{}", log.trim_end());
    }
    1
}

/// `start|stop|restart <svc>`: through the running hub.
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
    if verb == Verb::Stop {
        if !probe_health(cfg.port, cfg.health_timeout) {
            println!(
                "✓ {svc} is already stopped (the hub is not running, so none of its modules are)."
            );
            return 0;
        }
    } else {
        match ensure_up(units, &cfg) {
            EnsureOutcome::AlreadyUp | EnsureOutcome::Started => {}
            EnsureOutcome::NoUnit => {
                eprintln!("{}", no_hub_for_module(verb, svc));
                return 1;
            }
            EnsureOutcome::NoManager => {
                eprintln!("{}", no_manager_message());
                return 1;
            }
            failed => {
                eprintln!(
                    "✗ The hub is not up, so {svc} cannot be {}ed: {}",
                    verb.as_str(),
                    failed.message()
                );
                return 1;
            }
        }
    }
    let runtime = match hub_access::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("✗ {svc}: {e}");
            return 1;
        }
    };
    let made = HubClient::with_operator_token_accepting(home, args.hub_origin.as_deref());
    let client = match runtime.block_on(made) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("✗ {svc}: {e}");
            return 1;
        }
    };
    let install = parachute_client::install_command(home, svc);
    runtime.block_on(drive(verb, svc, &client, &install))
}

/// Sends the operation; `install` is the command line that installs `svc` (for the
/// `not_installed` answer). A restart of a module the hub is not running starts it: the hub
/// decides that (`?or_start=1`), the answer says which happened.
async fn drive(verb: Verb, svc: &str, client: &HubClient, install: &str) -> i32 {
    let done = match verb {
        Verb::Start => client
            .start_module(svc)
            .await
            .map(|a| with_pid(svc, "started", a.state.pid)),
        Verb::Stop => client.stop_module(svc).await.map(|a| {
            if a.stopped {
                format!("✓ {svc} stopped.")
            } else {
                format!("✓ {svc} was not running; nothing to stop.")
            }
        }),
        Verb::Restart => client.restart_or_start_module(svc).await.map(|a| {
            let word = match a.action {
                RestartAction::Restarted => "restarted",
                RestartAction::Started => "started",
            };
            with_pid(svc, word, a.state.pid)
        }),
    };
    match done {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("{}", error_line(svc, &e, install));
            1
        }
    }
}

/// `✓ <svc> <word> (pid N).`, without the pid when the hub reports none.
fn with_pid(svc: &str, word: &str, pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("✓ {svc} {word} (pid {pid})."),
        None => format!("✓ {svc} {word}."),
    }
}

/// The `✗` line for a failed operation; `install` is the command that installs `svc`.
fn error_line(svc: &str, err: &ClientError, install: &str) -> String {
    match err {
        ClientError::Api {
            status: 400, error, ..
        } if error == "not_installed" => format!(
            "✗ {svc} is not installed (services.json has no row for it).\n  Install it through the hub, which starts it once installed:\n    {install}"
        ),
        ClientError::Api {
            error, description, ..
        } => format!("✗ {svc}: {error}: {description}"),
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
        let api = |status, error: &str| ClientError::Api {
            status,
            error: error.into(),
            description: "desc".into(),
        };
        let install = "curl … /api/modules/vault/install";
        let line = error_line("vault", &api(400, "not_installed"), install);
        assert!(
            line.starts_with("✗ vault is not installed") && line.ends_with(install),
            "{line}"
        );
        assert_eq!(
            error_line("x", &api(404, "unknown_module"), install),
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

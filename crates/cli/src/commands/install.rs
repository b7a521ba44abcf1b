//! `parachute install <svc|all> [--channel rc|latest]`: installs modules through the running
//! hub's module API, which installs the package, writes the `services.json` row and starts the
//! module.
//!
//! Steps per module: make sure the hub is up (through its unit when it is down, as
//! `start <svc>` does); prove it and present the operator token; `POST
//! /api/modules/<svc>/install`; poll the operation every second (printing its new log lines)
//! until it succeeds (`✓ <svc> installed and started.`) or fails (`✗ <svc>: …`, exit 1), for
//! at most [`INSTALL_LIMIT`]. `all` installs every first-party module the hub can run in turn
//! and stops at the first failure, as the original does.

use std::time::{Duration, Instant};

use parachute_client::{ClientError, HubClient};
use parachute_control::hub::HubError;
use parachute_hub::packages::FIRST_PARTY;
use parachute_protocol::{Channel, Operation, OperationStatus};

use crate::args::{InstallArgs, UpgradeChannel};
use crate::commands::hub_access;

/// How long one install may take before the command gives up waiting (the hub carries on).
pub const INSTALL_LIMIT: Duration = Duration::from_secs(600);

/// How often the operation is polled.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Runs `install`; returns the exit code.
pub fn run(args: &InstallArgs) -> i32 {
    let prepared = hub_access::home().and_then(|home| {
        let units = hub_access::unit_manager()?;
        let cfg = hub_access::ensure_config(&home)?;
        let runtime = hub_access::runtime()?;
        Ok((home, units, cfg, runtime))
    });
    let (home, units, cfg, runtime) = match prepared {
        Ok(all) => all,
        Err(e) => {
            eprintln!("parachute install: {e}");
            return 1;
        }
    };
    let targets: Vec<String> = match args.service.trim() {
        "all" => runnable_first_party(&home),
        svc => vec![hub_access::module_short(svc)],
    };
    if let Err(err) = parachute_control::hub::ensure_up(&units, &cfg, &announce_start) {
        eprintln!("{}", hub_down_text(&targets.join(", "), &err));
        return 1;
    }
    let channel = args.channel.map(|c| match c {
        UpgradeChannel::Latest => Channel::Latest,
        UpgradeChannel::Rc => Channel::Rc,
    });
    runtime.block_on(async {
        let client = match HubClient::with_operator_token(&home).await {
            Ok(client) => client,
            Err(e) => {
                eprintln!("✗ {}: {e}", targets.join(", "));
                return 1;
            }
        };
        for short in &targets {
            if let Err(message) = install_one(&client, short, channel).await {
                eprintln!("{message}");
                return 1;
            }
            println!("✓ {short} installed and started.");
        }
        0
    })
}

/// `all`: every first-party module the hub can run once installed, in the catalog's order
/// (the retired Notes app, which has no start command, is left out: surface replaces it).
fn runnable_first_party(home: &parachute_home::Home) -> Vec<String> {
    FIRST_PARTY
        .iter()
        .filter(|m| {
            matches!(
                parachute_home::services::start_command(home, &m.seed_row()),
                parachute_home::StartCommand::Argv(_)
            )
        })
        .map(|m| m.short.to_string())
        .collect()
}

/// Said just before the service manager is asked to start the hub.
fn announce_start() {
    eprintln!("The hub is not answering; starting the hub unit through the service manager…");
}

/// Why nothing can be installed while the hub is down.
fn hub_down_text(what: &str, err: &HubError) -> String {
    match err {
        HubError::NoUnit { .. } => format!(
            "✗ The hub is not running and no hub unit is installed to start it, so {what} cannot be installed (the hub installs modules).\n  Install the unit (starts the hub now and at every boot):  parachute init\n  Or run the hub in the foreground:                          parachute serve"
        ),
        HubError::NoManager { .. } => format!(
            "✗ The hub is not running and this machine has no service manager to start it, so {what} cannot be installed.\n  Run the hub with `parachute serve` first, then install again."
        ),
        HubError::Failed { detail, .. } => {
            format!("✗ The hub is not up, so {what} cannot be installed: {detail}")
        }
    }
}

/// Asks the hub to install `short` and follows the operation; the `✗` text on failure.
async fn install_one(
    client: &HubClient,
    short: &str,
    channel: Option<Channel>,
) -> Result<(), String> {
    let accepted = client
        .install_module(short, channel)
        .await
        .map_err(|e| refusal_text(short, &e))?;
    let started = Instant::now();
    let mut printed = 0;
    loop {
        let op = client
            .operation(&accepted.operation_id)
            .await
            .map_err(|e| format!("✗ {short}: lost track of the install ({e})"))?;
        printed = print_new_lines(&op, printed);
        match op.status {
            OperationStatus::Succeeded => return Ok(()),
            OperationStatus::Failed => return Err(failure_text(short, &op)),
            OperationStatus::Pending | OperationStatus::Running => {}
        }
        if started.elapsed() > INSTALL_LIMIT {
            return Err(format!(
                "✗ {short}: the install is still running after {} minutes; the hub carries on. Check again with `parachute status` or `parachute logs {short}`.",
                INSTALL_LIMIT.as_secs() / 60
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Prints the operation's log lines after the first `printed`; returns how many are printed.
fn print_new_lines(op: &Operation, printed: usize) -> usize {
    for line in op.log.iter().skip(printed) {
        println!("  {line}");
    }
    op.log.len().max(printed)
}

/// A refused install request, in words.
fn refusal_text(short: &str, err: &ClientError) -> String {
    match err {
        ClientError::Api { error, .. }
            if error == "not_installable" || error == "unknown_module" =>
        {
            let known: Vec<&str> = FIRST_PARTY.iter().map(|m| m.short).collect();
            format!(
                "✗ {short}: {err}\n  The hub installs these modules: {} (or `all`).",
                known.join(", ")
            )
        }
        other => format!("✗ {short}: {other}"),
    }
}

/// A failed operation: its error (which already carries the tool's exit code and output tail,
/// or the module's start error; the machine-readable detail stays in the API).
fn failure_text(short: &str, op: &Operation) -> String {
    format!(
        "✗ {short}: {}",
        op.error.as_deref().unwrap_or("the install failed")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(status: OperationStatus, log: &[&str]) -> Operation {
        serde_json::from_value(serde_json::json!({
            "id": "op1", "kind": "install", "short": "vault", "status": status,
            "log": log, "startedAt": "2026-01-01T00:00:00.000Z"
        }))
        .unwrap()
    }

    #[test]
    fn new_log_lines_are_counted_once() {
        let first = op(OperationStatus::Running, &["a", "b"]);
        assert_eq!(print_new_lines(&first, 0), 2);
        let later = op(OperationStatus::Succeeded, &["a", "b", "c"]);
        assert_eq!(print_new_lines(&later, 2), 3);
        assert_eq!(print_new_lines(&later, 3), 3);
    }

    #[test]
    fn failures_name_the_module_and_the_error() {
        let mut failed = op(OperationStatus::Failed, &[]);
        failed.error = Some("bun add -g exited 1".into());
        let text = failure_text("vault", &failed);
        assert!(text.starts_with("✗ vault: bun add -g exited 1"), "{text}");
    }
}

//! `parachute upgrade [hub|<svc>|all] [--channel rc|latest] [--allow-downgrade] [--check]
//! [--detach] [--status]`.
//!
//! The hub upgrade is `parachute_upgrade`'s: this verb builds the [`Upgrader`] from the
//! environment once, then either checks (`--check`), prints the status (`--status`), starts
//! the background helper (`--detach`, what the hub's API does too), or runs the upgrade here
//! with a progress bar for the download and one line per phase. `--apply <operation>` (hidden)
//! is that background helper. Modules upgrade through the running hub ([`module`]).

mod module;
mod progress;

use std::sync::Arc;

use parachute_home::Home;
use parachute_upgrade::{
    Channel, Mode, Phase, StartRequest, Started, UpgradeConfig, UpgradeError, UpgradeStatus,
    Upgrader,
};

use crate::args::{UpgradeArgs, UpgradeChannel};
use crate::commands::hub_access;

/// Runs `upgrade`; returns the exit code.
pub fn run(args: &UpgradeArgs) -> i32 {
    let runtime = match hub_access::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("✗ parachute upgrade: {e}");
            return 1;
        }
    };
    let home = match hub_access::home() {
        Ok(home) => home,
        Err(e) => {
            eprintln!("✗ parachute upgrade: {e}");
            return 1;
        }
    };
    let target = args
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("hub");
    let channel = args.channel.map(|c| match c {
        UpgradeChannel::Latest => Channel::Latest,
        UpgradeChannel::Rc => Channel::Rc,
    });
    let ask = module::ModuleAsk {
        channel,
        allow_downgrade: args.allow_downgrade,
    };
    if target != "hub" && (args.detach || args.status || args.apply.is_some()) {
        eprintln!("✗ --detach, --status and --apply are for the hub upgrade only.");
        return 1;
    }
    match target {
        "hub" => runtime.block_on(hub(args, &home, channel)),
        "all" => {
            let code = runtime.block_on(hub(args, &home, channel));
            if args.check {
                return code;
            }
            let rest = runtime.block_on(module::upgrade_all(&home, ask));
            if code != 0 { code } else { rest }
        }
        svc => {
            if args.check {
                eprintln!(
                    "✗ --check covers the hub only; the hub's dashboard shows module updates."
                );
                return 1;
            }
            runtime.block_on(module::upgrade(&home, &hub_access::module_short(svc), ask))
        }
    }
}

/// The upgrader for this home, configured from the environment (read here, once).
fn upgrader(home: &Home) -> Result<Upgrader, String> {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let config = UpgradeConfig::from_vars(home.clone(), parachute_hub::HUB_VERSION, &vars)
        .map_err(|e| e.to_string())?;
    let units = hub_access::unit_manager()?;
    let runner = Arc::new(parachute_os::SystemRunner::from_env());
    Upgrader::new(config, units, runner).map_err(|e| e.to_string())
}

async fn hub(args: &UpgradeArgs, home: &Home, channel: Option<Channel>) -> i32 {
    let up = match upgrader(home) {
        Ok(up) => up,
        Err(e) => {
            eprintln!("✗ parachute upgrade: {e}");
            return 1;
        }
    };
    let request = StartRequest {
        channel,
        allow_downgrade: args.allow_downgrade,
    };
    if let Some(op) = &args.apply {
        return apply_helper(&up, op).await;
    }
    if args.status {
        return print_status(&up).await;
    }
    if args.check {
        return check(&up, channel).await;
    }
    let started = if args.detach {
        up.start_upgrade(&request).await
    } else {
        up.begin(&request).await
    };
    let started = match started {
        Ok(s) => s,
        Err(e) => return refused(&e),
    };
    if started.mode == Mode::RedeployRequired {
        return redeploy(&started);
    }
    println!(
        "Upgrading the hub {} → {} ({} channel).",
        started.current_version, started.target_version, started.channel
    );
    if args.detach {
        println!(
            "  Running in the background (operation {}); follow it with `parachute upgrade --status`.",
            started.operation_id
        );
        return 0;
    }
    let sink = progress::CliProgress::new();
    match up.apply(&started.operation_id, &sink).await {
        Ok(status) => {
            sink.finish();
            report_end(&status)
        }
        Err(e) => {
            sink.finish();
            eprintln!("✗ The upgrade was interrupted: {e}");
            1
        }
    }
}

fn refused(err: &UpgradeError) -> i32 {
    match err {
        UpgradeError::UpToDate { version, channel } => {
            println!(
                "✓ The hub is already at {version}, the newest release on the {channel} channel."
            );
            0
        }
        other => {
            eprintln!("✗ {other}");
            1
        }
    }
}

fn redeploy(started: &Started) -> i32 {
    let Some(r) = &started.redeploy else {
        return 1;
    };
    eprintln!(
        "✗ The hub cannot upgrade itself here (redeploy-required): {}.",
        r.reason
    );
    eprintln!("  To upgrade to {}: {}", started.target_version, r.command);
    1
}

/// The last line(s) of a run, from the final status; exit 0 only for `succeeded`.
fn report_end(status: &UpgradeStatus) -> i32 {
    let reason = status.reason.as_deref().unwrap_or("");
    let target = status.target_version.as_deref().unwrap_or("?");
    match status.phase {
        Phase::Succeeded => {
            println!("✓ Upgraded the hub to {target}: {reason}.");
            if let Some(prev) = &status.previous_binary {
                println!("  The previous binary is kept at {prev}.");
            }
            0
        }
        Phase::RolledBack => {
            eprintln!("✗ Rolled back: {reason}.");
            1
        }
        _ => {
            eprintln!("✗ The upgrade failed ({}): {reason}.", status.phase);
            1
        }
    }
}

async fn check(up: &Upgrader, channel: Option<Channel>) -> i32 {
    match up.check(channel).await {
        Ok(report) if report.update_available => {
            println!(
                "An update is available: {} → {} ({} channel, published {}).",
                report.current_version, report.latest_version, report.channel, report.pub_date
            );
            if let Some(notes) = report.notes.as_deref().filter(|n| !n.trim().is_empty()) {
                for line in notes.lines() {
                    println!("  {line}");
                }
            }
            println!("  Install it with `parachute upgrade`.");
            0
        }
        Ok(report) if report.downgrade => {
            println!(
                "No update: the {} channel offers {}, older than the running {} (`--allow-downgrade` would install it).",
                report.channel, report.latest_version, report.current_version
            );
            0
        }
        Ok(report) => {
            println!(
                "✓ The hub is up to date ({}, {} channel).",
                report.current_version, report.channel
            );
            0
        }
        Err(e) => {
            eprintln!("✗ {e}");
            1
        }
    }
}

async fn print_status(up: &Upgrader) -> i32 {
    match up.status().await {
        Ok(Some(status)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&status).expect("status serialises")
            );
            0
        }
        Ok(None) => {
            println!("No hub upgrade has run on this machine yet.");
            0
        }
        Err(e) => {
            eprintln!("✗ {e}");
            1
        }
    }
}

/// The background helper: runs the operation, its only report is the status file (and its
/// log lines on stderr, which the transient unit appends to `hub/logs/upgrade.log`).
async fn apply_helper(up: &Upgrader, operation: &str) -> i32 {
    eprintln!(
        "upgrade: helper for operation {operation} running (pid {})",
        std::process::id()
    );
    match up.apply(operation, &progress::LogProgress).await {
        Ok(status) => {
            eprintln!(
                "upgrade: operation {operation} ended {}: {}",
                status.phase,
                status.reason.as_deref().unwrap_or("")
            );
            i32::from(status.phase != Phase::Succeeded)
        }
        Err(e) => {
            eprintln!("upgrade: operation {operation} could not run: {e}");
            1
        }
    }
}

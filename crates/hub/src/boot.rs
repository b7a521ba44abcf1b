//! From `services.json` rows to supervised modules: spec resolution and the boot sequence.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use parachute_home::services::{self, StartCommand};
use parachute_home::{EnvFile, Home, ServiceRow};
use parachute_os::{port, process};
use parachute_supervisor::{SpawnSpec, StartBlocked, StartRequest, Supervisor};

/// The hub origin handed to modules as `PARACHUTE_HUB_ORIGIN`, asked again before every spawn
/// so a restart after `expose` sees the new origin (SPEC Part A item 3).
pub type OriginSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What boot did with each row, for the log and `/api/ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootOutcome {
    /// Handed to the supervisor.
    Started { short: String },
    /// Known module without a start command (CLI-only); nothing to run.
    CliOnly { short: String },
    /// No way to start it (no first-party command, no `module.json`).
    Unresolvable { short: String },
}

/// The start request for the module of `row`. The resolver re-reads the row (port,
/// `installDir`) and `<short>/.env` before every spawn; if the row has disappeared from
/// `services.json` it keeps using the row it was created with.
pub fn start_request(home: &Home, row: &ServiceRow, origin: OriginSource) -> StartRequest {
    let short = row.short();
    let home = home.clone();
    let initial = row.clone();
    let resolver_short = short.clone();
    StartRequest {
        short,
        resolver: Arc::new(move || {
            let manifest = services::read_lenient(&home).manifest;
            let row = manifest
                .find(&initial.name)
                .cloned()
                .unwrap_or_else(|| initial.clone());
            resolve(&home, &row, &resolver_short, origin())
        }),
    }
}

/// Hub variables that are secrets of the hub alone and never reach a module's environment:
/// the first admin's password only seeds `hub.db`, and a module that prints or reports its
/// environment must not be able to leak it.
pub const HUB_ONLY_ENV: &[&str] = &["PARACHUTE_INITIAL_ADMIN_PASSWORD"];

/// Builds the spawn spec for `row`: argv from its start command, cwd `installDir`, and the env
/// layered hub env (minus [`HUB_ONLY_ENV`]) → `PORT` → `<short>/.env` → `PARACHUTE_HUB_ORIGIN` → `PORT` again (the row's
/// port always wins over a `PORT=` in `.env`).
pub fn resolve(
    home: &Home,
    row: &ServiceRow,
    short: &str,
    origin: Option<String>,
) -> Result<SpawnSpec, StartBlocked> {
    let argv = match services::start_command(home, row) {
        StartCommand::Argv(argv) if !argv.is_empty() => argv,
        StartCommand::CliOnly => {
            return Err(blocked(
                "no_start_cmd",
                format!(
                    "{short} declares no start command (a CLI-only module); there is nothing to run"
                ),
            ));
        }
        _ => {
            return Err(blocked(
                "unresolvable",
                format!(
                    "don't know how to start {short}: it is not a first-party module and has no .parachute/module.json with a startCmd in its installDir; reinstall it"
                ),
            ));
        }
    };
    let port = row.port;
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| !HUB_ONLY_ENV.contains(&key.as_str()))
        .collect();
    env.push(("PORT".into(), port.to_string()));
    match EnvFile::read(&home.module_env(short)) {
        Ok(file) => env.extend(file.vars()),
        Err(err) => tracing::warn!(
            path = %home.module_env(short).display(),
            %err,
            "cannot read the module's .env; starting without it"
        ),
    }
    if let Some(origin) = origin {
        env.push(("PARACHUTE_HUB_ORIGIN".into(), origin));
    }
    env.push(("PORT".into(), port.to_string()));
    let env = dedupe_env(env);
    let spec = SpawnSpec {
        argv,
        cwd: row.install_dir.clone().filter(|d| d.is_dir()),
        env,
        port: Some(port),
    };
    clear_port(short, &spec)?;
    Ok(spec)
}

/// Keeps the last assignment of each key, in first-seen order.
fn dedupe_env(env: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(env.len());
    for (k, v) in env {
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

fn blocked(error_type: &str, description: String) -> StartBlocked {
    StartBlocked {
        error_type: error_type.to_string(),
        description,
    }
}

/// Makes sure the module's port is free before spawning. A holder that is provably an orphaned
/// copy of this very module (same command line, parent gone) is stopped; anything else is
/// reported with its pid and command and the module is not started (SPEC Part A item 7).
fn clear_port(short: &str, spec: &SpawnSpec) -> Result<(), StartBlocked> {
    let Some(port) = spec.port else {
        return Ok(());
    };
    let holders = port::listeners(port);
    if holders.is_empty() {
        return Ok(());
    }
    let expected = spec
        .resolve_program()
        .map(|program| {
            std::iter::once(program.display().to_string())
                .chain(spec.argv[1..].iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let me = std::process::id();
    let ours = |h: &port::PortHolder| {
        h.pid != me
            && h.command.as_deref() == Some(expected.as_str())
            && process::parent_pid(h.pid).is_none_or(|ppid| ppid == 1 || !process::is_alive(ppid))
    };
    if let Some(foreign) = holders.iter().find(|h| !ours(h)) {
        let who = if foreign.pid == me {
            "the hub itself".to_string()
        } else {
            foreign.to_string()
        };
        return Err(blocked(
            "port_in_use",
            format!(
                "port {port} for {short} is held by {who}, which this hub did not start; stop that process or give {short} another port in services.json, then start {short} again"
            ),
        ));
    }
    let stop_orphans = || {
        for holder in &holders {
            tracing::warn!(
                short,
                pid = holder.pid,
                port,
                "stopping an orphaned copy of this module that holds its port"
            );
            let _ = process::signal_group(holder.pid, Signal::SIGTERM);
            if !process::wait_gone(holder.pid, Duration::from_secs(5)) {
                let _ = process::signal_group(holder.pid, Signal::SIGKILL);
                process::wait_gone(holder.pid, Duration::from_secs(2));
            }
        }
    };
    // Waiting for the orphans can take seconds; on the hub's multi-threaded runtime, tell tokio
    // so other tasks move off this worker meanwhile.
    let on_multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_multi_thread {
        tokio::task::block_in_place(stop_orphans);
    } else {
        stop_orphans();
    }
    Ok(())
}

/// Hands every module row of `services.json` to the supervisor (all at once: spawning does not
/// wait for any module to come up). Rows that cannot be read are skipped with a warning.
pub fn boot_all(home: &Home, supervisor: &Supervisor, origin: &OriginSource) -> Vec<BootOutcome> {
    let read = services::read_lenient(home);
    for warning in &read.warnings {
        println!("[supervisor] services.json: {warning}");
    }
    let mut outcomes = Vec::new();
    for row in read.manifest.module_rows() {
        let short = row.short();
        match services::start_command(home, row) {
            StartCommand::Argv(argv) if !argv.is_empty() => {
                supervisor.start(start_request(home, row, origin.clone()));
                // A start command is the module's to write: shown escaped, like its output.
                let starting = format!("{short}: starting ({})", argv.join(" "));
                println!(
                    "[supervisor] {}",
                    parachute_supervisor::escape_for_terminal(&starting)
                );
                outcomes.push(BootOutcome::Started { short });
            }
            StartCommand::CliOnly => {
                println!("[supervisor] {short}: CLI-only module (no startCmd); nothing to run");
                outcomes.push(BootOutcome::CliOnly { short });
            }
            _ => {
                println!(
                    "[supervisor] {short}: no start command could be resolved (no first-party command, no module.json); skipping"
                );
                outcomes.push(BootOutcome::Unresolvable { short });
            }
        }
    }
    outcomes
}

//! From `services.json` rows to supervised modules: spec resolution and the boot sequence.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use parachute_home::services::{self, StartCommand};
use parachute_home::{Home, ServiceRow, read_spawn_vars};
use parachute_os::{port, process};
use parachute_supervisor::{SpawnSpec, StartBlocked, StartRequest, Supervisor};

/// The hub origin handed to modules as `PARACHUTE_HUB_ORIGIN`, asked again before every spawn
/// so a restart after `expose` sees the new origin (SPEC Part A item 3).
pub type OriginSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What every spawn of every module needs besides its row: the home, the base environment and
/// the origin to pass on. Cheap to clone; holds no reference to the hub's state, so the
/// supervisor's stored requests never keep it alive.
#[derive(Clone)]
pub struct SpawnContext {
    /// The config home (rows, `.env` files, `module.json`).
    pub home: Home,
    /// The environment modules start from.
    pub base_env: Arc<Vec<(String, String)>>,
    /// The origin passed as `PARACHUTE_HUB_ORIGIN`.
    pub origin: OriginSource,
}

impl SpawnContext {
    /// The context of the hub of `state`: its home, its modules' base environment, and the
    /// configured part of the issuer rule (setting > environment > exposure, see
    /// [`crate::auth::module_origin`]), asked before every spawn.
    pub fn of(state: &crate::state::AppState) -> Self {
        let db = state.db_handle();
        let env_origin = state.env_origin().map(str::to_string);
        let home = state.home().clone();
        Self {
            home: state.home().clone(),
            base_env: state.module_env(),
            origin: Arc::new(move || {
                crate::auth::module_origin(&crate::auth::OriginLayers {
                    setting: crate::auth::stored_hub_origin(&db),
                    env: env_origin.clone(),
                    exposure: crate::auth::exposed_origin(&home),
                })
            }),
        }
    }
}

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
pub fn start_request(ctx: &SpawnContext, row: &ServiceRow) -> StartRequest {
    let short = row.short();
    let ctx = ctx.clone();
    let initial = row.clone();
    let resolver_short = short.clone();
    StartRequest {
        short,
        resolver: Arc::new(move || {
            let manifest = services::read_lenient(&ctx.home).manifest;
            let row = manifest
                .find(&initial.name)
                .cloned()
                .unwrap_or_else(|| initial.clone());
            resolve(&ctx, &row, &resolver_short, (ctx.origin)())
        }),
    }
}

/// Builds the spawn spec for `row`: argv from its start command, cwd `installDir`, and the env
/// layered base env (the hub's, minus [`crate::config::HUB_ONLY_ENV`]) → `PORT` →
/// `<short>/.env` → `PARACHUTE_HUB_ORIGIN` → `PORT` again (the row's port always wins over a
/// `PORT=` in `.env`). Refused (`insecure_permissions`) while another user could change the
/// home, `services.json` or the module's `.env`; `.env` lines no process can take (a NUL byte,
/// a huge line) are left out with a warning naming the file and line.
pub fn resolve(
    ctx: &SpawnContext,
    row: &ServiceRow,
    short: &str,
    origin: Option<String>,
) -> Result<SpawnSpec, StartBlocked> {
    let home = &ctx.home;
    // Whoever can change services.json, the home or this module's .env decides what runs.
    if let Err(err) = home.check_module_not_writable_by_others(short) {
        return Err(blocked("insecure_permissions", err.to_string()));
    }
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
    let mut env: Vec<(String, String)> = ctx
        .base_env
        .iter()
        .filter(|(key, _)| !crate::config::HUB_ONLY_ENV.contains(&key.as_str()))
        .cloned()
        .collect();
    env.push(("PORT".into(), port.to_string()));
    match read_spawn_vars(&home.module_env(short)) {
        Ok(file) => {
            for warning in file.warnings() {
                tracing::warn!(short, "{warning}");
            }
            env.extend(file.vars);
        }
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
    let mut index: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(env.len());
    let mut out: Vec<(String, String)> = Vec::with_capacity(env.len());
    for (k, v) in env {
        match index.get(&k) {
            Some(&at) => out[at].1 = v,
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, v));
            }
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

/// What boot has to say as it goes (the hub turns these into events; `serve` prints them as
/// `[supervisor] …` lines).
pub type BootNotice<'a> = &'a dyn Fn(BootStep<'_>);

/// One step of the boot sequence.
#[derive(Debug, Clone, Copy)]
pub enum BootStep<'a> {
    /// A `services.json` row was skipped by the lenient read (the sentence says why).
    Skipped(&'a str),
    /// A row was dealt with; `done` of `total`.
    Progress {
        /// The row's outcome.
        outcome: &'a BootOutcome,
        /// The command started, when one was.
        command: Option<&'a str>,
        /// Rows dealt with so far.
        done: usize,
        /// Rows in all.
        total: usize,
    },
}

/// Hands every module row of `services.json` to the supervisor (all at once: spawning does not
/// wait for any module to come up). Rows that cannot be read are skipped with a notice.
pub fn boot_all(
    ctx: &SpawnContext,
    supervisor: &Supervisor,
    notice: BootNotice<'_>,
) -> Vec<BootOutcome> {
    // Each spawn refuses on its own (the reason becomes every module's start error); say it
    // once here too, where the operator reads the boot.
    if let Err(err) = ctx.home.check_not_writable_by_others() {
        tracing::error!("not starting any module: {err}");
    }
    let read = services::read_lenient(&ctx.home);
    for warning in &read.warnings {
        notice(BootStep::Skipped(&format!("services.json: {warning}")));
    }
    let rows = read.manifest.module_rows();
    let total = rows.len();
    let mut outcomes = Vec::with_capacity(total);
    for row in rows {
        let short = row.short();
        let (outcome, command) = match services::start_command(&ctx.home, row) {
            StartCommand::Argv(argv) if !argv.is_empty() => {
                supervisor.start(start_request(ctx, row));
                (BootOutcome::Started { short }, Some(argv.join(" ")))
            }
            StartCommand::CliOnly => (BootOutcome::CliOnly { short }, None),
            _ => (BootOutcome::Unresolvable { short }, None),
        };
        outcomes.push(outcome);
        notice(BootStep::Progress {
            outcome: outcomes.last().expect("just pushed"),
            command: command.as_deref(),
            done: outcomes.len(),
            total,
        });
    }
    outcomes
}

impl BootOutcome {
    /// The module's short name.
    pub fn short(&self) -> &str {
        match self {
            Self::Started { short } | Self::CliOnly { short } | Self::Unresolvable { short } => {
                short
            }
        }
    }

    /// The `[supervisor]` line for this outcome.
    pub fn describe(&self, command: Option<&str>) -> String {
        match self {
            Self::Started { short } => {
                format!("{short}: starting ({})", command.unwrap_or_default())
            }
            Self::CliOnly { short } => {
                format!("{short}: CLI-only module (no startCmd); nothing to run")
            }
            Self::Unresolvable { short } => format!(
                "{short}: no start command could be resolved (no first-party command, no module.json); skipping"
            ),
        }
    }
}

//! `parachute migrate --to-supervised`: move a legacy install (detached daemons with pid files,
//! or the original hub's own unit) to our hub running under the service manager.
//!
//! The order matters, and every step can be repeated, so a cutover that failed anywhere is
//! finished by running it again:
//!
//! 1. our unit installed and `/health` answering → already migrated, nothing touched;
//! 2. a hub unit that is not ours (the original's `bun …/cli.ts serve`, an older binary path) or
//!    not answering is stopped through its manager, so it cannot respawn into our ports;
//! 3. our unit file is written and registered, **not started** (no manager → `no-manager`;
//!    failure → `write-failed`; nothing else was touched yet);
//! 4. legacy per-module units that would start old modules on the module ports are disabled;
//! 5. the detached hub and each module are stopped by their pid files (process group SIGTERM,
//!    15 s, SIGKILL), and the pid files removed;
//! 6. whatever still listens on the hub port or a module port is stopped only when provably
//!    ours (its pid or group is the recorded one, or its command line names Parachute); anything
//!    else is reported with pid and command and left running;
//! 7. every port must be free within 15 s, else `port-stuck` (unit written, not started);
//! 8. the unit is enabled and started and the port must open (`start-failed`/`verify-timeout`);
//! 9. `/health` must answer within 15 s, else `verify-timeout`.
//!
//! Data is never touched: only pid files (and a stale `hub/run/hub.port`) are removed.

use std::collections::BTreeSet;

use parachute_home::hub_port;
use parachute_unit::{EnsureOutcome, InstallOptions, InstallOutcome, OpOutcome, UnitId};

use crate::console::Prompt;
use crate::env::MigrateEnv;
use crate::legacy::{self, ModuleTarget, PidRecord, RecordState};
use crate::procs::{self, Stopped};

/// How a cutover ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoverOutcome {
    /// The hub now runs under the manager and answers `/health`.
    Migrated,
    /// Our unit was already installed and the hub healthy: nothing was done.
    AlreadyMigrated,
    /// No service manager on this machine: the supervised model is impossible here.
    NoManager,
    /// The unit file could not be written; nothing else was touched.
    WriteFailed,
    /// A port stayed taken; the unit is written but not started.
    PortStuck {
        /// The port.
        port: u16,
        /// Whose port it is (`hub` or a module's short name).
        owner: String,
    },
    /// The manager would not start the unit.
    StartFailed,
    /// The unit started but the hub never answered.
    VerifyTimeout,
}

impl CutoverOutcome {
    /// The outcome's name (`migrated`, `port-stuck`, …).
    pub fn name(&self) -> &'static str {
        match self {
            CutoverOutcome::Migrated => "migrated",
            CutoverOutcome::AlreadyMigrated => "already-migrated",
            CutoverOutcome::NoManager => "no-manager",
            CutoverOutcome::WriteFailed => "write-failed",
            CutoverOutcome::PortStuck { .. } => "port-stuck",
            CutoverOutcome::StartFailed => "start-failed",
            CutoverOutcome::VerifyTimeout => "verify-timeout",
        }
    }

    /// True for `migrated` and `already-migrated`.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            CutoverOutcome::Migrated | CutoverOutcome::AlreadyMigrated
        )
    }
}

/// The outcome plus the closing message (progress lines were said as the steps ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoverReport {
    /// How it ended.
    pub outcome: CutoverOutcome,
    /// What to tell the user, ending with the next step when something is wrong.
    pub messages: Vec<String>,
}

impl CutoverReport {
    /// 0 for `migrated`/`already-migrated`, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.outcome.succeeded() { 0 } else { 1 }
    }

    fn new(outcome: CutoverOutcome, messages: Vec<String>) -> Self {
        Self { outcome, messages }
    }
}

const RERUN: &str =
    "Fix that, then run `parachute migrate --to-supervised` again: it picks up where it stopped.";

/// Runs the cutover, saying progress on `io`. Never asks questions.
pub fn cut_over(env: &MigrateEnv, io: &mut dyn Prompt) -> CutoverReport {
    let id = UnitId::hub();
    let port = env.port();
    let installed = env.unit_installed();
    let current = installed && env.unit_is_current();
    let legacy_running = legacy::all_records(&env.home)
        .iter()
        .any(|r| r.state() == RecordState::Running);
    if current && !legacy_running && env.hub_healthy() {
        return CutoverReport::new(
            CutoverOutcome::AlreadyMigrated,
            vec![format!(
                "Already migrated: the hub unit is installed and the hub answers on 127.0.0.1:{port}."
            )],
        );
    }
    let spec = match env.hub_spec() {
        Ok(spec) => spec,
        Err(e) => {
            return CutoverReport::new(
                CutoverOutcome::WriteFailed,
                vec![format!(
                    "Could not describe the hub unit: {e}. Nothing was changed."
                )],
            );
        }
    };
    if env.units.scope().is_none() {
        return CutoverReport::new(CutoverOutcome::NoManager, no_manager_messages());
    }

    io.say(
        "Moving this install to the supervised hub (parachute serve under the service manager).",
    );

    // Step 2: a unit already there — the original's, an older one of ours, or ours but down.
    if installed {
        if current {
            io.say(
                "Found our hub unit, but the hub is not answering: resuming an earlier cutover.",
            );
        } else {
            let what = env
                .installed_exec_start()
                .map(|cmd| format!(" (it runs `{cmd}`)"))
                .unwrap_or_default();
            io.say(&format!(
                "Found a hub unit other than the one this binary writes{what}: stopping it through the service manager before replacing it; its data stays."
            ));
        }
        match env.units.stop(&id) {
            OpOutcome::Ok | OpOutcome::NoUnit => {}
            other => {
                if let Some(m) = other.message() {
                    io.say(&format!("  ⚠ {m}"));
                }
            }
        }
    }

    // Step 3: write our unit without starting it.
    io.say("Writing the hub unit (not starting it yet)…");
    match env.units.install(&spec, InstallOptions { start: false }) {
        InstallOutcome::Installed { path, warnings, .. } => {
            io.say(&format!("  wrote {}", path.display()));
            for w in warnings {
                io.say(&format!("  ⚠ {w}"));
            }
        }
        InstallOutcome::NoManager => {
            return CutoverReport::new(CutoverOutcome::NoManager, no_manager_messages());
        }
        InstallOutcome::Failed { detail } => {
            return CutoverReport::new(
                CutoverOutcome::WriteFailed,
                vec![
                    format!("Could not write the hub unit: {detail}."),
                    "Nothing was stopped or changed. Fix the cause and run `parachute migrate --to-supervised` again.".into(),
                ],
            );
        }
    }

    let targets = legacy::module_targets(&env.home);

    // Step 4: per-module units of older installs would take the module ports back.
    disable_stale_units(env, &targets, io);

    // Step 5: the detached hub and modules, by pid file.
    io.say("Stopping the detached hub and modules…");
    // Only records that named our process count as proof of ownership in step 6: a stale
    // record whose pid now belongs to a stranger must not make that stranger "ours".
    let hub_record = legacy::hub_record(&env.home).filter(|rec| stop_recorded(env, rec, io));
    let mut records: Vec<PidRecord> = Vec::new();
    for t in &targets {
        if let Some(rec) = legacy::module_record(&env.home, &t.short)
            && stop_recorded(env, &rec, io)
        {
            records.push(rec);
        }
    }
    clear_stale_port_file(env);

    // Step 6: anything still on our ports.
    io.say("Checking that nothing else holds the hub and module ports…");
    let mut ports: Vec<(u16, String, Option<PidRecord>)> = vec![(port, "hub".into(), hub_record)];
    for ModuleTarget { short, port: p } in &targets {
        if ports.iter().any(|(q, _, _)| q == p) {
            continue;
        }
        let rec = records.iter().find(|r| &r.short == short).cloned();
        ports.push((*p, short.clone(), rec));
    }
    let mut strangers: BTreeSet<u16> = BTreeSet::new();
    for (p, owner, rec) in &ports {
        if !sweep_port(env, *p, owner, rec.as_ref(), io) {
            strangers.insert(*p);
        }
    }

    // Step 7: every port free.
    for (p, owner, _) in &ports {
        let free = if strangers.contains(p) {
            // A process we will not stop holds it; waiting cannot help.
            parachute_os::port::is_free(*p)
        } else {
            procs::wait(env.timing.port_free, env.timing.poll, || {
                parachute_os::port::is_free(*p)
            })
        };
        if !free {
            return CutoverReport::new(
                CutoverOutcome::PortStuck {
                    port: *p,
                    owner: owner.clone(),
                },
                vec![
                    format!("Port {p} ({owner}) is still taken, so the hub was not started."),
                    "The hub unit is written but not started; your files are unchanged.".into(),
                    format!(
                        "See what holds it with `lsof -iTCP:{p} -sTCP:LISTEN` (or `ss -ltnp 'sport = :{p}'`), stop it, then run `parachute migrate --to-supervised` again."
                    ),
                ],
            );
        }
    }

    // Step 8: start (and enable) the unit.
    io.say("Starting the hub unit…");
    let report = env.units.install_and_start(&spec, &env.ensure_config());
    match report.outcome {
        EnsureOutcome::Started | EnsureOutcome::AlreadyUp => {}
        EnsureOutcome::Timeout { .. } => {
            return CutoverReport::new(
                CutoverOutcome::VerifyTimeout,
                vec![report.outcome.message(), RERUN.into()],
            );
        }
        EnsureOutcome::NoManager => {
            return CutoverReport::new(CutoverOutcome::NoManager, no_manager_messages());
        }
        other => {
            let why = match other {
                EnsureOutcome::StartFailed(detail) => detail,
                other => other.message(),
            };
            return CutoverReport::new(
                CutoverOutcome::StartFailed,
                vec![
                    format!("The service manager did not start the hub unit: {why}."),
                    "The detached processes are stopped; the hub is down until this is fixed."
                        .into(),
                    format!("{RERUN} Meanwhile `parachute serve` runs the hub in the foreground."),
                ],
            );
        }
    }

    // Step 9: /health.
    if !procs::wait(env.timing.ready, env.timing.poll, || env.hub_healthy()) {
        return CutoverReport::new(
            CutoverOutcome::VerifyTimeout,
            vec![
                format!(
                    "The hub unit started, but /health on 127.0.0.1:{port} did not answer within {}s.",
                    env.timing.ready.as_secs()
                ),
                format!("Its output is in {}. {RERUN}", env.hub.log_path().display()),
            ],
        );
    }
    let scope = env
        .units
        .scope()
        .map(|s| s.describe())
        .unwrap_or("service manager");
    CutoverReport::new(
        CutoverOutcome::Migrated,
        vec![
            "✓ Migrated to the supervised hub.".into(),
            format!("The hub runs as a {scope} on 127.0.0.1:{port} and comes back after a reboot;"),
            "your modules are its children, started from services.json;".into(),
            "`parachute start|stop|restart <module>` now go through the running hub.".into(),
        ],
    )
}

/// Disables the per-module units of older installs (every first-party module, plus each
/// `services.json` module), saying what was done and what needs a person.
pub(crate) fn disable_stale_units(env: &MigrateEnv, targets: &[ModuleTarget], io: &mut dyn Prompt) {
    let mut shorts: Vec<String> = parachute_home::CANONICAL_PORTS
        .iter()
        .map(|(s, _)| s.to_string())
        .filter(|s| s != "hub")
        .collect();
    for t in targets {
        if !shorts.contains(&t.short) {
            shorts.push(t.short.clone());
        }
    }
    let shorts: Vec<&str> = shorts.iter().map(String::as_str).collect();
    let stale = env.units.disable_stale_module_units(&shorts);
    for unit in &stale.disabled {
        io.say(&format!("  ✓ disabled the old per-module unit {unit}"));
    }
    for w in &stale.warnings {
        io.say(&format!("  ⚠ {w}"));
    }
}

fn no_manager_messages() -> Vec<String> {
    vec![
        "No service manager (systemd or launchd) here, so there is nothing to migrate to. Nothing was changed.".into(),
        "Run the hub with `parachute serve` in the foreground (a container runtime does that for you).".into(),
    ]
}

/// Stops the process a pid file records and removes the file. Returns true when the record
/// named a live process of ours (its pid or group may then be trusted in the port sweep);
/// false for a stale record or a pid now reused by an unrelated process.
fn stop_recorded(env: &MigrateEnv, rec: &PidRecord, io: &mut dyn Prompt) -> bool {
    let ours = match rec.state() {
        RecordState::Gone => {
            io.say(&format!(
                "  {} was not running (removing its stale pid file)",
                rec.short
            ));
            false
        }
        RecordState::Reused { command } => {
            io.say(&format!(
                "  ⚠ {}'s pid file names pid {}, but that process started after the file was written ({}); it is not {} and is left alone",
                rec.short,
                rec.pid,
                command.as_deref().unwrap_or("command line unavailable"),
                rec.short
            ));
            false
        }
        RecordState::Running => {
            match procs::stop_group(rec.pid, env.timing.stop_grace, env.timing.poll) {
                Stopped::Terminated | Stopped::WasNotRunning => {
                    io.say(&format!("  ✓ stopped {} (pid {})", rec.short, rec.pid));
                }
                Stopped::Killed => io.say(&format!(
                    "  ✓ stopped {} (pid {}; it ignored SIGTERM for {}s and was killed)",
                    rec.short,
                    rec.pid,
                    env.timing.stop_grace.as_secs()
                )),
                Stopped::Survived => {
                    io.say(&format!(
                        "  ⚠ {} (pid {}) survived SIGKILL; its pid file is kept",
                        rec.short, rec.pid
                    ));
                    return true;
                }
            }
            true
        }
    };
    rec.clear();
    ours
}

/// `hub/run/hub.port` naming a port nothing listens on any more is removed (our `serve` writes
/// it again when it binds).
fn clear_stale_port_file(env: &MigrateEnv) {
    if let Some(p) = hub_port::read(&env.home).ok().flatten()
        && parachute_os::port::is_free(p)
    {
        let _ = hub_port::remove(&env.home);
    }
}

/// Stops whatever listens on `port` when it is provably ours; returns false when a process we
/// must not touch holds it.
fn sweep_port(
    env: &MigrateEnv,
    port: u16,
    owner: &str,
    rec: Option<&PidRecord>,
    io: &mut dyn Prompt,
) -> bool {
    let mut clean = true;
    for holder in parachute_os::port::listeners(port) {
        let pid = holder.pid;
        if !parachute_os::process::is_alive(pid) {
            continue;
        }
        let recorded = rec.map(|r| r.pid);
        let group = procs::pgid_of(pid);
        let by_record = recorded.is_some_and(|r| r == pid || group == Some(r));
        let by_name = holder
            .command
            .as_deref()
            .is_some_and(procs::names_parachute);
        if procs::untouchable(pid) || !(by_record || by_name) {
            io.say(&format!(
                "  ⚠ port {port} ({owner}) is held by pid {pid} ({}), which is not part of Parachute; leaving it running",
                holder.command.as_deref().unwrap_or("command line unavailable")
            ));
            clean = false;
            continue;
        }
        let leads_group = group == Some(pid);
        let how = if by_record {
            procs::stop_group(
                recorded.unwrap_or(pid),
                env.timing.stop_grace,
                env.timing.poll,
            )
        } else if leads_group {
            procs::stop_group(pid, env.timing.stop_grace, env.timing.poll)
        } else {
            procs::stop_one(pid, env.timing.stop_grace, env.timing.poll)
        };
        let cmd = holder.command.as_deref().unwrap_or("?");
        match how {
            Stopped::Survived => io.say(&format!(
                "  ⚠ pid {pid} ({cmd}) on port {port} ({owner}) survived SIGKILL"
            )),
            _ => io.say(&format!(
                "  ✓ stopped pid {pid} ({cmd}), left over on port {port} ({owner})"
            )),
        }
    }
    clean
}

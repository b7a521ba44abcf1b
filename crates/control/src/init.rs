//! `init`'s steps as typed reports: get a box to "hub running under the service manager,
//! operator token in place, exposure as chosen".
//!
//! Steps, each safe to run again (each first checks whether it is already done):
//! 1. [`ensure_hub`]: a legacy hub or a hub already answering is reported, not touched; with no
//!    service manager, or with legacy modules still holding ports, the step fails; otherwise
//!    the installed unit is started (or the unit installed and started) and `/health` awaited.
//! 2. [`ensure_operator_token`]: once an admin exists, mint the operator token (0600) with the
//!    one issuer rule's origin.
//! 3. [`current_exposure`] / [`expose`]: report an active layer, or bring the chosen one up.
//! 4. [`readiness`] and [`dashboard_url`]: what the front end tells the person to do next.
//!
//! Questions (which exposure, which Cloudflare hostname, open a browser?) belong to the front
//! end: these functions take the answers.

use std::path::PathBuf;
use std::sync::Arc;

use parachute_auth::{HubDb, OperatorScopeSet, OperatorToken, mint_operator};
use parachute_expose::{ExposeConfig, Exposure, Line, Target, UpOptions};
use parachute_home::{ExposeState, Home, expose_state};
use parachute_migrate::legacy::{self, RecordState};
use parachute_migrate::{MigrateEnv, procs};
use parachute_os::CommandRunner;
use parachute_unit::{EnsureOutcome, InstallOutcome};

use crate::NextStep;

/// What the hub step found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubStep {
    /// A legacy (detached, pid-file) hub runs; it was left alone.
    LegacyHubRunning {
        /// Its pid.
        pid: u32,
    },
    /// A hub already answers on the port.
    AlreadyRunning {
        /// The port.
        port: u16,
        /// Why it does not run the way `init` sets it up, when it does not.
        attention: Option<HubAttention>,
    },
    /// The installed unit was started and the hub answers.
    StartedUnit {
        /// The port.
        port: u16,
    },
    /// The unit was (re)installed and started, and the hub answers.
    Installed {
        /// The port.
        port: u16,
        /// What the install did, in the unit library's words (`None` when the unit was
        /// already in place and only started).
        unit_message: Option<String>,
        /// Warnings the install raised (e.g. lingering not enabled).
        warnings: Vec<String>,
    },
}

impl HubStep {
    /// True when this run changed the machine.
    pub fn changed(&self) -> bool {
        matches!(self, Self::StartedUnit { .. } | Self::Installed { .. })
    }

    /// True when a hub runs but not the way `init` sets it up, so a run must not claim that
    /// nothing needed doing.
    pub fn needs_attention(&self) -> bool {
        match self {
            Self::LegacyHubRunning { .. } => true,
            Self::AlreadyRunning { attention, .. } => attention.is_some(),
            _ => false,
        }
    }
}

/// Why a running hub is not the way `init` leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubAttention {
    /// It runs outside the service manager (by hand), so it will not survive a reboot.
    NotUnderManager,
    /// It runs under a unit this binary did not write.
    ForeignUnit,
}

impl HubAttention {
    /// What fixes it.
    pub fn next_step(self) -> NextStep {
        match self {
            Self::NotUnderManager => NextStep::InstallHubUnit,
            Self::ForeignUnit => NextStep::MigrateToSupervised,
        }
    }
}

/// Progress of the hub step worth showing while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubProgress {
    /// The installed unit did not bring the hub up; it is being installed again.
    ReinstallingUnit {
        /// What the start attempt reported.
        reason: String,
    },
}

/// Why a step of `init` stopped.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// There is no service manager to install the hub under.
    #[error("{0}")]
    NoManager(String),
    /// Modules of a legacy install hold the ports the hub's modules need.
    #[error("modules of the legacy install are still running: {}; they hold the ports the hub's modules need", list_running(.0))]
    LegacyModulesRunning(Vec<(String, u32)>),
    /// The unit could not be described (no `parachute` binary found, …).
    #[error("{0}")]
    HubSpec(String),
    /// The unit was installed but the hub did not come up.
    #[error("the hub did not start: {reason}")]
    HubDidNotStart {
        /// What the manager reported.
        reason: String,
        /// The hub's log, where the reason is.
        log: PathBuf,
    },
    /// The port opened but `/health` did not answer in time.
    #[error("the hub opened port {port} but /health did not answer within {secs}s; its output is in {}", .log.display())]
    NotHealthy {
        /// The port.
        port: u16,
        /// The budget waited, in seconds.
        secs: u64,
        /// The hub's log.
        log: PathBuf,
    },
    /// Exposure failed.
    #[error("{0}")]
    Expose(#[from] parachute_expose::ExposeError),
}

impl InitError {
    /// What the person can do about it.
    pub fn next_steps(&self) -> Vec<NextStep> {
        match self {
            Self::LegacyModulesRunning(_) => vec![NextStep::MigrateToSupervised],
            Self::HubDidNotStart { .. } => vec![NextStep::RunInForeground],
            Self::NotHealthy { .. } => vec![NextStep::ReadHubLog],
            _ => Vec::new(),
        }
    }
}

fn list_running(running: &[(String, u32)]) -> String {
    running
        .iter()
        .map(|(short, pid)| format!("{short} (pid {pid})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Step 1: makes sure the hub runs under its unit.
pub fn ensure_hub(
    env: &MigrateEnv,
    progress: &mut dyn FnMut(HubProgress),
) -> Result<HubStep, InitError> {
    let port = env.port();
    let records = legacy::all_records(&env.home);
    let running: Vec<_> = records
        .iter()
        .filter(|r| r.state() == RecordState::Running)
        .collect();
    if let Some(hub) = running.iter().find(|r| r.short == "hub") {
        return Ok(HubStep::LegacyHubRunning { pid: hub.pid });
    }
    if env.hub_healthy() {
        let attention = if !env.unit_installed() {
            env.units
                .scope()
                .is_some()
                .then_some(HubAttention::NotUnderManager)
        } else if !env.unit_is_current() {
            Some(HubAttention::ForeignUnit)
        } else {
            None
        };
        return Ok(HubStep::AlreadyRunning { port, attention });
    }
    if env.units.scope().is_none() {
        return Err(InitError::NoManager(EnsureOutcome::NoManager.message()));
    }
    if !running.is_empty() {
        let list = running.iter().map(|r| (r.short.clone(), r.pid)).collect();
        return Err(InitError::LegacyModulesRunning(list));
    }
    if env.unit_installed() && env.unit_is_current() {
        let outcome = env.units.ensure_hub_up(&env.ensure_config());
        if outcome == EnsureOutcome::Started {
            wait_healthy(env)?;
            return Ok(HubStep::StartedUnit { port });
        }
        progress(HubProgress::ReinstallingUnit {
            reason: outcome.message(),
        });
    }
    let spec = env
        .hub_spec()
        .map_err(|e| InitError::HubSpec(e.to_string()))?;
    let report = env.units.install_and_start(&spec, &env.ensure_config());
    let (unit_message, warnings) = match &report.install {
        InstallOutcome::Installed { warnings, .. } => {
            (Some(report.install.message(&spec.id)), warnings.clone())
        }
        _ => (None, Vec::new()),
    };
    if !report.outcome.is_up() {
        return Err(InitError::HubDidNotStart {
            reason: report.outcome.message(),
            log: env.hub.log_path(),
        });
    }
    wait_healthy(env)?;
    Ok(HubStep::Installed {
        port,
        unit_message,
        warnings,
    })
}

/// The port opened; `/health` should follow within the readiness budget.
fn wait_healthy(env: &MigrateEnv) -> Result<(), InitError> {
    if procs::wait(env.timing.ready, env.timing.poll, || env.hub_healthy()) {
        return Ok(());
    }
    Err(InitError::NotHealthy {
        port: env.port(),
        secs: env.timing.ready.as_secs(),
        log: env.hub.log_path(),
    })
}

/// What the operator-token step found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStep {
    /// A usable token is already in place.
    AlreadyInPlace(PathBuf),
    /// No admin account exists yet, so no token can be minted.
    NoAdminYet,
    /// A token was written (mode 0600).
    Written(PathBuf),
    /// `hub.db` could not be opened.
    DbUnavailable {
        /// The database file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// The accounts could not be counted.
    CountFailed(String),
    /// Minting or writing failed.
    MintFailed(String),
}

impl TokenStep {
    /// True when this run wrote a token.
    pub fn changed(&self) -> bool {
        matches!(self, Self::Written(_))
    }
}

/// Step 2: writes `operator.token` once an admin exists.
pub fn ensure_operator_token(env: &MigrateEnv) -> TokenStep {
    let home = &env.home;
    let path = home.operator_token();
    if let Ok(Some(_)) = OperatorToken::load(&path) {
        return TokenStep::AlreadyInPlace(path);
    }
    let db = match HubDb::open(&home.hub_db()) {
        Ok(db) => db,
        Err(e) => {
            return TokenStep::DbUnavailable {
                path: home.hub_db(),
                error: e.to_string(),
            };
        }
    };
    match db.user_count() {
        Ok(0) => return TokenStep::NoAdminYet,
        Ok(_) => {}
        Err(e) => return TokenStep::CountFailed(e.to_string()),
    }
    let issuer = issuer(env, &db);
    match mint_operator(&db, OperatorScopeSet::Admin, &issuer, &path) {
        Ok(_) => TokenStep::Written(path),
        Err(e) => TokenStep::MintFailed(e.to_string()),
    }
}

/// The issuer an operator token gets: the one issuer rule (setting, environment, exposure),
/// else the loopback origin of the port `init` brought the hub up on.
fn issuer(env: &MigrateEnv, db: &HubDb) -> String {
    let loopback = format!("http://127.0.0.1:{}", env.port());
    let env_origin = parachute_auth::env_origin_from(|var| std::env::var(var).ok())
        .ok()
        .flatten();
    let setting = db
        .setting(parachute_auth::SETTING_HUB_ORIGIN)
        .ok()
        .flatten();
    let exposure = expose_state::read(&env.home)
        .ok()
        .flatten()
        .map(|state| parachute_expose::advertised_origin(&state));
    parachute_auth::IssuerLayers {
        setting: setting.as_deref(),
        env: env_origin.as_deref(),
        exposure: exposure.as_deref(),
    }
    .resolve(&loopback)
    .origin
}

/// Step 3a: the active exposure, if any (`Err` names a malformed state file).
pub fn current_exposure(home: &Home) -> Result<Option<ExposeState>, String> {
    expose_state::read(home).map_err(|e| e.to_string())
}

/// Step 3b: brings `target` up; returns the exposure state it left.
pub fn expose(
    env: &MigrateEnv,
    runner: Arc<dyn CommandRunner>,
    target: &Target,
    progress: Arc<dyn Fn(&Line) + Send + Sync>,
) -> Result<Option<ExposeState>, InitError> {
    let mut config = ExposeConfig::for_user_home(&env.units.env().home_dir);
    config.progress = Some(progress);
    let exposure = Exposure::new(env.home.clone(), runner, env.units.clone(), config);
    exposure.up(target, &UpOptions::default())?;
    Ok(expose_state::read(&env.home).ok().flatten())
}

/// Step 4: what is still missing before the hub is useful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// An admin account exists.
    pub has_admin: bool,
    /// A vault is configured in `services.json`.
    pub has_vault: bool,
}

/// Reads [`Readiness`] from the home.
pub fn readiness(home: &Home) -> Readiness {
    Readiness {
        has_vault: parachute_home::services::read_lenient(home)
            .manifest
            .find("parachute-vault")
            .is_some(),
        has_admin: HubDb::open(&home.hub_db())
            .and_then(|db| db.user_count())
            .is_ok_and(|n| n > 0),
    }
}

/// The dashboard's URL: the exposed origin when exposed, else loopback.
pub fn dashboard_url(port: u16, exposed: Option<&ExposeState>) -> String {
    match exposed {
        Some(state) => format!("https://{}/admin/", state.canonical_fqdn),
        None => format!("http://127.0.0.1:{port}/admin/"),
    }
}

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;

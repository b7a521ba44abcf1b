//! The hub's own lifecycle through its managed unit: start (and wait until it answers), stop,
//! restart (and wait again), as typed outcomes with next steps.
//!
//! The hub unit is driven through its service manager only (`systemctl`/`launchctl`), never by
//! signalling a pid (see ARCHITECTURE.md). A hub started by hand (`parachute serve`) is used as
//! it is by module operations, but cannot be stopped or restarted from here.

use parachute_unit::{EnsureConfig, EnsureOutcome, ManagedUnit, OpOutcome, UnitId, probe_health};

use crate::next_step::NextStep;

/// What a hub lifecycle operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubOutcome {
    /// The hub already answered; nothing was asked of the manager.
    AlreadyUp {
        /// Its port.
        port: u16,
    },
    /// The manager started the unit and the hub answers.
    Started {
        /// Its port.
        port: u16,
    },
    /// The manager stopped the unit (its modules stopped with it).
    Stopped,
    /// The manager restarted the unit and the hub answers again.
    Restarted {
        /// Its port.
        port: u16,
    },
}

/// Why a hub lifecycle operation could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// No hub unit is installed. `hub_up`: a hub started by hand answers anyway.
    #[error("no hub unit is installed")]
    NoUnit {
        /// Whether a hub answers on the port (started by hand).
        hub_up: bool,
        /// What to do.
        next: Vec<NextStep>,
    },
    /// No service manager on this machine.
    #[error("this machine has no service manager (systemd or launchd) to run the hub unit")]
    NoManager {
        /// What to do.
        next: Vec<NextStep>,
    },
    /// The manager refused, or the hub never answered afterwards.
    #[error("{detail}")]
    Failed {
        /// What the manager or the wait said (with the recent log when there is one).
        detail: String,
        /// What to do.
        next: Vec<NextStep>,
    },
}

impl HubError {
    /// The next steps this error suggests.
    pub fn next_steps(&self) -> &[NextStep] {
        match self {
            Self::NoUnit { next, .. } | Self::NoManager { next } | Self::Failed { next, .. } => {
                next
            }
        }
    }
}

fn no_unit(hub_up: bool) -> HubError {
    let mut next = Vec::new();
    if hub_up {
        next.push(NextStep::StopWhereItRuns);
    }
    next.extend([NextStep::InstallHubUnit, NextStep::RunInForeground]);
    HubError::NoUnit { hub_up, next }
}

fn no_manager() -> HubError {
    HubError::NoManager {
        next: vec![NextStep::RunInForeground],
    }
}

/// Makes sure the hub answers, starting its unit when it does not. `announce` is called just
/// before the manager is asked (the wait can take a while, so front ends say so).
pub fn ensure_up(
    units: &ManagedUnit,
    cfg: &EnsureConfig,
    announce: &dyn Fn(),
) -> Result<HubOutcome, HubError> {
    if units.is_installed(&UnitId::hub()) && !probe_health(cfg.port, cfg.health_timeout) {
        announce();
    }
    match units.ensure_hub_up(cfg) {
        EnsureOutcome::AlreadyUp => Ok(HubOutcome::AlreadyUp { port: cfg.port }),
        EnsureOutcome::Started => Ok(HubOutcome::Started { port: cfg.port }),
        EnsureOutcome::NoUnit => Err(no_unit(false)),
        EnsureOutcome::NoManager => Err(no_manager()),
        failed => Err(HubError::Failed {
            detail: failed.message(),
            next: vec![NextStep::ReadHubLog],
        }),
    }
}

/// Stops the hub unit through its manager.
pub fn stop(units: &ManagedUnit, cfg: &EnsureConfig) -> Result<HubOutcome, HubError> {
    match units.stop(&UnitId::hub()) {
        OpOutcome::Ok => Ok(HubOutcome::Stopped),
        other => Err(op_error(other, cfg)),
    }
}

/// Restarts the hub unit through its manager and waits until the hub answers again.
pub fn restart(units: &ManagedUnit, cfg: &EnsureConfig) -> Result<HubOutcome, HubError> {
    match units.restart(&UnitId::hub()) {
        OpOutcome::Ok => wait_after_restart(units, cfg),
        other => Err(op_error(other, cfg)),
    }
}

fn op_error(outcome: OpOutcome, cfg: &EnsureConfig) -> HubError {
    match outcome {
        OpOutcome::NoUnit => no_unit(probe_health(cfg.port, cfg.health_timeout)),
        OpOutcome::NoManager => no_manager(),
        failed => HubError::Failed {
            detail: failed.message().unwrap_or_default(),
            next: Vec::new(),
        },
    }
}

fn wait_after_restart(units: &ManagedUnit, cfg: &EnsureConfig) -> Result<HubOutcome, HubError> {
    let up = parachute_os::wait::poll_for(cfg.ready_timeout, cfg.poll_interval, || {
        probe_health(cfg.port, cfg.health_timeout)
    });
    if up {
        return Ok(HubOutcome::Restarted { port: cfg.port });
    }
    let mut detail = format!(
        "the hub unit was restarted, but the hub did not answer on 127.0.0.1:{} within {}s",
        cfg.port,
        cfg.ready_timeout.as_secs()
    );
    let log = units.recent_log(&UnitId::hub(), cfg.log_lines, cfg.log_path.as_deref());
    if !log.trim().is_empty() {
        detail.push('\n');
        detail.push_str(log.trim_end());
    }
    Err(HubError::Failed {
        detail,
        next: vec![NextStep::ReadHubLog],
    })
}

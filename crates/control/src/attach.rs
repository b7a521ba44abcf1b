//! How a front end that can run the hub itself (the desktop app) finds out what to do at launch.
//!
//! Steps of [`attach`], first match wins:
//! 1. **A hub unit is installed**: start it through its manager (if it is not already up), then
//!    attach once the hub on the port has proved it serves this home ([`AttachPlan::Unit`]).
//! 2. **A legacy install** (no unit, the detached model's pid files): offer `migrate`
//!    ([`AttachPlan::OfferMigrate`]); the front end asks the person.
//! 3. **Something listens on the port**: attach if it proves it is this home's hub
//!    ([`AttachPlan::Attached`]), else report who holds the port
//!    ([`AttachError::PortHeld`]) — never a credential to it, never a second hub.
//! 4. **Nothing**: start the hub in this process ([`AttachPlan::InProcess`]).
//!
//! The facts come through [`AttachProbe`], so the decision is tested without a display, a
//! service manager or a hub; [`SystemProbe`] is the real one.

use parachute_home::Home;
use parachute_os::port::PortHolder;
use parachute_unit::{EnsureConfig, ManagedUnit, UnitId};

use crate::hub::{HubError, HubOutcome, ensure_up};
use crate::next_step::NextStep;

/// What the front end should do with the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachPlan {
    /// The hub unit runs it and it proved itself: be its client.
    Unit {
        /// Its port.
        port: u16,
        /// Whether the manager had to start it now.
        started: bool,
    },
    /// A hub started elsewhere (by hand, another session) proved itself: be its client.
    Attached {
        /// Its port.
        port: u16,
    },
    /// A legacy install runs this home: ask whether to migrate before anything else.
    OfferMigrate {
        /// The hub port.
        port: u16,
    },
    /// Nothing runs this home's hub: start it in this process on `port`.
    InProcess {
        /// The port to bind.
        port: u16,
    },
}

/// Why the front end can neither attach nor start a hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// The port is taken by something that is not this home's hub.
    #[error("port {port} is held by something that is not this home's hub ({reason}){}", holders_text(.holders))]
    PortHeld {
        /// The port.
        port: u16,
        /// Why the proof failed.
        reason: String,
        /// The processes seen listening on it (may be empty: another user's).
        holders: Vec<PortHolder>,
        /// What to do.
        next: Vec<NextStep>,
    },
    /// The hub unit is installed but could not be brought up.
    #[error("the hub unit could not be started: {0}")]
    Unit(HubError),
}

fn holders_text(holders: &[PortHolder]) -> String {
    if holders.is_empty() {
        return String::new();
    }
    let list: Vec<String> = holders.iter().map(ToString::to_string).collect();
    format!("; held by {}", list.join(", "))
}

/// The facts [`attach`] decides on.
pub trait AttachProbe {
    /// The hub port of this home (`PORT`, else the default).
    fn port(&self) -> u16;
    /// Whether a hub unit is installed.
    fn unit_installed(&self) -> bool;
    /// Starts the hub unit through its manager unless the hub already answers.
    fn ensure_unit_up(&self) -> Result<HubOutcome, HubError>;
    /// Whether the legacy detached model left its pid files and no unit replaced it.
    fn legacy_install(&self) -> bool;
    /// Whether anything accepts connections on the port.
    fn listening(&self) -> bool;
    /// Asks the listener to prove it serves this home; `Err(reason)` when it does not.
    fn prove(&self) -> Result<(), String>;
    /// Who listens on the port.
    fn holders(&self) -> Vec<PortHolder>;
}

/// Decides what to do at launch (see the module docs).
pub fn attach(probe: &dyn AttachProbe) -> Result<AttachPlan, AttachError> {
    let port = probe.port();
    if probe.unit_installed() {
        let outcome = probe.ensure_unit_up().map_err(AttachError::Unit)?;
        probe.prove().map_err(|reason| held(probe, reason))?;
        return Ok(AttachPlan::Unit {
            port,
            started: matches!(outcome, HubOutcome::Started { .. }),
        });
    }
    if probe.legacy_install() {
        return Ok(AttachPlan::OfferMigrate { port });
    }
    if probe.listening() {
        probe.prove().map_err(|reason| held(probe, reason))?;
        return Ok(AttachPlan::Attached { port });
    }
    Ok(AttachPlan::InProcess { port })
}

fn held(probe: &dyn AttachProbe, reason: String) -> AttachError {
    AttachError::PortHeld {
        port: probe.port(),
        reason,
        holders: probe.holders(),
        next: vec![NextStep::StopWhereItRuns],
    }
}

/// The real facts: this home, its unit manager, the port, `prove_hub` on `runtime`.
pub struct SystemProbe<'a> {
    /// The home the front end serves.
    pub home: &'a Home,
    /// Its unit manager.
    pub units: &'a ManagedUnit,
    /// How to start and wait for the unit (its port is the hub port).
    pub ensure: &'a EnsureConfig,
    /// Where `prove_hub` runs: a multi-thread runtime (a current-thread runtime's handle
    /// cannot drive its IO from `block_on`), entered from outside async code.
    pub runtime: &'a tokio::runtime::Handle,
}

impl AttachProbe for SystemProbe<'_> {
    fn port(&self) -> u16 {
        self.ensure.port
    }

    fn unit_installed(&self) -> bool {
        self.units.is_installed(&UnitId::hub())
    }

    fn ensure_unit_up(&self) -> Result<HubOutcome, HubError> {
        ensure_up(self.units, self.ensure, &|| {
            tracing::info!("starting the hub unit");
        })
    }

    fn legacy_install(&self) -> bool {
        !self.unit_installed() && parachute_migrate::legacy::has_prior_detached(self.home)
    }

    fn listening(&self) -> bool {
        parachute_os::port::is_listening(self.port(), std::time::Duration::from_millis(500))
    }

    fn prove(&self) -> Result<(), String> {
        self.runtime
            .block_on(parachute_client::prove_hub(self.home, self.port()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn holders(&self) -> Vec<PortHolder> {
        parachute_os::port::listeners(self.port())
    }
}

#[cfg(test)]
#[path = "attach_tests.rs"]
mod tests;

//! The control layer for callers that are not async (the CLI's verbs, a tray menu handler):
//! one small runtime owned by the facade, instead of a private thread with its own runtime per
//! call.

use parachute_home::{Home, Manifest};
use parachute_unit::{EnsureConfig, ManagedUnit};

use crate::hub::{self, HubError, HubOutcome};
use crate::modules::{self, ModuleOpError, ModuleOutcome, ModuleVerb};
use crate::status::{self, Report};

/// Why the facade could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeError(#[from] std::io::Error);

/// Blocking access to one home's hub.
pub struct Control {
    /// Runs the async parts (loopback HTTP).
    runtime: tokio::runtime::Runtime,
    /// The config home.
    home: Home,
    /// The hub unit's manager.
    units: ManagedUnit,
    /// How the hub is probed and waited for.
    ensure: EnsureConfig,
}

impl Control {
    /// A facade for `home`, driving its unit through `units`.
    pub fn new(home: Home, units: ManagedUnit, ensure: EnsureConfig) -> Result<Self, RuntimeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            home,
            units,
            ensure,
        })
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The hub unit's manager.
    pub fn units(&self) -> &ManagedUnit {
        &self.units
    }

    /// How the hub is probed.
    pub fn ensure_config(&self) -> &EnsureConfig {
        &self.ensure
    }

    /// The runtime, for a caller with async work of its own.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// The status snapshot for `manifest`.
    pub fn status(&self, manifest: &Manifest) -> Report {
        self.runtime.block_on(status::gather(
            &self.home,
            manifest,
            self.ensure.port,
            Some(self.units.clone()),
        ))
    }

    /// Makes sure the hub answers (starting its unit).
    pub fn ensure_hub_up(&self, announce: &dyn Fn()) -> Result<HubOutcome, HubError> {
        hub::ensure_up(&self.units, &self.ensure, announce)
    }

    /// Stops the hub unit.
    pub fn stop_hub(&self) -> Result<HubOutcome, HubError> {
        hub::stop(&self.units, &self.ensure)
    }

    /// Restarts the hub unit and waits for it.
    pub fn restart_hub(&self) -> Result<HubOutcome, HubError> {
        hub::restart(&self.units, &self.ensure)
    }

    /// Starts, stops or restarts one module through the hub.
    pub fn module(
        &self,
        verb: ModuleVerb,
        short: &str,
        extra_issuer: Option<&str>,
        announce: &(dyn Fn() + Sync),
    ) -> Result<ModuleOutcome, ModuleOpError> {
        self.runtime.block_on(modules::run(
            &self.home,
            &self.units,
            &self.ensure,
            verb,
            short,
            extra_issuer,
            announce,
        ))
    }
}

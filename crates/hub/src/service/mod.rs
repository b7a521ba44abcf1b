//! Module operations as a service: start, stop, restart (or start), logs, install, upgrade,
//! uninstall and the module list, with typed results and a [`ModuleError`].
//!
//! The HTTP routes (`crates/hub/src/routes/modules/`) only parse requests, call this service
//! and map its answers to status codes; the desktop app calls it in process through
//! [`crate::HubHandle::modules`]. Every decision about modules lives here, once: what counts as
//! installed, when a start is a no-op, and that a restart of a module the hub is not running
//! starts it instead ([`ModuleService::restart_or_start`]).

mod error;
mod jobs;
mod listing;
mod lookup;
pub mod module_upgrade;

use std::time::{Duration, Instant};

use parachute_protocol::{
    Channel, ChannelAnswer, ModuleState, ModuleStatus, ModuleUpgradeRequest, ModulesList, Operation,
};
use parachute_supervisor::LogFollower;

pub use error::ModuleError;
pub use lookup::{Lookup, require_start_command};

use crate::boot::{SpawnContext, start_request};
use crate::operations::OperationKind;
use crate::packages::{effective_channel, package_for};
use crate::state::AppState;
use crate::wire;

/// How long a start waits for the process to be spawned before answering.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`ModuleService::restart_or_start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartKind {
    /// The module was running under the hub and was restarted.
    Restarted,
    /// The hub was not running it, so it was started.
    Started,
}

/// The module operations of one hub. Cheap to clone.
#[derive(Clone)]
pub struct ModuleService {
    /// The hub's shared state.
    state: AppState,
}

impl ModuleService {
    /// The service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Starts the module of its row (a no-op when it is already up) and answers once the
    /// process is spawned (or could not be).
    pub async fn start(&self, short: &str) -> Result<ModuleState, ModuleError> {
        let lookup = Lookup::resolve(&self.state, short);
        let row = lookup.require_row()?;
        require_start_command(&self.state, row)?;
        let request = start_request(&SpawnContext::of(&self.state), row);
        let initial = self.state.supervisor().start(request);
        Ok(wire::module_state(&self.settle(short, initial).await))
    }

    /// Stops the module; `None` when the hub was not running it (nothing to stop).
    pub async fn stop(&self, short: &str) -> Result<Option<ModuleState>, ModuleError> {
        Lookup::resolve(&self.state, short).require_known()?;
        Ok(self
            .state
            .supervisor()
            .stop(short)
            .await
            .map(|s| wire::module_state(&s)))
    }

    /// Stops and respawns the module with a freshly resolved environment;
    /// [`ModuleError::NotSupervised`] when the hub is not running it.
    pub async fn restart(&self, short: &str) -> Result<ModuleState, ModuleError> {
        Lookup::resolve(&self.state, short).require_known()?;
        let Some(initial) = self.state.supervisor().restart(short).await else {
            return Err(ModuleError::NotSupervised {
                short: short.to_string(),
            });
        };
        Ok(wire::module_state(&self.settle(short, initial).await))
    }

    /// Restarts the module, or starts it when the hub is not running it: what a person means
    /// by "restart" (the CLI's `restart <svc>`, the tray, the dashboard).
    pub async fn restart_or_start(
        &self,
        short: &str,
    ) -> Result<(RestartKind, ModuleState), ModuleError> {
        match self.restart(short).await {
            Ok(state) => Ok((RestartKind::Restarted, state)),
            Err(ModuleError::NotSupervised { .. }) => {
                Ok((RestartKind::Started, self.start(short).await?))
            }
            Err(other) => Err(other),
        }
    }

    /// The module's buffered output, oldest first; only the newest `tail` lines when given.
    pub fn logs(&self, short: &str, tail: Option<usize>) -> Result<Vec<String>, ModuleError> {
        Lookup::resolve(&self.state, short).require_known()?;
        self.state
            .supervisor()
            .logs(short, tail)
            .ok_or_else(|| ModuleError::NotSupervised {
                short: short.to_string(),
            })
    }

    /// The buffered output (newest `tail` lines when given) plus a live feed of every later
    /// line, with no line missed or repeated between the two.
    pub fn follow(
        &self,
        short: &str,
        tail: Option<usize>,
    ) -> Result<(Vec<String>, LogFollower), ModuleError> {
        Lookup::resolve(&self.state, short).require_known()?;
        self.state
            .supervisor()
            .follow(short, tail)
            .ok_or_else(|| ModuleError::NotSupervised {
                short: short.to_string(),
            })
    }

    /// Every module the hub knows, with its live state; `with_latest` asks the registry for
    /// the newest version on the install channel (cached; skipped when false).
    pub async fn list(&self, with_latest: bool) -> ModulesList {
        listing::list(&self.state, with_latest).await
    }

    /// Stores the module install channel.
    pub fn set_channel(&self, channel: Channel) -> Result<ChannelAnswer, ModuleError> {
        self.state
            .db()
            .set_setting(
                parachute_auth::SETTING_MODULE_INSTALL_CHANNEL,
                channel.as_str(),
            )
            .map_err(|e| internal("cannot store the install channel", e))?;
        self.state
            .emit(parachute_protocol::HubEvent::ChannelChanged { channel });
        Ok(ChannelAnswer {
            channel,
            effective_channel: effective_channel(&self.state),
        })
    }

    /// Installs the module from its package (unless it is installed and running), adds its
    /// row if needed and starts it, in the background; answers the operation at once.
    /// `issuer` is the origin the discovery document is rewritten for.
    pub fn install(
        &self,
        short: &str,
        channel: Option<Channel>,
        issuer: String,
    ) -> Result<Operation, ModuleError> {
        let lookup = Lookup::resolve(&self.state, short);
        lookup.require_known()?;
        let package =
            package_for(short, lookup.row.as_ref()).ok_or_else(|| ModuleError::NotInstallable {
                short: short.to_string(),
            })?;
        let op = self
            .state
            .operations()
            .begin(OperationKind::Install, short)?;
        let id = op.id().to_string();
        let running = self
            .state
            .supervisor()
            .snapshot(short)
            .is_some_and(|s| s.status == parachute_supervisor::ModuleStatus::Running);
        if lookup.row.is_some() && running {
            op.succeed(format!("{short} is already installed and running"));
        } else {
            let job = jobs::Job::new(&self.state, op, short, package, channel, issuer);
            tokio::spawn(job.install());
        }
        Ok(self.operation_now(&id))
    }

    /// Reinstalls the module's package from its channel and restarts it, in the background:
    /// refused when the channel's version is older than the installed one (unless
    /// `request.allow_downgrade`), and not restarted when the version did not change (see
    /// [`module_upgrade`]).
    pub fn upgrade(
        &self,
        short: &str,
        request: ModuleUpgradeRequest,
        issuer: String,
    ) -> Result<Operation, ModuleError> {
        let lookup = Lookup::resolve(&self.state, short);
        if lookup.row.is_none() && !lookup.supervised {
            lookup.require_row()?;
        }
        let package =
            package_for(short, lookup.row.as_ref()).ok_or_else(|| ModuleError::NotInstallable {
                short: short.to_string(),
            })?;
        let op = self
            .state
            .operations()
            .begin(OperationKind::Upgrade, short)?;
        let id = op.id().to_string();
        let job = jobs::Job::new(&self.state, op, short, package, request.channel, issuer)
            .allowing_downgrade(request.allow_downgrade);
        tokio::spawn(job.upgrade());
        Ok(self.operation_now(&id))
    }

    /// Stops and forgets the module, drops its rows and removes its package; answers the
    /// finished operation.
    pub async fn uninstall(&self, short: &str, issuer: String) -> Result<Operation, ModuleError> {
        jobs::uninstall(&self.state, short, issuer).await
    }

    /// An operation by id (kept in memory; forgotten when the hub restarts).
    pub fn operation(&self, id: &str) -> Option<Operation> {
        self.state.operations().get(id)
    }

    fn operation_now(&self, id: &str) -> Operation {
        self.operation(id)
            .expect("an operation just begun is in the registry")
    }

    /// Waits (briefly) until the module has left `starting`, so the answer carries its pid or
    /// the reason it could not start.
    async fn settle(
        &self,
        short: &str,
        initial: parachute_supervisor::ModuleState,
    ) -> parachute_supervisor::ModuleState {
        settle(&self.state, short, initial).await
    }
}

/// Waits (briefly) until `short` has left `starting`; returns the latest state.
pub(crate) async fn settle(
    state: &AppState,
    short: &str,
    initial: parachute_supervisor::ModuleState,
) -> parachute_supervisor::ModuleState {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut current = initial;
    while current.status == parachute_supervisor::ModuleStatus::Starting
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(25)).await;
        match state.supervisor().snapshot(short) {
            Some(s) => current = s,
            None => break,
        }
    }
    current
}

fn internal(context: &str, err: impl std::fmt::Display) -> ModuleError {
    tracing::error!("{context}: {err}");
    ModuleError::Internal {
        context: context.to_string(),
    }
}

/// True when `status` is one a start leaves alone.
pub fn is_up(status: ModuleStatus) -> bool {
    matches!(
        status,
        ModuleStatus::Starting | ModuleStatus::Running | ModuleStatus::Restarting
    )
}

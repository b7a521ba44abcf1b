//! Start, stop and restart one module through the running hub, bringing the hub up first when
//! that is what the person means (start, restart).
//!
//! Steps: (1) for stop, a hub that does not answer means its modules are down already; for
//! start and restart, the hub is started through its unit when it is down; (2) a client with
//! the operator token, after the hub proved it is this home's; (3) the hub's module API —
//! which decides "restart, else start" itself.

use parachute_client::{ClientError, HubClient};
use parachute_home::Home;
use parachute_protocol::RestartAction;
use parachute_unit::{EnsureConfig, ManagedUnit, probe_health};

use crate::hub::{self, HubError};
use crate::next_step::NextStep;

/// A module lifecycle verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleVerb {
    /// Start it (a no-op when it runs).
    Start,
    /// Stop it.
    Stop,
    /// Restart it, or start it when the hub is not running it.
    Restart,
}

impl ModuleVerb {
    /// The verb as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

/// What the operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleOutcome {
    /// The module was started (or already ran); its pid when the hub says.
    Started {
        /// Its process.
        pid: Option<u32>,
    },
    /// The module was restarted.
    Restarted {
        /// Its new process.
        pid: Option<u32>,
    },
    /// The module was stopped.
    Stopped,
    /// The hub was not running it: nothing to stop.
    WasNotRunning,
    /// The hub is down, so the module is too: nothing to stop, and the hub was not started.
    HubDown,
}

/// Why the operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ModuleOpError {
    /// The hub is down and could not be brought up.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// No usable operator token, or the hub did not prove itself, or did not answer.
    #[error(transparent)]
    Client(ClientError),
    /// `services.json` has no row for the module.
    #[error("{short} is not installed (services.json has no row for it)")]
    NotInstalled {
        /// The module.
        short: String,
        /// How to install it.
        next: NextStep,
    },
    /// The hub refused (`<code>: <description>`).
    #[error("{code}: {description}")]
    Refused {
        /// The API error code.
        code: String,
        /// The hub's sentence.
        description: String,
    },
}

/// Runs `verb` on `short`. `announce` is called before the hub unit is started.
pub async fn run(
    home: &Home,
    units: &ManagedUnit,
    cfg: &EnsureConfig,
    verb: ModuleVerb,
    short: &str,
    extra_issuer: Option<&str>,
    announce: &(dyn Fn() + Sync),
) -> Result<ModuleOutcome, ModuleOpError> {
    if verb == ModuleVerb::Stop {
        if !probe_health(cfg.port, cfg.health_timeout) {
            return Ok(ModuleOutcome::HubDown);
        }
    } else {
        hub::ensure_up(units, cfg, announce)?;
    }
    let client = HubClient::with_operator_token_accepting(home, extra_issuer)
        .await
        .map_err(ModuleOpError::Client)?;
    let result = match verb {
        ModuleVerb::Start => client
            .start_module(short)
            .await
            .map(|a| ModuleOutcome::Started { pid: a.state.pid }),
        ModuleVerb::Stop => client.stop_module(short).await.map(|a| {
            if a.stopped {
                ModuleOutcome::Stopped
            } else {
                ModuleOutcome::WasNotRunning
            }
        }),
        ModuleVerb::Restart => {
            client
                .restart_or_start_module(short)
                .await
                .map(|a| match a.action {
                    RestartAction::Restarted => ModuleOutcome::Restarted { pid: a.state.pid },
                    RestartAction::Started => ModuleOutcome::Started { pid: a.state.pid },
                })
        }
    };
    result.map_err(|err| match err {
        ClientError::Api {
            status: 400, error, ..
        } if error == "not_installed" => ModuleOpError::NotInstalled {
            short: short.to_string(),
            next: NextStep::InstallModule {
                short: short.to_string(),
                command: parachute_client::install_command(home, short),
            },
        },
        ClientError::Api {
            error, description, ..
        } => ModuleOpError::Refused {
            code: error,
            description,
        },
        other => ModuleOpError::Client(other),
    })
}

//! What the tray's clicks and the dashboard's Tauri commands do: the same control-layer
//! functions the `parachute` CLI calls (exposure, module operations, migrate, upgrade, the
//! login item), never a shell-out to the CLI. Every function blocks (call it from a worker
//! thread, never the UI thread) and fails with a [`CommandError`] the dashboard can show.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use parachute_control::expose::{
    CloudflareTarget, ExposeConfig, Exposure, OffTarget, Target, UpOptions,
};
use parachute_control::modules::{ModuleOutcome, ModuleVerb};
use parachute_home::Home;
use parachute_protocol::ExposureLayer;
use parachute_unit::{EnsureConfig, LoginItem, LoginItemConfig, ManagedUnit};
use serde::Serialize;

use crate::host::Host;
use crate::menu_model::{ExposeChoice, MenuInput, ModuleOp};

/// A failed command, as the dashboard receives it: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", content = "message", rename_all = "snake_case")]
pub enum CommandError {
    /// No hub answers (it is starting, or it stopped).
    #[error("the hub is not running: {0}")]
    HubDown(String),
    /// The exposure layer could not be changed (the message says why and what to do).
    #[error("{0}")]
    Expose(String),
    /// The module operation failed.
    #[error("{0}")]
    Module(String),
    /// The migration failed or does not apply.
    #[error("{0}")]
    Migrate(String),
    /// The upgrade could not be checked or started.
    #[error("{0}")]
    Upgrade(String),
    /// The login item could not be changed.
    #[error("{0}")]
    LoginItem(String),
    /// The request itself is wrong (an unknown layer, a bad hostname).
    #[error("{0}")]
    BadRequest(String),
    /// The calling page may not use the desktop commands.
    #[error("{0}")]
    NotAllowed(String),
}

/// The app's state: how it was launched, the hub it shows, what is in flight.
pub struct Desk {
    /// The config home.
    pub home: Home,
    /// The hub unit's manager.
    pub units: ManagedUnit,
    /// How the hub is probed.
    pub ensure: EnsureConfig,
    /// The user's home directory.
    pub user_home: PathBuf,
    /// This program (the login item's target).
    pub exe: PathBuf,
    /// The `parachute` binary beside the app (what the upgrade replaces).
    pub parachute_bin: Option<PathBuf>,
    /// The end-to-end suite's dashboard script ([`crate::launch::E2E_EVAL_ENV`]).
    pub e2e_eval: Option<String>,
    /// The environment the app started with (the upgrade reads its settings from it).
    pub vars: Vec<(String, String)>,
    /// The shared runtime.
    pub runtime: Arc<tokio::runtime::Runtime>,
    /// The hub (`None` until one runs: waiting for the migrate answer, or it failed).
    pub host: RwLock<Option<Arc<Host>>>,
    /// In-flight flags the menu shows.
    pub flags: Mutex<MenuInput>,
}

impl Desk {
    /// The hub, or [`CommandError::HubDown`].
    pub fn host(&self) -> Result<Arc<Host>, CommandError> {
        self.host
            .read()
            .ok()
            .and_then(|h| h.clone())
            .ok_or_else(|| CommandError::HubDown("no hub has been started yet".into()))
    }

    fn set_flag(&self, f: impl FnOnce(&mut MenuInput)) {
        if let Ok(mut flags) = self.flags.lock() {
            f(&mut flags);
        }
    }
}

/// Switches exposure to `choice` (`hostname`: the Cloudflare hostname, asked in the window).
pub fn expose(
    desk: &Desk,
    choice: ExposeChoice,
    hostname: Option<&str>,
) -> Result<String, CommandError> {
    let host = desk.host()?;
    let mut config = ExposeConfig::for_user_home(&desk.user_home);
    config.runtime = Some(host.runtime().handle().clone());
    let exposure = Exposure::new(
        desk.home.clone(),
        Arc::new(parachute_os::SystemRunner::from_env()),
        desk.units.clone(),
        config,
    );
    desk.set_flag(|f| f.exposing = true);
    let result = run_expose(&exposure, &desk.home, choice, hostname);
    desk.set_flag(|f| f.exposing = false);
    result.map_err(CommandError::Expose)
}

fn run_expose(
    exposure: &Exposure,
    home: &Home,
    choice: ExposeChoice,
    hostname: Option<&str>,
) -> Result<String, String> {
    let target = match choice {
        ExposeChoice::Off => {
            let current = parachute_hub::watch::exposure_snapshot(home).layer;
            let off = match current {
                None => return Ok("Nothing is exposed.".into()),
                Some(ExposureLayer::Tailnet) => OffTarget::Tailnet,
                Some(ExposureLayer::Funnel) => OffTarget::Funnel,
                Some(ExposureLayer::Cloudflare) => OffTarget::Cloudflare { tunnel_name: None },
            };
            exposure.off(&off).map_err(|e| e.to_string())?;
            return Ok("Exposure is off.".into());
        }
        ExposeChoice::Tailnet => Target::Tailnet,
        ExposeChoice::Public => Target::Funnel,
        ExposeChoice::Cloudflare => {
            let hostname = hostname
                .map(str::to_string)
                .or_else(|| remembered_hostname(home))
                .ok_or("a Cloudflare tunnel needs a public hostname (e.g. hub.example.com)")?;
            Target::Cloudflare(CloudflareTarget::new(&hostname, None).map_err(|e| e.to_string())?)
        }
    };
    let report = exposure
        .up(&target, &UpOptions::default())
        .map_err(|e| e.to_string())?;
    Ok(format!("Exposed at {}", report.url))
}

/// The hostname of a Cloudflare tunnel set up before (asked once, then remembered by the
/// tunnel state).
fn remembered_hostname(home: &Home) -> Option<String> {
    let snapshot = parachute_hub::watch::exposure_snapshot(home);
    snapshot.tunnels.first().map(|t| t.hostname.clone())
}

/// Starts, stops or restarts one module: through the in-process hub's module service, or the
/// attached hub's module API (the control layer, as `parachute start|stop|restart`).
pub fn module(desk: &Desk, short: &str, op: ModuleOp) -> Result<String, CommandError> {
    let host = desk.host()?;
    if let Some(handle) = host.handle() {
        return in_process_module(host.runtime(), handle.modules(), short, op);
    }
    let verb = match op {
        ModuleOp::Start => ModuleVerb::Start,
        ModuleOp::Stop => ModuleVerb::Stop,
        ModuleOp::Restart => ModuleVerb::Restart,
    };
    let mut ensure = desk.ensure.clone();
    ensure.port = host.port();
    let outcome = host
        .runtime()
        .block_on(parachute_control::modules::run(
            &desk.home,
            &desk.units,
            &ensure,
            verb,
            short,
            None,
            &|| {},
        ))
        .map_err(|e| CommandError::Module(e.to_string()))?;
    Ok(match outcome {
        ModuleOutcome::Started { .. } => format!("{short} started"),
        ModuleOutcome::Restarted { .. } => format!("{short} restarted"),
        ModuleOutcome::Stopped => format!("{short} stopped"),
        ModuleOutcome::WasNotRunning => format!("{short} was not running"),
        ModuleOutcome::HubDown => "the hub is not running".into(),
    })
}

fn in_process_module(
    runtime: &tokio::runtime::Runtime,
    service: parachute_hub::ModuleService,
    short: &str,
    op: ModuleOp,
) -> Result<String, CommandError> {
    use parachute_hub::RestartKind;
    let failed = |e: parachute_hub::ModuleError| CommandError::Module(e.to_string());
    runtime.block_on(async {
        Ok(match op {
            ModuleOp::Start => {
                service.start(short).await.map_err(failed)?;
                format!("{short} started")
            }
            ModuleOp::Stop => match service.stop(short).await.map_err(failed)? {
                Some(_) => format!("{short} stopped"),
                None => format!("{short} was not running"),
            },
            ModuleOp::Restart => match service.restart_or_start(short).await.map_err(failed)? {
                (RestartKind::Restarted, _) => format!("{short} restarted"),
                (RestartKind::Started, _) => format!("{short} started"),
            },
        })
    })
}

/// Registers or removes the login item (the one `crates/unit` builds).
pub fn set_start_at_login(desk: &Desk, on: bool) -> Result<bool, CommandError> {
    let item = login_item()?;
    crate::app::login_item_answered(desk);
    let result = if on {
        item.enable(&desk.exe)
    } else {
        item.disable()
    };
    result.map_err(|e| CommandError::LoginItem(e.to_string()))?;
    desk.set_flag(|f| f.start_at_login = on);
    Ok(on)
}

/// The login item of this app.
pub fn login_item() -> Result<LoginItem, CommandError> {
    LoginItem::for_platform(LoginItemConfig::parachute_desktop())
        .map_err(|e| CommandError::LoginItem(e.to_string()))
}

fn upgrader(desk: &Desk) -> Result<parachute_upgrade::Upgrader, CommandError> {
    let mut config = parachute_upgrade::UpgradeConfig::from_vars(
        desk.home.clone(),
        parachute_hub::HUB_VERSION,
        &desk.vars,
    )
    .map_err(|e| CommandError::Upgrade(e.to_string()))?;
    if let Some(bin) = &desk.parachute_bin {
        config.binary = bin.clone();
    }
    parachute_upgrade::Upgrader::new(
        config,
        desk.units.clone(),
        Arc::new(parachute_os::SystemRunner::from_env()),
    )
    .map_err(|e| CommandError::Upgrade(e.to_string()))
}

/// Asks the release feed now; says what it offers.
pub fn check_for_updates(desk: &Desk) -> Result<String, CommandError> {
    let up = upgrader(desk)?;
    let report = desk
        .runtime
        .block_on(up.check(None))
        .map_err(|e| CommandError::Upgrade(e.to_string()))?;
    Ok(format!("{report:?}"))
}

/// Starts the hub upgrade in the background (its phases arrive as hub events).
pub fn upgrade(desk: &Desk) -> Result<String, CommandError> {
    let up = upgrader(desk)?;
    desk.set_flag(|f| f.upgrading = true);
    let started = desk
        .runtime
        .block_on(up.start_upgrade(&parachute_upgrade::StartRequest {
            channel: None,
            allow_downgrade: false,
        }));
    desk.set_flag(|f| f.upgrading = false);
    let started = started.map_err(|e| CommandError::Upgrade(e.to_string()))?;
    Ok(format!(
        "Upgrading {} → {}",
        started.current_version, started.target_version
    ))
}

/// Moves a legacy install onto the supervised hub (only before this app runs a hub itself, so
/// the cutover never meets the app's own process).
pub fn migrate(desk: &Desk) -> Result<Vec<String>, CommandError> {
    if desk.host.read().ok().is_some_and(|h| h.is_some()) {
        return Err(CommandError::Migrate(
            "a hub already runs for this home; migrate applies to a legacy install only".into(),
        ));
    }
    let env = parachute_control::migrate::MigrateEnv::from_parts(&desk.home, &desk.units)
        .map_err(|e| CommandError::Migrate(e.to_string()))?;
    let mut io = parachute_control::migrate::Scripted::answering(&["y"]);
    let report = parachute_control::migrate::cut_over(&env, &mut io);
    if report.outcome.succeeded() {
        Ok(report.messages)
    } else {
        Err(CommandError::Migrate(report.messages.join("\n")))
    }
}

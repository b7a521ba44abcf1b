//! The app's life: single instance, the hub decision, tray, window, notifications, quit.
//!
//! Steps of [`run`]:
//! 1. `WEBKIT_DISABLE_DMABUF_RENDERER=1` unless set; read the environment ([`Launch`]);
//! 2. one runtime for the hub, the control layer and Tauri's async work;
//! 3. Tauri starts; the single-instance plugin comes first, so a second launch focuses the
//!    first and exits before it decides anything about the hub;
//! 4. in `setup`: `parachute_control::attach` decides (unit / attach / migrate offer / in
//!    process), the tray is created from the hub's state and refreshed on each hub event, and
//!    the window opens when there is no tray host, a problem, or the migrate offer;
//! 5. Quit (the menu, or SIGTERM/SIGINT) stops the modules this app supervises, then exits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use parachute_control::attach::{AttachPlan, SystemProbe, attach};
use tauri::{AppHandle, Manager, Runtime};

use crate::actions::{self, Desk};
use crate::host::{Host, SHUTDOWN_BUDGET};
use crate::launch::Launch;
use crate::menu_model::{Action, ExposeChoice, MenuInput};
use crate::notify::{self, Notice, Notifier};

/// Set once Quit began, so the exit request it makes is not refused.
static QUITTING: AtomicBool = AtomicBool::new(false);

/// Runs the app until Quit; returns the exit code.
pub fn run() -> i32 {
    crate::launch::default_webkit_env();
    init_tracing();
    let launch = match Launch::from_env() {
        Ok(l) => l,
        Err(err) => {
            eprintln!("parachute-desktop: {err}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(err) => {
            eprintln!("parachute-desktop: cannot start the async runtime: {err}");
            return 1;
        }
    };
    tauri::async_runtime::set(runtime.handle().clone());
    let vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let hub_config = launch.hub.clone();
    let desk = Arc::new(Desk {
        home: launch.home().clone(),
        units: launch.units,
        ensure: launch.ensure,
        user_home: launch.user_home,
        exe: launch.exe,
        parachute_bin: launch.parachute_bin,
        e2e_eval: launch.e2e_eval,
        vars,
        runtime: runtime.clone(),
        host: RwLock::new(None),
        flags: Mutex::new(MenuInput::default()),
    });
    let built = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch asked for the window");
            let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
            crate::window::open(app, &desk, None);
        }))
        .manage(desk.clone())
        .invoke_handler(tauri::generate_handler![
            crate::commands::info,
            crate::commands::expose,
            crate::commands::module,
            crate::commands::start_at_login,
            crate::commands::check_for_updates,
            crate::commands::upgrade,
            crate::commands::migrate,
        ])
        .setup(move |app| {
            setup(app.handle(), hub_config);
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match built {
        Ok(app) => app,
        Err(err) => {
            eprintln!("parachute-desktop: cannot start the app: {err}");
            return 1;
        }
    };
    app.run(|app, event| {
        if let tauri::RunEvent::ExitRequested { api, code, .. } = event {
            // The last window closing is not a reason to stop: the app lives in the tray.
            if code.is_none() && !QUITTING.load(Ordering::SeqCst) {
                api.prevent_exit();
            }
        }
        let _ = app;
    });
    0
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Decides about the hub, builds the tray, opens the window when needed.
fn setup<R: Runtime>(app: &AppHandle<R>, config: parachute_hub::HubConfig) {
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    let problem = start_hub(app, &desk, config);
    remember_login_item(&desk);
    if let Err(err) = crate::tray::create(app, &desk) {
        tracing::error!(%err, "cannot create the tray icon");
    }
    let offer = problem.as_deref() == Some(OFFER);
    if offer {
        open_local(app, "offer=migrate");
    } else if let Some(problem) = problem {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("problem", &problem)
            .finish();
        open_local(app, &query);
    } else if !crate::tray_host::available(&desk.runtime) {
        tracing::info!("no system tray host; opening the window");
        crate::window::open(app, &desk, Some(crate::tray_host::NO_TRAY_HINT));
    }
    watch_signals(app);
}

/// The marker [`start_hub`] returns for the migrate offer.
const OFFER: &str = "offer-migrate";

/// Attaches to or starts the hub; `Some(text)` when there is none to show.
fn start_hub<R: Runtime>(
    app: &AppHandle<R>,
    desk: &Arc<Desk>,
    config: parachute_hub::HubConfig,
) -> Option<String> {
    let probe = SystemProbe {
        home: &desk.home,
        units: &desk.units,
        ensure: &desk.ensure,
        runtime: desk.runtime.handle(),
    };
    let host = match attach(&probe) {
        Ok(AttachPlan::InProcess { .. }) => {
            match Host::start_in_process(desk.runtime.clone(), config) {
                Ok(host) => host,
                Err(err) => return Some(format!("The hub could not start: {err}")),
            }
        }
        Ok(AttachPlan::Unit { port, .. } | AttachPlan::Attached { port }) => {
            tracing::info!(port, "attached to the running hub");
            Host::attached(desk.runtime.clone(), desk.home.clone(), port)
        }
        Ok(AttachPlan::OfferMigrate { .. }) => return Some(OFFER.into()),
        Err(err) => return Some(format!("Parachute cannot run the hub: {err}")),
    };
    install_host(app, desk, host);
    None
}

/// Makes `host` the app's hub: dashboard capability, tray refresh and notifications on its
/// events.
fn install_host<R: Runtime>(app: &AppHandle<R>, desk: &Arc<Desk>, host: Host) {
    let port = host.port();
    let capability = tauri::ipc::CapabilityBuilder::new("dashboard")
        .remote(format!("http://127.0.0.1:{port}/admin/*"))
        .remote(format!("http://127.0.0.1:{port}"))
        .window(crate::window::LABEL)
        .permission("allow-info")
        .permission("allow-expose")
        .permission("allow-module")
        .permission("allow-start-at-login")
        .permission("allow-check-for-updates")
        .permission("allow-upgrade");
    if let Err(err) = app.add_capability(capability) {
        tracing::error!(%err, "cannot grant the dashboard its commands");
    }
    let layer = host.snapshot().and_then(|s| s.exposure.layer);
    let host = Arc::new(host);
    if let Ok(mut slot) = desk.host.write() {
        *slot = Some(host.clone());
    }
    let notifier = Mutex::new(Notifier::new(layer));
    let handle = app.clone();
    host.watch(move |event| {
        if let Some(notice) = notifier.lock().ok().and_then(|mut n| n.notice_for(event)) {
            notify::send(&notice);
        }
        crate::tray::refresh(&handle);
    });
}

/// After a successful migrate: attach to the unit's hub and show its dashboard.
pub fn after_migrate<R: Runtime>(app: &AppHandle<R>) {
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    let port = desk.ensure.port;
    install_host(
        app,
        &desk,
        Host::attached(desk.runtime.clone(), desk.home.clone(), port),
    );
    crate::tray::refresh(app);
    if let Ok(host) = desk.host() {
        crate::window::show_dashboard(app, &host);
    }
}

fn open_local<R: Runtime>(app: &AppHandle<R>, query: &str) {
    let url = tauri::WebviewUrl::App(format!("index.html?{query}").into());
    let built = tauri::WebviewWindowBuilder::new(app, crate::window::LABEL, url)
        .title(crate::window::TITLE)
        .inner_size(720.0, 480.0)
        .build();
    if let Err(err) = built {
        tracing::error!(%err, "cannot open the window");
    }
}

/// Where "asked about the login item" is remembered (so it is asked once, ever).
fn login_item_marker(desk: &Desk) -> std::path::PathBuf {
    desk.home.root().join("desktop/login-item-asked")
}

/// True until the person answered the first-run login-item question.
pub fn should_ask_login_item(desk: &Desk) -> bool {
    !login_item_marker(desk).exists()
}

/// Reads the login item's state, re-points it when the app moved, and records the question
/// as asked once the person answered it (the dashboard's banner calls `start_at_login`).
fn remember_login_item(desk: &Desk) {
    let Ok(item) = actions::login_item() else {
        return;
    };
    if let Err(err) = item.ensure_current(&desk.exe) {
        tracing::warn!(%err, "cannot re-point the login item");
    }
    let enabled = item.is_enabled().unwrap_or(false);
    if let Ok(mut flags) = desk.flags.lock() {
        flags.start_at_login = enabled;
    }
}

/// Records that the first-run question was answered.
pub fn login_item_answered(desk: &Desk) {
    let marker = login_item_marker(desk);
    if let Some(dir) = marker.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(err) = std::fs::write(&marker, b"asked\n") {
        tracing::warn!(%err, path = %marker.display(), "cannot record the login-item answer");
    }
}

/// A tray click.
pub fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = Action::parse(id) else {
        return;
    };
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    tracing::info!(action = %action.id(), "tray action");
    match action {
        Action::OpenDashboard => crate::window::open(app, &desk, None),
        Action::OpenLogs => {
            let dir = desk.home.root().join("hub/logs");
            let _ = std::fs::create_dir_all(&dir);
            open_externally(&dir.display().to_string());
        }
        Action::Quit => quit(app),
        Action::Expose(ExposeChoice::Cloudflare)
            if parachute_hub::watch::exposure_snapshot(&desk.home)
                .tunnels
                .is_empty() =>
        {
            // The hostname is asked once, in the window.
            crate::window::open(app, &desk, None);
            if let Some(w) = app.get_webview_window(crate::window::LABEL) {
                let _ = w.eval(
                    "window.dispatchEvent(new CustomEvent('parachute-desktop:ask-cloudflare-hostname', {cancelable: true}))",
                );
            }
        }
        other => in_background(app, desk, other),
    }
}

/// Runs a slow action off the UI thread; failures become a notification.
fn in_background<R: Runtime>(app: &AppHandle<R>, desk: Arc<Desk>, action: Action) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("tray-action".into())
        .spawn(move || {
            let result = match &action {
                Action::Expose(choice) => actions::expose(&desk, *choice, None),
                Action::Module(short, op) => actions::module(&desk, short, *op),
                Action::StartAtLogin => {
                    let on = !desk.flags.lock().map(|f| f.start_at_login).unwrap_or(false);
                    actions::set_start_at_login(&desk, on).map(|on| {
                        if on {
                            "Parachute will start at login"
                        } else {
                            "Parachute will not start at login"
                        }
                        .to_string()
                    })
                }
                Action::CheckForUpdates => actions::check_for_updates(&desk),
                Action::Upgrade => actions::upgrade(&desk),
                _ => return,
            };
            crate::tray::refresh(&app);
            match result {
                Ok(done) => tracing::info!(action = %action.id(), %done, "tray action done"),
                Err(err) => {
                    tracing::warn!(action = %action.id(), %err, "tray action failed");
                    notify::send(&Notice {
                        summary: "Parachute".into(),
                        body: err.to_string(),
                    });
                }
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot run the tray action");
    }
}

/// Stops the modules this app supervises (saying so when any run), then exits.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    if QUITTING.swap(true, Ordering::SeqCst) {
        return;
    }
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    let app = app.clone();
    let _ = std::thread::Builder::new()
        .name("quit".into())
        .spawn(move || {
            if let Ok(Some(host)) = desk.host.read().map(|h| h.clone()) {
                let running = host.supervised_running();
                if running > 0 {
                    tracing::info!(running, "stopping the modules before quitting");
                    notify::send(&Notice {
                        summary: "Parachute is quitting".into(),
                        body: format!("Stopping {running} module(s) first."),
                    });
                }
                if !host.shutdown(SHUTDOWN_BUDGET) {
                    tracing::warn!("the hub did not stop in time; exiting anyway");
                }
            }
            app.exit(0);
        });
}

/// SIGTERM and SIGINT quit like the menu does (modules stopped first).
fn watch_signals<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        quit(&app);
    });
}

/// Opens a folder or address with the desktop's default application.
pub fn open_externally(target: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let runner = parachute_os::SystemRunner::from_env();
    if let Err(err) = parachute_os::CommandRunner::spawn_detached(&runner, program, &[target], None)
    {
        tracing::warn!(%err, %target, "cannot open");
    }
}

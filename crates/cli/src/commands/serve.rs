//! `parachute serve`: the hub and every module in the foreground, until SIGTERM/SIGINT.
//!
//! The library does the work ([`parachute_hub::Hub`]); this verb reads the configuration from
//! the environment, passes the signals as the shutdown future, and prints the hub's events as
//! the startup and `[supervisor]` lines a person (or `hub/logs/hub.log`) reads.

use parachute_hub::{Hub, HubConfig, HubHandle, Subscription};
use parachute_protocol::{AdminState, HubEvent};

/// Runs the hub in the foreground until SIGTERM/SIGINT. Exit 0 on a clean stop.
pub fn run() -> i32 {
    let config = match HubConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("parachute serve: {err}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("parachute serve: cannot start the async runtime: {err}");
            return 1;
        }
    };
    let code = match runtime.block_on(serve(config)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("parachute serve: {err}");
            1
        }
    };
    // A blocking job still running (a hung `bun add -g`, say) must not keep a stopped hub
    // alive: give such jobs a moment, then exit regardless.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}

async fn serve(config: HubConfig) -> Result<(), parachute_hub::ServeError> {
    let shown = Shown {
        home: config.home.root().display().to_string(),
        issuer: config
            .env_origin
            .clone()
            .unwrap_or_else(|| "<request origin>".into()),
        host: if config.bind_host.is_loopback() {
            "127.0.0.1".to_string()
        } else {
            config.bind_host.to_string()
        },
    };
    let hub = Hub::bind(config).await?;
    let handle = hub.handle();
    let events = handle.subscribe();
    let printing = handle.clone();
    // Waits on events on its own thread; lines go out through the hub's non-blocking sink.
    let printer = std::thread::Builder::new()
        .name("serve-output".into())
        .spawn(move || print_events(events, &shown, &printing))
        .ok();
    let result = hub.run(shutdown_signal()).await;
    handle.print_line("parachute serve: stopped");
    handle.flush_output(std::time::Duration::from_secs(2));
    drop(printer);
    result
}

/// What the startup line shows besides the event's own facts.
struct Shown {
    /// `PARACHUTE_HOME`.
    home: String,
    /// The issuer fixed by the environment, or `<request origin>`.
    issuer: String,
    /// The address shown in the URL.
    host: String,
}

/// Prints each event a person should see, until the hub stops.
fn print_events(mut events: Subscription, shown: &Shown, sink: &HubHandle) {
    let mut last_phase = None;
    while let Some(envelope) = events.blocking_recv() {
        let line = match &envelope.event {
            HubEvent::Listening { port, admin, .. } => {
                let mut text = format!(
                    "parachute serve: listening on http://{}:{port} (PARACHUTE_HOME={}, issuer={}, admin={})",
                    shown.host,
                    shown.home,
                    shown.issuer,
                    admin.as_str()
                );
                if *admin == AdminState::NeedsSetup {
                    text.push_str(&format!("\nparachute serve: no admin account yet; open http://{}:{port}/admin/setup (or run `parachute auth set-password`); API routes answer 503 until then", shown.host));
                    // One-shot and in memory only: whoever reads this console may claim the hub.
                    if let Some(token) = sink.bootstrap_token() {
                        text.push_str(&format!(
                            "\nparachute serve: setup bootstrap token (asked for by the account step): {token}"
                        ));
                    }
                }
                text
            }
            // A notice can quote a module's start command: shown escaped, like its output.
            HubEvent::Notice {
                source, message, ..
            } => format!(
                "[{source}] {}",
                parachute_supervisor::escape_for_terminal(message)
            ),
            HubEvent::BootProgress { progress } if progress.finished => format!(
                "parachute serve: supervising {} module(s) from services.json",
                progress.total
            ),
            HubEvent::Stopping => "parachute serve: shutting down; stopping modules".into(),
            // The upgrade's phases, once each, so hub.log tells what happened to the binary.
            HubEvent::HubUpgrade { upgrade } => {
                if last_phase.as_ref() == Some(&upgrade.phase) {
                    continue;
                }
                last_phase = Some(upgrade.phase);
                let phase = serde_json::to_value(upgrade.phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let target = upgrade.target_version.as_deref().unwrap_or("?");
                let mut text = format!(
                    "parachute serve: upgrade {} to {target}: {phase}",
                    upgrade.operation_id
                );
                if let Some(reason) = &upgrade.reason {
                    text.push_str(&format!(" ({reason})"));
                }
                text
            }
            _ => continue,
        };
        // Through the supervisor's buffered sink: a stdout nobody reads never blocks the hub,
        // and these lines keep their place among the modules' lines.
        sink.print_line(&line);
        if matches!(envelope.event, HubEvent::Stopping) {
            return;
        }
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install the SIGTERM/SIGINT handlers; stop the hub with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

//! Watching the files other processes write: `services.json` (the CLI, modules), the
//! exposure state files (`parachute expose …`) and the hub upgrade's status (the detached
//! upgrade helper), so their changes reach subscribers as events.
//!
//! One inotify watch on the home directory itself (not recursive): every writer replaces these
//! files by renaming a temp file over them, which the directory watch sees as the final name
//! appearing. Bursts are coalesced (a rename is often accompanied by other events) and each file
//! is re-read once per burst; an event is emitted only when what it describes changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use parachute_home::{Home, cloudflared_state, expose_state, services};
use parachute_protocol::{ExposureLayer, ExposureSnapshot, HubEvent, TunnelSummary};

use crate::state::AppState;

/// How long after the first change of a burst the files are re-read.
const SETTLE: Duration = Duration::from_millis(50);

/// The exposure the state files describe now; a malformed file is named in `problem` (and
/// logged by the caller) rather than guessed around.
pub fn exposure_snapshot(home: &Home) -> ExposureSnapshot {
    let mut snapshot = ExposureSnapshot::default();
    match expose_state::read(home) {
        Ok(Some(state)) => {
            snapshot.layer = Some(match state.exposed_via() {
                parachute_home::ExposedVia::Tailnet => ExposureLayer::Tailnet,
                parachute_home::ExposedVia::Funnel => ExposureLayer::Funnel,
                parachute_home::ExposedVia::Cloudflare => ExposureLayer::Cloudflare,
            });
            snapshot.url = Some(format!("https://{}", state.canonical_fqdn));
            snapshot.hub_origin = Some(state.advertised_origin());
        }
        Ok(None) => {}
        Err(err) => snapshot.problem = Some(err.to_string()),
    }
    match cloudflared_state::read(home) {
        Ok(Some(state)) => {
            snapshot.tunnels = state
                .tunnels
                .values()
                .map(|t| TunnelSummary {
                    name: t.tunnel_name.clone(),
                    hostname: t.hostname.clone(),
                    service_managed: t.service_managed.unwrap_or(false),
                })
                .collect();
        }
        Ok(None) => {}
        Err(err) => {
            snapshot.problem.get_or_insert_with(|| err.to_string());
        }
    }
    snapshot
}

/// The module short names `services.json` lists now (lenient read: what the hub would run).
fn module_names(home: &Home) -> Vec<String> {
    services::read_lenient(home)
        .manifest
        .module_rows()
        .iter()
        .map(|r| r.short())
        .collect()
}

/// Which watched file a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watched {
    /// `services.json`.
    Services,
    /// `expose-state.json` or `cloudflared-state.json`.
    Exposure,
    /// `hub-upgrade-status.json` (the hub, its detached upgrade helper, the CLI).
    UpgradeStatus,
}

fn classify(home: &Home, path: &Path) -> Option<Watched> {
    if path == home.services_json() {
        Some(Watched::Services)
    } else if path == home.expose_state() || path == home.cloudflared_state() {
        Some(Watched::Exposure)
    } else if path == home.hub_upgrade_status() {
        Some(Watched::UpgradeStatus)
    } else {
        None
    }
}

/// Starts watching the home of `state` until the hub stops. A home that cannot be watched
/// (inotify limits) is logged; the hub runs on, and its own changes are still announced.
pub fn spawn(state: AppState) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let marker = state.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                // Mark the routing table stale at once, on the watcher's thread: a request right
                // after a CLI write must not be routed by the old table.
                match classify(marker.home(), &path) {
                    Some(Watched::Services) => marker.proxy().invalidate(),
                    Some(Watched::Exposure) => marker.hosts().invalidate(),
                    _ => {}
                }
                let _ = tx.send(path);
            }
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(%err, "cannot watch the home for changes made by other processes");
            return;
        }
    };
    if let Err(err) = watcher.watch(state.home().root(), RecursiveMode::NonRecursive) {
        tracing::warn!(%err, home = %state.home().root().display(), "cannot watch the home for changes made by other processes");
        return;
    }
    state.proxy().watching();
    state.hosts().watching();
    tokio::spawn(async move {
        // The watcher lives as long as this task.
        let _watcher = watcher;
        let home = state.home().clone();
        let mut last_names = module_names(&home);
        let mut last_exposure = exposure_snapshot(&home);
        let stopping = state.stopping();
        tokio::pin!(stopping);
        loop {
            let first = tokio::select! {
                path = rx.recv() => match path { Some(p) => p, None => return },
                () = &mut stopping => return,
            };
            let mut touched = Vec::from_iter(classify(&home, &first));
            tokio::time::sleep(SETTLE).await;
            while let Ok(path) = rx.try_recv() {
                touched.extend(classify(&home, &path));
            }
            if touched.contains(&Watched::Services) {
                let names = module_names(&home);
                if names != last_names {
                    last_names = names.clone();
                    state.emit(HubEvent::ServicesChanged { modules: names });
                }
            }
            if touched.contains(&Watched::UpgradeStatus) {
                state.upgrades().status_changed(&state);
            }
            if touched.contains(&Watched::Exposure) {
                let exposure = exposure_snapshot(&home);
                if exposure != last_exposure {
                    if let Some(problem) = &exposure.problem {
                        tracing::warn!("{problem}");
                    }
                    last_exposure = exposure.clone();
                    state.emit(HubEvent::ExposureChanged { exposure });
                }
            }
        }
    });
}

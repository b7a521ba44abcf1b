//! The status snapshot every front end shows: one row per module (manifest order), the hub
//! row last, each with a one-word state and notes.
//!
//! [`gather`] probes the hub's `/health` (1.5 s), and while the hub answers reads
//! `GET /api/modules` with the operator token (3 s) and times a health request straight to
//! every module's port (1.5 s, all concurrently). The hub row combines the service manager's
//! view of the hub unit with `/health`. Every step is bounded, so a snapshot is ready within a
//! few seconds even when the hub accepts connections and never answers. The rules that turn
//! observations into states are pure ([`model`]) and unit-tested without a hub.
//!
//! A report is unhealthy (exit 1 for the CLI) when a row is: a crashed module, a failing hub;
//! stopped, inactive and pending rows never count.

pub mod model;
pub mod source;
pub mod uptime;

use std::time::{Duration, SystemTime};

use parachute_auth::AuthError;
use parachute_client::{ClientError, HubClient, HubInfo, ModulesList, probe_http};
use parachute_home::{Home, Manifest};
use parachute_unit::{ManagedUnit, UnitId, UnitState};

pub use model::{HubObservation, ManifestBase, ModuleObservation, Report, Row, State};

/// How long the hub's `/health` may take.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long one module's health request may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Observes the hub on `port` and every module, concurrently where possible, and builds the
/// report.
pub async fn gather(
    home: &Home,
    manifest: &Manifest,
    port: u16,
    units: Option<ManagedUnit>,
) -> Report {
    let manager_task = tokio::task::spawn_blocking(move || query_manager(units));
    let health = HubClient::new(port).health(HEALTH_TIMEOUT).await.ok();
    let hub_up = health.is_some();
    let prefixes = source::bun_global_prefixes();
    let bases: Vec<ManifestBase> = manifest
        .services
        .iter()
        .map(|row| ManifestBase::new(row, &source::detect(row, &prefixes)))
        .collect();

    let mut rows = Vec::with_capacity(bases.len() + 1);
    let mut hub_process = HubProcessInfo::default();
    let mut read_note = None;
    if hub_up {
        let (probes, (modules, info)) = tokio::join!(probe_all(&bases), read_live(home.clone()));
        hub_process = match info {
            Some(info) if info.pid.is_some() => HubProcessInfo::from_api(&info),
            _ => tokio::task::spawn_blocking(move || HubProcessInfo::from_os(port))
                .await
                .unwrap_or_default(),
        };
        let list = match modules {
            Ok(list) => Some(list),
            Err(note) => {
                read_note = Some(note);
                None
            }
        };
        let now = SystemTime::now();
        for (base, probe) in bases.iter().zip(probes) {
            let snapshot = list.as_ref().and_then(|l| l.get(&base.short));
            let os_uptime = snapshot
                .filter(|s| s.supervisor_started_at.is_none())
                .and_then(|s| s.pid)
                .and_then(uptime::process_uptime);
            let seen = ModuleObservation {
                snapshot,
                probe: Some(probe),
                os_uptime,
            };
            let mut row = if list.is_some() {
                model::module_row_hub_up(base, &seen, now)
            } else {
                model::module_row_probe_only(base, seen.probe.as_ref())
            };
            if let Some(note) = read_note.take() {
                row.notes.insert(0, note);
            }
            rows.push(row);
        }
    } else {
        rows.extend(bases.iter().map(model::module_row_hub_down));
    }
    let manager = manager_task.await.unwrap_or_else(|e| UnitState::Unknown {
        detail: format!("the manager query failed: {e}"),
    });
    let manager_word = manager.word().to_string();
    let mut hub = model::hub_row(&HubObservation {
        port,
        health,
        manager,
        pid: hub_process.pid,
        uptime: hub_process.uptime,
        source: hub_process.source(),
        fallback_version: env!("CARGO_PKG_VERSION").to_string(),
    });
    // With no module rows, the note about the module read lands on the hub row.
    hub.notes.extend(read_note);
    rows.push(hub);
    Report {
        hub_port: port,
        hub_up,
        manager: manager_word,
        rows,
    }
}

/// The hub process: from `GET /api/hub` when the token may read it, else from the OS.
#[derive(Debug, Clone, Default)]
struct HubProcessInfo {
    /// Its pid.
    pid: Option<u32>,
    /// How long it has been running.
    uptime: Option<Duration>,
    /// `binary` or `container`, as the hub says.
    kind: Option<String>,
    /// Its executable.
    executable: Option<String>,
}

impl HubProcessInfo {
    fn from_api(info: &HubInfo) -> Self {
        Self {
            pid: info.pid,
            uptime: Some(Duration::from_millis(info.uptime_ms)),
            kind: Some(info.source.clone()).filter(|s| !s.is_empty()),
            executable: info.executable.clone(),
        }
    }

    /// The process listening on the hub port, as far as this user can see.
    fn from_os(port: u16) -> Self {
        let pid = parachute_os::port::listeners(port).first().map(|h| h.pid);
        Self {
            pid,
            uptime: pid.and_then(uptime::process_uptime),
            kind: None,
            executable: pid
                .and_then(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok())
                .map(|p| p.display().to_string()),
        }
    }

    /// The SOURCE cell of the hub row.
    fn source(&self) -> String {
        let kind = self.kind.clone().unwrap_or_else(|| "binary".to_string());
        match &self.executable {
            Some(exe) => format!("{kind} → {exe}"),
            None => kind,
        }
    }
}

/// The service manager's view of the hub unit (never fails).
fn query_manager(units: Option<ManagedUnit>) -> UnitState {
    match units {
        Some(units) => units.query_state(&UnitId::hub()),
        None => UnitState::Unknown {
            detail: "no service manager could be set up for this user".into(),
        },
    }
}

/// A timed health request to every module's own port, all at once.
async fn probe_all(bases: &[ManifestBase]) -> Vec<Result<parachute_client::HttpProbe, String>> {
    let mut set = tokio::task::JoinSet::new();
    for (i, base) in bases.iter().enumerate() {
        let (port, path) = (base.port, base.health.clone());
        set.spawn(async move { (i, probe_http(port, &path, PROBE_TIMEOUT).await) });
    }
    let mut out: Vec<Result<_, String>> = vec![Err("not probed".to_string()); bases.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((i, result)) = done {
            out[i] = result;
        }
    }
    out
}

/// `GET /api/modules` and `GET /api/hub` with the operator token: the module list (or the
/// note explaining why there is none) and the hub's report on itself (when the token may read
/// it).
async fn read_live(home: Home) -> (Result<ModulesList, String>, Option<HubInfo>) {
    let client = match HubClient::with_operator_token(&home).await {
        Ok(client) => client,
        Err(e) => return (Err(module_read_note(&e)), None),
    };
    let (modules, info) = tokio::join!(client.modules(), client.hub_info());
    (modules.map_err(|e| module_read_note(&e)), info.ok())
}

/// The note shown when the live module state cannot be read.
fn module_read_note(err: &ClientError) -> String {
    match err {
        ClientError::Token(
            AuthError::OperatorTokenMissing { .. } | AuthError::OperatorTokenExpired { .. },
        ) => "live module state unavailable: no usable operator token — run `parachute auth rotate-operator` to mint one (on a new hub, `parachute auth set-password` creates the admin and its token)".to_string(),
        ClientError::Token(AuthError::TokenFile { path, source, .. }) => format!(
            "live module state unavailable: cannot read the operator token {} ({source}); it must be a file you can read (`chmod 600 '{}'`), and if it is lost, remove it and mint a new one with `parachute auth rotate-operator`",
            path.display(),
            path.display()
        ),
        ClientError::NotThisHub { .. } => format!("live module state unavailable: {err}"),
        ClientError::Unreachable { .. } => {
            "live module state unavailable (the hub did not answer GET /api/modules in time)"
                .to_string()
        }
        other => format!("live module state unavailable ({other})"),
    }
}

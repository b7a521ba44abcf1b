//! The status rows and the rules that turn what we observed into a STATE and notes.
//!
//! Everything here is pure: the observations (supervisor snapshot, probes, manager state) are
//! gathered elsewhere and passed in, so every mapping is unit-tested without a hub.

use std::time::{Duration, SystemTime};

use parachute_client::{HttpProbe, ModuleSummary};
use parachute_home::ServiceRow;
use parachute_protocol::{StartError, StatusHub, StatusReport, StatusRow};
use parachute_unit::UnitState;

use super::source::InstallSource;

/// The one-word state every surface (CLI, dashboard, tray) shares.
pub use parachute_protocol::RowState as State;

/// One line of the table (a module, or the hub last).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// SERVICE: the `services.json` row name, or `parachute-hub (internal)`.
    pub service: String,
    /// The module's short name (`hub` for the hub row).
    pub short: String,
    /// PORT.
    pub port: u16,
    /// VERSION.
    pub version: String,
    /// STATE.
    pub state: State,
    /// PID, when a process exists.
    pub pid: Option<u32>,
    /// UPTIME of the current process.
    pub uptime: Option<Duration>,
    /// LATENCY of a health request straight to the port.
    pub latency: Option<Duration>,
    /// SOURCE.
    pub source: String,
    /// The `  → <url>` continuation line.
    pub url: String,
    /// The `  ! <note>` continuation lines, in order.
    pub notes: Vec<String>,
    /// Whether this row makes `status` exit 1 (crashed module, failing hub).
    pub unhealthy: bool,
    /// The supervisor's raw status word, for `--json`.
    pub supervisor_status: Option<String>,
}

impl Row {
    /// The row on the wire (`status --json`, the dashboard); durations in milliseconds,
    /// latency rounded to a tenth of a millisecond.
    pub fn to_protocol(&self) -> StatusRow {
        StatusRow {
            service: self.service.clone(),
            short: self.short.clone(),
            port: self.port,
            version: self.version.clone(),
            state: self.state,
            pid: self.pid,
            uptime_ms: self.uptime.map(|d| d.as_millis() as u64),
            latency_ms: self
                .latency
                .map(|d| (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0),
            source: self.source.clone(),
            url: self.url.clone(),
            notes: self.notes.clone(),
            unhealthy: self.unhealthy,
            supervisor_status: self.supervisor_status.clone(),
        }
    }
}

/// Everything `status` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The hub port probed.
    pub hub_port: u16,
    /// Whether `/health` answered.
    pub hub_up: bool,
    /// The manager's view of the hub unit (`active`, `no-unit`, …).
    pub manager: String,
    /// Module rows in manifest order, then the hub row.
    pub rows: Vec<Row>,
}

impl Report {
    /// 1 when any row is unhealthy (a crashed module, a failing hub), else 0. Inactive and
    /// pending rows never count.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.rows.iter().any(|r| r.unhealthy))
    }

    /// `status --json`: `{hub:{port, up, manager}, services:[row…], exit_code}`.
    pub fn to_protocol(&self) -> StatusReport {
        StatusReport {
            hub: StatusHub {
                port: self.hub_port,
                up: self.hub_up,
                manager: self.manager.clone(),
            },
            services: self.rows.iter().map(Row::to_protocol).collect(),
            exit_code: self.exit_code(),
        }
    }
}

/// The parts of a module row that come from `services.json` and the files on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestBase {
    /// Row name.
    pub service: String,
    /// Short name.
    pub short: String,
    /// Port.
    pub port: u16,
    /// Health path.
    pub health: String,
    /// Cached version.
    pub version: String,
    /// Where the module is reached directly.
    pub url: String,
    /// SOURCE cell.
    pub source: String,
    /// Off its canonical port?
    pub drift: Option<String>,
    /// Linked checkout newer than the row?
    pub stale: Option<String>,
    /// The persisted `lastStartError`, summarised.
    pub persisted_start_error: Option<String>,
}

impl ManifestBase {
    /// Builds the manifest-derived part of a row.
    pub fn new(row: &ServiceRow, source: &InstallSource) -> Self {
        let short = row.short();
        let first = row
            .paths
            .first()
            .map(|p| p.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let url = match short.as_str() {
            "vault" => format!("http://127.0.0.1:{}{first}/mcp", row.port),
            "scribe" => format!("http://127.0.0.1:{}", row.port),
            _ => format!("http://127.0.0.1:{}{first}", row.port),
        };
        let drift = row
            .canonical_port()
            .filter(|c| *c != row.port)
            .map(|c| format!("not on its canonical port {c}"));
        let persisted_start_error = row.last_start_error.as_ref().map(|e| match &e.binary {
            Some(bin) => missing_binary_note(bin),
            None => description_note(&e.error_description),
        });
        Self {
            service: row.name.clone(),
            short,
            port: row.port,
            health: row.health.clone(),
            version: row.version.clone(),
            url,
            source: source.label(),
            drift,
            stale: source.stale_note(&row.version),
            persisted_start_error,
        }
    }
}

fn missing_binary_note(binary: &str) -> String {
    format!("failed to start: {binary} is not installed — /admin/modules shows how to install it")
}

/// The whole description: a crash loop's ends with the module's last output lines, which are
/// the point of the note (front ends put each line on a line of its own).
fn description_note(description: &str) -> String {
    let lines: Vec<&str> = description
        .trim()
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    format!("failed to start: {}", lines.join("\n"))
}

/// The note for a supervisor start error.
pub fn start_error_note(start_error: &StartError) -> Option<String> {
    if let Some(bin) = start_error.binary.as_deref().filter(|b| !b.is_empty()) {
        return Some(missing_binary_note(bin));
    }
    Some(start_error.error_description.as_str())
        .filter(|d| !d.trim().is_empty())
        .map(description_note)
}

/// What we saw of one module while the hub was up.
#[derive(Debug, Clone, Default)]
pub struct ModuleObservation<'a> {
    /// The supervisor's entry for it (`None`: not supervised, or the read failed).
    pub snapshot: Option<&'a ModuleSummary>,
    /// The timed health request straight to its port.
    pub probe: Option<Result<HttpProbe, String>>,
    /// Its process's age according to the OS (fallback when the hub gives no start time).
    pub os_uptime: Option<Duration>,
}

/// A module row while the hub is down: its modules died with it.
pub fn module_row_hub_down(base: &ManifestBase) -> Row {
    let mut notes = vec!["the hub is down, so its modules are stopped".to_string()];
    notes.extend(base.drift.clone());
    notes.extend(base.stale.clone());
    Row {
        service: base.service.clone(),
        short: base.short.clone(),
        port: base.port,
        version: base.version.clone(),
        state: State::Inactive,
        pid: None,
        uptime: None,
        latency: None,
        source: base.source.clone(),
        url: base.url.clone(),
        notes,
        unhealthy: false,
        supervisor_status: None,
    }
}

/// A module row while the hub is up but its view of the modules could not be read (no usable
/// operator token, a listener that is not this home's hub): the health probe to the module's
/// own port decides — 2xx → active, another answer → pending, no answer → inactive.
pub fn module_row_probe_only(
    base: &ManifestBase,
    probe: Option<&Result<HttpProbe, String>>,
) -> Row {
    let mut notes = Vec::new();
    let (state, latency) = match probe {
        Some(Ok(probe)) if probe.is_success() => (State::Active, Some(probe.latency)),
        Some(Ok(probe)) => {
            notes.push(format!(
                "probe: {} answered http {}",
                base.health, probe.status
            ));
            (State::Pending, Some(probe.latency))
        }
        Some(Err(reason)) => {
            notes.push(format!("probe: {} — {reason}", base.health));
            (State::Inactive, None)
        }
        None => (State::Inactive, None),
    };
    notes.extend(base.drift.clone());
    notes.extend(base.stale.clone());
    Row {
        latency,
        state,
        notes,
        ..module_row_hub_down(base)
    }
}

/// A module row while the hub is up.
///
/// running (ready, or readiness unknown) → active; running but not answering yet, starting,
/// restarting → pending; crashed → failing (unhealthy) with the start-error note; stopped or not
/// supervised → inactive.
pub fn module_row_hub_up(
    base: &ManifestBase,
    seen: &ModuleObservation<'_>,
    now: SystemTime,
) -> Row {
    let snap = seen.snapshot;
    let status = snap.and_then(|s| s.supervisor_status.map(|st| st.as_str()));
    let state = match status {
        Some("running") if snap.and_then(|s| s.supervisor_ready) == Some(false) => State::Pending,
        Some("running") => State::Active,
        Some("crashed") => State::Failing,
        Some("starting") | Some("restarting") => State::Pending,
        _ => State::Inactive,
    };
    let process_exists = matches!(state, State::Active | State::Pending);
    let pid = snap.and_then(|s| s.pid).filter(|_| process_exists);
    let uptime = if process_exists {
        snap.and_then(|s| s.supervisor_started_at)
            .and_then(|ms| {
                let started = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
                now.duration_since(started).ok()
            })
            .or(seen.os_uptime)
    } else {
        None
    };
    let mut notes = Vec::new();
    let mut latency = None;
    if state == State::Failing {
        notes.push(format!(
            "probe: supervisor reports {}",
            status.unwrap_or("crashed")
        ));
    }
    if process_exists {
        match &seen.probe {
            Some(Ok(probe)) => {
                latency = Some(probe.latency);
                if !probe.is_success() {
                    notes.push(format!(
                        "probe: {} answered http {}",
                        base.health, probe.status
                    ));
                }
            }
            Some(Err(reason)) if state == State::Active => {
                notes.push(format!("probe: {} — {reason}", base.health));
            }
            _ => {}
        }
    }
    notes.extend(base.drift.clone());
    notes.extend(base.stale.clone());
    let start_error = snap
        .and_then(|s| s.supervisor_start_error.as_ref())
        .and_then(start_error_note)
        .or_else(|| {
            (state != State::Active)
                .then(|| base.persisted_start_error.clone())
                .flatten()
        });
    notes.extend(start_error);
    Row {
        service: base.service.clone(),
        short: base.short.clone(),
        port: base.port,
        version: base.version.clone(),
        state,
        pid,
        uptime,
        latency,
        source: base.source.clone(),
        url: base.url.clone(),
        notes,
        unhealthy: state == State::Failing,
        supervisor_status: status.map(str::to_string),
    }
}

/// What we saw of the hub itself.
#[derive(Debug, Clone)]
pub struct HubObservation {
    /// The hub port.
    pub port: u16,
    /// `/health` answered: version and round trip.
    pub health: Option<parachute_client::HubHealth>,
    /// The manager's view of the hub unit.
    pub manager: UnitState,
    /// The process listening on the hub port.
    pub pid: Option<u32>,
    /// That process's age.
    pub uptime: Option<Duration>,
    /// SOURCE cell for the hub.
    pub source: String,
    /// VERSION to show when the hub does not say (this binary's).
    pub fallback_version: String,
}

/// The hub row: the manager's view combined with `/health`.
pub fn hub_row(hub: &HubObservation) -> Row {
    let healthy = hub.health.is_some();
    let (state, note): (State, Option<String>) = match &hub.manager {
        UnitState::NoManager => (
            if healthy { State::Active } else { State::Failing },
            Some("no service manager here: the container runtime (or whoever started it) keeps the hub running".into()),
        ),
        UnitState::Failed { exit_code } => (
            State::Failing,
            Some(match exit_code {
                Some(code) => format!("the service manager reports the hub unit failed (last exit code {code})"),
                None => "the service manager reports the hub unit failed".to_string(),
            }),
        ),
        UnitState::Active if healthy => (State::Active, None),
        UnitState::Active => (
            State::Failing,
            Some("the service manager reports the unit active, but /health does not answer (still starting, or wedged)".into()),
        ),
        UnitState::Activating if healthy => (State::Active, None),
        UnitState::Activating => (
            State::Pending,
            Some("the service manager is starting the hub unit".into()),
        ),
        UnitState::NoUnit => (
            if healthy { State::Active } else { State::Inactive },
            Some(if healthy {
                "no hub unit installed: this hub was started by hand (`parachute init` installs the unit so it survives reboots)".into()
            } else {
                "no hub unit installed: `parachute init` installs and starts it, or run `parachute serve` in the foreground".into()
            }),
        ),
        UnitState::Unknown { detail } => (
            if healthy { State::Active } else { State::Inactive },
            Some(if detail.is_empty() {
                "the service manager's view of the hub unit is unknown".to_string()
            } else {
                format!("the service manager's view of the hub unit is unknown ({detail})")
            }),
        ),
        UnitState::Inactive if healthy => (State::Active, None),
        UnitState::Inactive => (
            State::Inactive,
            Some("the hub unit is stopped: `parachute start` starts it".into()),
        ),
    };
    let mut notes = Vec::new();
    if state == State::Failing && !healthy {
        notes.push("probe: /health does not answer".to_string());
    }
    notes.extend(note);
    let version = hub
        .health
        .as_ref()
        .and_then(|h| h.version.clone())
        .unwrap_or_else(|| hub.fallback_version.clone());
    Row {
        service: "parachute-hub (internal)".to_string(),
        short: "hub".to_string(),
        port: hub.port,
        version,
        state,
        pid: hub.pid.filter(|_| healthy),
        uptime: hub.uptime.filter(|_| healthy),
        latency: hub.health.as_ref().map(|h| h.latency),
        source: hub.source.clone(),
        url: format!("http://127.0.0.1:{}", hub.port),
        notes,
        unhealthy: state == State::Failing,
        supervisor_status: None,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;

//! The module list (`GET /api/modules`): the curated first-party modules whether installed or
//! not, then every other module row in `services.json` order, then anything the supervisor runs
//! that has no row any more.
//!
//! Linear in the number of rows: rows and supervisor states are indexed by short name once,
//! and the registry lookups for `latest_version` run concurrently (cached, bounded).

use std::collections::{HashMap, HashSet};

use parachute_home::ServiceRow;
use parachute_home::services::{self, ModuleJson};
use parachute_protocol::{ModuleSummary, ModulesList, UiEntry};
use parachute_supervisor::ModuleState;
use serde_json::Value;

use crate::packages::{CURATED, FirstParty, effective_channel, package_for};
use crate::state::AppState;
use crate::wire;

/// One module to list: its name plus whatever the hub has on it.
struct Entry {
    /// Short name.
    short: String,
    /// Its row, when installed.
    row: Option<ServiceRow>,
    /// Its supervisor state, when the hub runs it.
    state: Option<ModuleState>,
}

/// Builds the list; `with_latest` asks the registry (else `latest_version` is `null`).
pub(super) async fn list(state: &AppState, with_latest: bool) -> ModulesList {
    let entries = {
        let state = state.clone();
        // Reading services.json and every module.json is file work: off the async workers.
        tokio::task::spawn_blocking(move || entries(&state))
            .await
            .unwrap_or_default()
    };
    let channel = effective_channel(state);
    let lookups = entries.iter().map(|entry| {
        let package = package_for(&entry.short, entry.row.as_ref());
        let packages = state.packages().clone();
        async move {
            match package {
                Some(p) if with_latest => packages.latest_version(&p, channel).await,
                _ => None,
            }
        }
    });
    let latest = futures_util::future::join_all(lookups).await;
    ModulesList {
        modules: entries
            .iter()
            .zip(latest)
            .map(|(entry, latest)| describe(entry, latest))
            .collect(),
        supervisor_available: true,
        module_install_channel: Some(channel),
    }
}

/// The entries in listing order, each short name once.
fn entries(state: &AppState) -> Vec<Entry> {
    let manifest = services::read_lenient(state.home()).manifest;
    let rows = manifest.module_rows();
    let by_short: HashMap<String, &ServiceRow> = rows.iter().map(|r| (r.short(), *r)).collect();
    let mut snapshots: HashMap<String, ModuleState> = state
        .supervisor()
        .snapshots()
        .into_iter()
        .map(|s| (s.short.clone(), s))
        .collect();
    let order: Vec<String> = CURATED
        .iter()
        .map(|s| s.to_string())
        .chain(rows.iter().map(|r| r.short()))
        .chain(state.supervisor().snapshots().into_iter().map(|s| s.short))
        .collect();
    let mut seen = HashSet::with_capacity(order.len());
    order
        .into_iter()
        .filter(|short| seen.insert(short.clone()))
        .map(|short| Entry {
            row: by_short.get(&short).map(|r| (*r).clone()),
            state: snapshots.remove(&short),
            short,
        })
        .collect()
}

fn describe(entry: &Entry, latest: Option<String>) -> ModuleSummary {
    let first = FirstParty::get(&entry.short);
    let row = entry.row.as_ref();
    let meta = row.and_then(services::module_json);
    let package = package_for(&entry.short, row);
    let display_name = row
        .and_then(|r| r.display_name.clone())
        .or_else(|| meta.as_ref().and_then(|m| m.display_name.clone()))
        .or_else(|| first.map(|f| f.display_name.to_string()))
        .unwrap_or_else(|| entry.short.clone());
    let tagline = row
        .and_then(|r| r.tagline.clone())
        .or_else(|| meta.as_ref().and_then(|m| m.tagline.clone()))
        .or_else(|| first.map(|f| f.tagline.to_string()))
        .unwrap_or_default();
    let module = entry.state.as_ref();
    ModuleSummary {
        short: entry.short.clone(),
        name: row.map(|r| r.name.clone()),
        available: package.is_some(),
        package,
        display_name,
        tagline,
        installed: row.is_some(),
        installed_version: row.map(|r| r.version.clone()),
        latest_version: latest,
        port: row.map(|r| r.port),
        supervisor_status: module.map(|m| wire::status(m.status)),
        pid: module.and_then(|m| m.pid),
        supervisor_started_at: module
            .and_then(|m| m.started_at)
            .map(parachute_supervisor::epoch_ms),
        supervisor_ready: module.map(|m| m.ready),
        supervisor_restarts: module.map(|m| m.total_restarts),
        supervisor_start_error: module
            .and_then(|m| m.start_error.as_ref())
            .map(wire::start_error),
        install_dir: row
            .and_then(|r| r.install_dir.as_ref())
            .map(|d| d.display().to_string()),
        uis: row.map(uis).unwrap_or_default(),
        management_url: row.and_then(|r| management_url(r, meta.as_ref())),
    }
}

/// The row's `uis` map as a list (`name` = the slug), with the original's status aliases
/// normalised.
fn uis(row: &ServiceRow) -> Vec<UiEntry> {
    let Some(map) = &row.uis else {
        return Vec::new();
    };
    map.iter()
        .map(|(slug, ui)| {
            let s = |k: &str| ui.get(k).and_then(Value::as_str).map(str::to_string);
            let status = s("status").and_then(|st| match st.as_str() {
                "active" | "pending" | "inactive" | "failing" => Some(st),
                "pending-oauth" => Some("pending".into()),
                "disabled" => Some("inactive".into()),
                _ => None,
            });
            UiEntry {
                name: slug.clone(),
                display_name: s("displayName").unwrap_or_else(|| slug.clone()),
                path: s("path"),
                tagline: s("tagline"),
                icon_url: s("iconUrl"),
                version: s("version"),
                oauth_client_id: s("oauthClientId"),
                status,
            }
        })
        .collect()
}

/// Where the dashboard's "Open" button goes: the module's `managementUrl` (else `uiUrl`) from
/// its `module.json`; an http(s) URL as is, a path joined to the module's first user-facing
/// mount unless it already starts with it.
pub fn management_url(row: &ServiceRow, meta: Option<&ModuleJson>) -> Option<String> {
    let meta = meta?;
    let candidate = meta.management_url.as_ref().or(meta.ui_url.as_ref())?;
    let lower = candidate.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(candidate.clone());
    }
    let mount = row
        .paths
        .iter()
        .find(|p| *p != "/.parachute" && !p.starts_with("/.parachute/"))?
        .trim_end_matches('/');
    let tail = if candidate.starts_with('/') {
        candidate.clone()
    } else {
        format!("/{candidate}")
    };
    if mount.is_empty() || tail == mount || tail.starts_with(&format!("{mount}/")) {
        Some(tail)
    } else {
        Some(format!("{mount}{tail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn meta(management: Option<&str>, ui: Option<&str>) -> ModuleJson {
        ModuleJson {
            path: PathBuf::from("/x/.parachute/module.json"),
            management_url: management.map(str::to_string),
            ui_url: ui.map(str::to_string),
            ..ModuleJson::default()
        }
    }

    #[test]
    fn management_url_resolution() {
        let vault = ServiceRow::new(
            "parachute-vault",
            1940,
            vec!["/vault/default".into()],
            "/health",
            "1",
        );
        assert_eq!(
            management_url(&vault, Some(&meta(Some("/admin/"), None))).as_deref(),
            Some("/vault/default/admin/")
        );
        assert_eq!(
            management_url(&vault, Some(&meta(Some("admin"), None))).as_deref(),
            Some("/vault/default/admin")
        );
        let surface = ServiceRow::new(
            "parachute-surface",
            1946,
            vec!["/.parachute".into(), "/surface".into()],
            "/health",
            "1",
        );
        assert_eq!(
            management_url(&surface, Some(&meta(None, Some("/surface/admin/")))).as_deref(),
            Some("/surface/admin/")
        );
        assert_eq!(
            management_url(&surface, Some(&meta(Some("HTTPS://x.example/a"), None))).as_deref(),
            Some("HTTPS://x.example/a")
        );
        assert_eq!(management_url(&surface, Some(&meta(None, None))), None);
        assert_eq!(management_url(&surface, None), None);
    }
}

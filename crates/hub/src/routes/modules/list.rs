//! `GET /api/modules` (the dashboard's module list) and `PUT /api/modules/channel`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use parachute_home::ServiceRow;
use parachute_home::services::{self, ModuleJson};
use parachute_supervisor::{ModuleState, epoch_ms};
use serde_json::{Map, Value, json};

use super::install::{channel_member, invalid_channel};
use crate::auth::{SCOPE_HOST_ADMIN, SCOPE_HOST_AUTH, require_scope};
use crate::error::ApiError;
use crate::packages::{CURATED, Channel, FirstParty, effective_channel, package_for};
use crate::state::AppState;

/// One module to list: its name plus whatever the hub has on it.
struct Entry {
    /// Short name.
    short: String,
    /// Its row, when installed.
    row: Option<ServiceRow>,
    /// Its supervisor state, when the hub runs it.
    state: Option<ModuleState>,
}

/// `GET /api/modules` (scope `parachute:host:auth`): the curated first-party modules (vault,
/// scribe) whether installed or not, then every other module row in `services.json` order,
/// then anything the supervisor runs that has no row any more. `latest_version` comes from the
/// registry (cached, `null` when unknown); `?latest=0|false` skips the registry entirely (for
/// callers such as `parachute status` that only want the live state, fast).
pub async fn modules(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_AUTH)?;
    let Query(query) = query?;
    let want_latest = !query
        .get("latest")
        .is_some_and(|v| v == "0" || v == "false");
    let manifest = services::read_lenient(state.home()).manifest;
    let snapshots = state.supervisor().snapshots();
    let mut entries: Vec<Entry> = Vec::new();
    let add = |short: String, entries: &mut Vec<Entry>| {
        if entries.iter().any(|e| e.short == short) {
            return;
        }
        let row = manifest
            .module_rows()
            .into_iter()
            .find(|r| r.short() == short)
            .cloned();
        let module = snapshots.iter().find(|s| s.short == short).cloned();
        entries.push(Entry {
            short,
            row,
            state: module,
        });
    };
    for short in CURATED {
        add(short.to_string(), &mut entries);
    }
    for row in manifest.module_rows() {
        add(row.short(), &mut entries);
    }
    for module in &snapshots {
        add(module.short.clone(), &mut entries);
    }

    let channel = effective_channel(state.db());
    let lookups = entries.iter().map(|entry| {
        let package = package_for(&entry.short, entry.row.as_ref());
        let packages = state.packages().clone();
        async move {
            match package {
                Some(p) if want_latest => packages.latest_version(&p, channel).await,
                _ => None,
            }
        }
    });
    let latest = futures_util::future::join_all(lookups).await;

    let modules: Vec<Value> = entries
        .iter()
        .zip(latest)
        .map(|(entry, latest)| describe(entry, latest))
        .collect();
    Ok(Json(json!({
        "modules": modules,
        "supervisor_available": true,
        "module_install_channel": channel,
    })))
}

fn describe(entry: &Entry, latest: Option<String>) -> Value {
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
    json!({
        "short": entry.short,
        "name": row.map(|r| r.name.clone()),
        "package": package,
        "display_name": display_name,
        "tagline": tagline,
        "available": package.is_some(),
        "installed": row.is_some(),
        "installed_version": row.map(|r| r.version.clone()),
        "latest_version": latest,
        "port": row.map(|r| r.port),
        "supervisor_status": module.map(|m| m.status),
        "pid": module.and_then(|m| m.pid),
        "supervisor_started_at": module.and_then(|m| m.started_at).map(epoch_ms),
        "supervisor_ready": module.map(|m| m.ready),
        "supervisor_restarts": module.map(|m| m.total_restarts),
        "supervisor_start_error": module.and_then(|m| m.start_error.clone()),
        "install_dir": row.and_then(|r| r.install_dir.as_ref()).map(|d| d.display().to_string()),
        "uis": row.map(uis).unwrap_or_default(),
        "management_url": row.and_then(|r| management_url(r, meta.as_ref())),
    })
}

/// The row's `uis` map as a list (`name` = the slug), in snake_case.
fn uis(row: &ServiceRow) -> Vec<Value> {
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
            let mut out = Map::new();
            out.insert("name".into(), json!(slug));
            out.insert(
                "display_name".into(),
                json!(s("displayName").unwrap_or_else(|| slug.clone())),
            );
            out.insert("path".into(), json!(s("path")));
            out.insert("tagline".into(), json!(s("tagline")));
            out.insert("icon_url".into(), json!(s("iconUrl")));
            out.insert("version".into(), json!(s("version")));
            out.insert("oauth_client_id".into(), json!(s("oauthClientId")));
            out.insert("status".into(), json!(status));
            Value::Object(out)
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

/// `PUT /api/modules/channel` (scope `parachute:host:admin`): `{channel: "latest"|"rc"}` is
/// stored as the `module_install_channel` setting and echoed back. (An install channel set in
/// the hub's environment still wins over it; the answer says so in `effective_channel`.)
pub async fn set_channel(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    let raw = channel_member(&body?)?;
    let Some(channel) = raw.as_str().and_then(Channel::parse) else {
        return Err(invalid_channel(&raw));
    };
    state
        .db()
        .set_setting(
            parachute_auth::SETTING_MODULE_INSTALL_CHANNEL,
            channel.as_str(),
        )
        .map_err(|e| ApiError::internal("cannot store the install channel", e))?;
    Ok(Json(json!({
        "channel": channel,
        "effective_channel": effective_channel(state.db()),
    })))
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

//! The discovery document (`/.well-known/parachute.json`): built from `services.json` for an
//! origin — per request by the hub's route, and on disk by [`write_well_known`] after an
//! install or an exposure change. It lives here, below both the hub and the exposure layers.
//!
//! Shape (the original's, so its clients keep working):
//!
//! ```json
//! { "vaults":   [{"name", "url", "version", "managementUrl"?}],
//!   "services": [{"name", "url", "path", "version", "infoUrl", "displayName"?, "uiUrl"?,
//!                 "tagline"?, "uis"?}],
//!   "<row name minus parachute->": [{"url", "version"}] }
//! ```
//!
//! A vault row contributes one `vaults` and one `services` entry per path (one vault process
//! serves several vaults); any other row contributes its first path only, to `services` and to
//! the array named after it.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::services::{self, ModuleJson};
use crate::{Home, ServiceRow};

/// Why the on-disk discovery document could not be written.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the discovery document {path}: {source}. Check that the directory is writable; the hub still serves the document over HTTP"
)]
pub struct WellKnownWriteError {
    /// The file we tried to write.
    pub path: PathBuf,
    /// The I/O failure.
    #[source]
    pub source: std::io::Error,
}

/// Writes `well-known/parachute.json` for `origin` atomically (2-space JSON plus a newline, as
/// the original writes it), from a fresh lenient read of `services.json`. Call it after a
/// module is installed, upgraded or removed and after an exposure change; returns the path.
pub fn write_well_known(home: &Home, origin: &str) -> Result<PathBuf, WellKnownWriteError> {
    let rows = services::read_lenient(home).manifest.services;
    let doc = build_document(&rows, origin, services::module_json);
    let path = home.well_known_parachute_json();
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serialises");
    text.push('\n');
    crate::write_atomic(&path, text.as_bytes(), None).map_err(|source| WellKnownWriteError {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// The discovery document for `rows` at `origin`. `module_json` supplies each row's
/// `.parachute/module.json` (for `uiUrl`, `managementUrl` and `displayName`); pass
/// `|_| None` to build from `services.json` alone.
pub fn build_document(
    rows: &[ServiceRow],
    origin: &str,
    module_json: impl Fn(&ServiceRow) -> Option<ModuleJson>,
) -> Value {
    let base = origin.trim_end_matches('/');
    let mut doc = Map::new();
    doc.insert("vaults".into(), Value::Array(Vec::new()));
    doc.insert("services".into(), Value::Array(Vec::new()));
    for row in rows {
        let meta = module_json(row);
        let is_vault = row.is_vault();
        let paths: Vec<&str> = if is_vault && !row.paths.is_empty() {
            row.paths.iter().map(String::as_str).collect()
        } else {
            vec![row.paths.first().map_or("/", String::as_str)]
        };
        let display_name = meta
            .as_ref()
            .and_then(|m| m.display_name.clone())
            .filter(|d| !d.is_empty())
            .or_else(|| row.display_name.clone());
        let ui_url = meta.as_ref().and_then(|m| m.ui_url.clone());
        for path in paths {
            let url = join(base, path);
            let mut entry = Map::new();
            entry.insert("name".into(), json!(row.name));
            entry.insert("url".into(), json!(url));
            entry.insert("path".into(), json!(path));
            entry.insert("version".into(), json!(row.version));
            entry.insert("infoUrl".into(), json!(join(base, &info_path(path))));
            if let Some(d) = &display_name {
                entry.insert("displayName".into(), json!(d));
            }
            if let Some(t) = &row.tagline {
                entry.insert("tagline".into(), json!(t));
            }
            if let Some(ui) = ui_url
                .as_deref()
                .and_then(|u| resolve_ui_url(base, row, path, u))
            {
                entry.insert("uiUrl".into(), json!(ui));
            }
            if let Some(uis) = row.uis.as_ref().map(|u| uis_array(base, u))
                && !uis.is_empty()
            {
                entry.insert("uis".into(), Value::Array(uis));
            }
            push(&mut doc, "services", Value::Object(entry));
            if is_vault {
                let mut vault = Map::new();
                vault.insert("name".into(), json!(vault_instance_name(&row.name, path)));
                vault.insert("url".into(), json!(url));
                vault.insert("version".into(), json!(row.version));
                if let Some(m) = meta.as_ref().and_then(|m| m.management_url.clone()) {
                    vault.insert("managementUrl".into(), json!(m));
                }
                push(&mut doc, "vaults", Value::Object(vault));
            } else {
                let key = row.name.strip_prefix("parachute-").unwrap_or(&row.name);
                push(&mut doc, key, json!({"url": url, "version": row.version}));
            }
        }
    }
    Value::Object(doc)
}

/// The vault instance a path serves: `/vault/<n>` -> `n`, else the row's `parachute-vault-<n>`
/// suffix, else `default`.
pub fn vault_instance_name(row_name: &str, path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/vault/")
        && let Some(name) = rest.split('/').next()
        && !name.is_empty()
    {
        return name.to_string();
    }
    match row_name.strip_prefix("parachute-vault-") {
        Some(suffix) => suffix.to_string(),
        None => "default".to_string(),
    }
}

/// Appends `value` to the array at `key`, creating it (a row named `vaults` or `services`
/// cannot clobber the two lists: it appends to them, as the original's did).
fn push(doc: &mut Map<String, Value>, key: &str, value: Value) {
    match doc.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        _ => {
            doc.insert(key.to_string(), Value::Array(vec![value]));
        }
    }
}

/// `<path without trailing />/.parachute/info`.
fn info_path(path: &str) -> String {
    format!("{}/.parachute/info", path.strip_suffix('/').unwrap_or(path))
}

/// Resolves `reference` against `<base>/` like a browser does for the forms found here: an
/// absolute `http(s)` URL stays, `/x` replaces the base's path, `x` is appended to it.
fn join(base: &str, reference: &str) -> String {
    if is_absolute_http(reference) {
        return reference.to_string();
    }
    if let Some(rest) = reference.strip_prefix('/') {
        return format!("{}/{rest}", origin_root(base));
    }
    format!("{base}/{reference}")
}

/// `scheme://authority` of `base` (drops any path).
fn origin_root(base: &str) -> &str {
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    }
}

fn is_absolute_http(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A module's `uiUrl` as published: absolute URLs verbatim; a path is joined to the origin,
/// and for a vault row first put under the vault's mount (`/admin/` -> `/vault/<n>/admin/`).
/// A vault `uiUrl` that is not rooted would produce a broken link and is left out.
fn resolve_ui_url(base: &str, row: &ServiceRow, path: &str, ui_url: &str) -> Option<String> {
    if is_absolute_http(ui_url) {
        return Some(ui_url.to_string());
    }
    if row.is_vault() {
        if !ui_url.starts_with('/') {
            tracing::warn!(
                row = %row.name,
                ui_url,
                "vault uiUrl must be a path starting with /; leaving it out of the discovery document"
            );
            return None;
        }
        let mount = path.strip_suffix('/').unwrap_or(path);
        return Some(join(base, &format!("{mount}{ui_url}")));
    }
    Some(join(base, ui_url))
}

/// The row's `uis` map as an array, each sub-unit with its slug as `name` and a full `url`.
fn uis_array(base: &str, uis: &Map<String, Value>) -> Vec<Value> {
    uis.iter()
        .filter_map(|(slug, unit)| {
            let u = unit.as_object()?;
            let path = u.get("path")?.as_str()?;
            let mut out = Map::new();
            out.insert("name".into(), json!(slug));
            out.insert(
                "displayName".into(),
                u.get("displayName").cloned().unwrap_or(Value::Null),
            );
            out.insert("path".into(), json!(path));
            out.insert("url".into(), json!(join(base, path)));
            for key in ["tagline", "iconUrl", "version", "oauthClientId", "status"] {
                let Some(value) = u.get(key) else { continue };
                let value = match (key, value.as_str()) {
                    ("iconUrl", Some(icon)) => json!(join(base, icon)),
                    _ => value.clone(),
                };
                out.insert(key.into(), value);
            }
            Some(Value::Object(out))
        })
        .collect()
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;

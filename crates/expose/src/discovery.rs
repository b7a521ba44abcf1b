//! The static discovery files the Tailscale layers leave under `well-known/`:
//! `parachute.json` (for inspection; the hub route rebuilds the document per request) and
//! `hub.html`.
//!
//! The hub crate owns the live document; this is a compact equivalent written with the exposed
//! origin so the file on disk matches what a client sees on that origin.

use parachute_home::{Home, Manifest, ServiceRow, write_atomic};
use serde_json::{Map, Value, json};

use crate::error::ExposeError;

/// Path of the discovery document on every origin.
pub const DISCOVERY_PATH: &str = "/.well-known/parachute.json";

/// The vault instance a vault row's `path` serves: `/vault/<name>`, else the suffix of a
/// `parachute-vault-<name>` row, else `default`.
fn vault_instance(row: &ServiceRow, path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/vault/")
        && let Some(name) = rest.split('/').next().filter(|n| !n.is_empty())
    {
        return name.to_string();
    }
    row.name
        .strip_prefix("parachute-vault-")
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_string()
}

/// The discovery document for `manifest` on `origin`: `vaults` (one per vault path),
/// `services` (one per row, first path), and one array per module keyed by its name without
/// `parachute-`.
pub fn document(manifest: &Manifest, origin: &str) -> Value {
    let origin = origin.trim_end_matches('/');
    let mut vaults = Vec::new();
    let mut services = Vec::new();
    let mut by_kind: Map<String, Value> = Map::new();
    for row in &manifest.services {
        let kind = row
            .name
            .strip_prefix("parachute-")
            .unwrap_or(&row.name)
            .to_string();
        let kind = if row.is_vault() { "vault".into() } else { kind };
        let paths: Vec<&String> = if row.is_vault() {
            row.paths.iter().collect()
        } else {
            row.paths.iter().take(1).collect()
        };
        for path in paths {
            let url = format!("{origin}{path}");
            if row.is_vault() {
                vaults.push(json!({
                    "name": vault_instance(row, path),
                    "url": url,
                    "version": row.version,
                }));
            }
            let list = by_kind
                .entry(kind.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(json!({ "url": url, "version": row.version }));
            }
        }
        if let Some(path) = row.paths.first() {
            let mut entry = json!({
                "name": row.name,
                "url": format!("{origin}{path}"),
                "path": path,
                "version": row.version,
                "infoUrl": format!("{}/.parachute/info", path.trim_end_matches('/')),
            });
            if let Some(d) = &row.display_name {
                entry["displayName"] = json!(d);
            }
            if let Some(t) = &row.tagline {
                entry["tagline"] = json!(t);
            }
            services.push(entry);
        }
    }
    let mut doc = Map::new();
    doc.insert("vaults".into(), Value::Array(vaults));
    doc.insert("services".into(), Value::Array(services));
    for (k, v) in by_kind {
        if k != "vaults" && k != "services" {
            doc.insert(k, v);
        }
    }
    Value::Object(doc)
}

/// Writes `well-known/parachute.json` (for `origin`) and `well-known/hub.html`.
pub fn write_files(home: &Home, manifest: &Manifest, origin: &str) -> Result<(), ExposeError> {
    let path = home.well_known_parachute_json();
    let mut text =
        serde_json::to_string_pretty(&document(manifest, origin)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    write_atomic(&path, text.as_bytes(), None).map_err(|e| ExposeError::write(&path, e))?;
    let html = home.well_known_hub_html();
    write_atomic(&html, HUB_HTML.as_bytes(), None).map_err(|e| ExposeError::write(&html, e))?;
    Ok(())
}

/// Removes both files (absent files are fine).
pub fn remove_files(home: &Home) {
    for path in [home.well_known_parachute_json(), home.well_known_hub_html()] {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %e, "could not remove a discovery file");
        }
    }
}

/// A small static landing page: where to go from the hub's root.
const HUB_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parachute hub</title>
</head>
<body>
<h1>Parachute hub</h1>
<p>This machine runs a Parachute hub.</p>
<ul>
<li><a href="/admin/">Open the dashboard</a></li>
<li><a href="/.well-known/parachute.json">Discovery document</a> (the modules this hub serves)</li>
</ul>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Value) -> ServiceRow {
        ServiceRow::from_value(&v).unwrap()
    }

    #[test]
    fn vault_paths_and_services_get_the_origin() {
        let manifest = Manifest {
            services: vec![
                row(json!({"name": "parachute-vault", "port": 1940,
                    "paths": ["/vault/default", "/vault/work"], "health": "/health", "version": "1.2.0"})),
                row(
                    json!({"name": "parachute-scribe", "port": 1943, "paths": ["/scribe"],
                    "health": "/health", "version": "0.3.0", "displayName": "Scribe"}),
                ),
            ],
            extra: Map::new(),
        };
        let doc = document(&manifest, "https://box.ts.net/");
        assert_eq!(doc["vaults"][1]["name"], "work");
        assert_eq!(doc["vaults"][0]["url"], "https://box.ts.net/vault/default");
        assert_eq!(doc["services"][1]["url"], "https://box.ts.net/scribe");
        assert_eq!(doc["services"][1]["infoUrl"], "/scribe/.parachute/info");
        assert_eq!(doc["services"][1]["displayName"], "Scribe");
        assert_eq!(doc["vault"].as_array().unwrap().len(), 2);
        assert_eq!(doc["scribe"][0]["version"], "0.3.0");
    }
}

//! `expose-state.json`: what the Tailscale exposure layer set up (version 1).

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::json::{load_state, remove_state, save_state};
use crate::paths::Home;

/// The active exposure, as written by `expose tailnet|public`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposeState {
    /// Format version; always 1.
    pub version: u32,
    /// Tailnet-only or public (Funnel).
    pub layer: Layer,
    /// Path-based or subdomain routing.
    pub mode: Mode,
    /// The node's DNS name, e.g. `box.tail1234.ts.net`.
    pub canonical_fqdn: String,
    /// The HTTPS port served (443).
    pub port: u16,
    /// Whether Funnel (public internet) is on.
    pub funnel: bool,
    /// What `tailscale serve` was told to serve.
    pub entries: Vec<ExposeEntry>,
    /// The public origin of the hub (`https://<fqdn>`), also written to `vault/.env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_origin: Option<String>,
}

/// Tailnet-only or public exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// Reachable from the tailnet only.
    Tailnet,
    /// Reachable from the internet (Funnel).
    Public,
}

/// How modules are addressed on the exposed origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `https://<fqdn>/<mount>`.
    Path,
    /// One subdomain per module.
    Subdomain,
}

/// One `tailscale serve` handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposeEntry {
    /// Reverse proxy or static file.
    pub kind: EntryKind,
    /// Mount path on the exposed origin (starts with `/`).
    pub mount: String,
    /// Proxy target URL or file path.
    pub target: String,
    /// Which service the entry is for (`hub`).
    pub service: String,
}

/// Kind of a `tailscale serve` handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Reverse proxy to a URL.
    Proxy,
    /// Serve a file.
    File,
}

/// Which provider and reach a state file describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposedVia {
    /// `tailscale serve`: the owner's tailnet.
    Tailnet,
    /// `tailscale funnel`: the internet.
    Funnel,
    /// A Cloudflare named tunnel: the internet.
    Cloudflare,
}

impl ExposeState {
    /// Which layer this state describes. Tailscale writes `mode: path` (Funnel with
    /// `funnel: true`); the Cloudflare path writes `layer: public, mode: subdomain, funnel:
    /// false`. A public, path-mode record without Funnel is not something we write; it is read
    /// as Tailscale (its entries are `tailscale serve` handlers).
    pub fn exposed_via(&self) -> ExposedVia {
        match (self.layer, self.funnel, self.mode) {
            (Layer::Tailnet, _, _) => ExposedVia::Tailnet,
            (Layer::Public, true, _) => ExposedVia::Funnel,
            (Layer::Public, false, Mode::Subdomain) => ExposedVia::Cloudflare,
            (Layer::Public, false, Mode::Path) => ExposedVia::Tailnet,
        }
    }

    /// The origin this layer advertises to modules and OAuth clients: its `hubOrigin` (without
    /// a trailing `/`), else `https://<canonicalFqdn>`. The one rule for "the exposed origin".
    pub fn advertised_origin(&self) -> String {
        match self
            .hub_origin
            .as_deref()
            .map(|o| o.trim().trim_end_matches('/'))
        {
            Some(origin) if !origin.is_empty() => origin.to_string(),
            _ => format!("https://{}", self.canonical_fqdn),
        }
    }

    /// Checks what serde cannot: version, non-empty strings, mounts starting with `/`.
    fn check(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!("unsupported version {} (expected 1)", self.version));
        }
        if self.canonical_fqdn.is_empty() {
            return Err("canonicalFqdn must be a non-empty string".into());
        }
        for (i, e) in self.entries.iter().enumerate() {
            if !e.mount.starts_with('/') {
                return Err(format!("entries[{i}].mount must start with \"/\""));
            }
            if e.target.is_empty() || e.service.is_empty() {
                return Err(format!(
                    "entries[{i}]: target and service must be non-empty"
                ));
            }
        }
        Ok(())
    }
}

/// Reads the state: `Ok(None)` when absent, an error naming the file when malformed.
pub fn read(home: &Home) -> Result<Option<ExposeState>, StateError> {
    let path = home.expose_state();
    let Some(value) = load_state(&path)? else {
        return Ok(None);
    };
    let malformed = |detail: String| StateError::Malformed {
        path: path.clone(),
        detail,
    };
    let state: ExposeState = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
    state.check().map_err(malformed)?;
    Ok(Some(state))
}

/// Writes the state atomically (2-space JSON + newline).
pub fn write(home: &Home, state: &ExposeState) -> Result<(), StateError> {
    let path = home.expose_state();
    state.check().map_err(|detail| StateError::Malformed {
        path: path.clone(),
        detail: format!("refusing to write an invalid state: {detail}"),
    })?;
    save_state(&path, state, None)
}

/// Removes the state; `Ok(false)` when there was none.
pub fn remove(home: &Home) -> Result<bool, StateError> {
    remove_state(&home.expose_state())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExposeState {
        ExposeState {
            version: 1,
            layer: Layer::Public,
            mode: Mode::Path,
            canonical_fqdn: "box.tail1234.ts.net".into(),
            port: 443,
            funnel: true,
            entries: vec![ExposeEntry {
                kind: EntryKind::Proxy,
                mount: "/".into(),
                target: "http://127.0.0.1:1939/".into(),
                service: "hub".into(),
            }],
            hub_origin: None,
        }
    }

    #[test]
    fn write_read_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        assert_eq!(read(&home).unwrap(), None);
        write(&home, &sample()).unwrap();
        let text = std::fs::read_to_string(home.expose_state()).unwrap();
        assert!(!text.contains("hubOrigin"), "absent origin is not written");
        assert!(text.contains("\"canonicalFqdn\": \"box.tail1234.ts.net\""));
        assert_eq!(read(&home).unwrap(), Some(sample()));
        assert!(remove(&home).unwrap());
        assert!(!remove(&home).unwrap());
    }

    #[test]
    fn malformed_files_are_errors_naming_the_file_and_stay_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let good = serde_json::to_value(sample()).unwrap();
        let mut cases = vec!["{".to_string(), "[]".to_string()];
        for (key, bad) in [
            ("version", serde_json::json!(2)),
            ("layer", serde_json::json!("internet")),
            ("mode", serde_json::json!("host")),
            ("canonicalFqdn", serde_json::json!("")),
            ("port", serde_json::json!("443")),
            ("funnel", serde_json::json!("yes")),
            (
                "entries",
                serde_json::json!([{"kind": "proxy", "mount": "x", "target": "t", "service": "s"}]),
            ),
            ("hubOrigin", serde_json::json!(5)),
        ] {
            let mut v = good.clone();
            v[key] = bad;
            cases.push(v.to_string());
        }
        for text in cases {
            std::fs::write(home.expose_state(), &text).unwrap();
            let err = read(&home).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{} is malformed: ", home.expose_state().display())),
                "{err}"
            );
            assert!(
                err.ends_with("Fix or remove the file, then re-run."),
                "{err}"
            );
            assert_eq!(std::fs::read_to_string(home.expose_state()).unwrap(), text);
        }
    }
}

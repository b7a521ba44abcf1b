//! How a row's module is started: first-party argv, or the module's own `module.json`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::known::known_short;
use super::row::{ServiceRow, port_of};
use crate::paths::Home;

/// What the supervisor should run for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartCommand {
    /// Spawn this argv (cwd = the row's `installDir` when set).
    Argv(Vec<String>),
    /// The module is known (it has a `module.json`) but declares no `startCmd`: a CLI-only
    /// module, nothing to supervise.
    CliOnly,
    /// No way to start it: not first-party and no readable `module.json` (or notes, which needs
    /// the original's Bun-based static server).
    Unresolvable,
}

/// The parts of `<installDir>/.parachute/module.json` the hub uses. Read leniently: a field of
/// the wrong type reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleJson {
    /// Where it was read from.
    pub path: PathBuf,
    /// Short name the module declares (e.g. `vault`).
    pub name: Option<String>,
    /// Registry name it registers under (e.g. `parachute-vault`).
    pub manifest_name: Option<String>,
    /// Canonical port it declares.
    pub port: Option<u16>,
    /// Mount paths it declares.
    pub paths: Option<Vec<String>>,
    /// Health path it declares (starts with `/`).
    pub health: Option<String>,
    /// Link to its UI (path or http(s) URL).
    pub ui_url: Option<String>,
    /// Link to its management page (path or http(s) URL).
    pub management_url: Option<String>,
    /// Argv to run it (non-empty).
    pub start_cmd: Option<Vec<String>>,
    /// Human-readable name.
    pub display_name: Option<String>,
    /// One-line subtitle.
    pub tagline: Option<String>,
    /// Whether the proxy should strip its mount prefix.
    pub strip_prefix: Option<bool>,
}

/// Problems reading a `module.json` (for callers that want to report them).
#[derive(Debug, thiserror::Error)]
pub enum ModuleJsonError {
    /// It exists but cannot be read.
    #[error("cannot read {path}: {source}. Check its permissions or reinstall the module.")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// It is not a JSON object.
    #[error("{path} is malformed: {detail}. Reinstall the module or fix the file.")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl ModuleJson {
    /// Reads `<dir>/.parachute/module.json`: `Ok(None)` when absent.
    pub fn read_from(dir: &Path) -> Result<Option<ModuleJson>, ModuleJsonError> {
        let path = dir.join(".parachute").join("module.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ModuleJsonError::Read { path, source }),
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| ModuleJsonError::Malformed {
            path: path.clone(),
            detail: format!("not valid JSON ({e})"),
        })?;
        if !value.is_object() {
            return Err(ModuleJsonError::Malformed {
                path,
                detail: "the top level must be an object".into(),
            });
        }
        Ok(Some(ModuleJson::from_value(path, &value)))
    }

    /// Picks the known fields out of a parsed `module.json`.
    pub fn from_value(path: PathBuf, v: &Value) -> ModuleJson {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let non_empty = |k: &str| s(k).filter(|x| !x.is_empty());
        let strings = |k: &str| {
            let items = v.get(k)?.as_array()?;
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        };
        ModuleJson {
            path,
            name: non_empty("name"),
            manifest_name: non_empty("manifestName"),
            port: v.get("port").and_then(port_of),
            paths: strings("paths"),
            health: s("health").filter(|h| h.starts_with('/')),
            ui_url: non_empty("uiUrl"),
            management_url: non_empty("managementUrl"),
            start_cmd: strings("startCmd").filter(|c| !c.is_empty()),
            display_name: s("displayName"),
            tagline: s("tagline"),
            strip_prefix: v.get("stripPrefix").and_then(Value::as_bool),
        }
    }
}

/// The row's `module.json`, when it has an `installDir` holding a readable one.
pub fn module_json(row: &ServiceRow) -> Option<ModuleJson> {
    let dir = row.install_dir.as_ref()?;
    match ModuleJson::read_from(dir) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(row = %row.name, "{e}");
            None
        }
    }
}

/// What to run for `row`.
///
/// First-party modules have fixed commands (`parachute-<vault|scribe|runner|surface> serve`,
/// `parachute-channel daemon`); notes is `Unresolvable` (the original served it with a Bun
/// script shipped inside its own package). Any other row uses the `startCmd` of its
/// `<installDir>/.parachute/module.json`: `CliOnly` when that file has none, `Unresolvable`
/// without an install dir or a readable file.
pub fn start_command(_home: &Home, row: &ServiceRow) -> StartCommand {
    match known_short(&row.name) {
        Some(short @ ("vault" | "scribe" | "runner" | "surface")) => {
            StartCommand::Argv(vec![format!("parachute-{short}"), "serve".into()])
        }
        Some("channel") => StartCommand::Argv(vec!["parachute-channel".into(), "daemon".into()]),
        Some(_) => StartCommand::Unresolvable,
        None => match module_json(row) {
            Some(ModuleJson {
                start_cmd: Some(argv),
                ..
            }) => StartCommand::Argv(argv),
            Some(_) => StartCommand::CliOnly,
            None => StartCommand::Unresolvable,
        },
    }
}

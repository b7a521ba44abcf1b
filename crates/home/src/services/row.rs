//! One `services.json` row: typed fields, validation and serialization in the original's order.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::json::describe;

/// Keys this crate understands; every other key of a row is kept in [`ServiceRow::extra`].
const KNOWN_KEYS: &[&str] = &[
    "name",
    "port",
    "paths",
    "health",
    "version",
    "displayName",
    "tagline",
    "publicExposure",
    "installDir",
    "stripPrefix",
    "uis",
    "lastStartError",
];

/// Accepted values of `uis.<slug>.status` (after alias normalisation).
const UI_STATUSES: &[&str] = &["active", "pending", "inactive", "failing"];

/// One module registered in `services.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// Registry key, e.g. `parachute-vault`; see [`ServiceRow::short`] for the module's short name.
    pub name: String,
    /// Loopback port the module listens on (1..65535).
    pub port: u16,
    /// Mount paths under the hub origin (e.g. `/vault/default`), longest-prefix routed.
    pub paths: Vec<String>,
    /// Health probe path on the module's port; starts with `/`.
    pub health: String,
    /// Installed version as the module reports it.
    pub version: String,
    /// Human-readable name for the hub page.
    pub display_name: Option<String>,
    /// One-line subtitle for the hub page.
    pub tagline: Option<String>,
    /// Whether exposure layers may mount the module; see [`ServiceRow::effective_public_exposure`].
    pub public_exposure: Option<PublicExposure>,
    /// Installed package directory: cwd of the module and home of `.parachute/module.json`.
    pub install_dir: Option<PathBuf>,
    /// Whether the proxy strips the mount prefix; see [`ServiceRow::effective_strip_prefix`].
    pub strip_prefix: Option<bool>,
    /// UI sub-units (slug -> `{displayName, path, ...}`), validated and kept as JSON.
    pub uis: Option<Map<String, Value>>,
    /// Last start failure still worth showing (a malformed record is dropped on read).
    pub last_start_error: Option<StartErrorRecord>,
    /// Keys we do not know, preserved in file order so other writers' data survives.
    pub extra: Map<String, Value>,
}

/// Whether a module may be mounted on exposure layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublicExposure {
    /// Mounted on every layer; the module gates itself.
    Allowed,
    /// Never mounted on tailnet/public layers: reachable on loopback only.
    Loopback,
    /// The module wants auth but may not have it configured yet.
    AuthRequired,
}

impl PublicExposure {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicExposure::Allowed => "allowed",
            PublicExposure::Loopback => "loopback",
            PublicExposure::AuthRequired => "auth-required",
        }
    }

    fn parse(s: &str) -> Option<PublicExposure> {
        match s {
            "allowed" => Some(PublicExposure::Allowed),
            "loopback" => Some(PublicExposure::Loopback),
            "auth-required" => Some(PublicExposure::AuthRequired),
            _ => None,
        }
    }
}

/// A persisted start failure (`lastStartError`), e.g. a missing binary with install hints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartErrorRecord {
    /// Machine-readable kind, e.g. `missing_dependency`.
    pub error_type: String,
    /// Human-readable explanation shown by `status`.
    pub error_description: String,
    /// The missing program, for `missing_dependency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// Why the program is needed (a JSON `null` reads as absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Where to read more (a JSON `null` reads as absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Per-platform install commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallHints>,
    /// Advice for administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysadmin_hint: Option<String>,
    /// When the failure was recorded (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Install commands per platform for a missing dependency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallHints {
    /// macOS command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub darwin: Option<String>,
    /// Linux command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<String>,
    /// Any-platform command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<String>,
}

impl StartErrorRecord {
    /// Lenient parse: `None` when the value lacks the two required strings; optional fields of the
    /// wrong type are dropped (diagnostic metadata never invalidates a row).
    pub fn from_value(value: &Value) -> Option<StartErrorRecord> {
        let o = value.as_object()?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let install = o
            .get("install")
            .and_then(Value::as_object)
            .map(|ins| InstallHints {
                darwin: ins
                    .get("darwin")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                linux: ins.get("linux").and_then(Value::as_str).map(str::to_string),
                generic: ins
                    .get("generic")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        Some(StartErrorRecord {
            error_type: s("error_type")?,
            error_description: s("error_description")?,
            binary: s("binary"),
            why: s("why"),
            docs_url: s("docs_url"),
            install,
            sysadmin_hint: s("sysadmin_hint"),
            at: s("at"),
        })
    }
}

impl ServiceRow {
    /// A row with the required fields and nothing else.
    pub fn new(
        name: impl Into<String>,
        port: u16,
        paths: Vec<String>,
        health: impl Into<String>,
        version: impl Into<String>,
    ) -> ServiceRow {
        ServiceRow {
            name: name.into(),
            port,
            paths,
            health: health.into(),
            version: version.into(),
            display_name: None,
            tagline: None,
            public_exposure: None,
            install_dir: None,
            strip_prefix: None,
            uis: None,
            last_start_error: None,
            extra: Map::new(),
        }
    }

    /// Parses and validates one row. The error says which field is wrong and what it holds.
    pub fn from_value(value: &Value) -> Result<ServiceRow, String> {
        let Some(o) = value.as_object() else {
            return Err(format!("expected an object, got {}", describe(value)));
        };
        let name = match o.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            other => return Err(bad("name", "a non-empty string", other)),
        };
        if let Some(problem) = unsafe_name_problem(&name) {
            return Err(format!(
                "\"name\" {name:?} {problem}: a row's name is also the module's directory under \
                 the home, so it must be one plain file name"
            ));
        }
        let port = match o.get("port").and_then(port_of) {
            Some(p) => p,
            None => return Err(bad("port", "an integer 1..65535", o.get("port"))),
        };
        let paths = match o.get("paths") {
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            other => return Err(bad("paths", "an array of strings", other)),
        };
        let health = match o.get("health") {
            Some(Value::String(s)) if s.starts_with('/') => s.clone(),
            other => return Err(bad("health", "a path starting with \"/\"", other)),
        };
        let version = match o.get("version") {
            Some(Value::String(s)) => s.clone(),
            other => return Err(bad("version", "a string", other)),
        };
        let display_name = opt_string(o, "displayName")?;
        let tagline = opt_string(o, "tagline")?;
        let public_exposure = match o.get("publicExposure") {
            None => None,
            Some(Value::String(s)) if PublicExposure::parse(s).is_some() => {
                PublicExposure::parse(s)
            }
            other => {
                return Err(bad(
                    "publicExposure",
                    "\"allowed\", \"loopback\" or \"auth-required\"",
                    other,
                ));
            }
        };
        let install_dir = match o.get("installDir") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
            other => return Err(bad("installDir", "a non-empty string", other)),
        };
        let strip_prefix = match o.get("stripPrefix") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            other => return Err(bad("stripPrefix", "true or false", other)),
        };
        let uis = match o.get("uis") {
            None => None,
            Some(v) => Some(validate_uis(v)?),
        };
        let last_start_error = o
            .get("lastStartError")
            .and_then(StartErrorRecord::from_value);
        let extra = o
            .iter()
            .filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(ServiceRow {
            name,
            port,
            paths,
            health,
            version,
            display_name,
            tagline,
            public_exposure,
            install_dir,
            strip_prefix,
            uis,
            last_start_error,
            extra,
        })
    }

    /// The row as JSON, keys in the order the original writes them, then unknown keys.
    pub fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), Value::from(self.name.clone()));
        o.insert("port".into(), Value::from(self.port));
        o.insert("paths".into(), Value::from(self.paths.clone()));
        o.insert("health".into(), Value::from(self.health.clone()));
        o.insert("version".into(), Value::from(self.version.clone()));
        if let Some(v) = &self.display_name {
            o.insert("displayName".into(), Value::from(v.clone()));
        }
        if let Some(v) = &self.tagline {
            o.insert("tagline".into(), Value::from(v.clone()));
        }
        if let Some(v) = self.public_exposure {
            o.insert("publicExposure".into(), Value::from(v.as_str()));
        }
        if let Some(v) = &self.install_dir {
            o.insert(
                "installDir".into(),
                Value::from(v.to_string_lossy().into_owned()),
            );
        }
        if let Some(v) = self.strip_prefix {
            o.insert("stripPrefix".into(), Value::from(v));
        }
        if let Some(v) = &self.uis {
            o.insert("uis".into(), Value::Object(v.clone()));
        }
        if let Some(v) = &self.last_start_error {
            let v = serde_json::to_value(v).expect("start error serializes");
            o.insert("lastStartError".into(), v);
        }
        for (k, v) in &self.extra {
            if !o.contains_key(k) {
                o.insert(k.clone(), v.clone());
            }
        }
        Value::Object(o)
    }

    /// Validates the row as it would be written (used before every write).
    pub fn validate(&self) -> Result<(), String> {
        if self.port == 0 {
            return Err("\"port\" must be an integer 1..65535, got 0".into());
        }
        ServiceRow::from_value(&self.to_value()).map(|_| ())
    }
}

impl Serialize for ServiceRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ServiceRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ServiceRow::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// Why `name` cannot be a module name (it would not stay one directory under the home, or
/// would corrupt logs and terminals), or `None` when it is fine. Refused: `.`, anything with
/// `/` or `..`, NUL and every control character (C0, DEL and C1).
pub fn unsafe_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." {
        Some("is the current directory")
    } else if name.contains('/') {
        Some("contains \"/\"")
    } else if name.contains("..") {
        Some("contains \"..\"")
    } else if name.contains('\0') {
        Some("contains a NUL byte")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

/// A port from JSON: an integral number in 1..65535 (`1940.0` counts, as in JavaScript).
pub(crate) fn port_of(v: &Value) -> Option<u16> {
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    })?;
    u16::try_from(n).ok().filter(|p| *p != 0)
}

/// The message for a field holding the wrong thing.
fn bad(field: &str, expected: &str, got: Option<&Value>) -> String {
    match got {
        None => format!("\"{field}\" is missing (must be {expected})"),
        Some(v) => format!("\"{field}\" must be {expected}, got {}", describe(v)),
    }
}

/// An optional string field: absent is fine, anything but a string is an error.
fn opt_string(o: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match o.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        other => Err(bad(field, "a string", other)),
    }
}

/// Validates `uis` (slug -> sub-unit) and normalises the old status aliases
/// (`pending-oauth` -> `pending`, `disabled` -> `inactive`).
fn validate_uis(value: &Value) -> Result<Map<String, Value>, String> {
    let Some(map) = value.as_object() else {
        return Err(bad("uis", "an object map", Some(value)));
    };
    let mut out = Map::new();
    for (slug, unit) in map {
        let field = |f: &str| format!("uis[{slug:?}].{f}");
        if slug.is_empty() {
            return Err("\"uis\" keys must be non-empty strings".into());
        }
        let Some(u) = unit.as_object() else {
            return Err(bad(&format!("uis[{slug:?}]"), "an object", Some(unit)));
        };
        match u.get("displayName") {
            Some(Value::String(s)) if !s.is_empty() => {}
            other => return Err(bad(&field("displayName"), "a non-empty string", other)),
        }
        match u.get("path") {
            Some(Value::String(s)) if s.starts_with('/') => {}
            other => return Err(bad(&field("path"), "a path starting with \"/\"", other)),
        }
        for f in ["tagline", "iconUrl", "version", "oauthClientId"] {
            match u.get(f) {
                None | Some(Value::String(_)) => {}
                other => return Err(bad(&field(f), "a string", other)),
            }
        }
        let mut unit = u.clone();
        if let Some(status) = u.get("status") {
            let canonical = match status.as_str() {
                Some("pending-oauth") => Some("pending"),
                Some("disabled") => Some("inactive"),
                Some(s) if UI_STATUSES.contains(&s) => Some(s),
                _ => None,
            };
            match canonical {
                Some(s) => {
                    unit.insert("status".into(), Value::from(s));
                }
                None => {
                    return Err(bad(
                        &field("status"),
                        "\"active\", \"pending\", \"inactive\" or \"failing\"",
                        Some(status),
                    ));
                }
            }
        }
        out.insert(slug.clone(), Value::Object(unit));
    }
    Ok(out)
}

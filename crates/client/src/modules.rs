//! The module-operations API of the hub (`/api/modules…`), typed for the CLI.
//!
//! Shapes follow the hub's routes: `POST /api/modules/<short>/start|stop|restart` answer
//! `{short, state}` (plus `stopped` for stop), `GET /api/modules` answers
//! `{modules:[{short, supervisor_status, pid, supervisor_start_error, …}], …}` and
//! `GET /api/modules/<short>/logs` answers `{short, lines[], text}` (or, with `?follow=1`, a
//! `text/plain` stream). Parsing is lenient: a field the hub leaves out reads as absent, so a
//! newer or older hub still produces a usable answer.

use std::time::Duration;

use serde_json::Value;

use crate::{ApiResponse, ClientError, HubClient};

/// How long `GET /api/modules` may take before the read counts as failed (`status` must stay
/// bounded even when the hub hangs).
pub const MODULES_TIMEOUT: Duration = Duration::from_secs(3);

/// A lifecycle operation on one supervised module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleOp {
    /// `POST /api/modules/<short>/start`.
    Start,
    /// `POST /api/modules/<short>/stop`.
    Stop,
    /// `POST /api/modules/<short>/restart`.
    Restart,
}

impl ModuleOp {
    /// The path segment and verb: `start`, `stop`, `restart`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleOp::Start => "start",
            ModuleOp::Stop => "stop",
            ModuleOp::Restart => "restart",
        }
    }
}

/// One entry of `GET /api/modules`, reduced to what the CLI shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleSummary {
    /// The module's short name (`vault`, a third-party row name, …).
    pub short: String,
    /// The supervisor's status word (`starting|running|stopped|crashed|restarting`); `None`
    /// when the supervisor does not track the module.
    pub supervisor_status: Option<String>,
    /// The module's pid while a process exists.
    pub pid: Option<u32>,
    /// When the current process was spawned (epoch milliseconds), when the hub says so.
    pub started_at_ms: Option<u64>,
    /// Whether the module has answered on its port since its last spawn, when the hub says so.
    pub ready: Option<bool>,
    /// The supervisor's `startError` object (`{error_type, error_description, binary?, …}`).
    pub start_error: Option<Value>,
    /// The whole entry, for `status --json` and future fields.
    pub raw: Value,
}

impl ModuleSummary {
    /// Reads one entry; `None` when it has no `short`.
    pub fn from_value(entry: &Value) -> Option<Self> {
        let short = entry.get("short")?.as_str()?.to_string();
        let first = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| entry.get(*k).filter(|v| !v.is_null()))
        };
        let state = entry.get("state").filter(|v| v.is_object());
        let from_state = |key: &str| state.and_then(|s| s.get(key)).filter(|v| !v.is_null());
        let supervisor_status = first(&["supervisor_status"])
            .or_else(|| from_state("status"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let pid = first(&["pid"])
            .or_else(|| from_state("pid"))
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok());
        let started_at_ms = first(&["supervisor_started_at", "started_at"])
            .or_else(|| from_state("started_at"))
            .and_then(Value::as_u64);
        let ready = first(&["supervisor_ready", "ready"])
            .or_else(|| from_state("ready"))
            .and_then(Value::as_bool);
        let start_error = first(&["supervisor_start_error"])
            .or_else(|| from_state("start_error"))
            .filter(|v| v.is_object())
            .cloned();
        Some(Self {
            short,
            supervisor_status,
            pid,
            started_at_ms,
            ready,
            start_error,
            raw: entry.clone(),
        })
    }
}

/// The answer of `GET /api/modules`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModulesList {
    /// One entry per module the hub knows.
    pub modules: Vec<ModuleSummary>,
    /// Whether the hub runs a supervisor (`supervisor_available`, default true).
    pub supervisor_available: bool,
}

impl ModulesList {
    /// Parses the JSON body.
    pub fn from_value(body: &Value) -> Result<Self, ClientError> {
        let list = body
            .get("modules")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ClientError::BadResponse("GET /api/modules has no `modules` list".into())
            })?;
        Ok(Self {
            modules: list.iter().filter_map(ModuleSummary::from_value).collect(),
            supervisor_available: body
                .get("supervisor_available")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        })
    }

    /// The entry for `short`.
    pub fn get(&self, short: &str) -> Option<&ModuleSummary> {
        self.modules.iter().find(|m| m.short == short)
    }
}

/// The answer of `GET /api/hub`: what is running, since when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubInfo {
    /// The hub's version.
    pub version: Option<String>,
    /// The hub process's pid.
    pub pid: Option<u32>,
    /// How long the hub has been serving, in milliseconds.
    pub uptime_ms: Option<u64>,
    /// `binary` or `container`.
    pub source: Option<String>,
    /// The hub's executable path.
    pub executable: Option<String>,
}

impl HubInfo {
    /// Parses the JSON body (every field optional).
    pub fn from_value(body: &Value) -> Self {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            version: text("version"),
            pid: body
                .get("pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok()),
            uptime_ms: body.get("uptime_ms").and_then(Value::as_u64),
            source: text("source"),
            executable: text("executable"),
        }
    }
}

/// The answer of `GET /api/modules/<short>/logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLogs {
    /// The module.
    pub short: String,
    /// The buffered lines, oldest first, without their `\n`.
    pub lines: Vec<String>,
}

impl ModuleLogs {
    /// Parses the JSON body (`lines`, else `text` split on newlines).
    pub fn from_value(body: &Value) -> Result<Self, ClientError> {
        let short = body
            .get("short")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let lines = if let Some(lines) = body.get("lines").and_then(Value::as_array) {
            lines
                .iter()
                .map(|l| {
                    l.as_str()
                        .unwrap_or_default()
                        .trim_end_matches('\n')
                        .to_string()
                })
                .collect()
        } else if let Some(text) = body.get("text").and_then(Value::as_str) {
            text.lines().map(str::to_string).collect()
        } else {
            return Err(ClientError::BadResponse(
                "the logs answer has neither `lines` nor `text`".into(),
            ));
        };
        Ok(Self { short, lines })
    }
}

impl HubClient {
    /// `POST /api/modules/<short>/<op>` (30 s budget). Non-2xx is [`ClientError::Api`] with the
    /// hub's `error` code (`not_installed`, `not_supervised`, `unknown_module`, …).
    pub async fn module_op(&self, short: &str, op: ModuleOp) -> Result<ApiResponse, ClientError> {
        self.post(
            &format!("/api/modules/{short}/{}", op.as_str()),
            &Value::Object(Default::default()),
        )
        .await
    }

    /// `GET /api/modules?latest=0` within [`MODULES_TIMEOUT`]: live module state without the
    /// registry's latest versions (the CLI never shows them, and asking npm is slow and
    /// needs the network).
    pub async fn modules(&self) -> Result<ModulesList, ClientError> {
        let resp = self
            .request(
                reqwest::Method::GET,
                "/api/modules?latest=0",
                None,
                MODULES_TIMEOUT,
            )
            .await?;
        ModulesList::from_value(&resp.body)
    }

    /// `GET /api/hub` within [`MODULES_TIMEOUT`] (needs `parachute:host:admin`).
    pub async fn hub_info(&self) -> Result<HubInfo, ClientError> {
        let resp = self
            .request(reqwest::Method::GET, "/api/hub", None, MODULES_TIMEOUT)
            .await?;
        Ok(HubInfo::from_value(&resp.body))
    }

    /// `GET /api/modules/<short>/logs` (10 s budget).
    pub async fn module_logs(&self, short: &str) -> Result<ModuleLogs, ClientError> {
        let resp = self.get(&format!("/api/modules/{short}/logs")).await?;
        ModuleLogs::from_value(&resp.body)
    }

    /// `GET /api/modules/<short>/logs?follow=1`: the buffered lines, then new ones as they come,
    /// as a byte stream the caller reads until the hub closes it.
    pub async fn follow_module_logs(&self, short: &str) -> Result<reqwest::Response, ClientError> {
        self.stream(&format!("/api/modules/{short}/logs?follow=1"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_read_flat_and_nested_shapes() {
        let body = json!({
            "modules": [
                {"short": "vault", "supervisor_status": "running", "pid": 42,
                 "supervisor_start_error": null, "started_at": 1_700_000_000_000u64, "ready": true},
                {"short": "scribe", "supervisor_status": "crashed", "pid": null,
                 "supervisor_start_error": {"error_type": "missing_dependency", "binary": "x"}},
                {"short": "runner", "state": {"status": "starting", "pid": 7, "started_at": 5}},
                {"no_short": true}
            ],
            "supervisor_available": true
        });
        let list = ModulesList::from_value(&body).unwrap();
        assert_eq!(list.modules.len(), 3);
        let vault = list.get("vault").unwrap();
        assert_eq!(vault.supervisor_status.as_deref(), Some("running"));
        assert_eq!(vault.pid, Some(42));
        assert_eq!(vault.started_at_ms, Some(1_700_000_000_000));
        assert_eq!(vault.ready, Some(true));
        assert_eq!(vault.start_error, None);
        let scribe = list.get("scribe").unwrap();
        assert_eq!(scribe.pid, None);
        assert_eq!(scribe.start_error.as_ref().unwrap()["binary"], "x");
        let runner = list.get("runner").unwrap();
        assert_eq!(runner.supervisor_status.as_deref(), Some("starting"));
        assert_eq!((runner.pid, runner.started_at_ms), (Some(7), Some(5)));
        assert!(ModulesList::from_value(&json!({"nope": 1})).is_err());
    }

    #[test]
    fn hub_info_reads_what_is_there() {
        let info = HubInfo::from_value(&json!({
            "version": "0.1.0", "pid": 12, "uptime_ms": 5000, "source": "binary",
            "executable": "/usr/bin/parachute", "port": 1939
        }));
        assert_eq!(info.pid, Some(12));
        assert_eq!(info.uptime_ms, Some(5000));
        assert_eq!(info.executable.as_deref(), Some("/usr/bin/parachute"));
        assert_eq!(HubInfo::from_value(&json!({})).pid, None);
    }

    #[test]
    fn logs_read_lines_or_text() {
        let a = ModuleLogs::from_value(&json!({"short": "v", "lines": ["a", "b\n"], "text": "x"}))
            .unwrap();
        assert_eq!(a.lines, vec!["a", "b"]);
        let b = ModuleLogs::from_value(&json!({"short": "v", "text": "a\nb\n"})).unwrap();
        assert_eq!(b.lines, vec!["a", "b"]);
        assert!(ModuleLogs::from_value(&json!({"short": "v"})).is_err());
    }
}

//! The in-memory registry of long-running module operations (install, upgrade, uninstall).
//!
//! `POST /api/modules/<s>/install` answers 202 with an operation id at once; the work goes on
//! in the background and clients poll `GET /api/modules/operations/<id>`. At most one
//! operation runs per module: a second one is refused (`409 operation_in_flight`) instead of
//! racing the first through `bun` and `services.json`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Install the package, add the row, start the module.
    Install,
    /// Reinstall the package from its channel and restart the module.
    Upgrade,
    /// Restart the module.
    Restart,
    /// Stop the module, drop its row, remove the package.
    Uninstall,
}

impl OperationKind {
    /// The lowercase word used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Upgrade => "upgrade",
            Self::Restart => "restart",
            Self::Uninstall => "uninstall",
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationStatus {
    /// Accepted, not started.
    Pending,
    /// Under way.
    Running,
    /// Done.
    Succeeded,
    /// Gave up; see `error`.
    Failed,
}

/// One operation as `GET /api/modules/operations/<id>` reports it (the original's shape).
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// Random id handed to the client.
    pub id: String,
    /// What it does.
    pub kind: OperationKind,
    /// The module it acts on.
    pub short: String,
    /// Where it is.
    pub status: OperationStatus,
    /// Progress lines for a person, oldest first.
    pub log: Vec<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Machine-readable failure detail (exit code and stderr tail, or a start error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<Value>,
    /// When it was accepted (ISO 8601, UTC).
    #[serde(rename = "startedAt")]
    pub started_at: String,
    /// When it ended (ISO 8601, UTC).
    #[serde(rename = "finishedAt", skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// Refusal to start a second operation on a module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {kind} of {short} is already under way (operation {id}); wait for it to finish (GET /api/modules/operations/{id}) and try again"
)]
pub struct InFlight {
    /// The module.
    pub short: String,
    /// The running operation's id.
    pub id: String,
    /// What it is doing.
    pub kind: &'static str,
}

/// Finished operations kept for polling; older ones are forgotten first.
const KEPT_FINISHED: usize = 256;

/// The registry. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Operations {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Default)]
struct Registry {
    /// Every known operation by id.
    ops: HashMap<String, Operation>,
    /// Ids of finished operations, oldest first (for eviction).
    finished: VecDeque<String>,
    /// Module short -> id of the operation running on it.
    busy: HashMap<String, String>,
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Operations {
    /// A new, empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a pending operation of `kind` on `short`, reserving the module until the
    /// returned handle finishes (or is dropped). Refused while another operation runs on it.
    pub fn begin(&self, kind: OperationKind, short: &str) -> Result<OperationHandle, InFlight> {
        let mut reg = self.inner.lock().expect("operations lock");
        if let Some(id) = reg.busy.get(short) {
            let kind = reg.ops.get(id).map_or("operation", |op| op.kind.as_str());
            return Err(InFlight {
                short: short.to_string(),
                id: id.clone(),
                kind,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        reg.ops.insert(
            id.clone(),
            Operation {
                id: id.clone(),
                kind,
                short: short.to_string(),
                status: OperationStatus::Pending,
                log: Vec::new(),
                error: None,
                error_detail: None,
                started_at: now_iso(),
                finished_at: None,
            },
        );
        reg.busy.insert(short.to_string(), id.clone());
        Ok(OperationHandle {
            ops: self.clone(),
            id,
            short: short.to_string(),
            done: false,
        })
    }

    /// A copy of the operation `id`.
    pub fn get(&self, id: &str) -> Option<Operation> {
        self.inner
            .lock()
            .expect("operations lock")
            .ops
            .get(id)
            .cloned()
    }

    /// The id of the operation running on `short`, if any.
    pub fn running_on(&self, short: &str) -> Option<String> {
        self.inner
            .lock()
            .expect("operations lock")
            .busy
            .get(short)
            .cloned()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Operation)) {
        if let Some(op) = self.inner.lock().expect("operations lock").ops.get_mut(id) {
            f(op);
        }
    }

    fn finish(&self, id: &str, short: &str, f: impl FnOnce(&mut Operation)) {
        let mut reg = self.inner.lock().expect("operations lock");
        if let Some(op) = reg.ops.get_mut(id) {
            f(op);
            op.finished_at = Some(now_iso());
        }
        if reg.busy.get(short).is_some_and(|busy| busy == id) {
            reg.busy.remove(short);
        }
        reg.finished.push_back(id.to_string());
        while reg.finished.len() > KEPT_FINISHED {
            if let Some(old) = reg.finished.pop_front() {
                reg.ops.remove(&old);
            }
        }
    }
}

/// The running side of one operation: log progress, then succeed or fail exactly once. A
/// handle dropped without finishing (a panic, a forgotten branch) marks the operation failed,
/// so the module is never left reserved.
pub struct OperationHandle {
    /// The registry it lives in.
    ops: Operations,
    /// Its id.
    id: String,
    /// The module it reserves.
    short: String,
    /// Set once succeeded or failed.
    done: bool,
}

impl OperationHandle {
    /// The operation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends a progress line.
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!(op = %self.id, short = %self.short, "{line}");
        self.ops.update(&self.id, |op| op.log.push(line));
    }

    /// Marks it running, with a progress line.
    pub fn running(&self, line: impl Into<String>) {
        self.ops
            .update(&self.id, |op| op.status = OperationStatus::Running);
        self.log(line);
    }

    /// Marks it succeeded, with a last progress line, and frees the module.
    pub fn succeed(mut self, line: impl Into<String>) {
        self.log(line);
        self.ops.finish(&self.id, &self.short, |op| {
            op.status = OperationStatus::Succeeded;
        });
        self.done = true;
    }

    /// Marks it failed with `error` (one sentence: what went wrong and what to do) and optional
    /// structured detail, and frees the module.
    pub fn fail(mut self, error: impl Into<String>, detail: Option<Value>) {
        let error = error.into();
        tracing::warn!(op = %self.id, short = %self.short, "operation failed: {error}");
        self.ops.finish(&self.id, &self.short, |op| {
            op.log.push(format!("failed: {error}"));
            op.status = OperationStatus::Failed;
            op.error = Some(error);
            op.error_detail = detail;
        });
        self.done = true;
    }
}

impl Drop for OperationHandle {
    fn drop(&mut self) {
        if !self.done {
            self.ops.finish(&self.id, &self.short, |op| {
                op.status = OperationStatus::Failed;
                op.error = Some(
                    "the operation ended unexpectedly inside the hub; see the hub log, then try again"
                        .into(),
                );
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_operation_per_module_until_it_finishes() {
        let ops = Operations::new();
        let first = ops.begin(OperationKind::Install, "vault").unwrap();
        let err = ops.begin(OperationKind::Upgrade, "vault").err().unwrap();
        assert_eq!(err.id, first.id());
        assert_eq!(err.kind, "install");
        assert!(err.to_string().contains(first.id()), "{err}");
        // Other modules are independent.
        let other = ops.begin(OperationKind::Install, "scribe").unwrap();
        other.succeed("done");
        let id = first.id().to_string();
        first.running("working");
        assert_eq!(ops.get(&id).unwrap().status, OperationStatus::Running);
        first.succeed("installed");
        let op = ops.get(&id).unwrap();
        assert_eq!(op.status, OperationStatus::Succeeded);
        assert_eq!(op.log, vec!["working", "installed"]);
        assert!(op.finished_at.is_some());
        assert!(ops.running_on("vault").is_none());
        assert!(ops.begin(OperationKind::Upgrade, "vault").is_ok());
    }

    #[test]
    fn failures_keep_error_and_detail_and_serialize_like_the_original() {
        let ops = Operations::new();
        let op = ops.begin(OperationKind::Upgrade, "acme").unwrap();
        let id = op.id().to_string();
        op.fail(
            "bun exited 1",
            Some(serde_json::json!({"exit_code": 1, "stderr_tail": "boom"})),
        );
        let json = serde_json::to_value(ops.get(&id).unwrap()).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["kind"], "upgrade");
        assert_eq!(json["error"], "bun exited 1");
        assert_eq!(json["error_detail"]["exit_code"], 1);
        assert!(json["startedAt"].as_str().unwrap().ends_with('Z'));
        assert!(json["finishedAt"].is_string());
    }

    #[test]
    fn a_dropped_handle_fails_and_frees_the_module() {
        let ops = Operations::new();
        let id = {
            let op = ops.begin(OperationKind::Install, "vault").unwrap();
            op.id().to_string()
        };
        let op = ops.get(&id).unwrap();
        assert_eq!(op.status, OperationStatus::Failed);
        assert!(op.error.is_some());
        assert!(ops.running_on("vault").is_none());
    }

    #[test]
    fn old_finished_operations_are_forgotten() {
        let ops = Operations::new();
        let first = ops.begin(OperationKind::Install, "m").unwrap();
        let first_id = first.id().to_string();
        first.succeed("ok");
        for _ in 0..KEPT_FINISHED {
            ops.begin(OperationKind::Install, "m")
                .unwrap()
                .succeed("ok");
        }
        assert!(ops.get(&first_id).is_none());
        assert_eq!(ops.inner.lock().unwrap().ops.len(), KEPT_FINISHED);
    }
}

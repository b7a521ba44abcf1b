//! The in-memory registry of long-running module operations (install, upgrade, uninstall).
//!
//! `POST /api/modules/<s>/install` answers 202 with an operation id at once; the work goes on
//! in the background and clients poll `GET /api/modules/operations/<id>`. At most one
//! operation runs per module: a second one is refused (`409 operation_in_flight`) instead of
//! racing the first through `bun` and `services.json`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use parachute_protocol::HubEvent;
pub use parachute_protocol::{Operation, OperationKind, OperationStatus};
use serde_json::Value;

use crate::events::EventBus;

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

/// The registry. Cheap to clone; clones share it. Every change is emitted as an
/// [`HubEvent::Operation`] with the operation as it stands.
#[derive(Clone)]
pub struct Operations {
    /// The operations.
    inner: Arc<Mutex<Registry>>,
    /// Where changes are announced.
    events: EventBus,
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
    /// A new, empty registry announcing changes on `events`.
    pub fn new(events: EventBus) -> Self {
        Self {
            inner: Arc::default(),
            events,
        }
    }

    fn announce(&self, op: Option<Operation>) {
        if let Some(operation) = op {
            self.events.emit(HubEvent::Operation { operation });
        }
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
        let created = reg.ops.get(&id).cloned();
        drop(reg);
        self.announce(created);
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
        let changed = {
            let mut reg = self.inner.lock().expect("operations lock");
            reg.ops.get_mut(id).map(|op| {
                f(op);
                op.clone()
            })
        };
        self.announce(changed);
    }

    fn finish(&self, id: &str, short: &str, f: impl FnOnce(&mut Operation)) {
        let mut reg = self.inner.lock().expect("operations lock");
        let finished = reg.ops.get_mut(id).map(|op| {
            f(op);
            op.finished_at = Some(now_iso());
            op.clone()
        });
        if reg.busy.get(short).is_some_and(|busy| busy == id) {
            reg.busy.remove(short);
        }
        reg.finished.push_back(id.to_string());
        while reg.finished.len() > KEPT_FINISHED {
            if let Some(old) = reg.finished.pop_front() {
                reg.ops.remove(&old);
            }
        }
        drop(reg);
        self.announce(finished);
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
        let ops = Operations::new(EventBus::new(16));
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
        let ops = Operations::new(EventBus::new(16));
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
        let ops = Operations::new(EventBus::new(16));
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
    fn every_change_is_announced_with_the_whole_operation() {
        let bus = EventBus::new(64);
        let mut sub = bus.subscribe();
        let ops = Operations::new(bus);
        let op = ops.begin(OperationKind::Install, "vault").unwrap();
        op.running("working");
        op.succeed("done");
        let mut seen = Vec::new();
        while let Some(Some(env)) = futures_util::FutureExt::now_or_never(sub.recv()) {
            match env.event {
                HubEvent::Operation { operation } => {
                    seen.push((operation.status, operation.log.len()))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            seen.first(),
            Some(&(OperationStatus::Pending, 0)),
            "{seen:?}"
        );
        assert_eq!(
            seen.last(),
            Some(&(OperationStatus::Succeeded, 2)),
            "{seen:?}"
        );
    }

    #[test]
    fn old_finished_operations_are_forgotten() {
        let ops = Operations::new(EventBus::new(16));
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

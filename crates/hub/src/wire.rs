//! Conversions from the supervisor's in-memory types to the wire protocol.

use std::time::SystemTime;

use parachute_protocol as wire;
use parachute_supervisor::{self as sup, epoch_ms};

/// The supervisor's status is the protocol's own type.
pub fn status(status: sup::ModuleStatus) -> wire::ModuleStatus {
    status
}

/// A start error on the wire.
pub fn start_error(error: &sup::StartError) -> wire::StartError {
    wire::StartError {
        error_type: error.error_type.clone(),
        error_description: error.error_description.clone(),
        binary: error.binary.clone(),
        at: epoch_ms(error.at),
    }
}

/// An exit on the wire (the supervisor's is the protocol's own type).
pub fn exit(exit: &sup::ExitInfo) -> wire::ExitInfo {
    exit.clone()
}

/// ISO-8601 (UTC, milliseconds) as the original writes its times.
pub fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A module's state on the wire, with the original's keys filled in beside ours.
pub fn module_state(s: &sup::ModuleState) -> wire::ModuleState {
    let start_error = s.start_error.as_ref().map(start_error);
    wire::ModuleState {
        short: s.short.clone(),
        status: status(s.status),
        pid: s.pid,
        port: s.port,
        ready: s.ready,
        started_at: s.started_at.map(epoch_ms),
        started_at_iso: s.started_at.map(iso),
        consecutive_crashes: s.consecutive_crashes,
        restarts_in_window: s.consecutive_crashes,
        total_restarts: s.total_restarts,
        last_crash_at: s.last_crash_at.map(epoch_ms),
        last_crash_at_iso: s.last_crash_at.map(iso),
        last_exit: s.last_exit.as_ref().map(exit),
        last_exit_code: s.last_exit.as_ref().and_then(|e| e.code),
        next_retry_at: s.next_retry_at.map(epoch_ms),
        start_error: start_error.clone(),
        start_error_compat: start_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_keys_sit_beside_ours() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_764_633_600_123);
        let s = sup::ModuleState {
            short: "vault".into(),
            status: sup::ModuleStatus::Restarting,
            pid: None,
            port: Some(1940),
            started_at: Some(at),
            ready: false,
            consecutive_crashes: 2,
            total_restarts: 2,
            last_crash_at: Some(at),
            last_exit: Some(sup::ExitInfo {
                code: Some(7),
                signal: None,
            }),
            next_retry_at: None,
            start_error: None,
        };
        let json = serde_json::to_value(module_state(&s)).unwrap();
        assert_eq!(json["short"], "vault");
        assert_eq!(json["status"], "restarting");
        assert_eq!(json["startedAt"], "2025-12-02T00:00:00.123Z");
        assert_eq!(json["started_at"], 1_764_633_600_123u64);
        assert_eq!(json["restartsInWindow"], 2);
        assert_eq!(json["lastExitCode"], 7);
        assert_eq!(json["last_exit"]["code"], 7);
        assert!(json["startError"].is_null() && json["start_error"].is_null());
    }
}

//! The upgrade crate's status and answers as the wire protocol's types.

use parachute_protocol::{
    HubUpgradeAccepted, HubUpgradeProgress, RedeployAdvice, UpgradeMode, UpgradePhase,
    UpgradeRestart,
};
use parachute_upgrade::{Mode, Phase, RestartKind, Started, UpgradeStatus};

use super::check::channel;

/// The protocol's phase for the upgrade crate's.
pub fn phase(p: Phase) -> UpgradePhase {
    match p {
        Phase::Pending => UpgradePhase::Pending,
        Phase::Running => UpgradePhase::Running,
        Phase::Downloading => UpgradePhase::Downloading,
        Phase::Verifying => UpgradePhase::Verifying,
        Phase::Swapping => UpgradePhase::Swapping,
        Phase::Restarting => UpgradePhase::Restarting,
        Phase::Succeeded => UpgradePhase::Succeeded,
        Phase::Failed => UpgradePhase::Failed,
        Phase::RolledBack => UpgradePhase::RolledBack,
        Phase::RedeployRequired => UpgradePhase::RedeployRequired,
    }
}

/// The protocol's mode for the upgrade crate's.
pub fn mode(m: Mode) -> UpgradeMode {
    match m {
        Mode::InPlace => UpgradeMode::InPlace,
        Mode::RedeployRequired => UpgradeMode::RedeployRequired,
    }
}

/// The protocol's restart kind for the upgrade crate's.
pub fn restart(r: RestartKind) -> UpgradeRestart {
    match r {
        RestartKind::Unit => UpgradeRestart::Unit,
        RestartKind::Manual => UpgradeRestart::Manual,
    }
}

/// What a `hub_upgrade` event says about `status`.
pub fn of_status(status: &UpgradeStatus) -> HubUpgradeProgress {
    HubUpgradeProgress {
        operation_id: status.operation_id.clone(),
        phase: phase(status.phase),
        current_version: status.current_version.clone(),
        target_version: status.target_version.clone(),
        bytes_done: status.bytes_done,
        bytes_total: status.bytes_total,
        message: status.log.last().cloned(),
        reason: status.reason.clone(),
    }
}

/// The 202 body of `POST /api/hub/upgrade`.
pub fn accepted(started: &Started) -> HubUpgradeAccepted {
    HubUpgradeAccepted {
        operation_id: started.operation_id.clone(),
        target_version: started.target_version.clone(),
        channel: channel(started.channel),
        mode: mode(started.mode),
        current_version: Some(started.current_version.clone()),
        restart: started.restart.map(restart),
        redeploy: started.redeploy.as_ref().map(|r| RedeployAdvice {
            reason: r.reason.clone(),
            command: r.command.clone(),
        }),
        notes: started.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_keeps_its_word() {
        for p in Phase::ALL {
            assert_eq!(
                serde_json::to_value(phase(p)).unwrap(),
                serde_json::to_value(p).unwrap(),
                "{p}"
            );
        }
        for m in [Mode::InPlace, Mode::RedeployRequired] {
            assert_eq!(
                serde_json::to_value(mode(m)).unwrap(),
                serde_json::to_value(m).unwrap()
            );
        }
        for r in [RestartKind::Unit, RestartKind::Manual] {
            assert_eq!(
                serde_json::to_value(restart(r)).unwrap(),
                serde_json::to_value(r).unwrap()
            );
        }
    }

    #[test]
    fn the_status_file_reads_as_the_protocol_status() {
        let text = r#"{"operation_id":"op1","phase":"downloading","mode":"in-place",
            "current_version":"0.1.0","target_version":"0.2.0","channel":"latest",
            "log":["accepted","downloading 0.2.0"],"started_at":"2026-06-01T10:00:00.000Z",
            "bytes_done":10,"bytes_total":100,"restart":"unit","hub_port":1939,
            "upgrader":{"pid":4,"start_ticks":5},"lock_expires_at":"2026-06-01T10:15:00.000Z",
            "original_key":"kept"}"#;
        let status: UpgradeStatus = serde_json::from_str(text).unwrap();
        let served = serde_json::to_value(&status).unwrap();
        assert_eq!(served["original_key"], "kept", "unknown keys are served");
        let wire: parachute_protocol::HubUpgradeStatus = serde_json::from_value(served).unwrap();
        assert_eq!(wire.phase, UpgradePhase::Downloading);
        assert_eq!(wire.bytes_done, 10);
        assert_eq!(wire.restart, Some(UpgradeRestart::Unit));
        let progress = of_status(&status);
        assert_eq!(progress.message.as_deref(), Some("downloading 0.2.0"));
        assert_eq!((progress.bytes_done, progress.bytes_total), (10, 100));
    }
}

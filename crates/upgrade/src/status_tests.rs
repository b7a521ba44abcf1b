use std::os::unix::fs::PermissionsExt;

use super::*;

fn status(phase: Phase) -> UpgradeStatus {
    UpgradeStatus {
        operation_id: "op-1".into(),
        phase,
        mode: Mode::InPlace,
        current_version: "0.1.0".into(),
        target_version: Some("0.2.0".into()),
        channel: Channel::Latest,
        log: vec![],
        error: None,
        started_at: now_iso(),
        finished_at: None,
        bytes_done: 0,
        bytes_total: 0,
        previous_binary: None,
        reason: None,
        binary: None,
        target_sha256: None,
        restart: Some(RestartKind::Unit),
        hub_port: None,
        redeploy_command: None,
        upgrader: None,
        lock_expires_at: None,
        other: Map::new(),
    }
}

#[test]
fn phases_only_move_forward_and_terminal_phases_are_final() {
    use Phase::*;
    let path = [
        Pending,
        Downloading,
        Verifying,
        Swapping,
        Restarting,
        Succeeded,
    ];
    for pair in path.windows(2) {
        assert!(pair[0].may_advance_to(pair[1]), "{pair:?}");
        assert!(!pair[1].may_advance_to(pair[0]), "{pair:?}");
    }
    for from in [Pending, Downloading, Verifying, Swapping, Restarting] {
        assert!(from.may_advance_to(Failed), "{from}");
    }
    assert!(Restarting.may_advance_to(RolledBack));
    assert!(
        Swapping.may_advance_to(Succeeded),
        "no unit: swapped is done"
    );
    assert!(!Pending.may_advance_to(Swapping), "no skipping the checks");
    assert!(!Downloading.may_advance_to(Succeeded));
    assert!(
        !Verifying.may_advance_to(RolledBack),
        "nothing to roll back yet"
    );
    assert!(
        Running.may_advance_to(Verifying),
        "the original's running reads as downloading"
    );
    for terminal in [Succeeded, Failed, RolledBack, RedeployRequired] {
        assert!(terminal.is_terminal());
        for next in Phase::ALL {
            assert!(!terminal.may_advance_to(next), "{terminal} -> {next}");
        }
    }
}

#[test]
fn finishing_stamps_the_time_clears_the_lock_and_records_why() {
    let mut s = status(Phase::Restarting);
    s.renew_lock(std::time::Duration::from_secs(60));
    assert!(s.lock_expires_at.is_some());
    s.finish(Phase::RolledBack, "the new hub never answered")
        .unwrap();
    assert_eq!(s.phase, Phase::RolledBack);
    assert!(s.finished_at.is_some());
    assert_eq!(s.lock_expires_at, None);
    assert_eq!(s.error.as_deref(), Some("the new hub never answered"));
    assert_eq!(s.log.last().unwrap(), "the new hub never answered");
    assert!(s.finish(Phase::Failed, "again").is_err());
}

#[test]
fn the_file_is_private_round_trips_and_keeps_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let store = StatusStore::for_home(&home);
    assert_eq!(store.read().unwrap(), None);
    let mut s = status(Phase::Pending);
    s.other.insert("dashboard_hint".into(), Value::from("kept"));
    store.write(&s).unwrap();
    let mode = std::fs::metadata(store.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(store.path()).unwrap();
    for key in [
        "operation_id",
        "phase",
        "mode",
        "current_version",
        "target_version",
        "channel",
        "log",
        "started_at",
        "bytes_done",
        "bytes_total",
        "previous_binary",
        "reason",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "{key}: {text}");
    }
    assert!(text.contains("\"in-place\""), "{text}");
    assert_eq!(store.read().unwrap(), Some(s));
}

#[test]
fn a_status_written_by_the_original_hub_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    std::fs::write(
        home.hub_upgrade_status(),
        r#"{"operation_id":"0b0","phase":"restarting","mode":"in-place","current_version":"0.6.3-rc.2","target_version":null,"channel":"rc","log":["hub unit restarted"],"started_at":"2026-06-01T10:00:00.000Z"}"#,
    )
    .unwrap();
    let s = StatusStore::for_home(&home).read().unwrap().unwrap();
    assert_eq!(s.phase, Phase::Restarting);
    assert!(s.in_flight());
    assert_eq!(s.target_version, None);
    assert_eq!(s.lock_expires_at, None);
}

#[test]
fn a_malformed_file_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    std::fs::write(home.hub_upgrade_status(), "{oops").unwrap();
    let err = StatusStore::for_home(&home).read().unwrap_err().to_string();
    assert!(err.contains("hub-upgrade-status.json"), "{err}");
    assert!(err.contains("move it aside"), "{err}");
    assert_eq!(
        std::fs::read_to_string(home.hub_upgrade_status()).unwrap(),
        "{oops"
    );
}

#[test]
fn updates_refuse_another_operation_and_an_ended_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = StatusStore::for_home(&Home::at(dir.path()));
    store.write(&status(Phase::Pending)).unwrap();
    let (_, s) = store
        .update("op-1", |s| s.advance(Phase::Downloading, "downloading"))
        .unwrap();
    assert_eq!(s.phase, Phase::Downloading);
    let err = store.update("op-2", |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("op-1 took its place"), "{err}");
    store
        .update("op-1", |s| s.finish(Phase::Failed, "stopped"))
        .unwrap();
    let err = store.update("op-1", |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("already ended as failed"), "{err}");
}

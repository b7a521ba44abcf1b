use super::*;
use parachute_client::HubHealth;
use serde_json::{Value, json};

fn base(name: &str, port: u16, paths: &[&str]) -> ManifestBase {
    let doc = json!({"services": [{
        "name": name, "port": port, "paths": paths, "health": "/health", "version": "1.2.3"
    }]});
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("services.json"), doc.to_string()).unwrap();
    let manifest =
        parachute_home::services::read_strict(&parachute_home::Home::at(tmp.path())).unwrap();
    ManifestBase::new(&manifest.services[0], &InstallSource::Unknown)
}

fn summary(value: Value) -> ModuleSummary {
    serde_json::from_value(value).unwrap()
}

fn probe_ok(ms: u64) -> Option<Result<HttpProbe, String>> {
    Some(Ok(HttpProbe {
        status: 200,
        latency: Duration::from_millis(ms),
    }))
}

#[test]
fn urls_and_drift_follow_the_module_kind() {
    let vault = base("parachute-vault", 1940, &["/vault/default/"]);
    assert_eq!(vault.url, "http://127.0.0.1:1940/vault/default/mcp");
    assert_eq!(vault.drift, None);
    let scribe = base("parachute-scribe", 2000, &["/scribe"]);
    assert_eq!(scribe.url, "http://127.0.0.1:2000");
    assert_eq!(
        scribe.drift.as_deref(),
        Some("not on its canonical port 1943")
    );
    let other = base("thing", 5000, &["/thing"]);
    assert_eq!(other.url, "http://127.0.0.1:5000/thing");
    assert_eq!(other.short, "thing");
}

#[test]
fn supervisor_states_map_to_the_four_words() {
    let b = base("thing", 5000, &["/thing"]);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    let cases = [
        (
            json!({"short": "thing", "supervisor_status": "running", "pid": 9, "supervisor_started_at": 940_000}),
            State::Active,
            false,
        ),
        (
            json!({"short": "thing", "supervisor_status": "running", "pid": 9, "supervisor_ready": false}),
            State::Pending,
            false,
        ),
        (
            json!({"short": "thing", "supervisor_status": "starting", "pid": 9}),
            State::Pending,
            false,
        ),
        (
            json!({"short": "thing", "supervisor_status": "restarting"}),
            State::Pending,
            false,
        ),
        (
            json!({"short": "thing", "supervisor_status": "stopped"}),
            State::Inactive,
            false,
        ),
        (
            json!({"short": "thing", "supervisor_status": "crashed",
                "supervisor_start_error": {"error_type": "crash_loop", "error_description": "exited 5 times\nmore"}}),
            State::Failing,
            true,
        ),
    ];
    for (snap, state, unhealthy) in cases {
        let s = summary(snap.clone());
        let seen = ModuleObservation {
            snapshot: Some(&s),
            probe: probe_ok(3),
            os_uptime: Some(Duration::from_secs(5)),
        };
        let row = module_row_hub_up(&b, &seen, now);
        assert_eq!(row.state, state, "{snap}");
        assert_eq!(row.unhealthy, unhealthy, "{snap}");
    }
    // A running module: uptime from started_at (60 s before now), latency from the probe.
    let s = summary(
        json!({"short": "thing", "supervisor_status": "running", "pid": 9, "supervisor_started_at": 940_000}),
    );
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: probe_ok(3),
            os_uptime: Some(Duration::from_secs(5)),
        },
        now,
    );
    assert_eq!(row.pid, Some(9));
    assert_eq!(row.uptime, Some(Duration::from_secs(60)));
    assert_eq!(row.latency, Some(Duration::from_millis(3)));
    assert!(row.notes.is_empty(), "{:?}", row.notes);
    // Without a start time from the hub, the OS's process age is used.
    let s = summary(json!({"short": "thing", "supervisor_status": "running", "pid": 9}));
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: probe_ok(3),
            os_uptime: Some(Duration::from_secs(5)),
        },
        now,
    );
    assert_eq!(row.uptime, Some(Duration::from_secs(5)));
}

#[test]
fn a_crashed_module_explains_itself() {
    let b = base("thing", 5000, &["/thing"]);
    let s = summary(
        json!({"short": "thing", "supervisor_status": "crashed", "pid": null,
        "supervisor_start_error": {"error_type": "missing_dependency", "error_description": "x", "binary": "bun"}}),
    );
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: Some(Err("connection refused".into())),
            os_uptime: None,
        },
        SystemTime::now(),
    );
    assert_eq!(row.state, State::Failing);
    assert_eq!((row.pid, row.uptime, row.latency), (None, None, None));
    assert_eq!(row.notes[0], "probe: supervisor reports crashed");
    assert!(
        row.notes[1].contains("bun is not installed"),
        "{:?}",
        row.notes
    );
}

/// The crash-loop note keeps the module's last output after "Last output:".
#[test]
fn a_crash_loop_note_keeps_the_last_output() {
    let b = base("thing", 5000, &["/thing"]);
    let s = summary(
        json!({"short": "thing", "supervisor_status": "crashed", "pid": null,
        "supervisor_start_error": {"error_type": "crash_loop",
            "error_description": "crashed 5 times in a row (last: exit code 3); not restarting. Last output:\nboom: cannot open db\n  at main.ts:4\n"}}),
    );
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: Some(Err("connection refused".into())),
            os_uptime: None,
        },
        SystemTime::now(),
    );
    let note = row
        .notes
        .iter()
        .find(|n| n.contains("Last output:"))
        .expect("crash note");
    assert!(
        note.ends_with("Last output:\nboom: cannot open db\n  at main.ts:4"),
        "{note:?}"
    );
}

#[test]
fn an_active_module_that_does_not_answer_gets_a_probe_note() {
    let b = base("thing", 5000, &["/thing"]);
    let s = summary(json!({"short": "thing", "supervisor_status": "running", "pid": 9}));
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: Some(Err("timed out".into())),
            os_uptime: None,
        },
        SystemTime::now(),
    );
    assert_eq!(row.state, State::Active);
    assert_eq!(row.latency, None);
    assert_eq!(row.notes, vec!["probe: /health — timed out"]);
    let http500 = Some(Ok(HttpProbe {
        status: 500,
        latency: Duration::from_millis(2),
    }));
    let row = module_row_hub_up(
        &b,
        &ModuleObservation {
            snapshot: Some(&s),
            probe: http500,
            os_uptime: None,
        },
        SystemTime::now(),
    );
    assert_eq!(row.latency, Some(Duration::from_millis(2)));
    assert_eq!(row.notes, vec!["probe: /health answered http 500"]);
}

#[test]
fn unsupervised_and_hub_down_rows_are_inactive_and_harmless() {
    let b = base("thing", 5000, &["/thing"]);
    let row = module_row_hub_up(&b, &ModuleObservation::default(), SystemTime::now());
    assert_eq!((row.state, row.unhealthy), (State::Inactive, false));
    let row = module_row_hub_down(&b);
    assert_eq!((row.state, row.unhealthy), (State::Inactive, false));
    assert_eq!(
        row.notes,
        vec!["the hub is down, so its modules are stopped"]
    );
}

fn hub(manager: UnitState, healthy: bool) -> Row {
    hub_row(&HubObservation {
        port: 1939,
        health: healthy.then(|| HubHealth {
            version: Some("9.9.9".into()),
            latency: Duration::from_millis(1),
        }),
        manager,
        pid: Some(77),
        uptime: Some(Duration::from_secs(10)),
        source: "binary".into(),
        fallback_version: "0.1.0".into(),
    })
}

#[test]
fn the_hub_row_combines_the_manager_and_health() {
    let cases = [
        (UnitState::Active, true, State::Active, false),
        (UnitState::Active, false, State::Failing, true),
        (UnitState::Activating, false, State::Pending, false),
        (UnitState::Activating, true, State::Active, false),
        (
            UnitState::Failed { exit_code: Some(3) },
            true,
            State::Failing,
            true,
        ),
        (UnitState::Inactive, false, State::Inactive, false),
        (UnitState::NoUnit, true, State::Active, false),
        (UnitState::NoUnit, false, State::Inactive, false),
        (UnitState::NoManager, true, State::Active, false),
        (UnitState::NoManager, false, State::Failing, true),
        (
            UnitState::Unknown { detail: "?".into() },
            false,
            State::Inactive,
            false,
        ),
    ];
    for (manager, healthy, state, unhealthy) in cases {
        let row = hub(manager.clone(), healthy);
        assert_eq!(
            (row.state, row.unhealthy),
            (state, unhealthy),
            "{manager:?} healthy={healthy}"
        );
        assert_eq!(row.service, "parachute-hub (internal)");
    }
    let up = hub(UnitState::Active, true);
    assert_eq!((up.version.as_str(), up.pid), ("9.9.9", Some(77)));
    let down = hub(UnitState::Inactive, false);
    assert_eq!(
        (down.version.as_str(), down.pid, down.uptime),
        ("0.1.0", None, None)
    );
    assert_eq!(
        down.notes,
        vec!["the hub unit is stopped: `parachute start` starts it"]
    );
    let failed = hub(UnitState::Failed { exit_code: Some(3) }, false);
    assert!(
        failed.notes.iter().any(|n| n.contains("last exit code 3")),
        "{:?}",
        failed.notes
    );
}

#[test]
fn the_exit_code_counts_only_unhealthy_rows() {
    let b = base("thing", 5000, &["/thing"]);
    let mut report = Report {
        hub_port: 1939,
        hub_up: false,
        manager: "no-unit".into(),
        rows: vec![module_row_hub_down(&b), hub(UnitState::NoUnit, false)],
    };
    assert_eq!(report.exit_code(), 0);
    report.rows.push(hub(UnitState::Active, false));
    assert_eq!(report.exit_code(), 1);
    let json = serde_json::to_value(report.to_protocol()).unwrap();
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["services"][0]["state"], "inactive");
    assert_eq!(json["hub"]["manager"], "no-unit");
}

#[test]
fn without_the_hubs_view_the_probe_decides() {
    let b = base("thing", 5000, &["/thing"]);
    let row = module_row_probe_only(&b, probe_ok(4).as_ref());
    assert_eq!(row.state, State::Active);
    assert_eq!(row.latency, Some(Duration::from_millis(4)));
    assert!(row.notes.is_empty(), "{:?}", row.notes);
    assert!(!row.unhealthy);
    let answered = Some(Ok(HttpProbe {
        status: 503,
        latency: Duration::from_millis(2),
    }));
    let row = module_row_probe_only(&b, answered.as_ref());
    assert_eq!(row.state, State::Pending);
    assert_eq!(row.notes, vec!["probe: /health answered http 503"]);
    let refused = Some(Err("connection refused".to_string()));
    let row = module_row_probe_only(&b, refused.as_ref());
    assert_eq!(row.state, State::Inactive);
    assert_eq!(row.latency, None);
    assert_eq!(row.notes, vec!["probe: /health — connection refused"]);
    assert!(!row.notes.iter().any(|n| n.contains("hub is down")));
}

use std::cell::Cell;
use std::net::TcpListener;

use super::*;

/// Scripted facts; counts what was asked of the manager and the proof.
struct Fake {
    unit: bool,
    unit_up: Result<HubOutcome, HubError>,
    legacy: bool,
    listening: bool,
    proof: Result<(), String>,
    ensured: Cell<u32>,
    proved: Cell<u32>,
}

fn fake() -> Fake {
    Fake {
        unit: false,
        unit_up: Ok(HubOutcome::AlreadyUp { port: 4100 }),
        legacy: false,
        listening: false,
        proof: Ok(()),
        ensured: Cell::new(0),
        proved: Cell::new(0),
    }
}

impl AttachProbe for Fake {
    fn port(&self) -> u16 {
        4100
    }
    fn unit_installed(&self) -> bool {
        self.unit
    }
    fn ensure_unit_up(&self) -> Result<HubOutcome, HubError> {
        self.ensured.set(self.ensured.get() + 1);
        self.unit_up.clone()
    }
    fn legacy_install(&self) -> bool {
        self.legacy
    }
    fn listening(&self) -> bool {
        self.listening
    }
    fn prove(&self) -> Result<(), String> {
        self.proved.set(self.proved.get() + 1);
        self.proof.clone()
    }
    fn holders(&self) -> Vec<PortHolder> {
        vec![PortHolder {
            pid: 77,
            command: Some("nginx".into()),
        }]
    }
}

#[test]
fn nothing_running_starts_in_process_without_proving() {
    let f = fake();
    assert_eq!(attach(&f), Ok(AttachPlan::InProcess { port: 4100 }));
    assert_eq!((f.ensured.get(), f.proved.get()), (0, 0));
}

#[test]
fn an_installed_unit_is_started_then_proved() {
    let mut f = fake();
    f.unit = true;
    f.unit_up = Ok(HubOutcome::Started { port: 4100 });
    f.listening = false; // the unit is what makes it listen
    assert_eq!(
        attach(&f),
        Ok(AttachPlan::Unit {
            port: 4100,
            started: true
        })
    );
    assert_eq!((f.ensured.get(), f.proved.get()), (1, 1));
}

#[test]
fn a_unit_that_fails_is_reported_not_replaced_by_an_in_process_hub() {
    let mut f = fake();
    f.unit = true;
    f.unit_up = Err(HubError::Failed {
        detail: "boom".into(),
        next: vec![],
    });
    let err = attach(&f).unwrap_err();
    assert!(
        matches!(err, AttachError::Unit(HubError::Failed { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("boom"));
}

#[test]
fn a_proven_hub_on_the_port_is_attached() {
    let mut f = fake();
    f.listening = true;
    assert_eq!(attach(&f), Ok(AttachPlan::Attached { port: 4100 }));
    assert_eq!(f.proved.get(), 1);
}

#[test]
fn another_holder_is_reported_with_its_pid() {
    let mut f = fake();
    f.listening = true;
    f.proof = Err("it did not answer the proof".into());
    let err = attach(&f).unwrap_err();
    let AttachError::PortHeld { port, holders, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((*port, holders[0].pid), (4100, 77));
    assert!(err.to_string().contains("pid 77 (nginx)"), "{err}");
}

#[test]
fn a_legacy_install_gets_the_offer_before_any_proof() {
    let mut f = fake();
    f.legacy = true;
    f.listening = true;
    assert_eq!(attach(&f), Ok(AttachPlan::OfferMigrate { port: 4100 }));
    assert_eq!(f.proved.get(), 0);
}

/// The real probe against a real listener that is not a hub: the proof fails and this
/// process is named as the holder.
#[test]
fn system_probe_reports_a_foreign_listener() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home"));
    std::fs::create_dir_all(home.root()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Answers every connection with garbage, like a foreign server.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::Write;
            let mut s = stream;
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let unit_env = parachute_unit::UnitEnv {
        uid: 1000,
        user_name: "tester".into(),
        home_dir: dir.path().into(),
        unit_dir_override: Some(dir.path().join("units")),
        scope_override: None,
        manager_override: Some(parachute_unit::ManagerKind::None),
    };
    let runner = std::sync::Arc::new(parachute_os::SystemRunner::with_search_path(
        dir.path().join("no-tools"),
    ));
    let units = ManagedUnit::new(runner, parachute_unit::ManagerKind::None, unit_env);
    let ensure = EnsureConfig::for_port(port);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let probe = SystemProbe {
        home: &home,
        units: &units,
        ensure: &ensure,
        runtime: runtime.handle(),
    };
    let err = attach(&probe).unwrap_err();
    let AttachError::PortHeld { holders, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        holders.iter().any(|h| h.pid == std::process::id()),
        "{holders:?}"
    );
}

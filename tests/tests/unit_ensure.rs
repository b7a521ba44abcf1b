//! `ensure_hub_up` and `install_and_start` against the fake managers and real sockets.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod unit_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use parachute_unit::{EnsureConfig, EnsureOutcome, InstallOptions, InstallOutcome, ManagerKind};
use unit_support::{Stand, argv, port, wait_listening};

const UNIT: &str = "parachute-hub.service";

/// A quick config for `port`: generous readiness budget, unless a test shortens it.
fn cfg(stand: &Stand, port: u16) -> EnsureConfig {
    let mut cfg = EnsureConfig::for_port(port);
    cfg.ready_timeout = Duration::from_secs(60);
    cfg.log_path = Some(stand.parachute_home().join("hub/logs/hub.log"));
    cfg
}

/// A hub stand-in on a thread: answers `/health` with 200 (until the listener is dropped).
fn healthy_listener() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            assert!(req.starts_with(b"GET /health HTTP/1.1\r\n"));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    (port, handle)
}

#[test]
fn a_healthy_hub_needs_no_manager_call() {
    let stand = Stand::new(&["systemctl", "loginctl", "journalctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let (port, server) = healthy_listener();
    let outcome = units.ensure_hub_up(&cfg(&stand, port));
    server.join().unwrap();
    assert_eq!(outcome, EnsureOutcome::AlreadyUp);
    assert!(outcome.is_up());
    assert!(stand.calls("systemctl").is_empty());
    assert!(stand.calls("journalctl").is_empty());
}

#[test]
fn no_manager_and_no_unit_are_reported_without_starting_anything() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let port = port();
    let none = stand.manager(ManagerKind::None, 1000);
    let outcome = none.ensure_hub_up(&cfg(&stand, port));
    assert_eq!(outcome, EnsureOutcome::NoManager);
    assert!(outcome.message().contains("parachute serve"));

    let units = stand.manager(ManagerKind::Systemd, 1000);
    let outcome = units.ensure_hub_up(&cfg(&stand, port));
    assert_eq!(outcome, EnsureOutcome::NoUnit);
    assert!(outcome.message().contains("parachute init"));
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn a_refused_start_is_start_failed_with_the_managers_words() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    units.install(&stand.hub_spec(port), InstallOptions { start: false });
    stand.inject(
        "systemctl",
        &["start 1 Failed to start parachute-hub.service: Access denied"],
    );
    let outcome = units.ensure_hub_up(&cfg(&stand, port));
    assert_eq!(
        outcome,
        EnsureOutcome::StartFailed("Failed to start parachute-hub.service: Access denied".into())
    );
    let msg = outcome.message();
    assert!(
        msg.contains("Access denied") && msg.contains("parachute migrate --to-supervised"),
        "{msg}"
    );
}

#[test]
fn a_stopped_unit_is_started_and_waited_for() {
    let stand = Stand::new(&["systemctl", "loginctl", "journalctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    units.install(&stand.hub_spec(port), InstallOptions { start: false });
    stand.fakes.clear_calls("systemctl");
    let outcome = units.ensure_hub_up(&cfg(&stand, port));
    assert_eq!(outcome, EnsureOutcome::Started);
    assert_eq!(
        stand.calls("systemctl"),
        vec![argv(&["--user", "start", UNIT])]
    );
    assert!(parachute_unit::probe_health(port, Duration::from_secs(5)));
    // Up now: a second call touches nothing.
    stand.fakes.clear_calls("systemctl");
    assert_eq!(
        units.ensure_hub_up(&cfg(&stand, port)),
        EnsureOutcome::AlreadyUp
    );
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn a_hub_that_never_listens_times_out_with_the_journal_and_its_log() {
    let stand = Stand::new(&["systemctl", "loginctl", "journalctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    let spec = stand.hub_spec_running(port, "echo still booting; exec sleep 30");
    units.install(&spec, InstallOptions { start: false });
    let mut config = cfg(&stand, port);
    // Long enough for `sh` to have written its line even on a loaded machine.
    config.ready_timeout = Duration::from_secs(4);
    let outcome = units.ensure_hub_up(&config);
    let EnsureOutcome::Timeout {
        port: p,
        recent_log,
        ..
    } = &outcome
    else {
        panic!("expected a timeout, got {outcome:?}");
    };
    assert_eq!(*p, port);
    assert!(
        recent_log.contains("Started parachute-hub.service - Parachute hub"),
        "{recent_log}"
    );
    assert!(recent_log.contains("still booting"), "{recent_log}");
    assert_eq!(
        stand.calls("journalctl"),
        vec![argv(&["--user", "-u", UNIT, "-n", "50", "--no-pager"])]
    );
    let msg = outcome.message();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("still booting"), "{msg}");
}

#[test]
fn install_and_start_brings_the_hub_up() {
    let stand = Stand::new(&["systemctl", "loginctl", "journalctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    let report = units.install_and_start(&stand.hub_spec(port), &cfg(&stand, port));
    assert!(
        matches!(
            report.install,
            InstallOutcome::Installed { started: true, .. }
        ),
        "{report:?}"
    );
    assert_eq!(report.outcome, EnsureOutcome::Started);
    assert!(wait_listening(port));
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "daemon-reload"]),
            argv(&["--user", "enable", "--now", UNIT]),
        ]
    );
}

#[test]
fn install_and_start_without_a_manager_writes_nothing() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let none = stand.manager(ManagerKind::None, 1000);
    let port = port();
    let report = none.install_and_start(&stand.hub_spec(port), &cfg(&stand, port));
    assert_eq!(report.install, InstallOutcome::NoManager);
    assert_eq!(report.outcome, EnsureOutcome::NoManager);
    assert!(stand.unit_files().is_empty());
    assert!(!stand.parachute_home().exists());
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn install_and_start_that_the_manager_refuses_leaves_no_unit() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    stand.inject(
        "systemctl",
        &["enable 1 Failed to enable unit: Access denied"],
    );
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    let report = units.install_and_start(&stand.hub_spec(port), &cfg(&stand, port));
    assert!(
        matches!(report.install, InstallOutcome::Failed { .. }),
        "{report:?}"
    );
    let EnsureOutcome::StartFailed(detail) = &report.outcome else {
        panic!("expected StartFailed, got {report:?}");
    };
    assert!(detail.contains("Access denied"), "{detail}");
    assert!(stand.unit_files().is_empty());
}

#[test]
fn launchd_hub_is_kickstarted_and_a_timeout_shows_launchctl_print() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let port = port();
    let spec = stand.hub_spec_running(port, "exec sleep 30");
    let mut config = cfg(&stand, port);
    config.ready_timeout = Duration::from_secs(2);
    let report = units.install_and_start(&spec, &config);
    let EnsureOutcome::Timeout { recent_log, .. } = &report.outcome else {
        panic!("expected a timeout, got {report:?}");
    };
    assert!(
        recent_log.contains("gui/501/computer.parachute.hub = {"),
        "{recent_log}"
    );
    assert!(recent_log.contains("\tstate = running"), "{recent_log}");

    // A real listener: ensure kickstarts it.
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let port = unit_support::port();
    units.install(&stand.hub_spec(port), InstallOptions { start: false });
    // Not loaded yet: kickstart fails as "not found", so start bootstraps it.
    let outcome = units.ensure_hub_up(&cfg(&stand, port));
    assert_eq!(outcome, EnsureOutcome::Started);
    let plist = stand.unit_dir().join("computer.parachute.hub.plist");
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["kickstart", "-k", "gui/501/computer.parachute.hub"]),
            argv(&["bootstrap", "gui/501", &unit_support::s(&plist)]),
        ]
    );
}

//! The hub unit under (fake) systemd: exact command sequences, failures and rollbacks, and the
//! unit really running through the fake manager.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod unit_support;

use std::time::Duration;

use parachute_tests::{pid_gone, wait_for};
use parachute_unit::{
    InstallOptions, InstallOutcome, ManagerKind, OpOutcome, RemoveOutcome, UnitId, UnitOp,
    UnitScope, UnitState, render_systemd,
};
use unit_support::{Stand, argv, port, wait_closed, wait_listening};

const UNIT: &str = "parachute-hub.service";
const START: InstallOptions = InstallOptions { start: true };
const NO_START: InstallOptions = InstallOptions { start: false };

#[test]
fn user_install_lingers_reloads_enables_and_really_runs_the_hub() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    let spec = stand.hub_spec(port);

    let outcome = units.install(&spec, START);
    let path = stand.unit_dir().join(UNIT);
    assert_eq!(
        outcome,
        InstallOutcome::Installed {
            path: path.clone(),
            scope: UnitScope::SystemdUser,
            started: true,
            warnings: vec![],
        }
    );
    assert!(
        outcome.message(&spec.id).contains(UNIT),
        "{}",
        outcome.message(&spec.id)
    );
    assert_eq!(
        stand.calls("loginctl"),
        vec![argv(&["enable-linger", "tester"])]
    );
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "daemon-reload"]),
            argv(&["--user", "enable", "--now", UNIT]),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        render_systemd(&spec, units.env())
    );
    // The fake manager launched ExecStart with the unit's environment: the listener answers.
    assert!(
        wait_listening(port),
        "the hub unit never listened on {port}"
    );
    assert!(parachute_unit::probe_health(port, Duration::from_secs(5)));
    assert_eq!(units.query_state(&UnitId::hub()), UnitState::Active);
    // Its output went to the hub log file named in the unit.
    let log = stand.parachute_home().join("hub/logs/hub.log");
    let logged = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|t| t.contains("listening"))
    });
    assert!(logged.is_some(), "no output in {}", log.display());
}

#[test]
fn stop_start_restart_and_remove_go_through_systemctl() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let port = port();
    let id = UnitId::hub();
    assert!(matches!(
        units.install(&stand.hub_spec(port), START),
        InstallOutcome::Installed { .. }
    ));
    assert!(wait_listening(port));
    let job = format!("systemd/user/jobs/{UNIT}");
    let first = stand.job_pid(&job).expect("a running job");
    stand.fakes.clear_calls("systemctl");

    assert_eq!(units.stop(&id), OpOutcome::Ok);
    assert!(wait_closed(port));
    assert_eq!(units.query_state(&id), UnitState::Inactive);

    assert_eq!(units.start(&id), OpOutcome::Ok);
    assert!(wait_listening(port));
    let second = stand.job_pid(&job).expect("running again");
    assert_ne!(first, second);

    assert_eq!(units.restart(&id), OpOutcome::Ok);
    let third = wait_for(Duration::from_secs(30), || {
        stand.job_pid(&job).filter(|p| *p != second)
    })
    .expect("a new process after restart");
    assert!(wait_listening(port));

    assert_eq!(
        units.remove(&id),
        RemoveOutcome::Removed {
            path: stand.unit_dir().join(UNIT)
        }
    );
    assert!(wait_for(Duration::from_secs(30), || pid_gone(third).then_some(())).is_some());
    assert!(stand.unit_files().is_empty(), "{:?}", stand.unit_files());
    assert!(!units.is_installed(&id));
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "stop", UNIT]),
            argv(&["--user", "is-active", UNIT]),
            argv(&["--user", "start", UNIT]),
            argv(&["--user", "restart", UNIT]),
            argv(&["--user", "disable", "--now", UNIT]),
            argv(&["--user", "daemon-reload"]),
        ]
    );
    // Removing again is a no-op that calls nothing.
    stand.fakes.clear_calls("systemctl");
    assert_eq!(units.remove(&id), RemoveOutcome::NotInstalled);
    assert_eq!(units.query_state(&id), UnitState::NoUnit);
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn root_gets_a_system_unit_without_linger_and_install_without_start_only_reloads() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 0);
    let spec = stand.hub_spec(port());
    let outcome = units.install(&spec, NO_START);
    assert!(
        matches!(
            &outcome,
            InstallOutcome::Installed {
                scope: UnitScope::SystemdSystem,
                started: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(stand.calls("loginctl").is_empty());
    assert_eq!(stand.calls("systemctl"), vec![argv(&["daemon-reload"])]);
    let text = std::fs::read_to_string(stand.unit_dir().join(UNIT)).unwrap();
    assert!(text.contains("\nUser=tester\n"), "{text}");
    assert!(text.contains("\nWantedBy=multi-user.target\n"), "{text}");
    assert_eq!(units.query_state(&UnitId::hub()), UnitState::Inactive);

    // A system-scope start/stop has no --user either.
    stand.fakes.clear_calls("systemctl");
    assert_eq!(units.start(&UnitId::hub()), OpOutcome::Ok);
    assert_eq!(units.stop(&UnitId::hub()), OpOutcome::Ok);
    assert_eq!(
        stand.calls("systemctl"),
        vec![argv(&["start", UNIT]), argv(&["stop", UNIT])]
    );
}

#[test]
fn a_failed_daemon_reload_removes_the_unit_file() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    stand.inject(
        "systemctl",
        &["daemon-reload 1 Failed to reload daemon: Access denied"],
    );
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let spec = stand.hub_spec(port());
    let outcome = units.install(&spec, START);
    let InstallOutcome::Failed { detail } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(detail.contains("Access denied"), "{detail}");
    assert!(
        outcome.message(&spec.id).contains("parachute"),
        "{outcome:?}"
    );
    assert!(stand.unit_files().is_empty(), "{:?}", stand.unit_files());
    assert_eq!(
        stand.calls("systemctl"),
        vec![argv(&["--user", "daemon-reload"])]
    );
}

#[test]
fn a_failed_enable_removes_the_file_and_reloads_again() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    stand.inject(
        "systemctl",
        &["enable 1 Failed to connect to bus: No medium found"],
    );
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let outcome = units.install(&stand.hub_spec(port()), START);
    let InstallOutcome::Failed { detail } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(detail.contains("No medium found"), "{detail}");
    assert!(stand.unit_files().is_empty(), "{:?}", stand.unit_files());
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "daemon-reload"]),
            argv(&["--user", "enable", "--now", UNIT]),
            argv(&["--user", "daemon-reload"]),
        ]
    );
}

#[test]
fn a_failed_reinstall_keeps_the_unit_it_was_replacing() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let first = stand.hub_spec(port());
    // Written, not started: nothing runs, only the file matters here.
    let outcome = units.install(&first, NO_START);
    assert!(
        matches!(outcome, InstallOutcome::Installed { .. }),
        "{outcome:?}"
    );
    let path = stand.unit_dir().join(UNIT);
    let working = std::fs::read_to_string(&path).unwrap();

    // A reinstall with other settings fails at reload: the working unit comes back.
    stand.inject(
        "systemctl",
        &["daemon-reload 1 Failed to reload daemon: Access denied"],
    );
    let second = stand.hub_spec(port());
    assert_ne!(units.render(&second), units.render(&first));
    let outcome = units.install(&second, START);
    assert!(
        matches!(outcome, InstallOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), working);
    assert_eq!(stand.unit_files(), vec![UNIT.to_string()]);
}

#[test]
fn linger_problems_are_only_warnings() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    stand.inject(
        "loginctl",
        &["enable-linger 1 Could not enable linger: Access denied"],
    );
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let outcome = units.install(&stand.hub_spec(port()), NO_START);
    let InstallOutcome::Installed { warnings, .. } = &outcome else {
        panic!("expected an install, got {outcome:?}");
    };
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Access denied"), "{warnings:?}");
    assert!(warnings[0].contains("enable-linger tester"), "{warnings:?}");

    // No loginctl at all: still installed, still a warning.
    let stand = Stand::new(&["systemctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let outcome = units.install(&stand.hub_spec(port()), NO_START);
    assert!(
        matches!(&outcome, InstallOutcome::Installed { warnings, .. } if warnings.len() == 1),
        "{outcome:?}"
    );
}

#[test]
fn operations_without_unit_or_manager_call_nothing() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let id = UnitId::hub();
    let units = stand.manager(ManagerKind::Systemd, 1000);
    assert_eq!(units.start(&id), OpOutcome::NoUnit);
    assert_eq!(units.stop(&id), OpOutcome::NoUnit);
    assert_eq!(units.restart(&id), OpOutcome::NoUnit);
    assert!(
        OpOutcome::NoUnit
            .message()
            .unwrap()
            .contains("parachute init")
    );
    let none = stand.manager(ManagerKind::None, 1000);
    assert_eq!(none.start(&id), OpOutcome::NoManager);
    assert_eq!(none.remove(&id), RemoveOutcome::NoManager);
    assert_eq!(none.query_state(&id), UnitState::NoManager);
    assert_eq!(
        none.install(&stand.hub_spec(port()), START),
        InstallOutcome::NoManager
    );
    assert!(stand.unit_files().is_empty());
    assert!(stand.calls("systemctl").is_empty());
    assert!(stand.calls("loginctl").is_empty());
}

#[test]
fn a_refused_operation_reports_the_managers_words() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    units.install(&stand.hub_spec(port()), NO_START);
    stand.inject(
        "systemctl",
        &["restart 1 Failed to restart parachute-hub.service: Access denied"],
    );
    let outcome = units.restart(&UnitId::hub());
    assert_eq!(
        outcome,
        OpOutcome::Failed {
            op: UnitOp::Restart,
            detail: "Failed to restart parachute-hub.service: Access denied".into()
        }
    );
    let msg = outcome.message().unwrap();
    assert!(
        msg.contains("restart") && msg.contains("Access denied"),
        "{msg}"
    );
}

#[test]
fn query_maps_every_state_from_the_printed_word() {
    let stand = Stand::new(&["systemctl", "loginctl"]);
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let id = UnitId::hub();
    assert_eq!(units.query_state(&id), UnitState::NoUnit);

    // A unit whose program exits 3 at once: failed, with the exit status from `show`.
    let spec = stand.hub_spec_running(port(), "exit 3");
    units.install(&spec, START);
    let failed = wait_for(Duration::from_secs(30), || {
        let s = units.query_state(&id);
        matches!(s, UnitState::Failed { .. }).then_some(s)
    });
    assert_eq!(failed, Some(UnitState::Failed { exit_code: Some(3) }));
    assert!(stand.calls("systemctl").contains(&argv(&[
        "--user",
        "show",
        "-p",
        "ExecMainStatus",
        UNIT
    ])));

    // The word wins over the exit code, whatever the systemd version returns.
    for (line, expected) in [
        ("is-active 3 stdout:activating", UnitState::Activating),
        ("is-active 0 stdout:reloading", UnitState::Activating),
        ("is-active 3 stdout:deactivating", UnitState::Activating),
        ("is-active 4 stdout:inactive", UnitState::Inactive),
        (
            "is-active 3 stdout:maintenance",
            UnitState::Unknown {
                detail: "maintenance".into(),
            },
        ),
        (
            "is-active 1 Failed to connect to bus: No medium found",
            UnitState::Unknown {
                detail: "Failed to connect to bus: No medium found".into(),
            },
        ),
    ] {
        stand.inject("systemctl", &[line]);
        assert_eq!(units.query_state(&id), expected, "{line}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn detection_finds_systemctl_on_the_search_path_only() {
    let with = Stand::new(&["systemctl"]);
    let runner = with.runner();
    assert_eq!(ManagerKind::detect(runner.as_ref()), ManagerKind::Systemd);
    let without = Stand::new(&["loginctl"]);
    let runner = without.runner();
    assert_eq!(ManagerKind::detect(runner.as_ref()), ManagerKind::None);
}

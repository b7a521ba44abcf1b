//! The hub unit under (fake) launchd: bootstrap sequences, the `load -w` fallback, rollback,
//! and the agent really running through the fake manager.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod unit_support;

use std::time::Duration;

use parachute_tests::{pid_gone, wait_for};
use parachute_unit::{
    InstallOptions, InstallOutcome, ManagerKind, OpOutcome, RemoveOutcome, UnitId, UnitScope,
    UnitState, render_launchd,
};
use unit_support::{Stand, argv, port, s, wait_closed, wait_listening};

const LABEL: &str = "computer.parachute.hub";
const TARGET: &str = "gui/501/computer.parachute.hub";
const PLIST: &str = "computer.parachute.hub.plist";
const START: InstallOptions = InstallOptions { start: true };

#[test]
fn install_boots_out_bootstraps_kickstarts_and_really_runs_the_hub() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let port = port();
    let spec = stand.hub_spec(port);
    let plist = stand.unit_dir().join(PLIST);

    let outcome = units.install(&spec, START);
    assert_eq!(
        outcome,
        InstallOutcome::Installed {
            path: plist.clone(),
            scope: UnitScope::LaunchdAgent {
                domain: "gui/501".into()
            },
            started: true,
            warnings: vec![],
        }
    );
    assert!(outcome.message(&spec.id).contains(LABEL));
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["bootout", TARGET]),
            argv(&["bootstrap", "gui/501", &s(&plist)]),
            argv(&["kickstart", "-k", TARGET]),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&plist).unwrap(),
        render_launchd(&spec, units.env())
    );
    assert!(wait_listening(port));
    assert_eq!(units.query_state(&UnitId::hub()), UnitState::Active);
}

#[test]
fn bootstrap_failing_falls_back_to_load_w() {
    let stand = Stand::new(&["launchctl"]);
    stand.inject(
        "launchctl",
        &["bootstrap 5 Bootstrap failed: 5: Input/output error"],
    );
    let units = stand.manager(ManagerKind::Launchd, 501);
    let port = port();
    let plist = stand.unit_dir().join(PLIST);
    let outcome = units.install(&stand.hub_spec(port), START);
    assert!(
        matches!(outcome, InstallOutcome::Installed { started: true, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["bootout", TARGET]),
            argv(&["bootstrap", "gui/501", &s(&plist)]),
            argv(&["load", "-w", &s(&plist)]),
        ]
    );
    assert!(plist.exists());
    // `load -w` loaded it with RunAtLoad, so the hub runs.
    assert!(wait_listening(port));
}

#[test]
fn bootstrap_and_load_both_failing_delete_the_plist() {
    let stand = Stand::new(&["launchctl"]);
    stand.inject(
        "launchctl",
        &[
            "bootstrap 125 Bootstrap failed: 125: Domain does not support specified action",
            "load 5 Load failed: 5: Input/output error",
        ],
    );
    let units = stand.manager(ManagerKind::Launchd, 501);
    let plist = stand.unit_dir().join(PLIST);
    let outcome = units.install(&stand.hub_spec(port()), START);
    let InstallOutcome::Failed { detail } = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(detail.contains("125: Domain does not support"), "{detail}");
    assert!(detail.contains("Load failed"), "{detail}");
    assert!(stand.unit_files().is_empty(), "{:?}", stand.unit_files());
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["bootout", TARGET]),
            argv(&["bootstrap", "gui/501", &s(&plist)]),
            argv(&["load", "-w", &s(&plist)]),
        ]
    );
}

#[test]
fn install_without_start_only_writes_the_plist() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let outcome = units.install(&stand.hub_spec(port()), InstallOptions { start: false });
    assert!(
        matches!(outcome, InstallOutcome::Installed { started: false, .. }),
        "{outcome:?}"
    );
    assert_eq!(stand.unit_files(), vec![PLIST.to_string()]);
    assert!(stand.calls("launchctl").is_empty());
    // Not loaded yet: `print` says "Could not find service", which reads as inactive.
    assert_eq!(units.query_state(&UnitId::hub()), UnitState::Inactive);
}

#[test]
fn stop_boots_out_and_start_bootstraps_again() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let id = UnitId::hub();
    let port = port();
    let plist = stand.unit_dir().join(PLIST);
    units.install(&stand.hub_spec(port), START);
    assert!(wait_listening(port));
    let job = format!("launchd/jobs/{LABEL}");
    let first = stand.job_pid(&job).expect("running");
    stand.fakes.clear_calls("launchctl");

    assert_eq!(units.stop(&id), OpOutcome::Ok);
    assert!(wait_closed(port));
    assert!(wait_for(Duration::from_secs(30), || pid_gone(first).then_some(())).is_some());
    assert_eq!(units.query_state(&id), UnitState::Inactive);

    // kickstart cannot start a job that is not loaded; start bootstraps it again.
    assert_eq!(units.start(&id), OpOutcome::Ok);
    assert!(wait_listening(port));
    let second = stand.job_pid(&job).expect("running again");

    assert_eq!(units.restart(&id), OpOutcome::Ok);
    let third = wait_for(Duration::from_secs(30), || {
        stand.job_pid(&job).filter(|p| *p != second)
    })
    .expect("a new process after kickstart -k");
    assert!(wait_listening(port));

    assert_eq!(
        units.remove(&id),
        RemoveOutcome::Removed {
            path: plist.clone()
        }
    );
    assert!(wait_for(Duration::from_secs(30), || pid_gone(third).then_some(())).is_some());
    assert!(stand.unit_files().is_empty());
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["bootout", TARGET]),
            argv(&["print", TARGET]),
            argv(&["kickstart", "-k", TARGET]),
            argv(&["bootstrap", "gui/501", &s(&plist)]),
            argv(&["kickstart", "-k", TARGET]),
            argv(&["bootout", TARGET]),
        ]
    );
    stand.fakes.clear_calls("launchctl");
    assert_eq!(units.remove(&id), RemoveOutcome::NotInstalled);
    assert!(stand.calls("launchctl").is_empty());
}

#[test]
fn a_job_that_exits_non_zero_reads_as_failed_with_its_code() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    let id = UnitId::hub();
    units.install(&stand.hub_spec_running(port(), "exit 78"), START);
    let state = wait_for(Duration::from_secs(30), || {
        let s = units.query_state(&id);
        matches!(s, UnitState::Failed { .. }).then_some(s)
    });
    assert_eq!(
        state,
        Some(UnitState::Failed {
            exit_code: Some(78)
        })
    );
}

#[test]
fn a_refused_kickstart_is_a_failed_start() {
    let stand = Stand::new(&["launchctl"]);
    let units = stand.manager(ManagerKind::Launchd, 501);
    units.install(&stand.hub_spec(port()), InstallOptions { start: false });
    stand.inject("launchctl", &["kickstart 1 Operation not permitted"]);
    let outcome = units.start(&UnitId::hub());
    assert!(
        matches!(&outcome, OpOutcome::Failed { detail, .. } if detail == "Operation not permitted"),
        "{outcome:?}"
    );
}

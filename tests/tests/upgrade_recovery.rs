//! An upgrader killed at any phase leaves a hub that answers and a status that says what
//! happened (resolved by the next observer); a second upgrade is refused while one is in
//! flight; an in-flight lock that stops being renewed expires and the stale upgrader, when it
//! wakes, touches nothing. `PARACHUTE_UPGRADE_HOLD` stops the upgrader at a known point.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;
mod upgrade_support;

use std::time::Duration;

use parachute_tests::{bin, wait_for};
use upgrade_support::release::sha256;
use upgrade_support::{UpgradeStand, kill, next};

#[test]
fn a_kill_at_each_phase_leaves_the_old_hub_answering_and_a_status_that_says_so() {
    let s = UpgradeStand::with_unit();
    let target = s.publish_next();
    let cases = [
        ("pending", "stopped while pending"),
        ("downloading", "stopped while downloading"),
        ("verifying", "stopped while verifying"),
        ("swapping", "the binary was not replaced"),
        ("restarting", "before the hub was restarted"),
    ];
    for (phase, needle) in cases {
        let hold = format!("{phase}:60");
        let mut upgrader = s.spawn(
            &["upgrade"],
            &[("PARACHUTE_UPGRADE_HOLD", &hold)],
            "held.log",
        );
        let held = s.wait_phase(phase, Duration::from_secs(60));
        let pid = held["upgrader"]["pid"].as_u64().unwrap() as u32;
        assert_eq!(pid, upgrader.id(), "{held}");
        kill(&mut upgrader);

        // The next look at the status resolves it.
        let status = s.status_via(&s.binary, &[]);
        assert_eq!(status["phase"], "failed", "{phase}: {status}");
        let reason = status["reason"].as_str().unwrap();
        assert!(reason.contains(needle), "{phase}: {reason}");
        assert!(reason.contains(&format!("pid {pid}")), "{phase}: {reason}");
        assert!(status["finished_at"].is_string());

        // The running hub was never touched and the binary is the old one again.
        assert_eq!(s.health().as_deref(), Some(s.version.as_str()), "{phase}");
        assert_eq!(sha256(&s.binary), s.original_sha, "{phase}");
        assert!(
            s.leftovers().iter().all(|n| !n.ends_with(".part")),
            "{phase}: {:?}",
            s.leftovers()
        );
        assert_eq!(s.restarts(), 0, "{phase}");
    }

    // Nothing is left holding the lock: the upgrade now goes through.
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(s.health().as_deref(), Some(target.as_str()));
}

#[test]
fn a_kill_during_the_health_gate_of_a_bad_binary_is_rolled_back_by_the_next_observer() {
    let s = UpgradeStand::with_unit();
    let target = next::bump_minor(&s.version);
    let bad = s.never_ready_binary(&target);
    s.publish(&target, s.put_artifact(&bad));
    let old_hub = s.stand.hub_job_pid().unwrap();

    let mut upgrader = s.spawn(
        &["upgrade"],
        &[("PARACHUTE_UPGRADE_GATE_SECS", "120")],
        "gate.log",
    );
    s.wait_phase("restarting", Duration::from_secs(60));
    // Wait until the manager really runs the new (bad) binary, then kill the upgrader mid-gate.
    let swapped = wait_for(Duration::from_secs(30), || {
        s.stand.hub_job_pid().filter(|p| *p != old_hub)
    });
    assert!(
        swapped.is_some(),
        "the unit was restarted: {}",
        s.log("gate.log")
    );
    assert_eq!(s.health(), None, "the bad binary serves nothing");
    kill(&mut upgrader);

    // The binary at the path is the bad one now, so look with this build's CLI, pointed at it.
    let binary = s.binary.display().to_string();
    let status = s.status_via(&bin("parachute"), &[("PARACHUTE_UPGRADE_BINARY", &binary)]);
    assert_eq!(status["phase"], "rolled-back", "{status}");
    let reason = status["reason"].as_str().unwrap();
    assert!(
        reason.contains("stopped while the new hub was not ready"),
        "{reason}"
    );
    assert!(reason.contains("is back and answering"), "{reason}");
    assert_eq!(sha256(&s.binary), s.original_sha);
    assert_eq!(s.health().as_deref(), Some(s.version.as_str()));
    assert_eq!(s.restarts(), 2);
}

#[test]
fn a_second_upgrade_is_refused_while_one_is_in_flight() {
    let s = UpgradeStand::with_unit();
    s.publish_next();
    let mut first = s.spawn(
        &["upgrade"],
        &[("PARACHUTE_UPGRADE_HOLD", "downloading:60")],
        "first.log",
    );
    let held = s.wait_phase("downloading", Duration::from_secs(60));
    let op = held["operation_id"].as_str().unwrap();

    for args in [&["upgrade"][..], &["upgrade", "--detach"][..]] {
        let second = s.run(args);
        assert_eq!(second.code, 1, "{args:?}: {}", second.text);
        assert!(second.text.contains("already in flight"), "{}", second.text);
        assert!(second.text.contains(op), "{}", second.text);
        assert!(second.text.contains("phase downloading"), "{}", second.text);
    }
    assert!(s.stand.calls("systemd-run").is_empty(), "no second helper");
    assert_eq!(
        s.status().unwrap()["operation_id"],
        op,
        "the first keeps the slot"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first is still running"
    );
    kill(&mut first);
}

#[test]
fn an_expired_lock_gives_way_and_the_stale_upgrader_touches_nothing_when_it_wakes() {
    let s = UpgradeStand::with_unit();
    let target = s.publish_next();
    let mut first = s.spawn(
        &["upgrade"],
        &[
            ("PARACHUTE_UPGRADE_HOLD", "downloading:8"),
            ("PARACHUTE_UPGRADE_LOCK_TTL_SECS", "1"),
        ],
        "first.log",
    );
    let held = s.wait_phase("downloading", Duration::from_secs(60));
    let first_op = held["operation_id"].as_str().unwrap().to_string();
    // Alive, but its lock lapses after a second without progress.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(first.try_wait().unwrap().is_none());

    let second = s.run(&["upgrade"]);
    assert_eq!(second.code, 0, "{}", second.text);
    assert_eq!(s.health().as_deref(), Some(target.as_str()));
    let status = s.status().unwrap();
    assert_eq!(status["phase"], "succeeded");
    assert_ne!(status["operation_id"], first_op.as_str());

    // The first wakes up, finds its operation gone, and leaves everything as it is.
    let exited = wait_for(Duration::from_secs(60), || first.try_wait().unwrap());
    assert_eq!(
        exited.and_then(|e| e.code()),
        Some(1),
        "{}",
        s.log("first.log")
    );
    assert!(
        s.log("first.log").contains("no longer current"),
        "{}",
        s.log("first.log")
    );
    assert_eq!(s.status().unwrap(), status, "the newer record is untouched");
    assert_eq!(sha256(&s.binary), sha256(&next::next_build().binary));
    assert_eq!(s.leftovers(), vec!["parachute.previous".to_string()]);
    assert_eq!(s.restarts(), 1);
}

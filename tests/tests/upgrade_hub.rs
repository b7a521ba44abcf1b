//! `parachute upgrade` of the hub end to end: a real release (the real `parachute`, built with
//! a higher version, signed with the real `minisign`) served from loopback, installed over the
//! binary the (fake) systemd unit runs, one restart, the health gate; a new binary that never
//! becomes ready is rolled back; a hub started by hand gets the swap and is told to restart;
//! `--detach` runs the upgrade as a transient `systemd-run` unit outside the hub.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;
mod upgrade_support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use parachute_tests::wait_for;
use upgrade_support::release::sha256;
use upgrade_support::{UpgradeStand, next};

#[test]
fn a_good_upgrade_swaps_restarts_once_and_the_new_version_answers() {
    let s = UpgradeStand::with_unit();
    // The release is made with the project's own release script and the real minisign.
    let target = s.publish_next_with_script();

    let check = s.run(&["upgrade", "--check"]);
    assert_eq!(check.code, 0, "{}", check.text);
    assert!(
        check.text.contains(&format!("{} → {target}", s.version)),
        "{}",
        check.text
    );
    assert!(s.status().is_none(), "--check starts nothing");

    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text);
    for phase in ["downloading", "verifying", "swapping", "restarting"] {
        assert!(
            run.text.contains(&format!("→ {phase}:")),
            "{phase}: {}",
            run.text
        );
    }
    assert!(
        run.text.contains(&format!("Upgraded the hub to {target}")),
        "{}",
        run.text
    );

    // The new version answers, from the binary the unit runs, after exactly one restart.
    assert_eq!(s.health().as_deref(), Some(target.as_str()));
    assert_eq!(sha256(&s.binary), sha256(&next::next_build().binary));
    assert_eq!(s.restarts(), 1, "{:?}", s.stand.calls("systemctl"));
    let mode = std::fs::metadata(&s.binary).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let previous = s.binary.with_file_name("parachute.previous");
    assert_eq!(
        sha256(&previous),
        s.original_sha,
        "the previous binary is kept"
    );
    assert_eq!(s.leftovers(), vec!["parachute.previous".to_string()]);

    // The status says so, in the original's keys plus ours, privately.
    let status = s.status().unwrap();
    assert_eq!(status["phase"], "succeeded");
    assert_eq!(status["mode"], "in-place");
    assert_eq!(status["current_version"], s.version.as_str());
    assert_eq!(status["target_version"], target.as_str());
    assert_eq!(status["channel"], "latest");
    assert_eq!(status["restart"], "unit");
    assert_eq!(status["bytes_done"], status["bytes_total"]);
    assert!(
        status["bytes_total"].as_u64().unwrap() > 1_000_000,
        "{status}"
    );
    assert_eq!(status["previous_binary"], previous.display().to_string());
    assert!(status["finished_at"].is_string());
    assert!(status.get("error").is_none(), "{status}");
    assert!(status["lock_expires_at"].is_null());
    let file = s.stand.home().join("hub-upgrade-status.json");
    assert_eq!(
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Same feed again: nothing to do, nothing restarted.
    let again = s.run(&["upgrade"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(again.text.contains("already at"), "{}", again.text);
    assert_eq!(s.restarts(), 1);
}

#[test]
fn a_new_binary_that_never_becomes_ready_is_rolled_back_and_the_old_version_answers() {
    let mut s = UpgradeStand::with_unit();
    s.extra_env
        .push(("PARACHUTE_UPGRADE_GATE_SECS".into(), "4".into()));
    let target = next::bump_minor(&s.version);
    let bad = s.never_ready_binary(&target);
    let entry = s.put_artifact(&bad);
    s.publish(&target, entry);

    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("Rolled back"), "{}", run.text);
    assert!(
        run.text.contains("did not become ready within 4s"),
        "{}",
        run.text
    );

    // Restarted twice (new, then old); the old binary is back and answers.
    assert_eq!(s.restarts(), 2, "{:?}", s.stand.calls("systemctl"));
    assert_eq!(sha256(&s.binary), s.original_sha);
    assert_eq!(
        s.health_within(Duration::from_secs(30)).as_deref(),
        Some(s.version.as_str())
    );
    let status = s.status().unwrap();
    assert_eq!(status["phase"], "rolled-back");
    let reason = status["reason"].as_str().unwrap();
    assert!(reason.contains("/health did not answer"), "{reason}");
    assert!(reason.contains("is back and answering"), "{reason}");
    assert_eq!(status["error"], status["reason"]);
}

#[test]
fn a_hub_started_by_hand_gets_the_verified_swap_and_is_told_to_restart() {
    let s = UpgradeStand::new();
    let mut hub = parachute_tests::hub::HubProcess::start_with(
        &s.stand.home(),
        parachute_tests::hub::HubOptions {
            env: vec![("PORT".into(), s.stand.port.to_string())],
            no_wait: true,
            ..Default::default()
        },
    );
    assert_eq!(
        s.health_within(Duration::from_secs(60)).as_deref(),
        Some(s.version.as_str())
    );
    let target = s.publish_next();

    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(
        run.text.contains("no hub unit is installed"),
        "{}",
        run.text
    );
    assert!(run.text.contains("parachute serve"), "{}", run.text);
    assert!(!run.text.contains("→ restarting"), "{}", run.text);
    assert_eq!(sha256(&s.binary), sha256(&next::next_build().binary));
    assert!(s.stand.calls("systemctl").is_empty(), "no manager involved");
    // The hand-started hub keeps running the old version until its person restarts it.
    assert_eq!(s.health().as_deref(), Some(s.version.as_str()));
    let status = s.status().unwrap();
    assert_eq!(status["phase"], "succeeded");
    assert_eq!(status["restart"], "manual");
    assert_eq!(status["target_version"], target.as_str());
    hub.stop();
}

#[test]
fn detach_runs_the_upgrade_as_a_transient_unit_outside_the_hub() {
    let s = UpgradeStand::with_unit();
    // Published on the rc channel only: the run must ask for it, and it is remembered.
    let next = next::next_build();
    let entry = s.put_artifact(&next.binary);
    let target = next.version.clone();
    upgrade_support::release::FeedDoc {
        channel: "rc".into(),
        version: target.clone(),
        pub_date: s.next_date(),
        entry,
    }
    .publish(&s.feed_dir(), &s.keys);
    let hub_pid = s.stand.hub_job_pid().unwrap();
    let latest = s.run(&["upgrade", "--check"]);
    assert_eq!(latest.code, 1, "no latest feed yet: {}", latest.text);
    assert!(latest.text.contains("latest.json"), "{}", latest.text);

    let run = s.run(&["upgrade", "--detach", "--channel", "rc"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("in the background"), "{}", run.text);
    let op = s.status().unwrap()["operation_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The helper went through systemd-run, as its own user unit, with its settings passed on
    // explicitly (systemd-run does not pass the caller's environment).
    let calls = s.stand.calls("systemd-run");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let argv = &calls[0];
    assert_eq!(argv[..3], ["--user", "--collect", "--quiet"]);
    assert_eq!(
        argv[3],
        format!("--unit=parachute-hub-upgrade-{}", &op[..12])
    );
    let home = s.stand.home().display().to_string();
    for wanted in [
        format!("--setenv=PARACHUTE_HOME={home}"),
        format!("--setenv=PARACHUTE_UPDATE_URL={}", s.server.base()),
        format!("--setenv=PARACHUTE_UPDATE_PUBKEY={}", s.keys.public),
        "--setenv=PARACHUTE_UNIT_SCOPE=user".to_string(),
        format!("--property=StandardOutput=append:{home}/hub/logs/upgrade.log"),
    ] {
        assert!(argv.contains(&wanted), "{wanted} missing: {argv:?}");
    }
    let tail = &argv[argv.len() - 4..];
    assert_eq!(
        tail,
        [
            s.binary.display().to_string(),
            "upgrade".into(),
            "--apply".into(),
            op.clone()
        ]
    );

    // It finishes on its own: the restart that replaced the hub (and everything in the hub's
    // process group) did not take the helper with it, so it saw the gate through.
    let done = wait_for(Duration::from_secs(120), || {
        s.status().filter(|st| {
            st["phase"] != "pending" && {
                let p = st["phase"].as_str().unwrap();
                p == "succeeded" || p == "failed" || p == "rolled-back"
            }
        })
    })
    .expect("the helper finishes");
    assert_eq!(done["phase"], "succeeded", "{done}");
    assert_eq!(s.health().as_deref(), Some(target.as_str()));
    assert_eq!(s.restarts(), 1);
    assert_ne!(
        s.stand.hub_job_pid(),
        Some(hub_pid),
        "the hub was restarted"
    );
    // The helper says how it ended just after recording it: wait for the line (bounded).
    let log_path = s.stand.home().join("hub/logs/upgrade.log");
    let ended = format!("operation {op} ended succeeded");
    let log = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(&log_path)
            .ok()
            .filter(|l| l.contains(&ended))
    })
    .unwrap_or_else(|| std::fs::read_to_string(&log_path).unwrap_or_default());
    assert!(log.contains(&ended), "{log}");
    assert!(log.contains("upgrade: restarting:"), "{log}");
}

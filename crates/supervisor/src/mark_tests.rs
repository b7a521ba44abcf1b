use std::process::{Child, Command};

use super::*;

/// A pid and start time of a process that has exited (a hub that died).
fn dead_hub() -> HubId {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    let start_ticks = process::stat(pid).map_or(1, |s| s.start_ticks);
    child.wait().unwrap();
    HubId { pid, start_ticks }
}

/// A live process to stand in for another running hub.
fn live_hub() -> (Child, HubId) {
    let child = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    let start_ticks = process::stat(pid).unwrap().start_ticks;
    (child, HubId { pid, start_ticks })
}

/// `sh -c script` carrying `mark`, once it runs (its environment is readable then).
fn marked(mark: &Mark, script: &str) -> Child {
    let child = Command::new("sh")
        .args(["-c", script])
        .env(MARK_VAR, mark.render())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while process::environ_var(pid, MARK_VAR).is_none() {
        assert!(Instant::now() < deadline, "child {pid} never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn gone_within(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_home_is_named_by_its_canonical_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    let plain = HomeMark::for_home(&dir.path().join("home"));
    let dotted = HomeMark::for_home(&dir.path().join("other/../home"));
    std::os::unix::fs::symlink(dir.path().join("home"), dir.path().join("link")).unwrap();
    let linked = HomeMark::for_home(&dir.path().join("link"));
    assert_eq!(plain, dotted);
    assert_eq!(plain, linked);
    assert_ne!(plain, HomeMark::for_home(&dir.path().join("other")));
    assert_eq!(plain.as_str().len(), 16);
    assert!(plain.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn marks_round_trip_and_malformed_ones_are_ignored() {
    let home = HomeMark("0123456789abcdef".into());
    let text = spawn_mark(&home, 42);
    let parsed = Mark::parse(&text).unwrap();
    assert_eq!(parsed.home, home.0);
    assert_eq!(parsed.hub, HubId::current());
    assert_eq!(parsed.spawn, 42);
    assert_eq!(parsed.render(), text);
    for bad in [
        "",
        "abc",
        "h:1:2",
        "h:1:2:3:4",
        ":1:2:3",
        "h:x:2:3",
        "h:1:2:-3",
    ] {
        assert_eq!(Mark::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn the_sweep_stops_only_this_homes_orphans_of_dead_hubs() {
    let dir = tempfile::tempdir().unwrap();
    let home = HomeMark::for_home(&dir.path().join("home"));
    let other_home = HomeMark::for_home(&dir.path().join("another home"));
    let dead = dead_hub();
    let (mut other_hub, alive) = live_hub();
    let mark = |home: &HomeMark, hub: HubId| Mark {
        home: home.0.clone(),
        hub,
        spawn: 1,
    };
    let mut orphan = marked(&mark(&home, dead), "sleep 60");
    // Ignores SIGTERM (so does the `sleep` it runs): only SIGKILL ends it.
    let mut stubborn = marked(&mark(&home, dead), "trap '' TERM; sleep 60");
    let mut other_homes = marked(&mark(&other_home, dead), "sleep 60");
    let mut live_hubs = marked(&mark(&home, alive), "sleep 60");
    let mut ours = marked(&mark(&home, HubId::current()), "sleep 60");

    let report = sweep_orphans_with_grace(&home, Duration::from_millis(300));

    let mut stopped: Vec<u32> = report.stopped.iter().map(|p| p.pid).collect();
    stopped.sort_unstable();
    let mut expected = vec![orphan.id(), stubborn.id()];
    expected.sort_unstable();
    // The stubborn one's `sleep` child carries the mark too and is stopped with it.
    assert!(
        expected.iter().all(|pid| stopped.contains(pid)),
        "{stopped:?} vs {expected:?}"
    );
    assert!(report.survived.is_empty(), "{report:?}");
    assert!(gone_within(&mut orphan, Duration::from_secs(5)));
    assert!(gone_within(&mut stubborn, Duration::from_secs(5)));
    for (name, child) in [
        ("another home's", &mut other_homes),
        ("a live hub's", &mut live_hubs),
        ("this hub's", &mut ours),
    ] {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{name} process was stopped"
        );
        assert!(!stopped.contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    other_hub.kill().unwrap();
    other_hub.wait().unwrap();
}

#[test]
fn stragglers_are_the_marked_processes_that_left_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let home = HomeMark::for_home(dir.path());
    let spawn = 1_000_000 + u64::from(std::process::id());
    let tree = Mark {
        home: home.0.clone(),
        hub: HubId::current(),
        spawn,
    };
    // The leader stays in our group; `setsid` puts the daemon in a session of its own.
    let mut leader = marked(&tree, "setsid sleep 60 & wait");
    let leader_group = process::stat(leader.id()).unwrap().pgrp;
    let found = || stragglers(&home, spawn, leader_group);
    let deadline = Instant::now() + Duration::from_secs(10);
    let daemon = loop {
        if let Some(p) = found().into_iter().find(|p| p.pid != leader.id()) {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the setsid daemon was never found"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_ne!(daemon.pgrp, leader_group);
    assert!(found().iter().all(|p| p.pgrp != leader_group));
    // Another spawn number, another tree.
    assert!(stragglers(&home, spawn + 1, leader_group).is_empty());
    let left = stop_processes(
        std::slice::from_ref(&daemon),
        Instant::now() + Duration::from_secs(5),
    );
    assert!(left.is_empty(), "{left:?}");
    assert!(!process::is_same_alive(daemon.pid, daemon.start_ticks));
    assert!(gone_within(&mut leader, Duration::from_secs(5)));
}

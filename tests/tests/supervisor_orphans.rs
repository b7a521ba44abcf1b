//! Black-box: what a module's tree leaves behind — a grandchild in its group, a daemon that
//! called `setsid` — never outlives the hub for long: a hub that was SIGKILLed has its leftovers
//! stopped by the next hub on the same home (and only those: another home's hub keeps its
//! modules), and a hub that stops takes them down with their modules.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::time::Duration;

use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{TestHome, free_port, http, pid_gone, wait_for};

/// Pulls `key=<value>` out of a `test-module up pid=… port=…` style line.
fn field(line: &str, key: &str) -> u32 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// The pids of `short`'s leader and of the grandchild serving its port, once it serves.
fn tree_of(hub: &HubProcess, short: &str) -> (u32, u32) {
    let up = hub.wait_for_line(
        &format!("[{short}] test-module up"),
        Duration::from_secs(30),
    );
    let serving = hub.wait_for_line(
        &format!("[{short}] grandchild serving"),
        Duration::from_secs(30),
    );
    (field(&up, "pid"), field(&serving, "pid"))
}

fn gone_within(pid: u32, timeout: Duration) -> bool {
    wait_for(timeout, || pid_gone(pid).then_some(())).is_some()
}

fn ready_modules(port: u16) -> Vec<String> {
    let ready = http::get(port, "/api/ready").unwrap().json();
    ready["ready_modules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str().map(String::from))
        .collect()
}

#[test]
fn after_a_sigkill_the_next_hub_stops_the_leftovers_of_its_home_and_starts_cleanly() {
    // Another home's hub, running all along: its modules must survive everything below.
    let neighbour_home = TestHome::new();
    add_test_module(
        neighbour_home.path(),
        "neighbour",
        free_port(),
        &["--setsid-grandchild"],
    );
    let neighbour = HubProcess::start(neighbour_home.path());
    let (neighbour_leader, neighbour_daemon) = tree_of(&neighbour, "neighbour");

    let home = TestHome::new();
    let (forker_port, daemon_port) = (free_port(), free_port());
    add_test_module(home.path(), "forker", forker_port, &["--grandchild"]);
    add_test_module(home.path(), "daemon", daemon_port, &["--setsid-grandchild"]);
    let mut first = HubProcess::start(home.path());
    let (forker, forker_grandchild) = tree_of(&first, "forker");
    let (daemon, daemon_grandchild) = tree_of(&first, "daemon");

    first.signal(libc::SIGKILL);
    first.wait_exit(Duration::from_secs(10));
    // The leaders die with the hub (parent-death signal); what they started does not, and
    // keeps the ports.
    assert!(gone_within(forker, Duration::from_secs(10)));
    assert!(gone_within(daemon, Duration::from_secs(10)));
    assert!(!pid_gone(forker_grandchild) && !pid_gone(daemon_grandchild));
    let holds = |port: u16| {
        parachute_os::port::listeners(port)
            .iter()
            .map(|h| h.pid)
            .collect::<Vec<_>>()
    };
    assert_eq!(holds(forker_port), vec![forker_grandchild]);
    assert_eq!(holds(daemon_port), vec![daemon_grandchild]);

    let second = HubProcess::start(home.path());
    assert!(
        gone_within(forker_grandchild, Duration::from_secs(15)),
        "the old grandchild survived the next hub's start"
    );
    assert!(
        gone_within(daemon_grandchild, Duration::from_secs(15)),
        "the old setsid daemon survived the next hub's start"
    );
    let (_, new_forker_grandchild) = tree_of(&second, "forker");
    let (_, new_daemon_grandchild) = tree_of(&second, "daemon");
    assert_ne!(new_forker_grandchild, forker_grandchild);
    assert_ne!(new_daemon_grandchild, daemon_grandchild);
    let ready = wait_for(Duration::from_secs(20), || {
        let ready = ready_modules(second.port);
        (ready.contains(&"forker".to_string()) && ready.contains(&"daemon".to_string()))
            .then_some(ready)
    });
    assert!(ready.is_some(), "{}", second.output_text());
    let text = second.output_text();
    assert!(!text.contains("is down:"), "{text}");
    assert!(!text.contains("cannot bind"), "{text}");

    // The other home's hub and its modules were never touched.
    assert!(!pid_gone(neighbour_leader) && !pid_gone(neighbour_daemon));
    assert!(ready_modules(neighbour.port).contains(&"neighbour".to_string()));
}

#[test]
fn a_stopping_hub_takes_a_daemon_that_left_its_module_group_with_it() {
    let home = TestHome::new();
    add_test_module(home.path(), "daemon", free_port(), &["--setsid-grandchild"]);
    let mut hub = HubProcess::start(home.path());
    let (leader, daemon) = tree_of(&hub, "daemon");
    let leader_group = parachute_os::process::stat(leader).unwrap().pgrp;
    assert_ne!(
        parachute_os::process::stat(daemon).unwrap().pgrp,
        leader_group,
        "the daemon left the module's group"
    );
    assert_eq!(hub.stop(), Some(0), "{}", hub.output_text());
    assert!(gone_within(leader, Duration::from_secs(10)));
    assert!(
        gone_within(daemon, Duration::from_secs(10)),
        "the setsid daemon outlived its hub"
    );
}

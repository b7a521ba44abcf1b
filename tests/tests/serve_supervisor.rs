//! Black-box: `parachute serve` runs every services.json row as a supervised child.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::time::Duration;

use parachute_tests::http;
use parachute_tests::hub::{HubOptions, HubProcess, add_row, add_test_module};
use parachute_tests::{TestHome, free_port, free_ports, pid_gone, wait_for};

/// Pulls `key=<value>` out of a `test-module up pid=… port=…` style line.
fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
        .to_string()
}

fn ready(port: u16) -> serde_json::Value {
    http::get(port, "/api/ready").unwrap().json()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn children_get_layered_env_cwd_and_prefixed_logs() {
    let home = TestHome::new();
    let port = free_port();
    add_test_module(
        home.path(),
        "echo",
        port,
        &[
            "--print-env",
            "PORT,FOO,PARACHUTE_HUB_ORIGIN,HUB_ONLY,PARACHUTE_INITIAL_ADMIN_PASSWORD",
        ],
    );
    // The module's .env sets FOO and tries to override PORT: the row's port must win.
    home.write("echo/.env", "FOO='from dotenv'\nPORT=1\n");
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            env: vec![
                ("PARACHUTE_HUB_ORIGIN".into(), "https://hub.example".into()),
                ("HUB_ONLY".into(), "inherited".into()),
                ("PARACHUTE_INITIAL_ADMIN_USERNAME".into(), "admin".into()),
                (
                    "PARACHUTE_INITIAL_ADMIN_PASSWORD".into(),
                    "seed-secret-1234".into(),
                ),
            ],
            ..Default::default()
        },
    );
    let up = hub.wait_for_line("[echo] test-module up", Duration::from_secs(20));
    assert_eq!(field(&up, "port"), port.to_string());
    let cwd = field(&up, "cwd");
    assert_eq!(
        std::fs::canonicalize(cwd).unwrap(),
        std::fs::canonicalize(home.path().join("mods/echo")).unwrap()
    );
    hub.wait_for_line(&format!("[echo] env PORT={port}"), Duration::from_secs(5));
    hub.wait_for_line("[echo] env FOO=from dotenv", Duration::from_secs(5));
    hub.wait_for_line(
        "[echo] env PARACHUTE_HUB_ORIGIN=https://hub.example",
        Duration::from_secs(5),
    );
    hub.wait_for_line("[echo] env HUB_ONLY=inherited", Duration::from_secs(5));
    // The hub's own secret (the first admin's password) is not handed down.
    let secret = hub.wait_for_line(
        "[echo] env PARACHUTE_INITIAL_ADMIN_PASSWORD=",
        Duration::from_secs(5),
    );
    assert_eq!(secret, "[echo] env PARACHUTE_INITIAL_ADMIN_PASSWORD=");
    assert!(!hub.output_text().contains("seed-secret-1234"));
    // stderr lines are multiplexed too.
    hub.wait_for_line("[echo] test-module stderr hello", Duration::from_secs(5));

    // The module answers on its port, and /api/ready reports it ready.
    let r = wait_for(Duration::from_secs(15), || {
        let v = ready(hub.port);
        names(&v["ready_modules"])
            .contains(&"echo".to_string())
            .then_some(v)
    })
    .expect("echo never ready");
    assert_eq!(r["ready"], true);

    // The persistent log file holds the unprefixed lines.
    let log = wait_for(Duration::from_secs(5), || {
        let text = std::fs::read_to_string(home.path().join("echo/logs/echo.log")).ok()?;
        text.contains("test-module stderr hello").then_some(text)
    })
    .expect("log file");
    assert!(log.contains("env FOO=from dotenv"), "{log}");
    assert!(
        !log.contains("[echo]"),
        "file lines are not prefixed: {log}"
    );

    // hub.port is written while serving.
    assert_eq!(home.read("hub/run/hub.port").trim(), hub.port.to_string());
}

#[test]
fn health_is_ok_and_hub_port_is_removed_on_clean_stop() {
    let home = TestHome::new();
    let mut hub = HubProcess::start(home.path());
    let health = http::get(hub.port, "/health").unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.header("cache-control"), Some("no-store"));
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(health.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(health.header("referrer-policy"), Some("no-referrer"));
    let body = health.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "parachute-hub");
    assert!(body["version"].as_str().is_some_and(|v| !v.is_empty()));
    // Any method.
    assert_eq!(
        http::request(hub.port, "POST", "/health", &[], None)
            .unwrap()
            .status,
        200
    );
    // No modules: ready at once.
    let r = ready(hub.port);
    assert_eq!(r["ready"], true, "{r}");
    assert_eq!(hub.stop(), Some(0));
    assert!(!home.path().join("hub/run/hub.port").exists());
}

#[test]
fn crashing_module_backs_off_then_gives_up_with_a_reason() {
    let home = TestHome::new();
    let port = free_port();
    add_test_module(
        home.path(),
        "flaky",
        port,
        &["--exit-after-ms", "50", "--exit-code", "7"],
    );
    let hub = HubProcess::start(home.path());
    let gave_up = hub.wait_for_line(
        "flaky is down: crashed 5 times in a row",
        Duration::from_secs(60),
    );
    assert!(gave_up.contains("exit code 7"), "{gave_up}");
    // Four respawns were scheduled, with delays that grow (500 ms doubling, ±20 %).
    let delays: Vec<u64> = hub
        .output()
        .iter()
        .filter(|l| l.contains("[supervisor] flaky exited (exit code 7); respawn"))
        .map(|l| {
            l.rsplit(" in ")
                .next()
                .unwrap()
                .trim_end_matches(" ms")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(delays.len(), 4, "{}", hub.output_text());
    for (i, d) in delays.iter().enumerate() {
        let base = 500u64 << i;
        assert!(
            *d >= base * 8 / 10 && *d <= base * 12 / 10,
            "delay {i} = {d} ms"
        );
    }
    // The reason carries the module's last lines.
    let text = hub.output_text();
    assert!(text.contains("test-module exiting with code 7"), "{text}");
    let r = ready(hub.port);
    assert!(
        names(&r["persistent_modules"]).contains(&"flaky".to_string()),
        "{r}"
    );
    // It stays down: no respawn after giving up.
    let ups = |h: &HubProcess| {
        h.output()
            .iter()
            .filter(|l| l.contains("[flaky] test-module up"))
            .count()
    };
    let before = ups(&hub);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ups(&hub), before);
    assert_eq!(before, 5);
}

#[test]
fn module_ignoring_sigterm_is_killed_after_the_grace_period() {
    let home = TestHome::new();
    let port = free_port();
    add_test_module(home.path(), "stubborn", port, &["--ignore-sigterm"]);
    let mut hub = HubProcess::start(home.path());
    let up = hub.wait_for_line("[stubborn] test-module up", Duration::from_secs(20));
    let pid: u32 = field(&up, "pid").parse().unwrap();
    let started = std::time::Instant::now();
    assert_eq!(hub.stop(), Some(0), "{}", hub.output_text());
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "the grace period was not honoured"
    );
    assert!(pid_gone(pid), "module survived the hub");
    hub.wait_for_line(
        "stubborn still running 5000 ms after SIGTERM; sending SIGKILL",
        Duration::from_secs(1),
    );
}

#[test]
fn sigterm_of_the_hub_leaves_no_child_or_grandchild() {
    let home = TestHome::new();
    add_test_module(home.path(), "forker", free_port(), &["--grandchild"]);
    add_test_module(home.path(), "plain", free_port(), &[]);
    let mut hub = HubProcess::start(home.path());
    let forker = hub.wait_for_line("[forker] test-module up", Duration::from_secs(20));
    let plain = hub.wait_for_line("[plain] test-module up", Duration::from_secs(20));
    let grandchild = hub.wait_for_line("[forker] grandchild pid=", Duration::from_secs(20));
    let pids: Vec<u32> = [
        field(&forker, "pid"),
        field(&plain, "pid"),
        field(&grandchild, "pid"),
    ]
    .iter()
    .map(|p| p.parse().unwrap())
    .collect();
    assert!(pids.iter().all(|p| !pid_gone(*p)));
    assert_eq!(hub.stop(), Some(0));
    for pid in pids {
        assert!(
            wait_for(Duration::from_secs(5), || pid_gone(pid).then_some(())).is_some(),
            "pid {pid} survived"
        );
    }
}

#[test]
fn sigkill_of_the_hub_leaves_no_child() {
    let home = TestHome::new();
    add_test_module(home.path(), "orphan", free_port(), &[]);
    let mut hub = HubProcess::start(home.path());
    let up = hub.wait_for_line("[orphan] test-module up", Duration::from_secs(20));
    let pid: u32 = field(&up, "pid").parse().unwrap();
    hub.signal(libc::SIGKILL);
    hub.wait_exit(Duration::from_secs(5));
    assert!(
        wait_for(Duration::from_secs(5), || pid_gone(pid).then_some(())).is_some(),
        "child {pid} outlived a SIGKILLed hub"
    );
}

#[test]
fn grandchild_dies_with_its_module_so_a_respawn_can_rebind_the_port() {
    let home = TestHome::new();
    let port = free_port();
    // The grandchild serves the port; the module itself exits after a second.
    add_test_module(
        home.path(),
        "worker",
        port,
        &["--grandchild", "--exit-after-ms", "1000"],
    );
    let hub = HubProcess::start(home.path());
    let first = hub.wait_for_line("[worker] grandchild pid=", Duration::from_secs(20));
    let first_pid: u32 = field(&first, "pid").parse().unwrap();
    hub.wait_for_line("[supervisor] worker exited", Duration::from_secs(20));
    assert!(wait_for(Duration::from_secs(5), || pid_gone(first_pid).then_some(())).is_some());
    // The respawned module's grandchild binds the same port at once.
    let second = wait_for(Duration::from_secs(20), || {
        hub.output()
            .into_iter()
            .filter(|l| l.contains("[worker] grandchild serving"))
            .nth(1)
    })
    .unwrap_or_else(|| panic!("no second grandchild:\n{}", hub.output_text()));
    assert!(second.contains(&format!("port={port}")));
    assert!(
        !hub.output_text().contains("cannot bind"),
        "{}",
        hub.output_text()
    );
}

#[test]
fn malformed_row_is_skipped_with_a_warning_while_others_run() {
    let home = TestHome::new();
    add_row(
        home.path(),
        serde_json::json!({"name": "broken", "port": "not-a-port", "paths": [], "health": "/h", "version": "1"}),
    );
    add_test_module(home.path(), "good", free_port(), &[]);
    let hub = HubProcess::start(home.path());
    let warning = hub.wait_for_line("broken", Duration::from_secs(10));
    assert!(warning.contains("port"), "{warning}");
    hub.wait_for_line("[good] test-module up", Duration::from_secs(20));
    // The malformed file is never rewritten.
    assert!(home.read("services.json").contains("not-a-port"));
}

#[test]
fn unparseable_services_json_leaves_the_hub_up_and_the_file_untouched() {
    let home = TestHome::new();
    home.write("services.json", "{ this is not json");
    let hub = HubProcess::start(home.path());
    hub.wait_for_line("services.json", Duration::from_secs(10));
    assert_eq!(http::get(hub.port, "/health").unwrap().status, 200);
    assert_eq!(home.read("services.json"), "{ this is not json");
}

#[test]
fn missing_binary_and_unbound_module_are_reported_not_retried() {
    let home = TestHome::new();
    let install = home.path().join("mods/ghost");
    std::fs::create_dir_all(install.join(".parachute")).unwrap();
    std::fs::write(
        install.join(".parachute/module.json"),
        r#"{"name":"ghost","startCmd":["parachute-ghost-binary-that-does-not-exist","serve"]}"#,
    )
    .unwrap();
    add_row(
        home.path(),
        serde_json::json!({"name": "ghost", "port": free_port(), "paths": ["/ghost"], "health": "/health", "version": "1.0.0", "installDir": install}),
    );
    add_test_module(home.path(), "mute", free_port(), &["--no-bind"]);
    let hub = HubProcess::start(home.path());
    let line = hub.wait_for_line("ghost is down:", Duration::from_secs(10));
    assert!(
        line.contains("parachute-ghost-binary-that-does-not-exist"),
        "{line}"
    );
    assert!(line.contains("not installed"), "{line}");
    // The unbound module is flagged after the 4 s readiness window; both end up persistent.
    let r = wait_for(Duration::from_secs(20), || {
        let v = ready(hub.port);
        let persistent = names(&v["persistent_modules"]);
        (persistent.contains(&"ghost".to_string()) && persistent.contains(&"mute".to_string()))
            .then_some(v)
    })
    .unwrap_or_else(|| panic!("not reported: {}", ready(hub.port)));
    // The original's meaning: not ready while any module is down; boot itself has finished.
    assert_eq!(r["ready"], false, "two modules are down: {r}");
    assert_eq!(r["booting"], false, "boot has finished: {r}");
    assert!(r["transient_modules"].as_array().unwrap().is_empty(), "{r}");
}

#[test]
fn port_in_use_names_the_holder_and_exits_non_zero() {
    let home = TestHome::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let out = std::process::Command::new(parachute_tests::bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
    drop(holder);
}

#[test]
fn a_module_port_held_by_a_stranger_is_reported_not_fought_over() {
    let home = TestHome::new();
    let stranger = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stranger.local_addr().unwrap().port();
    add_test_module(home.path(), "squatted", port, &[]);
    let hub = HubProcess::start(home.path());
    let line = hub.wait_for_line("squatted is down:", Duration::from_secs(10));
    assert!(line.contains(&format!("port {port}")), "{line}");
    assert!(
        line.contains(&format!("pid {}", std::process::id())),
        "{line}"
    );
    assert!(!hub.output_text().contains("[squatted] test-module up"));
    drop(stranger);
}

#[test]
fn bad_port_setting_is_a_clear_error() {
    let home = TestHome::new();
    let out = std::process::Command::new(parachute_tests::bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", "99999")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT must be a number from 1 to 65535"));
}

#[test]
fn an_unopenable_hub_db_is_a_clear_error_and_leaves_no_port_file() {
    let home = TestHome::new();
    std::fs::create_dir_all(home.path().join("hub.db")).unwrap();
    let out = std::process::Command::new(parachute_tests::bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", free_port().to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hub.db"), "{stderr}");
    assert!(
        !home.path().join("hub/run/hub.port").exists(),
        "no port file for a hub that never served"
    );
}

#[test]
fn an_orphaned_copy_of_a_module_on_its_port_is_stopped_at_boot() {
    // A copy left over from an earlier hub (same command line, parent gone) holds the port.
    let home = TestHome::new();
    let port = free_port();
    add_test_module(home.path(), "stale", port, &[]);
    let module = parachute_tests::bin("test-module");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "PORT={port} setsid {} >/dev/null 2>&1 &",
            module.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let orphan = wait_for(Duration::from_secs(10), || {
        parachute_os::port::listeners(port).first().map(|h| h.pid)
    })
    .expect("the orphan never bound its port");
    assert_eq!(parachute_os::process::parent_pid(orphan), Some(1));

    let hub = HubProcess::start(home.path());
    let up = hub.wait_for_line("[stale] test-module up", Duration::from_secs(30));
    let new_pid: u32 = field(&up, "pid").parse().unwrap();
    assert_ne!(new_pid, orphan);
    assert!(
        wait_for(Duration::from_secs(10), || pid_gone(orphan).then_some(())).is_some(),
        "the orphan survived"
    );
    let ready = wait_for(Duration::from_secs(15), || {
        let v = ready(hub.port);
        names(&v["ready_modules"])
            .contains(&"stale".to_string())
            .then_some(v)
    });
    assert!(ready.is_some(), "{}", hub.output_text());
}

/// `/health` answers while fifty modules are still coming up: the hub accepts before it boots
/// and boot is off the accept path. The modules bind only after 8 s, so a `/health` that waited
/// for boot would find them ready; the bounds are generous (no latency figure here, see
/// `scripts/bench boot`).
#[test]
fn health_answers_while_fifty_modules_are_still_booting() {
    let home = TestHome::new();
    for (n, port) in free_ports(50).into_iter().enumerate() {
        add_test_module(
            home.path(),
            &format!("slow{n}"),
            port,
            &["--bind-delay-ms", "8000"],
        );
    }
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            no_wait: true,
            ..HubOptions::default()
        },
    );
    let health = wait_for(Duration::from_secs(30), || {
        http::get(hub.port, "/health")
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(health.is_some(), "no /health:\n{}", hub.output_text());
    let during = ready(hub.port);
    assert_eq!(during["ready"], false, "{during}");
    let up = names(&during["ready_modules"]).len();
    assert!(
        up < 50,
        "every module was already up when /health first answered: {during}"
    );
    // And boot does finish: every module comes up.
    let after = wait_for(Duration::from_secs(90), || {
        let v = ready(hub.port);
        (v["ready"] == true).then_some(v)
    });
    assert!(
        after.is_some(),
        "not every module came up: {}\n{}",
        ready(hub.port),
        hub.output_text()
    );
    assert_eq!(names(&after.unwrap()["ready_modules"]).len(), 50);
}

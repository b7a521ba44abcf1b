//! `parachute start|stop|restart [svc]` and `parachute logs <svc> [-f]`: through a real hub,
//! through the hub unit under a fake `systemctl` (which really runs `parachute serve`), and
//! with no unit at all.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use std::sync::Arc;
use std::time::Duration;

use cli_support::CliEnv;
use parachute_os::SystemRunner;
use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{auth, bin, free_port, http, wait_for};
use parachute_unit::{
    HubUnitConfig, InstallOptions, InstallOutcome, ManagedUnit, ManagerKind, ScopeOverride,
    UnitEnv, UnitSpec,
};
use serde_json::Value;

const UNIT: &str = "parachute-hub.service";

fn listening(port: u16) -> bool {
    parachute_os::port::is_listening(port, Duration::from_millis(500))
}

fn module_state(hub_port: u16, token: &str, short: &str) -> Value {
    let bearer = auth::bearer(token);
    let resp = http::request(
        hub_port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    resp.json()["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["short"] == short)
        .cloned()
        .unwrap_or(Value::Null)
}

fn wait_status(hub_port: u16, token: &str, short: &str, status: &str) -> Value {
    wait_for(Duration::from_secs(60), || {
        let m = module_state(hub_port, token, short);
        (m["supervisor_status"] == status).then_some(m)
    })
    .unwrap_or_else(|| panic!("{short} never became {status}"))
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn module_verbs_go_through_the_running_hub() {
    let env = CliEnv::new();
    let port = free_port();
    add_test_module(env.root(), "alpha", port, &[]);
    let hub = HubProcess::start(env.root());
    let token = auth::operator_token(env.root(), hub.port);
    let first = wait_status(hub.port, &token, "alpha", "running");

    let out = env.run(&["stop", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.trim(), "✓ alpha stopped.");
    wait_status(hub.port, &token, "alpha", "stopped");
    assert!(wait_for(Duration::from_secs(30), || (!listening(port)).then_some(())).is_some());

    let out = env.run(&["start", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.starts_with("✓ alpha started (pid "),
        "{}",
        out.all()
    );
    let started = wait_status(hub.port, &token, "alpha", "running");
    assert_ne!(started["pid"], first["pid"]);

    let out = env.run(&["restart", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.starts_with("✓ alpha restarted"), "{}", out.all());
    let restarted = wait_status(hub.port, &token, "alpha", "running");
    assert_ne!(restarted["pid"], started["pid"]);

    // `hub` is the hub itself: without a unit, start just confirms it is up.
    let out = env.run(&["start", "hub"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("already up"), "{}", out.all());
    // No manager call was needed for any of this.
    assert!(
        env.fakes.calls("systemctl").is_empty(),
        "{:?}",
        env.fakes.calls("systemctl")
    );
}

#[test]
fn restarting_an_unsupervised_module_starts_it() {
    let env = CliEnv::new();
    let hub = HubProcess::start(env.root());
    let token = auth::operator_token(env.root(), hub.port);
    // Registered after the hub booted: known to services.json, not supervised yet.
    let port = free_port();
    add_test_module(env.root(), "late", port, &[]);
    let out = env.run(&["restart", "late"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.starts_with("✓ late started"), "{}", out.all());
    wait_status(hub.port, &token, "late", "running");
    assert!(wait_for(Duration::from_secs(30), || listening(port).then_some(())).is_some());
}

#[test]
fn module_errors_name_the_code_or_the_fix() {
    let env = CliEnv::new();
    let hub = HubProcess::start(env.root());
    auth::operator_token(env.root(), hub.port);

    let out = env.run(&["start", "scribe"]);
    assert_eq!(out.code, 1, "{}", out.all());
    // The way forward is a command that works on this box: `parachute install`, which goes
    // through the hub's install route (the token is never printed).
    let token_path = env.root().join("operator.token");
    assert!(
        out.stderr.contains("✗ scribe is not installed")
            && out.stderr.contains("    parachute install scribe"),
        "{}",
        out.all()
    );
    let token = std::fs::read_to_string(&token_path).unwrap();
    assert!(
        !out.all().contains(token.trim()),
        "the token is never printed"
    );
    let out = env.run(&["start", "no-such-module"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.starts_with("✗ no-such-module: "),
        "{}",
        out.all()
    );

    // Without an operator token the verb says how to get one.
    std::fs::remove_file(env.root().join("operator.token")).unwrap();
    let out = env.run(&["restart", "scribe"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.starts_with("✗ scribe: ")
            && out.stderr.contains("parachute auth rotate-operator"),
        "{}",
        out.all()
    );
}

#[test]
fn stopping_a_module_while_the_hub_is_down_is_already_done() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    env.hub_port_down();
    let out = env.run(&["stop", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("alpha is already stopped"),
        "{}",
        out.all()
    );
    assert!(env.fakes.calls("systemctl").is_empty());
}

#[test]
fn without_a_hub_unit_every_hub_verb_explains_the_two_ways_forward() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    env.hub_port_down();
    for args in [
        &["start"][..],
        &["stop"],
        &["restart"],
        &["start", "hub"],
        &["restart", "hub"],
        &["start", "alpha"],
        &["restart", "alpha"],
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.all());
        assert!(
            out.stderr.contains("o hub unit is installed"),
            "{args:?}: {}",
            out.all()
        );
        assert!(
            out.stderr.contains("parachute init") && out.stderr.contains("parachute serve"),
            "{args:?}: {}",
            out.all()
        );
    }
    assert!(
        env.fakes.calls("systemctl").is_empty(),
        "nothing is asked of the manager when no unit file exists: {:?}",
        env.fakes.calls("systemctl")
    );

    // A hub started by hand is running but cannot be stopped through a unit.
    let hub = HubProcess::start(env.root());
    let out = env.run(&["stop"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("not under a service manager"),
        "{}",
        out.all()
    );
    assert!(out.stderr.contains("parachute init"), "{}", out.all());
    assert!(listening(hub.port), "the hub is left alone");
}

/// Installs the hub unit (not started) for the fake systemctl: it runs the real
/// `parachute serve` on `port` when started.
fn install_unit(env: &CliEnv, port: u16) {
    let runner = SystemRunner::with_search_path(env.fakes.bin_dir())
        .env(parachute_tests::fake::STATE_ENV, env.fakes.state_dir())
        .env("PARACHUTE_UNIT_DIR", env.unit_dir())
        .env("HOME", env.user_home());
    let units = ManagedUnit::new(
        Arc::new(runner),
        ManagerKind::Systemd,
        UnitEnv {
            uid: 1000,
            user_name: "tester".into(),
            home_dir: env.user_home(),
            unit_dir_override: Some(env.unit_dir()),
            scope_override: Some(ScopeOverride::User),
            manager_override: Some(ManagerKind::Systemd),
        },
    );
    let spec = UnitSpec::hub(&HubUnitConfig {
        exe: bin("parachute"),
        parachute_home: env.root().to_path_buf(),
        port,
        user_home: env.user_home(),
    })
    .unwrap();
    let outcome = units.install(&spec, InstallOptions { start: false });
    assert!(
        matches!(outcome, InstallOutcome::Installed { .. }),
        "{outcome:?}"
    );
    env.fakes.clear_calls("systemctl");
}

/// Stops whatever the fake manager started (the hub and, through it, its modules).
struct UnitJobs<'a>(&'a CliEnv);

impl Drop for UnitJobs<'_> {
    fn drop(&mut self) {
        let jobs = self.0.fakes.state_dir().join("systemd/user/jobs");
        let Ok(entries) = std::fs::read_dir(jobs) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = std::fs::read_to_string(entry.path().join("pid"))
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
                .filter(|p| *p > 1)
            else {
                continue;
            };
            let group = nix::unistd::Pid::from_raw(-pid);
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
            let gone = wait_for(Duration::from_secs(15), || {
                parachute_tests::pid_gone(pid as u32).then_some(())
            });
            if gone.is_none() {
                let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

#[test]
fn the_hub_verbs_drive_the_unit_through_systemctl() {
    let env = CliEnv::new();
    let _jobs = UnitJobs(&env);
    let module_port = free_port();
    add_test_module(env.root(), "alpha", module_port, &[]);
    let port = free_port();
    env.set_hub_port(port);
    install_unit(&env, port);

    let out = env.run(&["start"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("Started the hub unit"), "{}", out.all());
    assert_eq!(
        env.fakes.calls("systemctl"),
        vec![argv(&["--user", "start", UNIT])]
    );
    assert!(
        wait_for(Duration::from_secs(60), || listening(module_port)
            .then_some(()))
        .is_some()
    );

    // Up now: a second start asks the manager nothing.
    env.fakes.clear_calls("systemctl");
    let out = env.run(&["start"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("already up"), "{}", out.all());
    assert!(env.fakes.calls("systemctl").is_empty());

    let out = env.run(&["restart"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Restarted the hub unit"),
        "{}",
        out.all()
    );
    assert_eq!(
        env.fakes.calls("systemctl"),
        vec![argv(&["--user", "restart", UNIT])]
    );

    // The unit's hub writes hub/logs/hub.log, which `logs hub` shows.
    let out = env.run(&["logs", "hub", "-n", "500"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("[alpha]"), "{}", out.all());

    env.fakes.clear_calls("systemctl");
    let out = env.run(&["stop", "hub"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("Stopped the hub unit"), "{}", out.all());
    assert_eq!(
        env.fakes.calls("systemctl"),
        vec![argv(&["--user", "stop", UNIT])]
    );
    assert!(wait_for(Duration::from_secs(30), || (!listening(port)).then_some(())).is_some());

    // Status reads the manager's view for the hub row.
    let out = env.run(&["status", "--json"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["hub"]["manager"], "inactive", "{}", out.all());

    // A module verb with the hub down brings the hub up through the unit first.
    env.set_hub_port(port);
    auth::ensure_admin(env.root());
    auth::operator_token(env.root(), port);
    env.fakes.clear_calls("systemctl");
    let out = env.run(&["start", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("✓ alpha started"), "{}", out.all());
    assert_eq!(
        env.fakes.calls("systemctl")[0],
        argv(&["--user", "start", UNIT])
    );
}

#[test]
fn a_refused_unit_operation_is_reported_with_the_managers_words() {
    let env = CliEnv::new();
    let _jobs = UnitJobs(&env);
    let port = free_port();
    env.set_hub_port(port);
    install_unit(&env, port);
    std::fs::write(
        env.fakes.state_dir().join("systemctl.fail"),
        "start 1 Failed to start parachute-hub.service: Unit is masked.\nstop 5 Failed to stop parachute-hub.service: Access denied\n",
    )
    .unwrap();
    let out = env.run(&["start"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("Unit is masked"), "{}", out.all());
    let out = env.run(&["stop"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("Access denied"), "{}", out.all());
}

/// The highest `tick N` among `lines`.
fn last_tick<'a>(lines: impl IntoIterator<Item = &'a str>) -> u64 {
    lines
        .into_iter()
        .filter_map(|l| l.trim().strip_prefix("tick ")?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn logs_come_from_the_running_hub_and_follow_new_lines() {
    let env = CliEnv::new();
    add_test_module(
        env.root(),
        "alpha",
        free_port(),
        &["--say", "hello from alpha", "--tick-ms", "100"],
    );
    let hub = HubProcess::start(env.root());
    let token = auth::operator_token(env.root(), hub.port);
    wait_status(hub.port, &token, "alpha", "running");
    wait_for(Duration::from_secs(30), || {
        let out = env.run(&["logs", "alpha", "-n", "5000"]);
        (out.stdout.contains("hello from alpha") && out.stdout.contains("tick 1")).then_some(())
    })
    .expect("the greeting and the first tick reach the hub's buffer");

    let out = env.run(&["logs", "alpha", "-n", "5000"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("test-module up pid="), "{}", out.all());
    let out = env.run(&["logs", "parachute-tests-unknown"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("known services: hub, alpha"),
        "{}",
        out.all()
    );
    let out = env.run(&["logs", "alpha", "-n", "1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.all());

    // -f: the buffered lines, then lines the module prints after the stream opened.
    let before = last_tick(
        env.run(&["logs", "alpha"])
            .stdout
            .lines()
            .collect::<Vec<_>>(),
    );
    let follow = env.spawn(&["logs", "alpha", "-f", "-n", "5000"]);
    follow.wait_line("hello from alpha");
    let later = format!("tick {}", before + 5);
    follow.wait_line(&later);
    let lines = follow.lines();
    let ticks: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert!(
        ticks.windows(2).all(|w| w[0] < w[1]),
        "each line once, in order: {lines:?}"
    );
}

#[test]
fn logs_fall_back_to_the_log_file_and_follow_it() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    add_test_module(env.root(), "beta", free_port(), &[]);
    env.hub_port_down();
    let out = env.run(&["logs", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("no logs yet for alpha"),
        "{}",
        out.all()
    );

    let log = env.home.write("alpha/logs/alpha.log", "one\ntwo\nthree\n");
    let out = env.run(&["logs", "alpha", "-n", "2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout, "two\nthree\n");

    let follow = env.spawn(&["logs", "alpha", "-f", "-n", "1"]);
    follow.wait_line("three");
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "four, written later").unwrap();
    drop(f);
    follow.wait_line("four, written later");
    assert!(
        !follow.lines().iter().any(|l| l == "two"),
        "{:?}",
        follow.lines()
    );

    let out = env.run(&["logs", "nope"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("known services: hub, alpha, beta"),
        "{}",
        out.all()
    );
    // No service named: the usage and the names to choose from.
    let out = env.run(&["logs"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("Usage: parachute logs")
            && out.stderr.contains("known services: hub, alpha, beta"),
        "{}",
        out.all()
    );
}

#[test]
fn a_supervised_modules_log_file_outlives_the_hub() {
    let env = CliEnv::new();
    add_test_module(
        env.root(),
        "alpha",
        free_port(),
        &["--say", "persisted greeting"],
    );
    let mut hub = HubProcess::start(env.root());
    hub.wait_for_line("[alpha] persisted greeting", Duration::from_secs(60));
    assert_eq!(hub.stop(), Some(0));
    let out = env.run(&["logs", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let file = std::fs::read_to_string(env.root().join("alpha/logs/alpha.log")).unwrap_or_default();
    assert!(
        out.stdout.contains("persisted greeting"),
        "{}\nfile:\n{file}\nhub:\n{}",
        out.all(),
        hub.output_text()
    );
}

#[test]
fn hub_origin_lets_the_cli_use_a_token_minted_for_the_hubs_configured_origin() {
    // The hub runs with an origin the CLI's environment does not know; the operator token was
    // minted for that origin. Only `--hub-origin` tells the CLI the token is this hub's.
    const ORIGIN: &str = "https://hub.custom.example";
    let env = CliEnv::new();
    add_test_module(env.root(), "gamma", free_port(), &[]);
    let hub = parachute_tests::hub::HubProcess::start_with(
        env.root(),
        parachute_tests::hub::HubOptions {
            env: vec![("PARACHUTE_HUB_ORIGIN".into(), ORIGIN.into())],
            ..Default::default()
        },
    );
    env.set_hub_port(hub.port);
    auth::ensure_admin(env.root());
    let db = auth::db(env.root());
    parachute_auth::operator::mint_operator(
        &db,
        parachute_auth::operator::OperatorScopeSet::Admin,
        ORIGIN,
        &env.root().join("operator.token"),
    )
    .unwrap();

    let out = env.run(&["restart", "gamma"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.all().contains("✗ gamma") && out.all().contains(ORIGIN),
        "{}",
        out.all()
    );

    let out = env.run(&["restart", "gamma", "--hub-origin", ORIGIN]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("gamma"), "{}", out.all());
}

#[test]
fn a_malformed_hub_port_stops_module_verbs_naming_the_file() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    env.home.write("hub/run/hub.port", "garbage\n");
    for verb in ["stop", "start", "restart"] {
        let out = env.run(&[verb, "alpha"]);
        assert_eq!(out.code, 1, "{verb}: {}", out.all());
        assert!(
            out.stderr.contains("hub/run/hub.port"),
            "{verb}: {}",
            out.all()
        );
        assert!(out.stderr.contains("\"garbage\""), "{verb}: {}", out.all());
    }
    assert!(
        env.fakes.calls("systemctl").is_empty(),
        "nothing was started on a guessed port"
    );
}

#[test]
fn writing_verbs_remove_temp_files_of_dead_writers_reading_verbs_do_not() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    env.hub_port_down();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = env
        .home
        .write(&format!("services.json.tmp-{dead}-1700000000000"), "{\"se");
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(stale.exists(), "status only reads");
    let out = env.run(&["stop", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!stale.exists(), "stop is a writing verb: {}", out.all());
    assert!(env.root().join("services.json").exists());
}

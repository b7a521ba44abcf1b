//! Black-box: start, stop, restart and logs (JSON and the live follow stream) through the
//! module operations API of a real `parachute serve` with test-module children, and the error
//! codes of every action (SPEC Part B §3 with Part A item 4).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod api_support;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use api_support::{Rig, error_of};
use parachute_tests::auth::bearer;
use parachute_tests::hub::{add_row, add_test_module};
use parachute_tests::{free_port, http, pid_gone, wait_for};
use serde_json::json;

#[test]
fn start_stop_restart_any_module_with_fresh_env() {
    let rig = Rig::start(|home, _| {
        add_test_module(home.path(), "echo", free_port(), &["--print-env", "FOO"]);
        home.write("echo/.env", "FOO=first\n");
    });
    let first = rig.wait_running("echo", None);
    rig.hub
        .wait_for_line("[echo] env FOO=first", Duration::from_secs(20));

    // Restart: a new process that sees the .env as it is now.
    rig.home.write("echo/.env", "FOO=second\n");
    let r = rig.call("POST", "/api/modules/echo/restart", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["short"], "echo");
    let second = body["state"]["pid"]
        .as_u64()
        .expect("restart answers with the new pid");
    assert_ne!(second, first);
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(first as u32)
            .then_some(()))
        .is_some()
    );
    rig.hub
        .wait_for_line("[echo] env FOO=second", Duration::from_secs(20));

    // Stop: down, and stays down.
    let r = rig.call("POST", "/api/modules/echo/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["stopped"], true);
    assert_eq!(body["state"]["status"], "stopped");
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(second as u32)
            .then_some(()))
        .is_some()
    );
    assert_eq!(rig.entry("echo")["supervisor_status"], "stopped");

    // Start: up again; a second start returns the same process.
    let r = rig.call("POST", "/api/modules/echo/start", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let third = r.json()["state"]["pid"].as_u64().unwrap();
    assert!(third != first && third != second);
    assert_eq!(r.json()["state"]["status"], "running");
    let again = rig.call("POST", "/api/modules/echo/start", None).json();
    assert_eq!(again["state"]["pid"].as_u64(), Some(third));
}

#[test]
fn error_codes_for_unknown_uninstalled_and_unstartable_modules() {
    let rig = Rig::start(|home, _| {
        // A CLI-only third-party module (module.json without startCmd) …
        let cli = home.path().join("mods/cli");
        std::fs::create_dir_all(cli.join(".parachute")).unwrap();
        std::fs::write(cli.join(".parachute/module.json"), r#"{"name":"cli"}"#).unwrap();
        add_row(
            home.path(),
            json!({"name": "cli", "port": free_port(), "paths": ["/cli"], "health": "/health",
                   "version": "1.0.0", "installDir": cli}),
        );
        // … and a row nobody knows how to start.
        add_row(
            home.path(),
            json!({"name": "ghost", "port": free_port(), "paths": ["/ghost"], "health": "/health",
                   "version": "1.0.0"}),
        );
    });
    let expect = |method: &str, path: &str, status: u16, code: &str| {
        let r = rig.call(method, path, None);
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), code, "{method} {path}: {}", r.body);
        assert!(
            r.json()["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            r.body
        );
    };
    for (method, action) in [
        ("POST", "start"),
        ("POST", "stop"),
        ("POST", "restart"),
        ("GET", "logs"),
        ("POST", "install"),
        ("POST", "upgrade"),
        ("POST", "uninstall"),
    ] {
        expect(
            method,
            &format!("/api/modules/nosuch/{action}"),
            404,
            "unknown_module",
        );
    }
    // First-party, not installed.
    expect("POST", "/api/modules/scribe/start", 400, "not_installed");
    expect("POST", "/api/modules/scribe/upgrade", 400, "not_installed");
    expect("POST", "/api/modules/scribe/restart", 404, "not_supervised");
    expect("GET", "/api/modules/scribe/logs", 404, "not_supervised");
    let r = rig.call("POST", "/api/modules/scribe/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"short": "scribe", "stopped": false}));
    // Rows with nothing to run.
    expect("POST", "/api/modules/cli/start", 422, "no_start_cmd");
    expect("POST", "/api/modules/ghost/start", 422, "no_start_cmd");
    // Third-party rows without a package cannot be installed through bun.
    expect("POST", "/api/modules/ghost/install", 422, "not_installable");
    expect("POST", "/api/modules/cli/upgrade", 422, "not_installable");
    // Unknown action, wrong method, unknown operation.
    expect("POST", "/api/modules/ghost/explode", 404, "not_found");
    expect("GET", "/api/modules/ghost/start", 405, "method_not_allowed");
    expect(
        "GET",
        "/api/modules/operations/no-such-op",
        404,
        "not_found",
    );
    // Bad install bodies.
    let r = rig.call(
        "POST",
        "/api/modules/vault/install",
        Some(json!({"channel": "beta"})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(error_of(&r), "invalid_channel");
    let auth = bearer(&rig.token);
    let r = http::request(
        rig.hub.port,
        "POST",
        "/api/modules/vault/install",
        &[("authorization", auth.as_str())],
        Some("{not json"),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(error_of(&r), "invalid_request");
    assert!(
        rig.fakes.calls("bun").is_empty(),
        "no request above may run bun"
    );
}

/// Reads `reader` line by line until `done` accepts a line; returns the lines read.
fn read_until(reader: &mut impl BufRead, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read the follow stream");
        assert!(n > 0, "the stream ended early after {lines:?}");
        let line = line.trim_end().to_string();
        let stop = done(&line);
        lines.push(line);
        if stop {
            return lines;
        }
    }
}

/// Opens `GET /api/modules/<short>/logs?follow=1` with the operator token.
fn follow(rig: &Rig, short: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "http://127.0.0.1:{}/api/modules/{short}/logs?follow=1",
            rig.hub.port
        ))
        .header("authorization", bearer(&rig.token))
        .send()
        .unwrap()
}

/// The number of a `tick <n>` line of the test module.
/// The tick number of a `[talker] tick N` line (the original's `[short] ` prefix, with or
/// without its trailing newline).
fn tick_number(line: &str) -> Option<u64> {
    line.trim_end().strip_prefix("[talker] tick ")?.parse().ok()
}

#[test]
fn logs_as_json_and_as_a_live_stream_that_ends_on_stop() {
    let rig = Rig::start(|home, _| {
        add_test_module(
            home.path(),
            "talker",
            free_port(),
            &["--say", "hello logs", "--tick-ms", "200"],
        );
    });
    rig.hub
        .wait_for_line("[talker] tick 2", Duration::from_secs(30));
    let r = rig.call("GET", "/api/modules/talker/logs", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["short"], "talker");
    let lines: Vec<String> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    // Each line as the original sends it: `[short] <line>\n`.
    assert!(
        lines.iter().any(|l| l == "[talker] hello logs\n"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "[talker] test-module stderr hello\n"),
        "{lines:?}"
    );
    assert_eq!(body["text"].as_str().unwrap(), lines.concat());

    let resp = follow(&rig, "talker");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let mut reader = BufReader::new(resp);
    // The replay comes first, then lines printed after the request started.
    let replay = read_until(&mut reader, |l| l == "[talker] hello logs");
    assert!(
        replay
            .iter()
            .any(|l| l.starts_with("[talker] test-module up")),
        "{replay:?}"
    );
    // Every tick the buffer holds now was printed before this point, so a later tick on the
    // stream was printed after the follow request started.
    let snapshot = rig.call("GET", "/api/modules/talker/logs", None).json();
    let seen = snapshot["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| tick_number(l.as_str().unwrap()))
        .max()
        .unwrap();
    let live = read_until(&mut reader, |l| tick_number(l).is_some_and(|n| n > seen));
    assert!(
        live.iter().any(|l| tick_number(l) == Some(seen)),
        "ticks arrive in order: {live:?}"
    );

    // Stopping the module ends the stream (after its last words).
    let r = rig.call("POST", "/api/modules/talker/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut rest = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read to the end") == 0 {
            break;
        }
        rest.push(line.trim_end().to_string());
    }
    assert!(rest.iter().any(|l| l.contains("got SIGTERM")), "{rest:?}");

    // A follow of a module that is already stopped replays and ends.
    let r = rig.call("GET", "/api/modules/talker/logs?follow=true", None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("hello logs"), "{}", r.body);
}

#[test]
fn an_open_follow_stream_does_not_hold_up_hub_shutdown() {
    let mut rig = Rig::start(|home, _| {
        add_test_module(home.path(), "talker", free_port(), &["--tick-ms", "100"]);
    });
    rig.hub
        .wait_for_line("[talker] tick 1", Duration::from_secs(30));
    let resp = follow(&rig, "talker");
    let mut reader = BufReader::new(resp);
    read_until(&mut reader, |l| tick_number(l).is_some());
    assert_eq!(rig.hub.stop(), Some(0), "{}", rig.hub.output_text());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    assert!(rest.contains("the hub is stopping"), "{rest}");
}

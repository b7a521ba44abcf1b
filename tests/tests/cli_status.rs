//! `parachute status [--json]` against a real hub (up, down, hanging), with real modules.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use cli_support::{CliEnv, notes_of, table_rows};
use parachute_tests::hub::{HubProcess, add_row, add_test_module};
use parachute_tests::{auth, free_port, http, wait_for};
use serde_json::Value;

/// Adds a module whose start command names a program that does not exist: the supervisor
/// marks it crashed with a missing-dependency error at once.
fn add_missing_module(env: &CliEnv, name: &str, port: u16) {
    let dir = env.root().join("mods").join(name);
    std::fs::create_dir_all(dir.join(".parachute")).unwrap();
    std::fs::write(
        dir.join(".parachute/module.json"),
        serde_json::json!({"name": name, "startCmd": ["/nonexistent/parachute-test-tool", "serve"]})
            .to_string(),
    )
    .unwrap();
    add_row(
        env.root(),
        serde_json::json!({
            "name": name, "port": port, "paths": [format!("/{name}")], "health": "/health",
            "version": "3.0.0", "installDir": dir,
        }),
    );
}

/// The hub's module list, read with the operator token.
/// An UPTIME cell (`42s`, `5m12s`) as a duration; `None` for anything else.
fn uptime_cell(cell: &str) -> Option<Duration> {
    let secs = |t: &str| t.strip_suffix('s')?.parse::<u64>().ok();
    match cell.split_once('m') {
        Some((m, s)) => Some(Duration::from_secs(m.parse::<u64>().ok()? * 60 + secs(s)?)),
        None => Some(Duration::from_secs(secs(cell)?)),
    }
}

/// A LATENCY cell (`0.8ms`, `12ms`, `1.4s`) as a duration; `None` for anything else.
fn latency_cell(cell: &str) -> Option<Duration> {
    if let Some(ms) = cell.strip_suffix("ms") {
        return Some(Duration::from_secs_f64(ms.parse::<f64>().ok()? / 1000.0));
    }
    Some(Duration::from_secs_f64(
        cell.strip_suffix('s')?.parse().ok()?,
    ))
}

fn modules(hub: &HubProcess, token: &str) -> Value {
    let bearer = auth::bearer(token);
    let resp = http::request(
        hub.port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer)],
        None,
    )
    .expect("GET /api/modules");
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

fn status_of(list: &Value, short: &str) -> Option<String> {
    list["modules"]
        .as_array()?
        .iter()
        .find(|m| m["short"] == short)?["supervisor_status"]
        .as_str()
        .map(str::to_string)
}

/// A hub with `alpha` and `beta` running and `gamma` crashed; returns the operator token.
fn three_modules(env: &CliEnv) -> (HubProcess, String) {
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    add_test_module(env.root(), "alpha", pa, &[]);
    add_test_module(env.root(), "beta", pb, &[]);
    add_missing_module(env, "gamma", pc);
    let hub = HubProcess::start(env.root());
    let token = auth::operator_token(env.root(), hub.port);
    let settled = wait_for(Duration::from_secs(60), || {
        let list = modules(&hub, &token);
        let ok = status_of(&list, "alpha").as_deref() == Some("running")
            && status_of(&list, "beta").as_deref() == Some("running")
            && status_of(&list, "gamma").as_deref() == Some("crashed")
            && parachute_os::port::is_listening(pa, Duration::from_millis(500))
            && parachute_os::port::is_listening(pb, Duration::from_millis(500));
        ok.then_some(())
    });
    assert!(
        settled.is_some(),
        "modules never settled:\n{}",
        hub.output_text()
    );
    (hub, token)
}

#[test]
fn the_table_shows_every_module_and_the_hub_last_and_a_crash_fails_the_run() {
    let env = CliEnv::new();
    let (hub, _token) = three_modules(&env);
    let out = env.run(&["status"]);
    assert_eq!(
        out.code,
        1,
        "a crashed module makes status exit 1\n{}",
        out.all()
    );
    let header = out.stdout.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "SERVICE", "PORT", "VERSION", "STATE", "PID", "UPTIME", "LATENCY", "SOURCE"
        ]
    );
    let rows = table_rows(&out.stdout);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["alpha", "beta", "gamma", "parachute-hub (internal)"],
        "{}",
        out.all()
    );
    for row in &rows[..2] {
        // SERVICE PORT VERSION STATE PID UPTIME LATENCY SOURCE
        assert_eq!(row[3], "active", "{}", out.all());
        assert!(row[4].parse::<u32>().is_ok(), "pid: {}", out.all());
        // The modules started moments ago, and answered a probe bounded at 1.5 s.
        let uptime = uptime_cell(&row[5]).unwrap_or_else(|| panic!("uptime: {}", out.all()));
        assert!(
            uptime < Duration::from_secs(120),
            "uptime {uptime:?}: {}",
            out.all()
        );
        let latency = latency_cell(&row[6]).unwrap_or_else(|| panic!("latency: {}", out.all()));
        assert!(
            latency <= Duration::from_millis(1500),
            "latency {latency:?}: {}",
            out.all()
        );
        assert_eq!(row[7], format!("bun-linked → {}", row[0]));
    }
    let gamma = &rows[2];
    assert_eq!(gamma[2], "3.0.0");
    assert_eq!(gamma[3], "failing");
    assert_eq!(
        (gamma[4].as_str(), gamma[5].as_str(), gamma[6].as_str()),
        ("-", "-", "-")
    );
    let notes = notes_of(&out.stdout, "gamma");
    assert!(
        notes.iter().any(|n| n.starts_with("→ http://127.0.0.1:")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("/nonexistent/parachute-test-tool is not installed")),
        "{notes:?}"
    );
    let hub_row = rows.last().unwrap();
    assert_eq!(hub_row[1], hub.port.to_string());
    assert_eq!(hub_row[3], "active");
    assert_eq!(
        hub_row[4],
        hub.pid().to_string(),
        "the hub row names the hub's pid"
    );
    assert_eq!(
        hub_row[7],
        format!("binary → {}", parachute_tests::bin("parachute").display())
    );
    let hub_notes = notes_of(&out.stdout, "parachute-hub (internal)");
    assert_eq!(hub_notes[0], format!("→ http://127.0.0.1:{}", hub.port));

    let json = env.run(&["status", "--json"]);
    assert_eq!(json.code, 1, "{}", json.all());
    let doc: Value = serde_json::from_str(&json.stdout).expect("status --json prints JSON");
    assert_eq!(doc["hub"]["up"], true);
    assert_eq!(doc["hub"]["port"], hub.port);
    assert_eq!(doc["hub"]["manager"], "no-unit");
    assert_eq!(doc["exit_code"], 1);
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 4);
    assert_eq!(services[0]["short"], "alpha");
    assert_eq!(services[0]["state"], "active");
    assert_eq!(services[0]["supervisor_status"], "running");
    assert!(services[0]["pid"].as_u64().is_some());
    assert!(services[0]["uptime_ms"].as_u64().is_some());
    assert!(services[0]["latency_ms"].as_f64().is_some());
    assert_eq!(services[2]["state"], "failing");
    assert_eq!(services[2]["unhealthy"], true);
    assert_eq!(services[3]["short"], "hub");
    assert_eq!(services[3]["state"], "active");
    assert_eq!(services[3]["unhealthy"], false);
}

#[test]
fn a_stopped_module_is_inactive_and_does_not_fail_the_run() {
    let env = CliEnv::new();
    let port = free_port();
    add_test_module(env.root(), "alpha", port, &[]);
    let hub = HubProcess::start(env.root());
    let token = auth::operator_token(env.root(), hub.port);
    wait_for(Duration::from_secs(60), || {
        (status_of(&modules(&hub, &token), "alpha").as_deref() == Some("running")).then_some(())
    })
    .expect("alpha runs");
    let bearer = auth::bearer(&token);
    let stop = http::request(
        hub.port,
        "POST",
        "/api/modules/alpha/stop",
        &[("authorization", &bearer)],
        Some("{}"),
    )
    .unwrap();
    assert_eq!(stop.status, 200, "{}", stop.body);
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = table_rows(&out.stdout);
    assert_eq!(rows[0][0], "alpha");
    assert_eq!(rows[0][3], "inactive", "{}", out.all());
    assert_eq!(rows[0][4], "-");
}

#[test]
fn with_the_hub_down_every_module_is_inactive_and_the_run_succeeds() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    add_test_module(env.root(), "beta", free_port(), &[]);
    let port = env.hub_port_down();
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = table_rows(&out.stdout);
    assert_eq!(rows.len(), 3, "{}", out.all());
    for row in &rows {
        assert_eq!(row[3], "inactive", "{}", out.all());
        assert_eq!(&row[4..7], ["-", "-", "-"], "{}", out.all());
    }
    assert_eq!(rows[2][0], "parachute-hub (internal)");
    assert_eq!(rows[2][1], port.to_string());
    for name in ["alpha", "beta"] {
        assert!(
            notes_of(&out.stdout, name)
                .iter()
                .any(|n| n.contains("hub is down")),
            "{}",
            out.all()
        );
    }
    let hub_notes = notes_of(&out.stdout, "parachute-hub (internal)");
    assert!(
        hub_notes
            .iter()
            .any(|n| n.contains("no hub unit installed") && n.contains("parachute init")),
        "{hub_notes:?}"
    );
    let json = env.run(&["status", "--json"]);
    assert_eq!(json.code, 0);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["hub"]["up"], false);
    assert!(
        doc["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "inactive")
    );
}

#[test]
fn without_an_operator_token_status_says_how_to_mint_one() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    let hub = HubProcess::start(env.root());
    auth::ensure_admin(env.root());
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let notes = notes_of(&out.stdout, "alpha");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("parachute auth rotate-operator")),
        "{}",
        out.all()
    );
    assert_eq!(table_rows(&out.stdout).last().unwrap()[3], "active");
    drop(hub);
}

/// A listener that accepts connections and never answers anything.
fn silent_listener() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(150);
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 64 {
                break;
            }
        }
    });
    (port, handle)
}

#[test]
fn a_hub_that_accepts_but_never_answers_cannot_hang_status() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    let (port, _listener) = silent_listener();
    env.set_hub_port(port);
    // `run` fails the test if status has not finished within its limit.
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = table_rows(&out.stdout);
    assert_eq!(rows[0][3], "inactive");
    assert_eq!(rows[1][0], "parachute-hub (internal)");
    assert_eq!(rows[1][3], "inactive");
}

/// A listener that answers `/health` and holds every other request open forever.
fn health_only_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            if req.starts_with(b"GET /health ") {
                let body = r#"{"status":"ok","service":"parachute-hub","version":"0.0.0-fake"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            } else {
                held.push(stream);
            }
        }
    });
    port
}

#[test]
fn a_hub_whose_module_api_hangs_still_gives_a_bounded_report() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    let port = health_only_listener();
    env.set_hub_port(port);
    auth::operator_token(env.root(), port);
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = table_rows(&out.stdout);
    assert_eq!(rows[0][3], "inactive", "{}", out.all());
    assert!(
        notes_of(&out.stdout, "alpha")
            .iter()
            .any(|n| n.contains("live module state unavailable")),
        "{}",
        out.all()
    );
    let hub_row = rows.last().unwrap();
    assert_eq!(
        (hub_row[2].as_str(), hub_row[3].as_str()),
        ("0.0.0-fake", "active")
    );
}

#[test]
fn a_malformed_services_json_is_an_error_naming_the_file() {
    let env = CliEnv::new();
    env.home
        .write("services.json", "{\"services\": [ {\"name\": \"x\" ");
    env.hub_port_down();
    let out = env.run(&["status"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.is_empty(), "{}", out.all());
    assert!(out.stderr.contains("services.json"), "{}", out.all());
    assert!(out.stderr.contains("Fix or remove"), "{}", out.all());
    env.home.write(
        "services.json",
        r#"{"services":[{"name":"x","port":0,"paths":[],"health":"/h","version":"1"}]}"#,
    );
    let out = env.run(&["status", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("malformed"), "{}", out.all());
}

/// The note `status` printed about the live module state, from any row.
fn live_state_note(stdout: &str, service: &str) -> String {
    notes_of(stdout, service)
        .into_iter()
        .find(|n| n.contains("live module state unavailable"))
        .unwrap_or_default()
}

#[test]
fn an_unreadable_operator_token_still_shows_the_probes_and_names_the_file_and_the_fix() {
    let env = CliEnv::new();
    let port = free_port();
    add_test_module(env.root(), "alpha", port, &[]);
    let hub = HubProcess::start(env.root());
    auth::ensure_admin(env.root());
    // A directory where the token file belongs cannot be read, whoever runs the test.
    std::fs::create_dir(env.root().join("operator.token")).unwrap();
    assert!(
        wait_for(Duration::from_secs(60), || {
            parachute_os::port::is_listening(port, Duration::from_millis(300)).then_some(())
        })
        .is_some(),
        "{}",
        hub.output_text()
    );
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = table_rows(&out.stdout);
    assert_eq!(rows[0][0], "alpha");
    assert_eq!(
        rows[0][3],
        "active",
        "the probe still answers: {}",
        out.all()
    );
    let token = env.root().join("operator.token").display().to_string();
    let note = live_state_note(&out.stdout, "alpha");
    assert!(
        note.contains(&format!("cannot read the operator token {token}")),
        "{}",
        out.all()
    );
    assert!(
        note.contains(&format!("chmod 600 '{token}'")),
        "{}",
        out.all()
    );
    assert!(
        note.contains("parachute auth rotate-operator"),
        "{}",
        out.all()
    );
}

#[test]
fn a_malformed_hub_port_is_named_never_read_as_1939() {
    let env = CliEnv::new();
    env.home.write("hub/run/hub.port", "19x9\n");
    let out = env.run(&["status"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("hub/run/hub.port"), "{}", out.all());
    assert!(out.stderr.contains("\"19x9\""), "{}", out.all());
    assert!(
        out.stderr.contains("Fix or remove the file"),
        "{}",
        out.all()
    );
}

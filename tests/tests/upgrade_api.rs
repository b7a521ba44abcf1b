//! The hub's upgrade API end to end: `POST /api/hub/upgrade` on a hub run by the (fake)
//! systemd unit answers 202, the detached helper (started through the fake `systemd-run`)
//! goes through every phase while `/api/events` streams them and `GET
//! /api/hub/upgrade/status` reports them, and the new version answers; a second POST while one
//! is in flight gets 409 until its lock expires; `GET /api/hub` shows the cached update check
//! and the feed is fetched only when a check is asked for; the refusals and the bearer dialect.
//! Releases are real (the next version of `parachute`, signed with the real `minisign`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;
mod upgrade_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parachute_tests::auth::{bearer, ensure_admin, operator_token, token_with};
use parachute_tests::hub::{HubOptions, HubProcess};
use parachute_tests::{http, pid_gone, wait_for};
use serde_json::{Value, json};
use upgrade_support::release::{FeedDoc, Keys};
use upgrade_support::{UpgradeStand, next};

/// `method path` on `port` with `token` and an optional JSON body.
fn call(port: u16, token: &str, method: &str, path: &str, body: Option<Value>) -> http::Response {
    let auth = bearer(token);
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("authorization", auth.as_str())];
    if text.is_some() {
        headers.push(("content-type", "application/json"));
    }
    http::request(port, method, path, &headers, text.as_deref())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Rewrites the hub unit so the hub it runs gets `env` (what a packaged hub gets from a unit
/// drop-in: here the fakes' PATH, the unit overrides, the test feed and key), then restarts
/// it through the manager and waits until it answers.
fn give_the_unit(s: &UpgradeStand, env: &[(String, String)]) {
    let path = s.stand.unit_file();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: String = env
        .iter()
        .map(|(k, v)| format!("Environment=\"{k}={v}\"\n"))
        .collect();
    // After the unit's own `Environment=` lines (the last assignment of a variable wins), so
    // the hub finds the fake `systemctl`/`systemd-run` and never the machine's.
    assert!(text.contains("\nExecStart="), "{text}");
    let text = text.replacen("\nExecStart=", &format!("\n{lines}ExecStart="), 1);
    std::fs::write(&path, text).unwrap();
    let run = s.run(&["restart"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(
        s.health_within(Duration::from_secs(60)).as_deref(),
        Some(s.version.as_str())
    );
    s.stand.clear_calls("systemctl");
    // The hub really runs with them.
    let pid = s.stand.hub_job_pid().expect("the unit's hub runs");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    let path = environ
        .split('\0')
        .filter_map(|kv| kv.strip_prefix("PATH="))
        .next_back()
        .unwrap_or_default();
    assert_eq!(path, s.stand.fakes.path_env(), "the hub's PATH");
}

/// Reads `/api/events` on a thread until the stream ends; the `data` of every event.
fn follow_events(port: u16, token: &str) -> Arc<Mutex<Vec<Value>>> {
    let auth = bearer(token);
    let mut stream = parachute_tests::sse::SseStream::open(
        port,
        "/api/events",
        &[("authorization", auth.as_str())],
        None,
    )
    .expect("GET /api/events");
    assert_eq!(stream.status, 200, "GET /api/events");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        while let Some(event) = stream.next_event() {
            sink.lock().unwrap().push(event.data);
        }
    });
    seen
}

/// The rank of a phase in the forward order (`failed` and friends last).
fn rank(phase: &str) -> usize {
    [
        "pending",
        "downloading",
        "verifying",
        "swapping",
        "restarting",
        "succeeded",
    ]
    .iter()
    .position(|p| *p == phase)
    .unwrap_or(99)
}

#[test]
fn the_api_upgrades_a_unit_run_hub_and_streams_every_phase() {
    let s = UpgradeStand::with_unit();
    let mut env = s.env();
    env.push(("RUST_LOG".into(), "info".into()));
    // The helper pauses after verifying, so the stream shows the finished download for sure.
    env.push(("PARACHUTE_UPGRADE_HOLD".into(), "verifying:3".into()));
    give_the_unit(&s, &env);
    let home = s.stand.home();
    ensure_admin(&home);
    let token = operator_token(&home, s.stand.port);
    let port = s.stand.port;
    let target = s.publish_next();
    let hub_pid = s.stand.hub_job_pid().unwrap();
    let events = follow_events(port, &token);

    let r = call(port, &token, "POST", "/api/hub/upgrade", Some(json!({})));
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted = r.json();
    let op = accepted["operation_id"].as_str().unwrap().to_string();
    assert_eq!(accepted["target_version"], target.as_str());
    assert_eq!(accepted["current_version"], s.version.as_str());
    assert_eq!(accepted["channel"], "latest");
    assert_eq!(accepted["mode"], "in-place");
    assert_eq!(accepted["restart"], "unit");
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // The helper is a transient unit of its own, with its settings passed explicitly.
    let calls = s.stand.calls("systemd-run");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let argv = &calls[0];
    assert_eq!(argv[..3], ["--user", "--collect", "--quiet"]);
    for wanted in [
        format!("--setenv=PARACHUTE_UPDATE_URL={}", s.server.base()),
        format!("--setenv=PARACHUTE_HOME={}", home.display()),
        "--setenv=PARACHUTE_UPGRADE_HOLD=verifying:3".to_string(),
    ] {
        assert!(argv.contains(&wanted), "{wanted} missing: {argv:?}");
    }
    assert_eq!(
        argv[argv.len() - 4..],
        [
            s.binary.display().to_string(),
            "upgrade".into(),
            "--apply".into(),
            op.clone()
        ]
    );

    // Polling the status (the hub is away for a moment while it restarts) sees it through.
    let mut phases: Vec<String> = Vec::new();
    let done = wait_for(Duration::from_secs(180), || {
        let r = http::request(
            port,
            "GET",
            "/api/hub/upgrade/status",
            &[("authorization", &bearer(&token))],
            None,
        )
        .ok()
        .filter(|r| r.status == 200)?;
        let status = r.json();
        let phase = status["phase"].as_str().unwrap().to_string();
        if phases.last() != Some(&phase) {
            phases.push(phase.clone());
        }
        (status["finished_at"].is_string()).then_some(status)
    })
    .unwrap_or_else(|| panic!("the upgrade never ended: {phases:?} {:?}", s.status()));
    assert_eq!(done["phase"], "succeeded", "{done}");
    assert_eq!(done["operation_id"], op.as_str());
    assert_eq!(done["bytes_done"], done["bytes_total"]);
    assert!(phases.contains(&"verifying".to_string()), "{phases:?}");
    assert!(
        phases.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{phases:?}"
    );
    assert_eq!(s.health().as_deref(), Some(target.as_str()));
    assert_eq!(s.restarts(), 1, "{:?}", s.stand.calls("systemctl"));
    assert_ne!(s.stand.hub_job_pid(), Some(hub_pid));

    // The old hub streamed the helper's progress until it was restarted.
    let seen = events.lock().unwrap().clone();
    let progress: Vec<&Value> = seen
        .iter()
        .filter(|e| e["type"] == "hub_upgrade")
        .map(|e| &e["upgrade"])
        .collect();
    assert!(!progress.is_empty(), "no hub_upgrade event: {seen:?}");
    assert!(progress.iter().all(|p| p["operation_id"] == op.as_str()));
    let order: Vec<&str> = progress
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{order:?}"
    );
    let verified = progress
        .iter()
        .find(|p| p["phase"] == "verifying")
        .unwrap_or_else(|| panic!("no verifying event: {order:?}"));
    assert!(verified["bytes_total"].as_u64().unwrap() > 1_000_000);
    assert_eq!(verified["bytes_done"], verified["bytes_total"]);
    assert!(
        seen.iter().any(|e| e["type"] == "stopping"),
        "the stream ended with the restart: {seen:?}"
    );

    // The new hub knows it is current.
    let hub = call(port, &token, "GET", "/api/hub", None).json();
    assert_eq!(hub["version"], target.as_str());
    let r = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"], "up_to_date");
}

/// A hub started by hand (no unit) for `s`: it upgrades `s.binary`, never the suites' binary.
fn hand_started_hub(s: &UpgradeStand, extra: &[(&str, &str)]) -> (HubProcess, String) {
    let home = s.stand.home();
    let mut env: Vec<(String, String)> = vec![
        ("PARACHUTE_UPDATE_URL".into(), s.server.base()),
        ("PARACHUTE_UPDATE_PUBKEY".into(), s.keys.public.clone()),
        (
            "PARACHUTE_UPGRADE_BINARY".into(),
            s.binary.display().to_string(),
        ),
        ("PARACHUTE_UNIT_MANAGER".into(), "none".into()),
        ("PATH".into(), s.stand.fakes.path_env()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let hub = HubProcess::start_with(
        &home,
        HubOptions {
            env,
            ..Default::default()
        },
    );
    ensure_admin(&home);
    let token = operator_token(&home, hub.port);
    (hub, token)
}

/// Publishes a higher version whose artifact is a script (never downloaded by these tests).
fn publish_higher(s: &UpgradeStand) -> String {
    let target = next::bump_minor(&s.version);
    let artifact = s.never_ready_binary(&target);
    s.publish(&target, s.put_artifact(&artifact));
    target
}

/// Waits until the status names a live upgrader; returns its pid.
fn upgrader_pid(port: u16, token: &str) -> u32 {
    wait_for(Duration::from_secs(60), || {
        let status = call(port, token, "GET", "/api/hub/upgrade/status", None).json();
        status["upgrader"]["pid"].as_u64().map(|p| p as u32)
    })
    .expect("the helper checked in")
}

fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    wait_for(Duration::from_secs(10), || pid_gone(pid).then_some(()));
}

#[test]
fn a_second_post_while_one_is_in_flight_is_refused_until_its_lock_expires() {
    let s = UpgradeStand::new();
    let (hub, token) = hand_started_hub(
        &s,
        &[
            ("PARACHUTE_UPGRADE_HOLD", "pending:60"),
            ("PARACHUTE_UPGRADE_LOCK_TTL_SECS", "4"),
        ],
    );
    let port = hub.port;
    publish_higher(&s);

    let first = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(first.status, 202, "{}", first.body);
    let first_op = first.json()["operation_id"].as_str().unwrap().to_string();
    assert_eq!(first.json()["restart"], "manual");
    let first_pid = upgrader_pid(port, &token);

    let second = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(second.status, 409, "{}", second.body);
    let refusal = second.json();
    assert_eq!(refusal["error"], "upgrade_in_flight");
    assert_eq!(refusal["operation_id"], first_op.as_str());
    assert!(refusal["lock_expires_at"].is_string(), "{refusal}");
    let status = call(port, &token, "GET", "/api/hub/upgrade/status", None).json();
    assert_eq!(status["phase"], "pending");
    assert_eq!(status["operation_id"], first_op.as_str());

    // The held upgrader renews nothing: once its lock lapses the next look ends it, and a new
    // upgrade is accepted.
    let expired = wait_for(Duration::from_secs(30), || {
        let status = call(port, &token, "GET", "/api/hub/upgrade/status", None).json();
        (status["phase"] == "failed").then_some(status)
    })
    .expect("the lock expired");
    let reason = expired["reason"].as_str().unwrap();
    assert!(reason.contains("lock expired"), "{reason}");
    assert!(reason.contains("nothing was changed"), "{reason}");
    let third = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(third.status, 202, "{}", third.body);
    let third_op = third.json()["operation_id"].as_str().unwrap().to_string();
    assert_ne!(third_op, first_op);
    let third_pid = upgrader_pid(port, &token);
    for pid in [first_pid, third_pid] {
        kill(pid);
    }
    assert_eq!(
        upgrade_support::release::sha256(&s.binary),
        s.original_sha,
        "nothing was swapped"
    );
    drop(hub);
}

#[test]
fn get_api_hub_shows_the_cached_check_and_the_feed_is_asked_only_on_request() {
    let s = UpgradeStand::new();
    let (hub, token) = hand_started_hub(&s, &[]);
    let port = hub.port;
    let target = publish_higher(&s);

    for _ in 0..3 {
        let info = call(port, &token, "GET", "/api/hub", None).json();
        let update = &info["update"];
        assert_eq!(update["available"], false, "{info}");
        assert_eq!(update["checked_at"], Value::Null);
        assert_eq!(update["channel"], "latest");
    }
    assert!(s.server.asked().is_empty(), "{:?}", s.server.asked());

    let r = call(port, &token, "POST", "/api/hub/upgrade/check", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let update = r.json();
    assert_eq!(update["available"], true, "{update}");
    assert_eq!(update["version"], target.as_str());
    assert_eq!(update["notes"], format!("Release {target}"));
    assert!(update["checked_at"].is_string());
    let asked = s.server.asked();
    assert!(
        asked.iter().all(|p| p.starts_with("/latest.json")),
        "the feed and its signature only, never the binary: {asked:?}"
    );
    assert!(!asked.is_empty());
    let info = call(port, &token, "GET", "/api/hub", None).json();
    assert_eq!(info["update"], update, "GET /api/hub shows the check");
    assert_eq!(s.server.asked(), asked, "and asked nothing more");

    // The running version again: nothing to install.
    s.server.forget_asked();
    let current = s.put_artifact(&s.binary);
    s.publish(&s.version, current);
    let update = call(port, &token, "POST", "/api/hub/upgrade/check", None).json();
    assert_eq!(update["available"], false, "{update}");
    assert_eq!(update["version"], s.version.as_str());

    // A feed signed by someone else is an answer with the reason, and no update.
    let stranger = Keys::generate();
    let doc = FeedDoc {
        channel: "latest".into(),
        version: target.clone(),
        pub_date: s.next_date(),
        entry: s.put_artifact(&s.never_ready_binary(&target)),
    };
    doc.publish(&s.feed_dir(), &stranger);
    let r = call(port, &token, "POST", "/api/hub/upgrade/check", None);
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["error"], "feed_signature_invalid");
    let info = call(port, &token, "GET", "/api/hub", None).json();
    assert_eq!(info["update"]["available"], false);
    assert!(
        info["update"]["error"]
            .as_str()
            .unwrap()
            .contains("not signed by the trusted release key"),
        "{info}"
    );
    drop(hub);
}

#[test]
fn refusals_and_the_bearer_dialect() {
    let s = UpgradeStand::new();
    let (hub, token) = hand_started_hub(&s, &[]);
    let port = hub.port;
    let home = s.stand.home();

    // Before any upgrade.
    let r = call(port, &token, "GET", "/api/hub/upgrade/status", None);
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["error"], "not_found");

    // The bearer, in the original's admin dialect.
    let r = http::request(port, "POST", "/api/hub/upgrade", &[], None).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_token");
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    let auth_only = token_with(
        &home,
        &format!("http://127.0.0.1:{port}"),
        &["parachute:host:auth"],
        Duration::from_secs(600),
    );
    let r = call(port, &auth_only, "POST", "/api/hub/upgrade", None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "insufficient_scope");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    let stranger = token_with(
        &home,
        "https://somewhere.example",
        &["parachute:host:admin"],
        Duration::from_secs(600),
    );
    let r = call(port, &stranger, "GET", "/api/hub/upgrade/status", None);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_token");

    // Bodies, then what the feed says.
    let r = call(
        port,
        &token,
        "POST",
        "/api/hub/upgrade",
        Some(json!({"channel": "nightly"})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_channel");
    assert!(s.server.asked().is_empty());
    let r = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(r.status, 502, "no feed published yet: {}", r.body);
    assert_eq!(r.json()["error"], "feed_unreachable");
    let current = s.put_artifact(&s.binary);
    s.publish(&s.version, current);
    let r = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"], "up_to_date");
    let older = "0.0.1-rc.1".to_string();
    let entry = s.put_artifact(&s.never_ready_binary(&older));
    s.publish(&older, entry);
    let r = call(port, &token, "POST", "/api/hub/upgrade", None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"], "downgrade_refused");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("--allow-downgrade")
    );
    // None of these started anything.
    let r = call(port, &token, "GET", "/api/hub/upgrade/status", None);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(s.status().is_none());
    assert_eq!(upgrade_support::release::sha256(&s.binary), s.original_sha);
    assert_eq!(s.leftovers(), Vec::<String>::new());
    drop(hub);
}

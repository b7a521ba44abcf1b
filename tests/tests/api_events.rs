//! `GET /api/events` of a real `parachute serve`, read by a real client over a socket: events in
//! order, refused without the right bearer, a reader that stops reading told it lagged while the
//! hub keeps answering, and changes made by another process (`parachute expose`) announced.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

mod expose_support;

use std::time::Duration;

use expose_support::Stand;
use parachute_tests::auth::{bearer, token_with};
use parachute_tests::hub::{HubOptions, HubProcess, add_test_module};
use parachute_tests::sse::{SseEvent, SseStream};
use parachute_tests::{TestHome, free_port, http};

/// An open event stream with an admin bearer.
fn events(port: u16, token: &str, recv_buffer: Option<usize>) -> SseStream {
    let auth = bearer(token);
    let stream = SseStream::open(
        port,
        "/api/events",
        &[("Authorization", &auth)],
        recv_buffer,
    )
    .expect("open /api/events");
    assert_eq!(stream.status, 200);
    stream
}

/// A hub with one test module, an admin and an operator token; `env` goes to the hub.
fn hub(env: Vec<(String, String)>) -> (TestHome, HubProcess, String) {
    let home = TestHome::new();
    add_test_module(home.path(), "echo", free_port(), &[]);
    parachute_tests::auth::ensure_admin(home.path());
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            env,
            ..Default::default()
        },
    );
    let token = parachute_tests::auth::operator_token(home.path(), hub.port);
    (home, hub, token)
}

fn post(hub: &HubProcess, token: &str, path: &str) -> http::Response {
    let auth = bearer(token);
    http::request(hub.port, "POST", path, &[("Authorization", &auth)], None).unwrap()
}

fn module_state(event: &SseEvent, short: &str) -> Option<(String, Option<u64>)> {
    (event.event == "module_state" && event.data["state"]["short"] == short).then(|| {
        (
            event.data["state"]["status"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            event.data["state"]["pid"].as_u64(),
        )
    })
}

#[test]
fn events_arrive_in_order_with_their_types() {
    let (_home, hub, token) = hub(Vec::new());
    let mut stream = events(hub.port, &token, None);
    assert_eq!(post(&hub, &token, "/api/modules/echo/stop").status, 200);
    let stopped = stream.until(Duration::from_secs(20), |e| {
        module_state(e, "echo").filter(|(status, _)| status == "stopped")
    });
    assert!(stopped.is_ok(), "no stopped state: {stopped:?}");
    assert_eq!(post(&hub, &token, "/api/modules/echo/start").status, 200);
    let mut seen = Vec::new();
    let running = stream.until(Duration::from_secs(20), |e| {
        seen.push((e.id, e.event.clone(), e.data.clone()));
        module_state(e, "echo").filter(|(status, pid)| status == "running" && pid.is_some())
    });
    assert!(running.is_ok(), "no running state: {seen:?}");
    let ids: Vec<u64> = seen.iter().filter_map(|(id, _, _)| *id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids increase in emission order: {ids:?}"
    );
    // Each event's `event:` field is its JSON `type`.
    for (_, kind, data) in &seen {
        assert_eq!(data["type"], kind.as_str(), "{data}");
    }
}

#[test]
fn a_missing_or_under_scoped_bearer_is_refused() {
    let (home, hub, _token) = hub(Vec::new());
    let none = SseStream::open(hub.port, "/api/events", &[], None).unwrap();
    assert_eq!(none.status, 401);
    let issuer = format!("http://127.0.0.1:{}", hub.port);
    let weak = token_with(
        home.path(),
        &issuer,
        &["vault:read"],
        Duration::from_secs(600),
    );
    let auth = bearer(&weak);
    let under = SseStream::open(hub.port, "/api/events", &[("Authorization", &auth)], None);
    assert_eq!(under.unwrap().status, 403);
}

/// `services.json` listing the test module and `extra` more rows (never started: the hub
/// booted before they appeared), replaced atomically as the CLI writes it.
fn write_rows(home: &TestHome, echo_port: u16, extra: usize) {
    let mut rows = vec![serde_json::json!({
        "name": "echo", "port": echo_port, "paths": ["/echo"], "health": "/health",
        "version": "1.0.0",
        "installDir": home.path().join("mods/echo"),
    })];
    for i in 0..extra {
        rows.push(serde_json::json!({
            "name": format!("padding-module-with-a-long-name-{i:05}"),
            "port": 20000 + i, "paths": [format!("/padding-{i}")], "health": "/health",
            "version": "1.0.0",
        }));
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({"services": rows})).unwrap();
    let tmp = home.path().join("services.json.test-tmp");
    std::fs::write(&tmp, text + "\n").unwrap();
    std::fs::rename(&tmp, home.path().join("services.json")).unwrap();
}

#[test]
fn a_reader_that_stops_reading_is_told_it_lagged_and_the_hub_keeps_answering() {
    let (home, hub, token) = hub(vec![("PARACHUTE_EVENT_CAPACITY".into(), "8".into())]);
    let echo_port = parachute_home::services::read_lenient(&parachute_home::Home::at(home.path()))
        .manifest
        .find("echo")
        .unwrap()
        .port;
    // A tiny receive buffer, and a reader that reads nothing while the hub announces about
    // 5 MB of `services_changed` events (2 000 module names each): far more than the socket
    // and the server's write buffer hold, so the subscription falls behind.
    let mut slow = events(hub.port, &token, Some(2048));
    for round in 0..60 {
        write_rows(&home, echo_port, 2000 + round % 2);
        std::thread::sleep(Duration::from_millis(80));
        if round % 10 == 0 {
            let health = http::get(hub.port, "/health").unwrap();
            assert_eq!(health.status, 200, "the hub answers while a reader lags");
        }
    }
    let lagged = slow.until(Duration::from_secs(60), |e| {
        (e.event == "lagged").then(|| e.data["missed"].as_u64().unwrap_or(0))
    });
    let missed =
        lagged.unwrap_or_else(|seen| panic!("no lagged event after {} events", seen.len()));
    assert!(missed > 0);
    // The stream goes on after the lag.
    write_rows(&home, echo_port, 0);
    let more = slow.until(Duration::from_secs(60), |e| {
        (e.event == "services_changed"
            && e.data["modules"].as_array().is_some_and(|m| m.len() == 1))
        .then_some(())
    });
    assert!(more.is_ok(), "events continue after the lag");
}

#[test]
fn an_exposure_change_made_through_the_cli_arrives_as_an_event() {
    let mut stand = Stand::new(&["tailscale", "systemctl", "loginctl", "journalctl"]);
    stand.with_vault();
    stand.start_hub();
    let port = stand.hub().port;
    let token = parachute_tests::auth::operator_token(stand.root(), port);
    let mut stream = events(port, &token, None);
    stand.cli(&["expose", "tailnet"]).ok();
    let up = stream.until(Duration::from_secs(20), |e| {
        (e.event == "exposure_changed").then(|| e.data["exposure"].clone())
    });
    let exposure = up.unwrap_or_else(|seen| panic!("no exposure event: {seen:?}"));
    assert_eq!(exposure["layer"], "tailnet", "{exposure}");
    assert_eq!(
        exposure["url"],
        format!("https://{}", expose_support::FQDN),
        "{exposure}"
    );
    stand.cli(&["expose", "tailnet", "off"]).ok();
    let down = stream.until(Duration::from_secs(20), |e| {
        (e.event == "exposure_changed").then(|| e.data["exposure"].clone())
    });
    let exposure = down.unwrap_or_else(|seen| panic!("no exposure-off event: {seen:?}"));
    assert!(exposure["layer"].is_null(), "{exposure}");
}

//! The upgrade routes in process: the bearer dialect, request parsing, the answers before
//! any upgrade, and the progress events read from the status file. Whole upgrades (feed,
//! helper, restart) are the black-box `upgrade_api` suite's.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parachute_auth::{HubDb, MintRequest};
use parachute_home::Home;
use parachute_protocol::{HubEvent, UpgradePhase};
use parachute_supervisor::{Supervisor, SupervisorConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::state::AppState;

const PORT: u16 = 1939;

/// A hub state over a temp home with an admin; its feed is `feed` (a loopback URL).
fn hub(feed: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, AppState, Arc<HubDb>) {
    hub_with(feed, extra, |_| {})
}

/// [`hub`], with the configuration changed by `adjust` after it was read.
fn hub_with(
    feed: &str,
    extra: &[(&str, &str)],
    adjust: impl FnOnce(&mut crate::HubConfig),
) -> (tempfile::TempDir, AppState, Arc<HubDb>) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let db = Arc::new(HubDb::open(&home.hub_db()).unwrap());
    db.create_or_reset_admin("admin", "correct horse battery staple")
        .unwrap();
    let log_dir = dir.path().to_path_buf();
    let supervisor = Supervisor::new(
        SupervisorConfig::default(),
        Arc::new(|_: &str| {}),
        Arc::new(move |short: &str| log_dir.join(format!("{short}.log"))),
    );
    let mut vars = vec![
        ("PARACHUTE_UPDATE_URL".to_string(), feed.to_string()),
        ("PARACHUTE_UNIT_MANAGER".to_string(), "none".to_string()),
        ("PATH".to_string(), "/nonexistent".to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut config = crate::HubConfig::from_vars(vars, home).unwrap();
    adjust(&mut config);
    let state = AppState::new(
        &config,
        supervisor,
        db.clone(),
        PORT,
        parachute_protocol::AdminState::Exists,
    );
    (dir, state, db)
}

fn bearer(db: &HubDb, scopes: &[&str]) -> String {
    let sub = db.first_user_id().unwrap().unwrap();
    let token = db
        .mint(&MintRequest::cli(
            &sub,
            scopes.iter().map(|s| s.to_string()).collect(),
            "operator",
            &format!("http://127.0.0.1:{PORT}"),
            Duration::from_secs(600),
        ))
        .unwrap()
        .token;
    format!("Bearer {token}")
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(
    state: &AppState,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, format!("127.0.0.1:{PORT}"));
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    if !body.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let response = crate::routes::router(state.clone())
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    Answer {
        status,
        headers,
        body,
    }
}

/// A loopback server answering 404 to everything; returns its base URL and the paths asked.
async fn empty_feed() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .map(str::to_string);
            if let Some(path) = line.and_then(|l| l.split_whitespace().nth(1).map(str::to_string)) {
                log.lock().unwrap().push(path);
            }
            let _ = sock
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (base, asked)
}

#[tokio::test]
async fn a_missing_or_refused_bearer_is_answered_in_the_admin_dialect() {
    let (_dir, state, db) = hub("http://127.0.0.1:9", &[]);
    let auth_only = bearer(&db, &["parachute:host:auth"]);
    for (method, path) in [
        ("POST", "/api/hub/upgrade"),
        ("GET", "/api/hub/upgrade/status"),
        ("POST", "/api/hub/upgrade/check"),
    ] {
        for auth in [None, Some("Bearer not-a-jwt"), Some("Basic abc")] {
            let a = send(&state, method, path, auth, "").await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            assert_eq!(a.body["error"], "invalid_token", "{path}: {}", a.body);
            let challenge = a.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
                "{challenge}"
            );
            assert!(a.body["error_description"].as_str().unwrap().len() > 10);
        }
        let a = send(&state, method, path, Some(&auth_only), "").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(a.body["error"], "insufficient_scope");
        let challenge = a.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"") && challenge.contains("host:admin"),
            "{challenge}"
        );
        assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_before_the_feed_is_asked() {
    let (feed, asked) = empty_feed().await;
    let (_dir, state, db) = hub(&feed, &[]);
    let admin = bearer(&db, &["parachute:host:admin"]);
    for (body, code) in [
        (r#"{"channel": "beta"}"#, "invalid_channel"),
        (r#"{"channel": " rc"}"#, "invalid_channel"),
        (r#"{"channel": 7}"#, "invalid_channel"),
        (r#"{"allow_downgrade": "yes"}"#, "invalid_request"),
        (r#"["rc"]"#, "invalid_request"),
        ("not json", "invalid_request"),
    ] {
        let a = send(&state, "POST", "/api/hub/upgrade", Some(&admin), body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert_eq!(a.body["error"], code, "{body}");
    }
    assert!(asked.lock().unwrap().is_empty(), "nothing was fetched");
    let a = send(&state, "GET", "/api/hub/upgrade", Some(&admin), "").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = send(
        &state,
        "DELETE",
        "/api/hub/upgrade/status",
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn before_any_upgrade_the_status_is_not_found_and_no_update_is_known() {
    let (feed, asked) = empty_feed().await;
    let (_dir, state, db) = hub(&feed, &[]);
    let admin = bearer(&db, &["parachute:host:admin"]);
    let a = send(&state, "GET", "/api/hub/upgrade/status", Some(&admin), "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(a.body["error"], "not_found");

    // `GET /api/hub` shows what is known without asking the feed.
    let a = send(&state, "GET", "/api/hub", Some(&admin), "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let update = &a.body["update"];
    assert_eq!(update["available"], false, "{update}");
    assert_eq!(update["checked_at"], Value::Null);
    assert!(update["channel"].is_string());
    assert!(asked.lock().unwrap().is_empty());

    // A check asks the feed; its failure is an answer too, and `GET /api/hub` shows it.
    let a = send(&state, "POST", "/api/hub/upgrade/check", Some(&admin), "").await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{}", a.body);
    assert_eq!(a.body["error"], "feed_unreachable", "{}", a.body);
    assert!(a.body["update"]["error"].as_str().unwrap().contains("404"));
    let channel = update["channel"].as_str().unwrap();
    assert_eq!(
        *asked.lock().unwrap(),
        vec![format!("/{channel}.json")],
        "one feed document, no binary"
    );
    let hub = send(&state, "GET", "/api/hub", Some(&admin), "").await.body;
    assert!(hub["update"]["checked_at"].is_string(), "{hub}");
    assert_eq!(hub["update"]["error"], a.body["update"]["error"]);
}

#[tokio::test]
async fn a_hub_that_cannot_build_its_upgrader_says_so_on_every_route() {
    // Configuration built field by field (an embedding app) can hold what the environment
    // reader refuses; the routes then name the problem instead of failing obscurely.
    let (_dir, state, db) = hub_with("http://127.0.0.1:9", &[], |config| {
        config.upgrade.settings.public_key = "not a minisign key".into();
    });
    let admin = bearer(&db, &["parachute:host:admin"]);
    for (method, path) in [
        ("POST", "/api/hub/upgrade"),
        ("GET", "/api/hub/upgrade/status"),
        ("POST", "/api/hub/upgrade/check"),
    ] {
        let a = send(&state, method, path, Some(&admin), "").await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let code = a.body["error"].as_str().unwrap();
        assert!(code == "upgrade_misconfigured", "{path}: {}", a.body);
        let text = a.body["error_description"].as_str().unwrap();
        assert!(text.contains("public key"), "{text}");
    }
}

/// Writes `hub-upgrade-status.json` as an upgrader would.
fn write_status(home: &Home, phase: &str, done: u64, line: &str) {
    let text = serde_json::json!({
        "operation_id": "op1", "phase": phase, "mode": "in-place",
        "current_version": "0.1.0", "target_version": "0.2.0", "channel": "latest",
        "log": ["accepted", line], "started_at": "2026-06-01T10:00:00.000Z",
        "bytes_done": done, "bytes_total": 100, "restart": "unit",
    });
    parachute_home::write_atomic(
        &home.hub_upgrade_status(),
        text.to_string().as_bytes(),
        Some(0o600),
    )
    .unwrap();
}

/// The next `hub_upgrade` event (bounded wait).
async fn next_upgrade(events: &mut crate::Subscription) -> parachute_protocol::HubUpgradeProgress {
    let recv = async {
        loop {
            match events.recv().await.map(|e| e.event) {
                Some(HubEvent::HubUpgrade { upgrade }) => return upgrade,
                Some(_) => {}
                None => panic!("the hub went away"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), recv)
        .await
        .expect("a hub_upgrade event")
}

#[tokio::test]
async fn the_status_file_written_by_anyone_becomes_progress_events() {
    let (_dir, state, _db) = hub("http://127.0.0.1:9", &[]);
    let mut events = state.events().subscribe();
    crate::watch::spawn(state.clone());
    let home = state.home().clone();
    write_status(&home, "downloading", 40, "downloading 0.2.0");
    let seen = next_upgrade(&mut events).await;
    assert_eq!(seen.phase, UpgradePhase::Downloading);
    assert_eq!((seen.bytes_done, seen.bytes_total), (40, 100));
    assert_eq!(seen.message.as_deref(), Some("downloading 0.2.0"));

    // The same content again says nothing; the next change does.
    write_status(&home, "downloading", 40, "downloading 0.2.0");
    write_status(&home, "succeeded", 100, "0.2.0 answers");
    let seen = next_upgrade(&mut events).await;
    assert_eq!(seen.phase, UpgradePhase::Succeeded, "{seen:?}");
    assert_eq!(seen.bytes_done, 100);
}

#[tokio::test]
async fn scheduled_checks_ask_the_feed_by_themselves_and_announce_the_answer() {
    let (feed, asked) = empty_feed().await;
    let (_dir, state, _db) = hub(&feed, &[("PARACHUTE_UPDATE_CHECK_SECS", "1")]);
    let mut events = state.events().subscribe();
    crate::upgrade::spawn_checks(state.clone());
    let update = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(HubEvent::UpdateChecked { update }) = events.recv().await.map(|e| e.event) {
                return update;
            }
        }
    })
    .await
    .expect("an update_checked event");
    assert!(update.checked_at.is_some());
    assert!(update.error.is_some(), "{update:?}");
    assert!(!asked.lock().unwrap().is_empty());
    state.begin_shutdown();
}

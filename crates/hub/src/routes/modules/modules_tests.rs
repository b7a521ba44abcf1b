//! The module routes in process (no socket): what needs a request a real client cannot send
//! reliably, such as a body the hub refuses before reading it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parachute_auth::{HubDb, MintRequest};
use parachute_home::Home;
use parachute_supervisor::{Supervisor, SupervisorConfig};
use serde_json::Value;
use tower::ServiceExt;

use crate::state::AppState;

/// A hub state over a temp home with an admin, plus an admin-scoped bearer for it.
fn hub() -> (tempfile::TempDir, AppState, String) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let db = Arc::new(HubDb::open(&home.hub_db()).unwrap());
    db.create_or_reset_admin("admin", "correct horse battery staple")
        .unwrap();
    let sub = db.first_user_id().unwrap().unwrap();
    let port = 1939;
    let token = db
        .mint(&MintRequest::cli(
            &sub,
            vec!["parachute:host:admin".into()],
            "operator",
            &format!("http://127.0.0.1:{port}"),
            Duration::from_secs(600),
        ))
        .unwrap()
        .token;
    let log_dir = dir.path().to_path_buf();
    let supervisor = Supervisor::new(
        SupervisorConfig::default(),
        Arc::new(|_: &str| {}),
        Arc::new(move |short: &str| log_dir.join(format!("{short}.log"))),
    );
    let config = crate::HubConfig::from_vars(Vec::new(), home).unwrap();
    let state = AppState::new(
        &config,
        supervisor,
        db,
        port,
        parachute_protocol::AdminState::Exists,
    );
    (dir, state, format!("Bearer {token}"))
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = crate::routes::router(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_json() {
    let (_dir, state, bearer) = hub();
    let big = format!("{{\"channel\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    for (method, path) in [
        ("PUT", "/api/modules/channel"),
        ("POST", "/api/modules/vault/install"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:1939")
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        let (status, body) = send(&state, request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body}");
        assert_eq!(body["error"], "request_too_large", "{path}: {body}");
        assert!(body["error_description"].as_str().is_some(), "{body}");
    }
    assert!(state.operations().running_on("vault").is_none());
}

#[tokio::test]
async fn the_bearer_is_checked_before_the_body() {
    let (_dir, state, _) = hub();
    let request = Request::builder()
        .method("PUT")
        .uri("/api/modules/channel")
        .header(header::HOST, "127.0.0.1:1939")
        .body(Body::from("x".repeat(3 * 1024 * 1024)))
        .unwrap();
    let (status, body) = send(&state, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthenticated");
}

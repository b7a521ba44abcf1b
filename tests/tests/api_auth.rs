//! Black-box: who may call the module operations API of a real `parachute serve` — the setup
//! gate, bearer and scope checks per route, and the token checks (signature, expiry,
//! revocation, issuer) — and that refusals are JSON in the API's error shape.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod api_support;

use std::sync::Arc;
use std::time::Duration;

use api_support::{Rig, error_of};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parachute_auth::{FixedClock, HubDb, MintRequest, MintedToken};
use parachute_tests::auth::{ensure_admin, token_with};
use parachute_tests::hub::add_test_module;
use parachute_tests::{free_port, http, wait_for};
use serde_json::{Value, json};

/// Every route that needs `parachute:host:admin`, with the method it takes.
const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/modules/echo/start"),
    ("POST", "/api/modules/echo/stop"),
    ("POST", "/api/modules/echo/restart"),
    ("GET", "/api/modules/echo/logs"),
    ("POST", "/api/modules/vault/install"),
    ("POST", "/api/modules/echo/upgrade"),
    ("POST", "/api/modules/echo/uninstall"),
    ("GET", "/api/modules/operations/x"),
    ("PUT", "/api/modules/channel"),
    ("GET", "/api/hub"),
    ("GET", "/api/settings/hub-origin"),
    ("PUT", "/api/settings/hub-origin"),
];

#[test]
fn setup_gate_then_bearer_and_scope_checks() {
    let rig = Rig::start_with(false, |home, _| {
        add_test_module(home.path(), "echo", free_port(), &[]);
        home.write(
            "mods/echo/package.json",
            r#"{"name": "@acme/echo", "version": "1.0.0"}"#,
        );
    });
    for (method, path) in [("GET", "/api/modules")].iter().chain(ADMIN_ROUTES) {
        let r = http::request(rig.hub.port, method, path, &[], None).unwrap();
        assert_eq!(r.status, 503, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), "setup_required");
    }

    ensure_admin(rig.home.path());
    let admin = token_with(
        rig.home.path(),
        &rig.issuer(),
        &["parachute:host:admin", "parachute:host:auth"],
        Duration::from_secs(600),
    );
    let echo_pid = || {
        let r = rig.call_as(&admin, "GET", "/api/modules?latest=0", None);
        let list = r.json();
        let echo = list["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["short"] == "echo")
            .cloned()
            .unwrap();
        (echo["supervisor_status"] == "running")
            .then(|| echo["pid"].as_u64())
            .flatten()
    };
    let pid = wait_for(Duration::from_secs(30), echo_pid).expect("echo runs");

    let auth_only = token_with(
        rig.home.path(),
        &rig.issuer(),
        &["parachute:host:auth"],
        Duration::from_secs(600),
    );
    let admin_only = token_with(
        rig.home.path(),
        &rig.issuer(),
        &["parachute:host:admin"],
        Duration::from_secs(600),
    );
    let body = json!({"channel": "rc"}).to_string();
    for (method, path) in ADMIN_ROUTES {
        // Each route answers in the original's dialect for it: `/api/hub` as its admin
        // routes (RFC 6750 with a challenge), the module API and the settings route as
        // `unauthenticated` (the settings route adds the RFC 6750 challenge header).
        let invalid_token = *path == "/api/hub";
        let rfc6750 = invalid_token || path.starts_with("/api/settings/");
        let unauthenticated = if invalid_token {
            "invalid_token"
        } else {
            "unauthenticated"
        };
        let r = http::request(rig.hub.port, method, path, &[], Some(&body)).unwrap();
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), unauthenticated);
        assert_eq!(
            r.header("www-authenticate").is_some(),
            rfc6750,
            "{method} {path}"
        );
        let r = rig.call_as("not-a-jwt", method, path, Some(json!({"channel": "rc"})));
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), unauthenticated);
        if rfc6750 {
            let challenge = r.header("www-authenticate").unwrap();
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
                "{challenge}"
            );
        }
        let r = rig.call_as(&auth_only, method, path, Some(json!({"channel": "rc"})));
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), "insufficient_scope");
        assert_eq!(
            r.header("www-authenticate").is_some(),
            rfc6750,
            "{method} {path}"
        );
        if rfc6750 {
            let challenge = r.header("www-authenticate").unwrap();
            assert!(
                challenge.starts_with("Bearer error=\"insufficient_scope\"")
                    && challenge.contains("parachute:host:admin"),
                "{challenge}"
            );
        }
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("parachute:host:admin")
        );
    }
    // The listing needs host:auth, which an admin-only token lacks.
    let r = http::request(rig.hub.port, "GET", "/api/modules", &[], None).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        rig.call_as(&auth_only, "GET", "/api/modules", None).status,
        200
    );
    let r = rig.call_as(&admin_only, "GET", "/api/modules", None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(error_of(&r), "insufficient_scope");

    // No refused request changed anything: the same process runs, nothing was installed and
    // the channel setting was never written.
    assert_eq!(echo_pid(), Some(pid));
    assert!(rig.fakes.calls("bun").is_empty());
    let listed = rig
        .call_as(&admin, "GET", "/api/modules?latest=0", None)
        .json();
    assert_eq!(listed["module_install_channel"], "latest");
}

/// `GET /api/hub` (scope `parachute:host:admin`) with `token`: the status and error code.
fn hub_info_as(rig: &Rig, token: &str) -> (u16, String) {
    let r = rig.call_as(token, "GET", "/api/hub", None);
    (r.status, error_of(&r))
}

/// An admin-scoped token for `issuer`, minted through `db` (whose clock sets `iat`).
fn admin_token(db: &HubDb, sub: &str, issuer: &str, ttl: Duration) -> MintedToken {
    let request = MintRequest::cli(
        sub,
        vec!["parachute:host:admin".to_string()],
        "operator",
        issuer,
        ttl,
    );
    db.mint(&request).unwrap()
}

#[test]
fn tokens_are_checked_for_signature_expiry_revocation_and_issuer() {
    let rig = Rig::start(|_, _| {});
    let sub = ensure_admin(rig.home.path());
    let db = parachute_tests::auth::db(rig.home.path());
    let hour = Duration::from_secs(3600);
    let ok = (200, String::new());
    // `/api/hub` answers in the original's admin dialect (RFC 6750).
    let refused = (401, "invalid_token".to_string());

    // Every loopback form of the hub's origin is accepted.
    for issuer in [
        rig.issuer(),
        format!("http://localhost:{}", rig.hub.port),
        format!("http://[::1]:{}", rig.hub.port),
    ] {
        let token = admin_token(&db, &sub, &issuer, hour).token;
        assert_eq!(hub_info_as(&rig, &token), ok, "{issuer}");
    }

    // A foreign issuer is refused; the exposed origin only while its layer is recorded.
    let foreign = admin_token(&db, &sub, "https://evil.example", hour).token;
    assert_eq!(hub_info_as(&rig, &foreign), refused);
    let exposed = admin_token(&db, &sub, "https://box.tail1234.ts.net", hour).token;
    assert_eq!(hub_info_as(&rig, &exposed), refused, "not exposed yet");
    rig.home.write(
        "expose-state.json",
        &json!({"version": 1, "layer": "tailnet", "mode": "path",
                "canonicalFqdn": "box.tail1234.ts.net", "port": 443, "funnel": false,
                "entries": []})
        .to_string(),
    );
    assert_eq!(hub_info_as(&rig, &exposed), ok, "exposed origin");
    std::fs::remove_file(rig.home.path().join("expose-state.json")).unwrap();
    assert_eq!(hub_info_as(&rig, &exposed), refused, "layer gone");

    // Expired: minted two hours ago for one hour (same keys, a clock in the past).
    let past = std::time::SystemTime::now() - 2 * hour;
    let old_db = HubDb::open_with_clock(
        &rig.home.path().join("hub.db"),
        Arc::new(FixedClock::new(past)),
    )
    .unwrap();
    let expired = admin_token(&old_db, &sub, &rig.issuer(), hour).token;
    assert_eq!(hub_info_as(&rig, &expired), refused, "expired");

    // Revoked: works until its jti is revoked in the registry, then never again.
    let minted = admin_token(&db, &sub, &rig.issuer(), hour);
    assert_eq!(hub_info_as(&rig, &minted.token), ok);
    assert!(db.revoke_token(&minted.jti).unwrap());
    assert_eq!(hub_info_as(&rig, &minted.token), refused, "revoked");

    // Tampered: a claim changed after signing (the signature no longer matches).
    let valid = admin_token(&db, &sub, &rig.issuer(), hour).token;
    let parts: Vec<&str> = valid.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("parachute:host:admin hub:admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(hub_info_as(&rig, &valid), ok);
    assert_eq!(hub_info_as(&rig, &forged), refused, "bad signature");

    // Signed by another hub's key.
    let other_home = parachute_tests::TestHome::new();
    let other_sub = ensure_admin(other_home.path());
    let other_db = parachute_tests::auth::db(other_home.path());
    let stranger = admin_token(&other_db, &other_sub, &rig.issuer(), hour).token;
    assert_eq!(hub_info_as(&rig, &stranger), refused, "unknown key");
}

/// (Oversized bodies are covered in process by the hub crate's own tests: a client still
/// sending a body the hub has already refused may see the connection reset.)
#[test]
fn undecodable_paths_get_json_errors() {
    let rig = Rig::start(|_, _| {});
    let auth = parachute_tests::auth::bearer(&rig.token);
    let headers = [("authorization", auth.as_str())];
    // A module name that is not UTF-8 once percent-decoded.
    for (method, path) in [
        ("GET", "/api/modules/%FF/logs"),
        ("GET", "/api/modules/operations/%FF"),
    ] {
        let r = http::request(rig.hub.port, method, path, &headers, None).unwrap();
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(error_of(&r), "invalid_request", "{path}: {}", r.body);
    }
}

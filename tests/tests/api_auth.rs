//! Black-box: who may call the module operations API of a real `parachute serve` — the setup
//! gate, bearer and scope checks per route, and the token checks (signature, expiry,
//! revocation, issuer) — and that refusals are JSON in the API's error shape.

mod api_support;

use std::sync::Arc;
use std::time::Duration;

use api_support::{Rig, error_of};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parachute_auth::{FixedClock, HubDb, MintRequest, MintedToken};
use parachute_tests::auth::{ensure_admin, token_with};
use parachute_tests::http;
use serde_json::{Value, json};

#[test]
fn setup_gate_then_bearer_and_scope_checks() {
    let rig = Rig::start_with(false, |_, _| {});
    for (method, path) in [
        ("GET", "/api/modules"),
        ("POST", "/api/modules/vault/start"),
        ("GET", "/api/hub"),
    ] {
        let r = http::request(rig.hub.port, method, path, &[], None).unwrap();
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert_eq!(error_of(&r), "setup_required");
    }

    ensure_admin(rig.home.path());
    let none = http::request(rig.hub.port, "POST", "/api/modules/vault/start", &[], None).unwrap();
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(error_of(&none), "unauthenticated");
    let bad = rig.call_as("not-a-jwt", "GET", "/api/modules", None);
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert_eq!(error_of(&bad), "unauthenticated");

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
    for (method, path) in [
        ("POST", "/api/modules/vault/start"),
        ("POST", "/api/modules/vault/install"),
        ("GET", "/api/modules/vault/logs"),
        ("GET", "/api/modules/operations/x"),
        ("PUT", "/api/modules/channel"),
        ("GET", "/api/hub"),
    ] {
        let r = rig.call_as(&auth_only, method, path, Some(json!({"channel": "rc"})));
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(error_of(&r), "insufficient_scope");
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("parachute:host:admin")
        );
    }
    // The listing needs host:auth, which an admin-only token lacks.
    assert_eq!(
        rig.call_as(&auth_only, "GET", "/api/modules", None).status,
        200
    );
    let r = rig.call_as(&admin_only, "GET", "/api/modules", None);
    assert_eq!(r.status, 403, "{}", r.body);
    // Nothing was installed or run by any refused request.
    assert!(rig.fakes.calls("bun").is_empty());
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
    let refused = (401, "unauthenticated".to_string());

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

//! Black-box: who may call the module operations API of a real `parachute serve` — the setup
//! gate, bearer and scope checks per route, and the token checks (signature, expiry,
//! revocation, issuer) — and that refusals are JSON in the API's error shape.

mod api_support;

use std::time::Duration;

use api_support::{Rig, error_of};
use parachute_tests::auth::{ensure_admin, token_with};
use parachute_tests::http;
use serde_json::json;

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

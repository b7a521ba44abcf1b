//! Black-box: the documents modules verify hub tokens with, exactly as the original's token
//! library (`@openparachute/scope-guard` 0.4.0, `packages/scope-guard/src` at 0.6.3-rc.2)
//! reads them — fields, JSON types and headers of `/.well-known/jwks.json` and
//! `/.well-known/parachute-revocation.json`, before and after a revocation — and a protected
//! module (`test-module --require-bearer`, which checks tokens the way that library does)
//! accepting a hub token until it is revoked.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::time::Duration;

use parachute_tests::auth::{bearer, ensure_admin, token_with};
use parachute_tests::hub::{HubOptions, HubProcess, add_test_module};
use parachute_tests::{TestHome, free_port, http, wait_for};
use serde_json::Value;

/// The CORS headers the original sends on both documents.
fn assert_cors(r: &http::Response, what: &str) {
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}");
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, OPTIONS"),
        "{what}"
    );
}

/// The member names of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// An ISO-8601 UTC time with milliseconds, as JavaScript's `toISOString()` writes it.
fn assert_iso_millis(text: &str) {
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"));
    assert_eq!(parsed.offset().local_minus_utc(), 0, "{text}");
    assert!(
        text.len() == 24 && text.ends_with('Z') && text.as_bytes()[19] == b'.',
        "not YYYY-MM-DDTHH:MM:SS.mmmZ: {text}"
    );
}

#[test]
fn jwks_has_the_originals_fields_types_and_headers() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    // Public before setup too: modules need it whatever the accounts.
    let r = http::get(hub.port, "/.well-known/jwks.json").unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_cors(&r, "jwks");
    assert_eq!(
        r.header("cache-control"),
        None,
        "the original sets none; the library caches keys itself"
    );
    let doc = r.json();
    assert_eq!(keys(&doc), ["keys"]);
    let jwks = doc["keys"].as_array().unwrap();
    assert_eq!(jwks.len(), 1);
    for key in jwks {
        assert_eq!(keys(key), ["alg", "e", "kid", "kty", "n", "use"], "{key}");
        assert!(
            key.as_object().unwrap().values().all(Value::is_string),
            "{key}"
        );
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["e"], "AQAB");
        // base64url without padding, 2048-bit modulus.
        let n = key["n"].as_str().unwrap();
        assert!(!n.contains(['=', '+', '/']), "{n}");
        assert_eq!(n.len(), 342, "{n}");
    }
    // Preflight and a HEAD answer like the original's handler.
    let r = http::request(hub.port, "OPTIONS", "/.well-known/jwks.json", &[], None).unwrap();
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_cors(&r, "jwks preflight");
    let r = http::request(hub.port, "HEAD", "/.well-known/jwks.json", &[], None).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn revocation_list_has_the_originals_fields_types_and_headers_before_and_after_a_revocation() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let issuer = format!("http://127.0.0.1:{}", hub.port);
    let check = |what: &str| -> Vec<String> {
        let r = http::get(hub.port, "/.well-known/parachute-revocation.json").unwrap();
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=60"),
            "{what}"
        );
        assert_cors(&r, what);
        let doc = r.json();
        assert_eq!(keys(&doc), ["generated_at", "jtis"], "{what}: {doc}");
        assert_iso_millis(
            doc["generated_at"]
                .as_str()
                .expect("generated_at is a string"),
        );
        let jtis = doc["jtis"].as_array().expect("jtis is an array");
        assert!(jtis.iter().all(Value::is_string), "{what}: {doc}");
        jtis.iter()
            .map(|j| j.as_str().unwrap().to_string())
            .collect()
    };
    assert!(check("fresh hub").is_empty());

    ensure_admin(home.path());
    let db = parachute_tests::auth::db(home.path());
    let hour = Duration::from_secs(3600);
    let keep = db
        .mint(&parachute_auth::MintRequest::cli(
            "u",
            vec!["vault:default:read".into()],
            "vault.default",
            &issuer,
            hour,
        ))
        .unwrap();
    let revoked = db
        .mint(&parachute_auth::MintRequest::cli(
            "u",
            vec!["vault:default:read".into()],
            "vault.default",
            &issuer,
            hour,
        ))
        .unwrap();
    assert!(db.revoke_token(&revoked.jti).unwrap());
    let listed = check("after a revocation");
    assert_eq!(listed, std::slice::from_ref(&revoked.jti));
    assert!(!listed.contains(&keep.jti));

    // A revoked token that has expired falls off the list (every consumer checks exp itself).
    let past = std::time::SystemTime::now() - 2 * hour;
    let old_db = parachute_auth::HubDb::open_with_clock(
        &home.path().join("hub.db"),
        std::sync::Arc::new(parachute_auth::FixedClock::new(past)),
    )
    .unwrap();
    let expired = old_db
        .mint(&parachute_auth::MintRequest::cli(
            "u",
            vec!["vault:default:read".into()],
            "vault.default",
            &issuer,
            hour,
        ))
        .unwrap();
    assert!(db.revoke_token(&expired.jti).unwrap());
    assert_eq!(
        check("with an expired revocation"),
        std::slice::from_ref(&revoked.jti)
    );

    // Preflight, and other methods refused in the original's words.
    let path = "/.well-known/parachute-revocation.json";
    let r = http::request(hub.port, "OPTIONS", path, &[], None).unwrap();
    assert_eq!(r.status, 204);
    assert_cors(&r, "revocation preflight");
    let r = http::request(hub.port, "POST", path, &[], Some("{}")).unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.json(), serde_json::json!({"error": "method_not_allowed"}));
    assert_cors(&r, "revocation 405");
}

#[test]
fn a_protected_module_accepts_hub_tokens_until_they_are_revoked() {
    let home = TestHome::new();
    let module_port = free_port();
    let hub_port = free_port();
    let origin = format!("http://127.0.0.1:{hub_port}");
    add_test_module(home.path(), "guarded", module_port, &["--require-bearer"]);
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            port: Some(hub_port),
            // The module validates `iss` against the origin it is told.
            env: vec![("PARACHUTE_HUB_ORIGIN".into(), origin.clone())],
            ..Default::default()
        },
    );
    let up = wait_for(Duration::from_secs(30), || {
        http::get(module_port, "/health")
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(
        up.is_some(),
        "module never answered:\n{}",
        hub.output_text()
    );
    let call = |token: &str| {
        let auth = bearer(token);
        http::request(
            module_port,
            "GET",
            "/notes",
            &[("authorization", &auth)],
            None,
        )
        .unwrap()
    };
    let r = http::get(module_port, "/notes").unwrap();
    assert_eq!(r.status, 401);

    let token = token_with(
        home.path(),
        &origin,
        &["vault:default:read"],
        Duration::from_secs(600),
    );
    let r = call(&token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["claims"]["iss"], origin.as_str());

    // Another issuer is refused by the module even though the signature is the hub's.
    let foreign = token_with(
        home.path(),
        "https://elsewhere.example",
        &["vault:default:read"],
        Duration::from_secs(600),
    );
    let r = call(&foreign);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["code"], "issuer");

    // Revoked in the registry: the next fetch of the list refuses it.
    let jti = parachute_tests::auth::claims(&token)["jti"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        parachute_tests::auth::db(home.path())
            .revoke_token(&jti)
            .unwrap()
    );
    let r = call(&token);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["code"], "revoked", "{}", r.body);
}

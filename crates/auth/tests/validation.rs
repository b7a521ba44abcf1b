//! Minting and validating tokens: the round trip, every refusal, key rotation, concurrency,
//! and an independent JWT library checking our tokens against our JWKS.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use parachute_auth::tokens::MINT_DEFAULT_TTL;
use parachute_auth::{
    AuthFailure, CreatedVia, HubDb, MintRequest, MintedToken, TokenFilter, ValidationRequest,
    compute_kid, infer_audience, parse_bearer,
};

fn mint_vault_read(db: &HubDb, ttl: Duration) -> MintedToken {
    db.mint(&MintRequest::cli(
        FIXTURE_ADMIN_ID,
        vec![
            "vault:default:read".to_owned(),
            "vault:default:write".to_owned(),
        ],
        "vault.default",
        FIXTURE_ISSUER,
        ttl,
    ))
    .expect("mint")
}

/// `token` with one character in the middle of its signature changed.
fn tamper_signature(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut sig: Vec<u8> = parts[2].clone().into_bytes();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == b'A' { b'B' } else { b'A' };
    parts[2] = String::from_utf8(sig).unwrap();
    parts.join(".")
}

fn expect_failure(db: &HubDb, token: &str, req: &ValidationRequest) -> AuthFailure {
    let failure = db.validate(token, req).expect_err("token must be refused");
    if matches!(failure, AuthFailure::InsufficientScope { .. }) {
        assert_eq!(
            (failure.status(), failure.error_code()),
            (403, "insufficient_scope")
        );
    } else {
        assert_eq!(
            (failure.status(), failure.error_code()),
            (401, "unauthenticated"),
            "{failure:?}"
        );
    }
    assert!(!failure.description().is_empty());
    failure
}

#[test]
fn mint_then_validate_round_trip() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let minted = mint_vault_read(&db, MINT_DEFAULT_TTL);
    let claims = db
        .validate(&minted.token, &request(&db, Some("vault:default:write")))
        .expect("valid");
    assert_eq!(claims, minted.claims);
    assert_eq!(claims.jti.as_deref(), Some(minted.jti.as_str()));
    assert_eq!(segment(&minted.token, 0)["kid"], FIXTURE_KID);
    assert!(!segment(&minted.token, 0).contains_key("typ"));

    // Any issuer the hub is known by works, loopback ones included.
    let mut req = request(&db, None);
    req.accepted_issuers = parachute_auth::known_issuers(1939, Some(FIXTURE_ISSUER), None, None);
    db.validate(&minted.token, &req)
        .expect("valid via hub_origin setting");

    // Audience is only checked when asked for.
    let req = ValidationRequest {
        expected_audience: Some("vault.default".into()),
        ..request(&db, None)
    };
    db.validate(&minted.token, &req).expect("audience matches");
    let req = ValidationRequest {
        expected_audience: Some("vault.other".into()),
        ..request(&db, None)
    };
    assert!(matches!(
        expect_failure(&db, &minted.token, &req),
        AuthFailure::WrongAudience { .. }
    ));
}

#[test]
fn every_refusal_cause() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let minted = mint_vault_read(&db, Duration::from_secs(3600));
    let req = request(&db, Some("vault:default:read"));

    // Bad signature: change one character in the middle of the signature.
    let tampered = tamper_signature(&minted.token);
    assert_eq!(
        expect_failure(&db, &tampered, &req),
        AuthFailure::BadSignature
    );

    // Bad signature: payload changed (claims a wider scope) under the old signature.
    let mut payload = segment(&minted.token, 1);
    payload.insert("scope".into(), "hub:admin".into());
    let forged = format!(
        "{}.{}.{}",
        minted.token.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()),
        minted.token.split('.').nth(2).unwrap()
    );
    assert_eq!(
        expect_failure(&db, &forged, &req),
        AuthFailure::BadSignature
    );

    // Unknown kid.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"no-such-key"}"#);
    let rest = minted.token.split_once('.').unwrap().1;
    let unknown_kid = format!("{header}.{rest}");
    assert_eq!(
        expect_failure(&db, &unknown_kid, &req),
        AuthFailure::UnknownKey {
            kid: "no-such-key".into()
        }
    );

    // Not RS256 / no kid / garbage.
    let hs = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"x"}"#)
    );
    assert!(matches!(
        expect_failure(&db, &hs, &req),
        AuthFailure::Malformed(_)
    ));
    let no_kid = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#));
    assert!(matches!(
        expect_failure(&db, &no_kid, &req),
        AuthFailure::Malformed(_)
    ));
    assert!(matches!(
        expect_failure(&db, "not-a-jwt", &req),
        AuthFailure::Malformed(_)
    ));

    // Unknown issuer: only the loopback issuers are accepted.
    let loopback_only = ValidationRequest {
        accepted_issuers: parachute_auth::known_issuers(1939, None, None, None),
        ..req.clone()
    };
    assert_eq!(
        expect_failure(&db, &minted.token, &loopback_only),
        AuthFailure::UnknownIssuer {
            iss: FIXTURE_ISSUER.into()
        }
    );

    // Missing sub.
    let no_sub = db
        .mint(&MintRequest::cli(
            "",
            vec!["vault:default:read".into()],
            "vault.default",
            FIXTURE_ISSUER,
            MINT_DEFAULT_TTL,
        ))
        .unwrap();
    assert_eq!(
        expect_failure(&db, &no_sub.token, &req),
        AuthFailure::NoSubject
    );

    // Insufficient scope (403).
    let admin_req = request(&db, Some("parachute:host:admin"));
    assert_eq!(
        expect_failure(&db, &minted.token, &admin_req),
        AuthFailure::InsufficientScope {
            required: "parachute:host:admin".into()
        }
    );
    // A scope that merely starts like the required one does not count.
    let prefix_req = request(&db, Some("vault:default"));
    assert!(matches!(
        expect_failure(&db, &minted.token, &prefix_req),
        AuthFailure::InsufficientScope { .. }
    ));

    // Revoked jti.
    assert!(db.revoke_token(&minted.jti).unwrap());
    assert!(
        !db.revoke_token(&minted.jti).unwrap(),
        "second revocation is a no-op"
    );
    assert_eq!(
        expect_failure(&db, &minted.token, &req),
        AuthFailure::Revoked {
            jti: minted.jti.clone()
        }
    );
    assert_eq!(db.active_revocations().unwrap(), vec![minted.jti.clone()]);

    // Expired: move past exp (and check the boundary is exclusive).
    let fresh = mint_vault_read(&db, Duration::from_secs(3600));
    fx.clock.advance(Duration::from_secs(3599));
    db.validate(&fresh.token, &request(&db, None))
        .expect("still valid 1 s before exp");
    fx.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        expect_failure(&db, &fresh.token, &request(&db, None)),
        AuthFailure::Expired { .. }
    ));
}

/// When a token fails several checks, the first in the documented order is reported: a
/// revoked or foreign token is a 401 even if it also lacks the scope (never a 403 that would
/// confirm it is otherwise good), and a forged signature hides everything behind it.
#[test]
fn refusals_follow_the_documented_order() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let admin_req = request(&db, Some("parachute:host:admin"));
    let loopback_only = ValidationRequest {
        accepted_issuers: parachute_auth::known_issuers(1939, None, None, None),
        ..admin_req.clone()
    };

    // Revoked and lacking the scope: revoked.
    let revoked = mint_vault_read(&db, Duration::from_secs(3600));
    db.revoke_token(&revoked.jti).unwrap();
    assert!(matches!(
        expect_failure(&db, &revoked.token, &admin_req),
        AuthFailure::Revoked { .. }
    ));
    // Foreign issuer, revoked, lacking the scope: the issuer.
    assert!(matches!(
        expect_failure(&db, &revoked.token, &loopback_only),
        AuthFailure::UnknownIssuer { .. }
    ));
    // No subject and lacking the scope: the subject.
    let no_sub = db
        .mint(&MintRequest::cli(
            "",
            vec!["vault:default:read".into()],
            "vault.default",
            FIXTURE_ISSUER,
            MINT_DEFAULT_TTL,
        ))
        .unwrap();
    assert_eq!(
        expect_failure(&db, &no_sub.token, &admin_req),
        AuthFailure::NoSubject
    );

    // Expired, foreign and revoked: expired.
    let short = mint_vault_read(&db, Duration::from_secs(60));
    db.revoke_token(&short.jti).unwrap();
    fx.clock.advance(Duration::from_secs(61));
    let expired_req = request(&db, Some("parachute:host:admin"));
    let expired_loopback = ValidationRequest {
        accepted_issuers: parachute_auth::known_issuers(1939, None, None, None),
        ..expired_req.clone()
    };
    assert!(matches!(
        expect_failure(&db, &short.token, &expired_loopback),
        AuthFailure::Expired { .. }
    ));
    // ... and with a broken signature on top: the signature.
    assert_eq!(
        expect_failure(&db, &tamper_signature(&short.token), &expired_loopback),
        AuthFailure::BadSignature
    );
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(parse_bearer(Some("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
    assert_eq!(parse_bearer(Some("Bearer   abc  ")), Ok("abc"));
    assert_eq!(parse_bearer(None), Err(AuthFailure::MissingBearer));
    assert_eq!(
        parse_bearer(Some("bearer abc")),
        Err(AuthFailure::MissingBearer)
    );
    assert_eq!(
        parse_bearer(Some("Basic abc")),
        Err(AuthFailure::MissingBearer)
    );
    assert_eq!(parse_bearer(Some("Bearer ")), Err(AuthFailure::EmptyBearer));
    assert_eq!(
        parse_bearer(Some("Bearer    ")),
        Err(AuthFailure::EmptyBearer)
    );
    for f in [AuthFailure::MissingBearer, AuthFailure::EmptyBearer] {
        assert_eq!((f.status(), f.error_code()), (401, "unauthenticated"));
    }
}

#[test]
fn token_registry_lists_and_filters() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    // The fixture holds 3 operator mints and 1 CLI mint.
    assert_eq!(db.list_tokens(&TokenFilter::default()).unwrap().len(), 4);
    let minted = mint_vault_read(&db, MINT_DEFAULT_TTL);
    let all = db.list_tokens(&TokenFilter::default()).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].jti, minted.jti, "newest first");
    let cli = TokenFilter {
        created_via: Some(CreatedVia::CliMint),
        ..Default::default()
    };
    assert_eq!(db.list_tokens(&cli).unwrap().len(), 2);
    let operator = TokenFilter {
        subject: Some("operator".into()),
        ..Default::default()
    };
    assert_eq!(db.list_tokens(&operator).unwrap().len(), 3);
    db.revoke_token(&minted.jti).unwrap();
    let revoked = TokenFilter {
        revoked: Some(true),
        ..Default::default()
    };
    let rows = db.list_tokens(&revoked).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .revoked_at
            .as_deref()
            .is_some_and(|r| r.ends_with('Z'))
    );
    let unrevoked = TokenFilter {
        revoked: Some(false),
        ..Default::default()
    };
    assert_eq!(db.list_tokens(&unrevoked).unwrap().len(), 4);
}

#[test]
fn audience_inference_and_operator_only_scopes() {
    assert_eq!(infer_audience(&["vault:default:read"]), "vault.default");
    assert_eq!(
        infer_audience(&["scribe:transcribe", "vault:work:write"]),
        "vault.work"
    );
    assert_eq!(infer_audience(&["scribe:transcribe"]), "scribe");
    assert_eq!(infer_audience(&["vault:read"]), "vault");
    assert_eq!(infer_audience(&["openid"]), "hub");
    assert!(parachute_auth::is_operator_only_scope(
        "parachute:host:auth"
    ));
    assert!(!parachute_auth::is_operator_only_scope(
        "vault:default:admin"
    ));
}

#[test]
fn rotated_key_verifies_for_24_hours_only() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let before = mint_vault_read(&db, MINT_DEFAULT_TTL);

    let new_key = db.rotate_key().expect("rotate");
    assert_ne!(new_key.kid, FIXTURE_KID);
    assert_eq!(compute_kid(&new_key.public_key_pem), new_key.kid);
    assert!(
        new_key
            .public_key_pem
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert_eq!(db.active_key().unwrap().kid, new_key.kid);

    let after = mint_vault_read(&db, MINT_DEFAULT_TTL);
    assert_eq!(segment(&after.token, 0)["kid"], new_key.kid.as_str());
    let kids = |db: &HubDb| -> Vec<String> {
        db.jwks().unwrap()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kids(&db), vec![new_key.kid.clone(), FIXTURE_KID.to_owned()]);
    db.validate(&before.token, &request(&db, None))
        .expect("old key still verifies");

    fx.clock.advance(Duration::from_secs(23 * 3600));
    db.validate(&before.token, &request(&db, None))
        .expect("23 h after retirement");
    assert_eq!(kids(&db).len(), 2);

    fx.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(
        db.validate(&before.token, &request(&db, None)).unwrap_err(),
        AuthFailure::UnknownKey {
            kid: FIXTURE_KID.into()
        }
    );
    assert_eq!(kids(&db), vec![new_key.kid.clone()]);
    db.validate(&after.token, &request(&db, None))
        .expect("new key verifies");
    // The retired row stays for the record.
    let retired: Option<String> = rusqlite::Connection::open(&fx.path)
        .unwrap()
        .query_row(
            "SELECT retired_at FROM signing_keys WHERE kid = ?1",
            [FIXTURE_KID],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(retired.as_deref(), Some("2026-11-28T00:00:00.000Z"));
}

#[test]
fn concurrent_handles_share_one_file() {
    let fx = FixtureDb::copy();
    let a = Arc::new(fx.open());
    let b = Arc::new(fx.open());
    let threads: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .map(|db| {
            std::thread::spawn(move || {
                let mut jtis = Vec::new();
                for _ in 0..10 {
                    let minted = mint_vault_read(&db, MINT_DEFAULT_TTL);
                    db.validate(&minted.token, &request(&db, Some("vault:default:read")))
                        .expect("valid");
                    jtis.push(minted.jti);
                }
                jtis
            })
        })
        .collect();
    let mut jtis: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 40);
    // Each handle sees every row, including the other's.
    assert_eq!(a.list_tokens(&TokenFilter::default()).unwrap().len(), 44);
    assert_eq!(b.list_tokens(&TokenFilter::default()).unwrap().len(), 44);
    // A revocation through one handle is seen by the other.
    assert!(a.revoke_token(&jtis[0]).unwrap());
    assert!(
        b.token_record(&jtis[0])
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

#[test]
fn concurrent_first_open_and_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || HubDb::open(&path).expect("concurrent open"))
        })
        .collect();
    let dbs: Vec<Arc<HubDb>> = handles
        .into_iter()
        .map(|h| Arc::new(h.join().unwrap()))
        .collect();
    let count: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 11, "each migration recorded once");

    // Two handles racing to create the first key agree on one.
    let racers: Vec<_> = dbs[..2]
        .iter()
        .cloned()
        .map(|db| std::thread::spawn(move || db.active_key().expect("active key").kid))
        .collect();
    let kids: Vec<String> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(kids[0], kids[1]);
    let keys: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM signing_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 1);

    // And that fresh key signs tokens an independent JWT library accepts via our JWKS.
    independent_library_verifies(&dbs[2]);
}

/// jwt-simple (independent of jsonwebtoken and of our code) verifies a token we minted, using
/// only the `n`/`e` our JWKS publishes.
fn independent_library_verifies(db: &HubDb) {
    use jwt_simple::prelude::*;

    let minted = db
        .mint(&MintRequest::cli(
            "user-1",
            vec!["vault:default:read".to_owned()],
            "vault.default",
            "http://127.0.0.1:1939",
            std::time::Duration::from_secs(600),
        ))
        .unwrap();
    let jwks = db.jwks().unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["alg"].as_str(),
            jwk["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256, "2048-bit modulus");
    let key = RS256PublicKey::from_components(&n, &e).expect("jwks key");
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from_strings(&["http://127.0.0.1:1939"])),
        allowed_audiences: Some(HashSet::from_strings(&["vault.default"])),
        required_key_id: Some(jwk["kid"].as_str().unwrap().to_owned()),
        ..Default::default()
    };
    let claims = key
        .verify_token::<NoCustomClaims>(&minted.token, Some(options.clone()))
        .expect("jwt-simple verifies our token");
    assert_eq!(claims.subject.as_deref(), Some("user-1"));
    assert_eq!(claims.jwt_id.as_deref(), Some(minted.jti.as_str()));

    // A tampered token fails the same library.
    let mut tampered = minted.token.clone().into_bytes();
    let mid = minted.token.rfind('.').unwrap() + 20;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(
        key.verify_token::<NoCustomClaims>(&tampered, Some(options))
            .is_err()
    );
}

#[test]
fn independent_library_verifies_the_fixture_tokens_with_our_jwks() {
    use jwt_simple::prelude::*;

    let fx = FixtureDb::copy();
    let db = fx.open();
    let jwks = db.jwks().unwrap();
    let n = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    let e = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["e"].as_str().unwrap())
        .unwrap();
    let key = RS256PublicKey::from_components(&n, &e).unwrap();
    let now = parachute_auth::clock::unix_seconds(db.now());
    let options = VerificationOptions {
        artificial_time: Some(UnixTimeStamp::from_secs(u64::try_from(now).unwrap())),
        allowed_issuers: Some(HashSet::from_strings(&[FIXTURE_ISSUER])),
        ..Default::default()
    };
    for name in ["operator.token", "minted-vault-default-read.jwt"] {
        key.verify_token::<NoCustomClaims>(fixture_text(name).trim(), Some(options.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // And a token we mint with the fixture's key.
    let minted = mint_vault_read(&db, MINT_DEFAULT_TTL);
    key.verify_token::<NoCustomClaims>(&minted.token, Some(options))
        .expect("ours verifies");
}

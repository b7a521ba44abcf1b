use std::sync::Arc;

use super::*;
use crate::FixedClock;
use crate::test_support::{approved_client, db_with_users, row_strings};

const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Setup {
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
    db: HubDb,
    owner: String,
    friend: String,
    client: String,
}

fn setup() -> Setup {
    let clock = Arc::new(FixedClock::at("2026-12-02T02:25:30.061Z"));
    let (dir, db, owner, friend) = db_with_users(clock.clone());
    let client = approved_client(&db, "bar mcp client", REDIRECT);
    Setup {
        clock,
        _dir: dir,
        db,
        owner,
        friend,
        client,
    }
}

fn request(s: &Setup, user: &str, scopes: &[&str]) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: s.client.clone(),
        user_id: user.to_owned(),
        redirect_uri: REDIRECT.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        code_challenge: CHALLENGE.to_owned(),
        code_challenge_method: "S256".to_owned(),
    }
}

#[test]
fn issued_code_has_the_original_row_shape_and_records_the_grant() {
    let s = setup();
    let code =
        s.db.issue_authorization_code(&request(
            &s,
            &s.owner,
            &["vault:default:read", "vault:default:write"],
        ))
        .unwrap();
    assert_eq!(code.code.len(), 43);
    assert_eq!(
        row_strings(&s.db, "SELECT * FROM auth_codes"),
        vec![vec![
            code.code.clone(),
            s.client.clone(),
            s.owner.clone(),
            REDIRECT.into(),
            "vault:default:read vault:default:write".into(),
            CHALLENGE.into(),
            "S256".into(),
            "2026-12-02T02:26:30.061Z".into(),
            "NULL".into(),
            "2026-12-02T02:25:30.061Z".into(),
        ]]
    );
    assert!(
        s.db.is_covered_by_grant(&s.owner, &s.client, &["vault:default:write"])
            .unwrap()
    );
    assert_eq!(s.db.auth_code(&code.code).unwrap(), Some(code));
}

#[test]
fn redemption_is_one_use_and_replay_is_reported() {
    let s = setup();
    let code =
        s.db.issue_authorization_code(&request(&s, &s.owner, &["vault:default:read"]))
            .unwrap();
    s.clock.advance(Duration::from_millis(1497));
    let Redemption::Redeemed(first) =
        s.db.redeem_auth_code(&code.code, &s.client, REDIRECT, VERIFIER)
            .unwrap()
    else {
        panic!("first redemption")
    };
    assert_eq!(first.used_at.as_deref(), Some("2026-12-02T02:25:31.558Z"));
    let again =
        s.db.redeem_auth_code(&code.code, &s.client, REDIRECT, VERIFIER)
            .unwrap();
    assert!(matches!(again, Redemption::Replayed(ref c) if c.code == code.code));
    // Still recognised as a replay after the code's expiry.
    s.clock.advance(AUTH_CODE_TTL * 2);
    assert!(matches!(
        s.db.redeem_auth_code(&code.code, &s.client, REDIRECT, "anything")
            .unwrap(),
        Redemption::Replayed(_)
    ));
}

fn oauth(err: AuthError) -> OAuthError {
    match err {
        AuthError::OAuth(e) => e,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn redemption_refusals() {
    let s = setup();
    let other = approved_client(&s.db, "other", REDIRECT);
    let code =
        s.db.issue_authorization_code(&request(&s, &s.owner, &["vault:default:read"]))
            .unwrap();
    let redeem = |code: &str, client: &str, redirect: &str, verifier: &str| {
        oauth(
            s.db.redeem_auth_code(code, client, redirect, verifier)
                .unwrap_err(),
        )
    };
    assert_eq!(
        redeem("nope", &s.client, REDIRECT, VERIFIER),
        OAuthError::CodeNotFound
    );
    assert_eq!(
        redeem(&code.code, &other, REDIRECT, VERIFIER),
        OAuthError::CodeNotFound
    );
    assert_eq!(
        redeem(
            &code.code,
            &s.client,
            "http://127.0.0.1:33418/other",
            VERIFIER
        ),
        OAuthError::CodeRedirectMismatch
    );
    assert_eq!(
        redeem(&code.code, &s.client, REDIRECT, "wrong-verifier"),
        OAuthError::CodeVerifierMismatch
    );
    // A plain-method verifier (the challenge itself) does not pass S256.
    assert_eq!(
        redeem(&code.code, &s.client, REDIRECT, CHALLENGE),
        OAuthError::CodeVerifierMismatch
    );
    s.clock.advance(AUTH_CODE_TTL);
    assert!(
        matches!(
            s.db.redeem_auth_code(&code.code, &s.client, REDIRECT, VERIFIER),
            Ok(Redemption::Redeemed(_))
        ),
        "still valid at exactly its expiry"
    );

    let late =
        s.db.issue_authorization_code(&request(&s, &s.owner, &["vault:default:read"]))
            .unwrap();
    s.clock.advance(AUTH_CODE_TTL + Duration::from_millis(1));
    assert_eq!(
        redeem(&late.code, &s.client, REDIRECT, VERIFIER),
        OAuthError::CodeExpired
    );
    assert_eq!(s.db.auth_code(&late.code).unwrap().unwrap().used_at, None);
}

#[test]
fn issuing_refuses_plain_pkce_bad_challenges_foreign_redirects_and_pending_clients() {
    let s = setup();
    let mut plain = request(&s, &s.owner, &["vault:default:read"]);
    plain.code_challenge_method = "plain".into();
    assert_eq!(
        oauth(s.db.issue_authorization_code(&plain).unwrap_err()),
        OAuthError::UnsupportedPkceMethod {
            method: "plain".into()
        }
    );
    let mut short = request(&s, &s.owner, &["vault:default:read"]);
    short.code_challenge = "abc".into();
    assert_eq!(
        oauth(s.db.issue_authorization_code(&short).unwrap_err()),
        OAuthError::InvalidCodeChallenge
    );
    let mut foreign = request(&s, &s.owner, &["vault:default:read"]);
    foreign.redirect_uri = "https://evil.example/cb".into();
    assert!(matches!(
        oauth(s.db.issue_authorization_code(&foreign).unwrap_err()),
        OAuthError::RedirectUriNotRegistered { .. }
    ));
    let host = request(
        &s,
        &s.owner,
        &["vault:default:read", "parachute:host:admin"],
    );
    assert!(matches!(
        oauth(s.db.issue_authorization_code(&host).unwrap_err()),
        OAuthError::NonRequestableScopes { .. }
    ));

    let pending =
        s.db.register_client(
            &crate::clients::ClientRegistration {
                redirect_uris: vec![REDIRECT.into()],
                scopes: vec![],
                client_name: None,
                confidential: false,
                registrant: crate::clients::Registrant::Public,
            },
            &[] as &[&str],
        )
        .unwrap();
    let mut req = request(&s, &s.owner, &["vault:default:read"]);
    req.client_id = pending.client.client_id.clone();
    assert!(matches!(
        oauth(s.db.issue_authorization_code(&req).unwrap_err()),
        OAuthError::ClientNotApproved { .. }
    ));
    assert!(row_strings(&s.db, "SELECT code FROM auth_codes").is_empty());
}

#[test]
fn a_friend_gets_only_what_their_vaults_allow() {
    let s = setup();
    s.db.set_user_vaults(&s.friend, &["work"]).unwrap();
    let code =
        s.db.issue_authorization_code(&request(
            &s,
            &s.friend,
            &["vault:work:write", "vault:default:read"],
        ))
        .unwrap();
    assert_eq!(code.scopes, vec!["vault:work:write"]);
    let grant = s.db.grant(&s.friend, &s.client).unwrap().unwrap();
    assert_eq!(
        grant.scopes,
        vec!["vault:work:write"],
        "the capped set is what is remembered"
    );
    assert!(matches!(
        oauth(
            s.db.issue_authorization_code(&request(&s, &s.friend, &["vault:default:admin"]))
                .unwrap_err()
        ),
        OAuthError::NothingToGrant { .. }
    ));
}

#[test]
fn pkce_helpers() {
    assert!(verify_pkce(CHALLENGE, "S256", VERIFIER));
    assert!(!verify_pkce(CHALLENGE, "plain", CHALLENGE));
    assert!(!verify_pkce(CHALLENGE, "S256", "x"));
    assert!(check_pkce_challenge(CHALLENGE, "S256").is_ok());
    assert!(check_pkce_challenge(&format!("{}=", &CHALLENGE[..42]), "S256").is_err());
}

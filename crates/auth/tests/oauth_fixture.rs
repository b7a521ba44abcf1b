//! Compatibility with sessions, OAuth clients, codes, grants, refresh tokens and two-factor
//! written by the original hub 0.6.3-rc.2 (fixture: `tests/data/original-0.6.3-rc.2-oauth/`,
//! made by real MCP SDK and browser flows; each test opens its own copy with a pinned clock).

mod oauth_common;

use std::time::Duration;

use oauth_common::*;
use parachute_auth::auth_codes::{AuthorizationRequest, Redemption};
use parachute_auth::clients::{ClientCredentials, ClientRegistration, ClientStatus, Registrant};
use parachute_auth::oauth_error::OAuthError;
use parachute_auth::oauth_tokens::{
    CodeExchange, OAuthTokens, RefreshRequest, TokenIssuer, family_id_for_code,
};
use parachute_auth::scopes::ScopeRegistry;
use parachute_auth::two_factor::SecondFactorCheck;
use parachute_auth::{AuthError, AuthFailure, HubDb, ValidationRequest};

const LIVE_SCOPES: &str = "vault:default:read vault:default:write vault:default:admin";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn refresh(fx: &OAuthFixture, client: &str, token: &str) -> Result<OAuthTokens, AuthError> {
    let origins = vec![ISSUER.to_owned()];
    let registry = ScopeRegistry::first_party();
    fx.db.refresh_oauth_tokens(
        &TokenIssuer {
            issuer: ISSUER,
            bound_origins: &origins,
            registry: &registry,
        },
        &RefreshRequest {
            refresh_token: token,
            client_id: client,
            credentials: &ClientCredentials::default(),
            scopes: None,
            resource: Some("http://127.0.0.1:1939/vault/default/mcp"),
        },
    )
}

fn oauth_err(result: Result<OAuthTokens, AuthError>) -> OAuthError {
    match result {
        Err(AuthError::OAuth(e)) => e,
        other => panic!("expected an OAuth refusal, got {other:?}"),
    }
}

fn validate(db: &HubDb, token: &str) -> Result<parachute_auth::Claims, AuthFailure> {
    db.validate(
        token,
        &ValidationRequest {
            accepted_issuers: vec![ISSUER.to_owned()],
            required_scope: Some("vault:default:read".to_owned()),
            expected_audience: Some("vault.default".to_owned()),
            now: db.now(),
        },
    )
}

fn revoked_at(fx: &OAuthFixture, jti: &str) -> Option<String> {
    fx.db.token_record(jti).unwrap().unwrap().revoked_at
}

#[test]
fn the_live_clients_refresh_token_refreshes_on_our_hub() {
    let fx = OAuthFixture::open();
    let original = secret("/live_client/refresh_token");
    let first = refresh(&fx, LIVE_CLIENT, &original).expect("original's live token refreshes");
    assert_eq!(first.family_id, LIVE_FAMILY);
    assert_eq!(first.scopes.join(" "), LIVE_SCOPES);
    assert_eq!(first.audience, "vault.default");
    let claims = validate(&fx.db, &first.access_token).expect("new access token valid");
    assert_eq!(claims.sub.as_deref(), Some(ADMIN_ID));
    assert_eq!(claims.client_id.as_deref(), Some(LIVE_CLIENT));
    assert!(claims.vault_scope.is_empty(), "the admin is the owner");
    assert_eq!(
        revoked_at(&fx, "NAcRCO6LCKHorpQuzFADUg").as_deref(),
        Some("2026-12-02T12:00:00.000Z"),
        "the original's row is spent"
    );

    // The new refresh token works in turn; the one before it is spent.
    fx.clock.advance(Duration::from_secs(600));
    let second = refresh(&fx, LIVE_CLIENT, &first.refresh_token).expect("ours refreshes");
    assert_eq!(second.family_id, LIVE_FAMILY);
    assert!(validate(&fx.db, &second.access_token).is_ok());
    assert!(matches!(
        validate(&fx.db, &first.access_token),
        Err(AuthFailure::Revoked { .. })
    ));
}

#[test]
fn presenting_the_spent_original_token_revokes_the_family() {
    let fx = OAuthFixture::open();
    let original = secret("/live_client/refresh_token");
    let fresh = refresh(&fx, LIVE_CLIENT, &original).unwrap();
    assert_eq!(
        oauth_err(refresh(&fx, LIVE_CLIENT, &original)),
        OAuthError::RefreshTokenRevoked { revoked: 1 }
    );
    assert!(matches!(
        validate(&fx.db, &fresh.access_token),
        Err(AuthFailure::Revoked { .. })
    ));
    let live: Vec<_> = fx.rows(&format!(
        "SELECT jti FROM tokens WHERE family_id = '{LIVE_FAMILY}' AND revoked_at IS NULL"
    ));
    assert!(live.is_empty(), "whole family revoked");
}

#[test]
fn the_family_the_original_revoked_stays_revoked() {
    let fx = OAuthFixture::open();
    let before = fx.rows("SELECT * FROM tokens ORDER BY jti");
    for pointer in [
        "/revoked_family_client/spent_refresh_token",
        "/revoked_family_client/revoked_refresh_token",
    ] {
        assert_eq!(
            oauth_err(refresh(&fx, REVOKED_CLIENT, &secret(pointer))),
            OAuthError::RefreshTokenRevoked { revoked: 0 },
            "{pointer}"
        );
    }
    assert_eq!(
        fx.rows("SELECT * FROM tokens ORDER BY jti"),
        before,
        "nothing changed"
    );
    // Another client presenting the live token is refused without spending it.
    assert_eq!(
        oauth_err(refresh(
            &fx,
            REVOKED_CLIENT,
            &secret("/live_client/refresh_token")
        )),
        OAuthError::RefreshTokenClientMismatch
    );
    assert_eq!(revoked_at(&fx, "NAcRCO6LCKHorpQuzFADUg"), None);
}

fn code_request(client: &str, user: &str, scopes: &[&str]) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: client.to_owned(),
        user_id: user.to_owned(),
        redirect_uri: REDIRECT.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        code_challenge: CHALLENGE.to_owned(),
        code_challenge_method: "S256".to_owned(),
    }
}

#[test]
fn the_pending_client_cannot_get_a_code() {
    let fx = OAuthFixture::open();
    let pending = fx.db.clients_with_status(ClientStatus::Pending).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].client_id, PENDING_CLIENT);
    assert_eq!(
        pending[0].client_name.as_deref(),
        Some("pending fixture client")
    );
    assert_eq!(
        pending[0].redirect_uris,
        vec!["http://127.0.0.1:33419/callback"]
    );

    let mut req = code_request(PENDING_CLIENT, ADMIN_ID, &["vault:default:read"]);
    req.redirect_uri = "http://127.0.0.1:33419/callback".to_owned();
    let err = fx.db.issue_authorization_code(&req).unwrap_err();
    assert!(
        matches!(&err, AuthError::OAuth(OAuthError::ClientNotApproved { client_id }) if client_id == PENDING_CLIENT),
        "{err:?}"
    );
    assert!(
        fx.rows(&format!(
            "SELECT code FROM auth_codes WHERE client_id = '{PENDING_CLIENT}'"
        ))
        .is_empty()
    );
    let err = fx
        .db
        .authenticate_client(PENDING_CLIENT, &ClientCredentials::default(), true)
        .unwrap_err();
    assert!(
        err.to_string().contains("parachute auth approve-client"),
        "{err}"
    );

    // Approved clients the original registered read back as it stored them.
    let live = fx.db.require_client(LIVE_CLIENT).unwrap();
    assert_eq!(live.status, ClientStatus::Approved);
    assert!(!live.same_hub && !live.is_confidential());
    assert_eq!(live.redirect_uris, vec![REDIRECT]);
    assert!(live.require_registered_redirect_uri(REDIRECT).is_ok());
}

#[test]
fn the_admins_session_cookie_finds_its_session() {
    let fx = OAuthFixture::open();
    let cookie = secret("/admin_session_cookie/parachute_hub_session");
    let header = format!("parachute_hub_session={cookie}");
    let session = fx
        .db
        .session_from_cookie(Some(&header))
        .unwrap()
        .expect("live session");
    assert_eq!(session.user_id, ADMIN_ID);
    assert_eq!(session.expires_at, "2026-12-03T02:25:49.809Z");
    for listed in secrets()["sessions_in_db"].as_array().unwrap() {
        let found = fx
            .db
            .find_session(listed["id"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(found.created_at, listed["created_at"].as_str().unwrap());
    }
    fx.clock
        .set(parachute_auth::parse_timestamp("2026-12-03T02:25:49.810Z").unwrap());
    assert_eq!(
        fx.db.session_from_cookie(Some(&header)).unwrap(),
        None,
        "expired"
    );
}

#[test]
fn alice_verifies_with_her_totp_code_or_each_backup_code_once() {
    let fx = OAuthFixture::open();
    assert!(
        fx.db
            .verify_password("alice", &secret("/users/alice/password"))
            .unwrap()
    );
    let status = fx.db.two_factor_status(ALICE_ID).unwrap();
    assert!(status.enrolled);
    assert_eq!(status.backup_codes_remaining, 10);
    assert_eq!(
        status.enrolled_at.as_deref(),
        Some("2026-12-02T02:26:02.865Z")
    );
    assert_eq!(
        fx.db.verify_second_factor(ADMIN_ID, "123456").unwrap(),
        SecondFactorCheck::NotEnrolled
    );

    let totp_secret = secret("/users/alice/totp_secret_base32");
    let code = rfc6238_code(&totp_secret, unix(FIXTURE_NOW));
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(
        fx.db.verify_second_factor(ALICE_ID, &wrong).unwrap(),
        SecondFactorCheck::Rejected
    );
    assert_eq!(
        fx.db.verify_second_factor(ALICE_ID, &code).unwrap(),
        SecondFactorCheck::AcceptedTotp
    );
    assert_eq!(
        fx.db.verify_second_factor(ALICE_ID, &code).unwrap(),
        SecondFactorCheck::Replayed
    );
    let yesterday = rfc6238_code(&totp_secret, unix(FIXTURE_NOW) - 3600);
    assert_eq!(
        fx.db.verify_second_factor(ALICE_ID, &yesterday).unwrap(),
        SecondFactorCheck::Rejected
    );

    let backups = secrets()["users"]["alice"]["backup_codes"].clone();
    let backups: Vec<String> = serde_json::from_value(backups).unwrap();
    for (used, code) in backups.iter().take(3).enumerate() {
        assert_eq!(
            fx.db.verify_second_factor(ALICE_ID, code).unwrap(),
            SecondFactorCheck::AcceptedBackupCode {
                remaining: 9 - used
            }
        );
        assert_eq!(
            fx.db.verify_second_factor(ALICE_ID, code).unwrap(),
            SecondFactorCheck::Rejected
        );
    }
    // What we wrote back is still the original's encoding: a JSON array of PHC strings.
    let shape = fx.shape_of(&format!(
        "SELECT totp_backup_codes FROM users WHERE id = '{ALICE_ID}'"
    ));
    assert_eq!(shape[0].1, "text json array of text argon2id");
    assert_eq!(
        fx.db
            .two_factor_status(ALICE_ID)
            .unwrap()
            .backup_codes_remaining,
        7
    );
}

#[test]
fn grants_and_used_codes_read_back() {
    let fx = OAuthFixture::open();
    let grants = fx.db.list_grants(ADMIN_ID).unwrap();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0].grant.client_id, LIVE_CLIENT, "newest first");
    assert_eq!(grants[0].client_name.as_deref(), Some("bar mcp client"));
    assert_eq!(
        grants[0].grant.scopes,
        vec![
            "vault:default:admin",
            "vault:default:read",
            "vault:default:write"
        ]
    );
    assert_eq!(grants[1].grant.granted_at, "2026-12-02T02:25:30.059Z");
    assert!(
        fx.db
            .is_covered_by_grant(
                ADMIN_ID,
                REVOKED_CLIENT,
                &["hub:admin", "vault:default:read"]
            )
            .unwrap()
    );
    assert!(
        !fx.db
            .is_covered_by_grant(ADMIN_ID, LIVE_CLIENT, &["hub:admin"])
            .unwrap()
    );
    assert!(
        fx.db
            .is_covered_by_client_name_grant(ADMIN_ID, "bar mcp client", &["vault:default:admin"])
            .unwrap()
    );

    let code = "CySp8ZrWqzQGSar2SbkSLQznUaZp1_hz3tBZGigRoyM";
    let stored = fx.db.auth_code(code).unwrap().unwrap();
    assert_eq!(stored.client_id, LIVE_CLIENT);
    assert_eq!(stored.used_at.as_deref(), Some("2026-12-02T02:25:56.547Z"));
    assert_eq!(stored.code_challenge_method, "S256");
    let again = fx
        .db
        .redeem_auth_code(code, LIVE_CLIENT, REDIRECT, "whatever")
        .unwrap();
    assert!(
        matches!(again, Redemption::Replayed(_)),
        "a used code stays used"
    );
    // Its family was a random UUID of the original, so a replay finds nothing to revoke there.
    let origins = vec![ISSUER.to_owned()];
    let registry = ScopeRegistry::first_party();
    let err = fx
        .db
        .exchange_authorization_code(
            &TokenIssuer {
                issuer: ISSUER,
                bound_origins: &origins,
                registry: &registry,
            },
            &CodeExchange {
                code,
                client_id: LIVE_CLIENT,
                redirect_uri: REDIRECT,
                code_verifier: VERIFIER,
                credentials: &ClientCredentials::default(),
                resource: None,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::OAuth(OAuthError::CodeReplayed { revoked: 0 })
        ),
        "{err:?}"
    );
    assert_eq!(revoked_at(&fx, "NAcRCO6LCKHorpQuzFADUg"), None);
}

/// Runs a whole flow on the fixture copy with our code: registration, approval, consent, code,
/// exchange, rotation, a session and a two-factor enrolment; returns the ids it made.
struct OurRows {
    client_id: String,
    code: String,
    live_jti: String,
    spent_jti: String,
    session_id: String,
    user_id: String,
}

fn write_our_rows(fx: &OAuthFixture) -> OurRows {
    let db = &fx.db;
    let reg = db
        .register_client(
            &ClientRegistration {
                redirect_uris: vec!["http://127.0.0.1:40000/callback".to_owned()],
                scopes: vec!["vault:read".to_owned(), "vault:write".to_owned()],
                client_name: Some("bar mcp client".to_owned()),
                confidential: false,
                registrant: Registrant::Public,
            },
            &[ISSUER],
        )
        .unwrap();
    assert!(db.approve_client(&reg.client.client_id).unwrap());
    let client_id = reg.client.client_id.clone();
    let mut req = code_request(
        &client_id,
        ADMIN_ID,
        &["vault:default:read", "vault:default:write"],
    );
    req.redirect_uri = "http://127.0.0.1:40000/callback".to_owned();
    let code = db.issue_authorization_code(&req).unwrap().code;
    let origins = vec![ISSUER.to_owned()];
    let registry = ScopeRegistry::first_party();
    let issuer = TokenIssuer {
        issuer: ISSUER,
        bound_origins: &origins,
        registry: &registry,
    };
    let first = db
        .exchange_authorization_code(
            &issuer,
            &CodeExchange {
                code: &code,
                client_id: &client_id,
                redirect_uri: "http://127.0.0.1:40000/callback",
                code_verifier: VERIFIER,
                credentials: &ClientCredentials::default(),
                resource: None,
            },
        )
        .unwrap();
    assert_eq!(first.family_id, family_id_for_code(&code));
    let second = refresh(fx, &client_id, &first.refresh_token).unwrap();
    let session_id = db.create_session(ADMIN_ID).unwrap().id;

    // A third user, enrolled in two-factor by us.
    let user_id = uuid::Uuid::new_v4().to_string();
    rusqlite::Connection::open(&fx.path)
        .unwrap()
        .execute(
            "INSERT INTO users (id, username, password_hash, created_at, updated_at, password_changed)
             VALUES (?1, 'carol', 'x', '2026-12-02T03:00:00.000Z', '2026-12-02T03:00:00.000Z', 1)",
            [&user_id],
        )
        .unwrap();
    let pending = db.begin_two_factor_enrolment(&user_id).unwrap();
    let code_now = rfc6238_code(&pending.secret, unix(FIXTURE_NOW));
    db.confirm_two_factor_enrolment(&user_id, &pending.secret, &code_now)
        .unwrap();
    OurRows {
        client_id,
        code,
        live_jti: second.jti,
        spent_jti: first.jti,
        session_id,
        user_id,
    }
}

#[test]
fn rows_we_write_have_exactly_the_shape_of_the_originals_rows() {
    let fx = OAuthFixture::open();
    let ours = write_our_rows(&fx);
    let pairs = [
        (
            format!("SELECT * FROM clients WHERE client_id = '{LIVE_CLIENT}'"),
            format!(
                "SELECT * FROM clients WHERE client_id = '{}'",
                ours.client_id
            ),
        ),
        (
            "SELECT * FROM auth_codes WHERE code = 'CySp8ZrWqzQGSar2SbkSLQznUaZp1_hz3tBZGigRoyM'"
                .to_owned(),
            format!("SELECT * FROM auth_codes WHERE code = '{}'", ours.code),
        ),
        (
            format!("SELECT * FROM grants WHERE client_id = '{LIVE_CLIENT}'"),
            format!(
                "SELECT * FROM grants WHERE client_id = '{}'",
                ours.client_id
            ),
        ),
        (
            "SELECT * FROM sessions WHERE id = '1QOLboEvEu6jVYcJtd5blxLrgK0P0hbg2Rrr6_j6mMA'"
                .to_owned(),
            format!("SELECT * FROM sessions WHERE id = '{}'", ours.session_id),
        ),
        (
            "SELECT * FROM tokens WHERE jti = 'PNCAo-AIiza604x-nwOsSg'".to_owned(),
            format!("SELECT * FROM tokens WHERE jti = '{}'", ours.spent_jti),
        ),
        (
            "SELECT * FROM tokens WHERE jti = 'NAcRCO6LCKHorpQuzFADUg'".to_owned(),
            format!("SELECT * FROM tokens WHERE jti = '{}'", ours.live_jti),
        ),
        (
            format!(
                "SELECT totp_secret, totp_backup_codes, totp_enrolled_at, length(totp_secret) \
                 FROM users WHERE id = '{ALICE_ID}'"
            ),
            format!(
                "SELECT totp_secret, totp_backup_codes, totp_enrolled_at, length(totp_secret) \
                 FROM users WHERE id = '{}'",
                ours.user_id
            ),
        ),
    ];
    for (theirs_sql, ours_sql) in &pairs {
        let theirs = fx.shape_of(theirs_sql);
        let mine = fx.shape_of(ours_sql);
        assert_eq!(mine, theirs, "\n ours:   {ours_sql}\n theirs: {theirs_sql}");
    }
    // Spot-check shapes that matter most for switching back.
    let token = fx.shape_of(&format!(
        "SELECT * FROM tokens WHERE jti = '{}'",
        ours.live_jti
    ));
    let get = |name: &str| token.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(get("refresh_token_hash"), "text sha256 hex");
    assert_eq!(get("family_id"), "text uuid");
    assert_eq!(get("created_via"), "text text \"oauth_refresh\"");
    assert_eq!(get("subject"), "null");
    let secret_len = fx.rows(&format!(
        "SELECT length(totp_secret) FROM users WHERE id = '{}'",
        ours.user_id
    ));
    assert_eq!(secret_len[0][0].2, "32");
}

#[test]
fn our_whole_flow_on_the_originals_database_validates_with_its_key() {
    let fx = OAuthFixture::open();
    let ours = write_our_rows(&fx);
    let record = fx.db.token_record(&ours.live_jti).unwrap().unwrap();
    assert_eq!(record.client_id, ours.client_id);
    assert_eq!(
        record.scopes,
        vec!["vault:default:read", "vault:default:write"]
    );
    assert!(
        fx.db
            .token_record(&ours.spent_jti)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(fx.db.list_grants(ADMIN_ID).unwrap().len(), 3);
    // The original's signing key signed our tokens (no new key was made).
    assert_eq!(fx.rows("SELECT kid FROM signing_keys").len(), 1);
    assert!(fx.db.find_session(&ours.session_id).unwrap().is_some());
}

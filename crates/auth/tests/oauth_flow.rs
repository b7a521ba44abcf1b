//! The whole sign-in and OAuth flow through the public API on a fresh hub.db, the way the hub's
//! routes will drive it: registration → sign-in with two-factor → resource-bound consent →
//! code → token exchange → refresh → revocation, and every refusal on the way.

use std::sync::Arc;
use std::time::Duration;

use parachute_auth::attenuation::bind_request_scopes;
use parachute_auth::auth_codes::{AUTH_CODE_TTL, AuthorizationRequest};
use parachute_auth::clients::{ClientCredentials, ClientRegistration, Registrant};
use parachute_auth::oauth_revoke::RevocationOutcome;
use parachute_auth::oauth_tokens::{CodeExchange, OAuthTokens, RefreshRequest, TokenIssuer};
use parachute_auth::pending_login::PendingLogins;
use parachute_auth::rate_limit::{LOGIN_LIMIT, RateLimiter};
use parachute_auth::scopes::{ScopeRegistry, parse_scope_string};
use parachute_auth::totp::totp_code;
use parachute_auth::two_factor::SecondFactorCheck;
use parachute_auth::{AdminChange, AuthError, FixedClock, HubDb, OAuthError, cookies};

const ISSUER: &str = "http://127.0.0.1:1939";
const REDIRECT: &str = "http://127.0.0.1:50000/callback";
const RESOURCE: &str = "http://127.0.0.1:1939/vault/default/mcp";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

struct Hub {
    _dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    db: HubDb,
    owner: String,
    origins: Vec<String>,
    registry: ScopeRegistry,
}

impl Hub {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::at("2026-12-02T10:00:00Z"));
        let db = HubDb::open_with_clock(&dir.path().join("hub.db"), clock.clone()).unwrap();
        let AdminChange::Created(owner) = db
            .create_or_reset_admin("owner", "owner-password-1")
            .unwrap()
        else {
            panic!("fresh hub")
        };
        Self {
            _dir: dir,
            clock,
            db,
            owner: owner.id,
            origins: vec![ISSUER.to_owned()],
            registry: ScopeRegistry::first_party(),
        }
    }

    fn issuer(&self) -> TokenIssuer<'_> {
        TokenIssuer {
            issuer: ISSUER,
            bound_origins: &self.origins,
            registry: &self.registry,
        }
    }

    fn register(&self) -> String {
        let reg = self
            .db
            .register_client(
                &ClientRegistration {
                    redirect_uris: vec![REDIRECT.to_owned()],
                    scopes: vec![],
                    client_name: Some("Claude".to_owned()),
                    confidential: false,
                    registrant: Registrant::Public,
                },
                &self.origins,
            )
            .unwrap();
        reg.client.client_id
    }

    fn consent(
        &self,
        client: &str,
        scope: &str,
        resource: Option<&str>,
    ) -> Result<String, AuthError> {
        let bound = bind_request_scopes(&parse_scope_string(scope), resource, &self.origins)?;
        let code = self.db.issue_authorization_code(&AuthorizationRequest {
            client_id: client.to_owned(),
            user_id: self.owner.clone(),
            redirect_uri: REDIRECT.to_owned(),
            scopes: bound.scopes,
            code_challenge: challenge(VERIFIER),
            code_challenge_method: "S256".to_owned(),
        })?;
        Ok(code.code)
    }

    fn exchange(
        &self,
        client: &str,
        code: &str,
        verifier: &str,
        redirect: &str,
    ) -> Result<OAuthTokens, AuthError> {
        self.db.exchange_authorization_code(
            &self.issuer(),
            &CodeExchange {
                code,
                client_id: client,
                redirect_uri: redirect,
                code_verifier: verifier,
                credentials: &ClientCredentials::default(),
                resource: Some(RESOURCE),
            },
        )
    }

    fn refresh(
        &self,
        client: &str,
        token: &str,
        scope: Option<&str>,
    ) -> Result<OAuthTokens, AuthError> {
        let scopes = scope.map(parse_scope_string);
        self.db.refresh_oauth_tokens(
            &self.issuer(),
            &RefreshRequest {
                refresh_token: token,
                client_id: client,
                credentials: &ClientCredentials::default(),
                scopes: scopes.as_deref(),
                resource: None,
            },
        )
    }
}

/// BASE64URL(SHA256(verifier)), computed here with the `sha2` crate directly.
fn challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn refusal<T: std::fmt::Debug>(result: Result<T, AuthError>) -> OAuthError {
    match result {
        Err(AuthError::OAuth(e)) => e,
        other => panic!("expected an OAuth refusal, got {other:?}"),
    }
}

#[test]
fn sign_in_with_two_factor_then_connect_an_mcp_client() {
    let hub = Hub::new();
    // Two-factor on for the owner.
    let pending = hub.db.begin_two_factor_enrolment(&hub.owner).unwrap();
    let code = totp_code(&pending.secret, hub.db.now()).unwrap();
    hub.db
        .confirm_two_factor_enrolment(&hub.owner, &pending.secret, &code)
        .unwrap();

    // /login: throttle, password, then a pending login instead of a session.
    let limiter = RateLimiter::new(LOGIN_LIMIT, hub.db.clock());
    assert!(limiter.check_and_record("owner").is_allowed());
    assert!(hub.db.verify_password("owner", "owner-password-1").unwrap());
    let logins = PendingLogins::new(hub.db.clock());
    let pending_token = logins.create(&hub.owner, "/oauth/authorize?x");
    // /login/2fa, 30 s later: a wrong code, then the right one.
    hub.clock.advance(Duration::from_secs(30));
    let pending_login = logins.get(&pending_token).expect("still pending");
    assert_eq!(
        hub.db
            .verify_second_factor(&pending_login.user_id, "000000")
            .unwrap(),
        SecondFactorCheck::Rejected
    );
    let now_code = totp_code(&pending.secret, hub.db.now()).unwrap();
    assert!(
        hub.db
            .verify_second_factor(&pending_login.user_id, &now_code)
            .unwrap()
            .accepted()
    );
    logins.consume(&pending_token);
    let session = hub.db.create_session(&pending_login.user_id).unwrap();
    let set_cookie = cookies::session_cookie(&session.id, false);
    let cookie_header = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        hub.db
            .session_from_cookie(Some(&cookie_header))
            .unwrap()
            .map(|s| s.user_id),
        Some(hub.owner.clone())
    );

    // The client registers (pending), the signed-in owner approves it on consent.
    let client = hub.register();
    assert!(matches!(
        refusal(hub.consent(&client, "vault:read vault:write", Some(RESOURCE))),
        OAuthError::ClientNotApproved { .. }
    ));
    assert!(hub.db.approve_client(&client).unwrap());
    let code = hub
        .consent(
            &client,
            "vault:read vault:write scribe:transcribe",
            Some(RESOURCE),
        )
        .unwrap();
    let tokens = hub.exchange(&client, &code, VERIFIER, REDIRECT).unwrap();
    assert_eq!(
        tokens.scopes,
        vec!["vault:default:read", "vault:default:write"]
    );
    assert_eq!(tokens.audience, "vault.default");
    assert!(
        hub.db
            .is_covered_by_grant(&hub.owner, &client, &tokens.scopes)
            .unwrap()
    );

    let rotated = hub.refresh(&client, &tokens.refresh_token, None).unwrap();
    assert_eq!(
        hub.db
            .revoke_oauth_token(
                &rotated.refresh_token,
                None,
                &client,
                &ClientCredentials::default()
            )
            .unwrap(),
        RevocationOutcome::Revoked {
            jti: rotated.jti.clone()
        }
    );
    assert!(matches!(
        refusal(hub.refresh(&client, &rotated.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { .. }
    ));
}

#[test]
fn every_refusal_on_the_way() {
    let hub = Hub::new();
    let client = hub.register();
    hub.db.approve_client(&client).unwrap();
    let other = hub.register();
    hub.db.approve_client(&other).unwrap();

    // Authorization time.
    let mut plain = AuthorizationRequest {
        client_id: client.clone(),
        user_id: hub.owner.clone(),
        redirect_uri: REDIRECT.to_owned(),
        scopes: vec!["vault:default:read".to_owned()],
        code_challenge: VERIFIER.to_owned(),
        code_challenge_method: "plain".to_owned(),
    };
    assert!(matches!(
        refusal(hub.db.issue_authorization_code(&plain)),
        OAuthError::UnsupportedPkceMethod { .. }
    ));
    plain.code_challenge_method = "S256".to_owned();
    plain.code_challenge = challenge(VERIFIER);
    plain.redirect_uri = "http://127.0.0.1:50001/callback".to_owned();
    assert!(matches!(
        refusal(hub.db.issue_authorization_code(&plain)),
        OAuthError::RedirectUriNotRegistered { .. }
    ));
    assert!(matches!(
        refusal(hub.consent(&client, "vault:read vault:work:read", Some(RESOURCE))),
        OAuthError::InvalidTarget { .. }
    ));
    assert!(matches!(
        refusal(hub.consent(&client, "vault:read parachute:host:admin", None)),
        OAuthError::NonRequestableScopes { .. }
    ));

    // Token time.
    let code = hub.consent(&client, "vault:read", Some(RESOURCE)).unwrap();
    assert_eq!(
        refusal(hub.exchange(&other, &code, VERIFIER, REDIRECT)),
        OAuthError::CodeNotFound
    );
    assert_eq!(
        refusal(hub.exchange(&client, &code, VERIFIER, "http://127.0.0.1:50001/callback")),
        OAuthError::CodeRedirectMismatch
    );
    assert_eq!(
        refusal(hub.exchange(&client, &code, "wrong-verifier", REDIRECT)),
        OAuthError::CodeVerifierMismatch
    );
    let tokens = hub.exchange(&client, &code, VERIFIER, REDIRECT).unwrap();
    assert_eq!(
        refusal(hub.exchange(&client, &code, VERIFIER, REDIRECT)),
        OAuthError::CodeReplayed { revoked: 1 }
    );
    assert!(matches!(
        refusal(hub.refresh(&client, &tokens.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { .. }
    ));

    let expiring = hub.consent(&client, "vault:read", Some(RESOURCE)).unwrap();
    hub.clock.advance(AUTH_CODE_TTL + Duration::from_secs(1));
    assert_eq!(
        refusal(hub.exchange(&client, &expiring, VERIFIER, REDIRECT)),
        OAuthError::CodeExpired
    );

    let fresh = hub.consent(&client, "vault:read", Some(RESOURCE)).unwrap();
    let tokens = hub.exchange(&client, &fresh, VERIFIER, REDIRECT).unwrap();
    assert!(matches!(
        refusal(hub.refresh(
            &client,
            &tokens.refresh_token,
            Some("vault:default:read vault:default:admin")
        )),
        OAuthError::ScopeEscalation { .. }
    ));
    assert_eq!(
        refusal(hub.refresh(&other, &tokens.refresh_token, None)),
        OAuthError::RefreshTokenClientMismatch
    );
    assert!(
        hub.refresh(&client, &tokens.refresh_token, Some("vault:default:read"))
            .is_ok()
    );
}

#[test]
fn two_processes_racing_to_rotate_one_refresh_token_leave_one_live_token() {
    let hub = Hub::new();
    let client = hub.register();
    hub.db.approve_client(&client).unwrap();
    let code = hub.consent(&client, "vault:read", Some(RESOURCE)).unwrap();
    let tokens = hub.exchange(&client, &code, VERIFIER, REDIRECT).unwrap();

    // A second handle on the same file, as a second process (CLI, another hub) would open it.
    let path = hub.db.path().to_path_buf();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (path, barrier, clock) = (path.clone(), barrier.clone(), hub.clock.clone());
            let (client, token) = (client.clone(), tokens.refresh_token.clone());
            std::thread::spawn(move || {
                let db = HubDb::open_with_clock(&path, clock).unwrap();
                let origins = vec![ISSUER.to_owned()];
                let registry = ScopeRegistry::first_party();
                barrier.wait();
                db.refresh_oauth_tokens(
                    &TokenIssuer {
                        issuer: ISSUER,
                        bound_origins: &origins,
                        registry: &registry,
                    },
                    &RefreshRequest {
                        refresh_token: &token,
                        client_id: &client,
                        credentials: &ClientCredentials::default(),
                        scopes: None,
                        resource: None,
                    },
                )
            })
        })
        .collect();
    let results: Vec<_> = racers
        .into_iter()
        .map(|r| r.join().expect("racer"))
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(
            loser,
            AuthError::OAuth(OAuthError::RotationConflict | OAuthError::RefreshTokenRevoked { .. })
        ),
        "{loser:?}"
    );
    let live = hub
        .db
        .list_tokens(&parachute_auth::TokenFilter {
            revoked: Some(false),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|t| t.family_id == tokens.family_id)
        .count();
    assert!(live <= 1, "never two live tokens in one family ({live})");
}

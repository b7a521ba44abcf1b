use std::sync::Arc;

use super::*;
use crate::FixedClock;
use crate::auth_codes::AuthorizationRequest;
use crate::oauth_revoke::RevocationOutcome;
use crate::test_support::{approved_client, db_with_users, row_strings};
use crate::validate::{AuthFailure, ValidationRequest};

const ISS: &str = "http://127.0.0.1:1939";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VAULT_SCOPES: &[&str] = &["vault:default:read", "vault:default:write"];

struct Setup {
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
    db: HubDb,
    owner: String,
    friend: String,
    client: String,
    origins: Vec<String>,
    registry: ScopeRegistry,
}

impl Setup {
    fn new() -> Self {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:25:30.061Z"));
        let (dir, db, owner, friend) = db_with_users(clock.clone());
        let client = approved_client(&db, "bar mcp client", REDIRECT);
        Self {
            clock,
            _dir: dir,
            db,
            owner,
            friend,
            client,
            origins: vec![ISS.to_owned()],
            registry: ScopeRegistry::first_party(),
        }
    }

    fn issuer(&self) -> TokenIssuer<'_> {
        TokenIssuer {
            issuer: ISS,
            bound_origins: &self.origins,
            registry: &self.registry,
        }
    }

    fn code(&self, user: &str, scopes: &[&str]) -> String {
        self.db
            .issue_authorization_code(&AuthorizationRequest {
                client_id: self.client.clone(),
                user_id: user.to_owned(),
                redirect_uri: REDIRECT.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                code_challenge: CHALLENGE.to_owned(),
                code_challenge_method: "S256".to_owned(),
            })
            .expect("code issued")
            .code
    }

    fn exchange(&self, code: &str, resource: Option<&str>) -> Result<OAuthTokens, AuthError> {
        self.db.exchange_authorization_code(
            &self.issuer(),
            &CodeExchange {
                code,
                client_id: &self.client,
                redirect_uri: REDIRECT,
                code_verifier: VERIFIER,
                credentials: &ClientCredentials::default(),
                resource,
            },
        )
    }

    fn refresh(&self, token: &str, scopes: Option<&[String]>) -> Result<OAuthTokens, AuthError> {
        self.refresh_as(&self.client, token, scopes, None)
    }

    fn refresh_as(
        &self,
        client: &str,
        token: &str,
        scopes: Option<&[String]>,
        resource: Option<&str>,
    ) -> Result<OAuthTokens, AuthError> {
        self.db.refresh_oauth_tokens(
            &self.issuer(),
            &RefreshRequest {
                refresh_token: token,
                client_id: client,
                credentials: &ClientCredentials::default(),
                scopes,
                resource,
            },
        )
    }

    fn validate(&self, token: &str) -> Result<Claims, AuthFailure> {
        self.db.validate(
            token,
            &ValidationRequest {
                accepted_issuers: vec![ISS.to_owned()],
                required_scope: None,
                expected_audience: None,
                now: self.db.now(),
            },
        )
    }
}

fn oauth(result: Result<OAuthTokens, AuthError>) -> OAuthError {
    match result {
        Err(AuthError::OAuth(e)) => e,
        other => panic!("expected an OAuth refusal, got {other:?}"),
    }
}

fn payload_keys(token: &str) -> Vec<String> {
    let part = token.split('.').nth(1).unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).unwrap();
    let map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
    map.keys().cloned().collect()
}

#[test]
fn code_exchange_issues_the_originals_token_and_row_shapes() {
    let s = Setup::new();
    let code = s.code(&s.owner, VAULT_SCOPES);
    s.clock.advance(Duration::from_millis(1507));
    let tokens = s
        .exchange(&code, Some("http://127.0.0.1:1939/vault/default/mcp"))
        .unwrap();
    assert_eq!(tokens.audience, "vault.default");
    assert_eq!(tokens.family_id, family_id_for_code(&code));
    assert_eq!(tokens.refresh_token.len(), 43);
    assert_eq!(
        payload_keys(&tokens.access_token),
        [
            "scope",
            "client_id",
            "vault_scope",
            "sub",
            "iss",
            "iat",
            "exp",
            "aud",
            "jti"
        ]
    );
    let claims = s
        .validate(&tokens.access_token)
        .expect("access token valid");
    assert_eq!(claims.scope, "vault:default:read vault:default:write");
    assert_eq!(claims.client_id.as_deref(), Some(s.client.as_str()));
    assert!(claims.vault_scope.is_empty(), "owner is unrestricted");
    assert_eq!(claims.exp.unwrap() - claims.iat.unwrap(), 900);
    assert_eq!(claims.jti.as_deref(), Some(tokens.jti.as_str()));

    let rows = row_strings(&s.db, "SELECT * FROM tokens");
    assert_eq!(
        rows,
        vec![vec![
            tokens.jti.clone(),
            s.owner.clone(),
            s.client.clone(),
            "vault:default:read vault:default:write".into(),
            sha256_hex(&tokens.refresh_token),
            tokens.family_id.clone(),
            "2027-01-01T02:25:31.568Z".into(),
            "NULL".into(),
            "2026-12-02T02:25:31.568Z".into(),
            "NULL".into(),
            "oauth_refresh".into(),
            "NULL".into(),
        ]]
    );
    let body = tokens.token_response();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "vault:default:read vault:default:write");
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_family() {
    let s = Setup::new();
    let first = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    s.clock.advance(Duration::from_secs(60));
    let second = s.refresh(&first.refresh_token, None).unwrap();
    assert_eq!(second.family_id, first.family_id);
    assert_ne!(second.jti, first.jti);
    assert_eq!(second.scopes, first.scopes);
    assert!(s.validate(&second.access_token).is_ok());
    assert!(
        matches!(
            s.validate(&first.access_token),
            Err(AuthFailure::Revoked { .. })
        ),
        "the rotated pair's access token dies with its row"
    );
    let spent = s.db.token_record(&first.jti).unwrap().unwrap();
    assert_eq!(
        spent.revoked_at.as_deref(),
        Some("2026-12-02T02:26:30.061Z")
    );

    // The spent token again: refused, and the live descendant is revoked too.
    assert_eq!(
        oauth(s.refresh(&first.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { revoked: 1 }
    );
    assert!(matches!(
        s.validate(&second.access_token),
        Err(AuthFailure::Revoked { .. })
    ));
    assert_eq!(
        oauth(s.refresh(&second.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { revoked: 0 }
    );
}

#[test]
fn a_replayed_code_revokes_everything_it_issued() {
    let s = Setup::new();
    let code = s.code(&s.owner, VAULT_SCOPES);
    let first = s.exchange(&code, None).unwrap();
    let rotated = s.refresh(&first.refresh_token, None).unwrap();
    assert_eq!(
        oauth(s.exchange(&code, None)),
        OAuthError::CodeReplayed { revoked: 1 }
    );
    assert!(matches!(
        s.validate(&rotated.access_token),
        Err(AuthFailure::Revoked { .. })
    ));
    assert!(matches!(
        oauth(s.refresh(&rotated.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { .. }
    ));
}

#[test]
fn escalation_at_refresh_is_refused_and_narrowing_allowed() {
    let s = Setup::new();
    let first = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    let wider: Vec<String> = vec!["vault:default:read".into(), "vault:default:admin".into()];
    assert_eq!(
        oauth(s.refresh(&first.refresh_token, Some(&wider))),
        OAuthError::ScopeEscalation {
            scopes: vec!["vault:default:admin".into()]
        }
    );
    assert!(
        s.db.token_record(&first.jti)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "a refused refresh does not spend the token"
    );
    let narrower: Vec<String> = vec!["vault:default:read".into()];
    let narrowed = s.refresh(&first.refresh_token, Some(&narrower)).unwrap();
    assert_eq!(narrowed.scopes, narrower);
    assert_eq!(
        s.validate(&narrowed.access_token).unwrap().scope,
        "vault:default:read"
    );
    let row = s.db.token_record(&narrowed.jti).unwrap().unwrap();
    assert_eq!(
        row.scopes, VAULT_SCOPES,
        "the refresh row keeps the full grant"
    );
    let back = s.refresh(&narrowed.refresh_token, None).unwrap();
    assert_eq!(back.scopes, VAULT_SCOPES);
}

#[test]
fn resource_for_another_vault_is_refused_at_the_token_endpoint() {
    let s = Setup::new();
    let code = s.code(&s.owner, VAULT_SCOPES);
    assert!(matches!(
        oauth(s.exchange(&code, Some("http://127.0.0.1:1939/vault/work/mcp"))),
        OAuthError::InvalidTarget { .. }
    ));
    let tokens = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    assert!(matches!(
        oauth(s.refresh_as(
            &s.client,
            &tokens.refresh_token,
            None,
            Some("http://127.0.0.1:1939/vault/work/mcp")
        )),
        OAuthError::InvalidTarget { .. }
    ));
    assert!(
        s.refresh_as(
            &s.client,
            &tokens.refresh_token,
            None,
            Some("http://127.0.0.1:1939/vault/default/mcp")
        )
        .is_ok()
    );
}

#[test]
fn undeclared_scopes_wrong_clients_and_expiry_are_refused() {
    let s = Setup::new();
    assert!(matches!(
        oauth(s.exchange(&s.code(&s.owner, &["vault:default:read", "bogus:thing"]), None)),
        OAuthError::UnknownScopes { scopes } if scopes == ["bogus:thing"]
    ));
    let tokens = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    let other = approved_client(&s.db, "other", REDIRECT);
    assert_eq!(
        oauth(s.refresh_as(&other, &tokens.refresh_token, None, None)),
        OAuthError::RefreshTokenClientMismatch
    );
    assert_eq!(
        oauth(s.refresh("not-a-token", None)),
        OAuthError::RefreshTokenNotFound
    );
    assert!(matches!(
        oauth(s.refresh_as("ghost", &tokens.refresh_token, None, None)),
        OAuthError::UnknownClient { .. }
    ));
    s.clock
        .advance(REFRESH_TOKEN_TTL + Duration::from_millis(1));
    assert_eq!(
        oauth(s.refresh(&tokens.refresh_token, None)),
        OAuthError::RefreshTokenExpired
    );
}

#[test]
fn a_friends_token_carries_their_vaults() {
    let s = Setup::new();
    s.db.set_user_vaults(&s.friend, &["work"]).unwrap();
    let tokens = s
        .exchange(&s.code(&s.friend, &["vault:work:read"]), None)
        .unwrap();
    let claims = s.validate(&tokens.access_token).unwrap();
    assert_eq!(claims.vault_scope, vec!["work"]);
    assert_eq!(tokens.audience, "vault.work");
    // Assignments are re-read at refresh.
    s.db.set_user_vaults(&s.friend, &["work", "home"]).unwrap();
    let refreshed = s.refresh(&tokens.refresh_token, None).unwrap();
    assert_eq!(
        refreshed.claims.vault_scope,
        vec!["home", "work"],
        "same instant: by name"
    );
}

#[test]
fn a_rotation_that_lost_a_race_is_a_conflict() {
    let s = Setup::new();
    let tokens = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    s.db.revoke_token(&tokens.jti).unwrap();
    let scopes: Vec<String> = VAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let err =
        s.db.mint_oauth_pair(
            &s.issuer(),
            PairSpec {
                user_id: &s.owner,
                client_id: &s.client,
                access_scopes: scopes.clone(),
                row_scopes: &scopes,
                family_id: tokens.family_id.clone(),
                rotate_from: Some(&tokens.jti),
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, AuthError::OAuth(OAuthError::RotationConflict)),
        "{err:?}"
    );
    assert_eq!(
        row_strings(&s.db, "SELECT jti FROM tokens").len(),
        1,
        "nothing inserted"
    );
}

#[test]
fn revocation_follows_rfc_7009() {
    let s = Setup::new();
    let none = ClientCredentials::default();
    let a = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    assert_eq!(
        s.db.revoke_oauth_token(&a.refresh_token, None, &s.client, &none)
            .unwrap(),
        RevocationOutcome::Revoked { jti: a.jti.clone() }
    );
    assert!(matches!(
        s.validate(&a.access_token),
        Err(AuthFailure::Revoked { .. })
    ));
    assert_eq!(
        s.db.revoke_oauth_token(&a.access_token, Some("access_token"), &s.client, &none)
            .unwrap(),
        RevocationOutcome::AlreadyRevoked { jti: a.jti.clone() }
    );

    let b = s.exchange(&s.code(&s.owner, VAULT_SCOPES), None).unwrap();
    let other = approved_client(&s.db, "other", REDIRECT);
    assert_eq!(
        s.db.revoke_oauth_token(&b.access_token, None, &other, &none)
            .unwrap(),
        RevocationOutcome::OtherClient
    );
    assert!(s.validate(&b.access_token).is_ok());
    assert_eq!(
        s.db.revoke_oauth_token(&b.access_token, Some("refresh_token"), &s.client, &none)
            .unwrap(),
        RevocationOutcome::Revoked { jti: b.jti.clone() },
        "a wrong hint still finds the token"
    );
    assert!(matches!(
        oauth(s.refresh(&b.refresh_token, None)),
        OAuthError::RefreshTokenRevoked { .. }
    ));
    assert_eq!(
        s.db.revoke_oauth_token("garbage", None, &s.client, &none)
            .unwrap(),
        RevocationOutcome::Unknown
    );
    assert!(matches!(
        s.db.revoke_oauth_token("garbage", None, "ghost", &none),
        Err(AuthError::OAuth(OAuthError::UnknownClient { .. }))
    ));
}

#[test]
fn family_ids_are_uuid_shaped_and_stable() {
    let a = family_id_for_code("code-a");
    assert_eq!(a, family_id_for_code("code-a"));
    assert_ne!(a, family_id_for_code("code-b"));
    let parsed = uuid::Uuid::parse_str(&a).unwrap();
    assert_eq!(parsed.to_string(), a);
    assert_eq!(a.len(), 36);
}

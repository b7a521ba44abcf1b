//! The token endpoint's logic: exchanging an authorization code, and refreshing with rotation.
//!
//! Every successful answer is a pair, as the original issues it:
//! - an **access token**: the hub's RS256 JWT, claims in the original's order
//!   (`scope, client_id, vault_scope, sub, iss, iat, exp, aud, jti`), living
//!   [`ACCESS_TOKEN_TTL`]; `aud` is inferred from the scopes (`vault.<name>` for a named vault
//!   scope), `vault_scope` is empty for the owner and the user's vaults otherwise, `iss` is
//!   whatever origin the caller says the request came to;
//! - a **refresh token**: 32 random bytes (base64url) handed out once; its `tokens` row keeps
//!   only the SHA-256 hex, shares the access token's `jti` (no separate access-token row: a
//!   revoked row kills both), has `created_via = oauth_refresh` and a `family_id` shared by
//!   every rotation of one sign-in, and lives [`REFRESH_TOKEN_TTL`].
//!
//! Code exchange ([`HubDb::exchange_authorization_code`]): client authenticated and approved →
//! code redeemed (PKCE S256, exact redirect) → every scope declared by some module → `resource`,
//! if it names one of our vaults, matches the audience → pair minted in family
//! [`family_id_for_code`]. A replayed code revokes that family (everything the first redemption
//! and its rotations issued) and is refused; the original revoked nothing here. The family id
//! is derived from the code (a UUID-shaped hash) so the replay can find it; families the
//! original created are random UUIDs.
//!
//! Refresh ([`HubDb::refresh_oauth_tokens`]): client authenticated and approved → row found by
//! hash, same client, has a user → a revoked (spent) row means reuse: the whole family is
//! revoked and the request refused → not expired → a requested `scope` must be a subset of the
//! grant (escalation refused; a narrower access token is allowed, the new refresh row keeps the
//! full grant, RFC 6749 §6) → `resource` check → the old row is revoked and the new pair
//! inserted in one transaction (a concurrent rotation of the same row loses cleanly).

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::auth_codes::Redemption;
use crate::clients::ClientCredentials;
use crate::clock::{format_timestamp, parse_timestamp, unix_seconds};
use crate::db::HubDb;
use crate::error::AuthError;
use crate::oauth_error::OAuthError;
use crate::resource::check_resource_audience;
use crate::scopes::ScopeRegistry;
use crate::secret_tokens::{random_token, sha256_hex};
use crate::tokens::{
    Audience, Claims, CreatedVia, TOKEN_COLUMNS, TokenRecord, infer_audience, new_jti,
    record_from_row,
};

/// Lifetime of OAuth access tokens (15 minutes).
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Lifetime of refresh tokens (30 days).
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What every token request needs from the hub's configuration.
#[derive(Debug, Clone, Copy)]
pub struct TokenIssuer<'a> {
    /// The `iss` claim: the origin the request came to.
    pub issuer: &'a str,
    /// The hub's own origins, for RFC 8707 `resource` checks.
    pub bound_origins: &'a [String],
    /// Every scope the hub will sign.
    pub registry: &'a ScopeRegistry,
}

/// `grant_type=authorization_code`.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    /// `code`.
    pub code: &'a str,
    /// `client_id`.
    pub client_id: &'a str,
    /// `redirect_uri`.
    pub redirect_uri: &'a str,
    /// `code_verifier`.
    pub code_verifier: &'a str,
    /// The client's credentials (confidential clients).
    pub credentials: &'a ClientCredentials,
    /// `resource`, if sent.
    pub resource: Option<&'a str>,
}

/// `grant_type=refresh_token`.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest<'a> {
    /// `refresh_token`.
    pub refresh_token: &'a str,
    /// `client_id`.
    pub client_id: &'a str,
    /// The client's credentials (confidential clients).
    pub credentials: &'a ClientCredentials,
    /// `scope`, split, if sent (empty counts as absent).
    pub scopes: Option<&'a [String]>,
    /// `resource`, if sent.
    pub resource: Option<&'a str>,
}

/// A freshly issued access and refresh token pair.
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    /// The access token JWT. A secret: hand it to the client, never log it.
    pub access_token: String,
    /// The refresh token. A secret, shown once.
    pub refresh_token: String,
    /// The access token's scopes.
    pub scopes: Vec<String>,
    /// The access token's `aud`.
    pub audience: String,
    /// The shared `jti` of the access token and the refresh row.
    pub jti: String,
    /// The refresh family.
    pub family_id: String,
    /// When the refresh token expires (stored text).
    pub refresh_expires_at: String,
    /// The access token's claims.
    pub claims: Claims,
}

impl OAuthTokens {
    /// The RFC 6749 §5.1 body, members as the original sends them (the hub adds its
    /// `services` catalog).
    pub fn token_response(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL.as_secs(),
            "refresh_token": self.refresh_token,
            "scope": self.scopes.join(" "),
        })
    }
}

/// The refresh family of tokens issued for authorization code `code`: a UUID-shaped value
/// derived from the code, so a replay of the code finds what its first redemption issued.
pub fn family_id_for_code(code: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"parachute oauth code family\0")
        .chain_update(code.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// What to mint in [`HubDb::mint_oauth_pair`].
struct PairSpec<'a> {
    user_id: &'a str,
    client_id: &'a str,
    /// The access token's scopes.
    access_scopes: Vec<String>,
    /// The refresh row's scopes (the full grant).
    row_scopes: &'a [String],
    family_id: String,
    /// The row being rotated away, if this is a refresh.
    rotate_from: Option<&'a str>,
}

impl HubDb {
    /// Exchanges an authorization code for tokens (see the module docs).
    pub fn exchange_authorization_code(
        &self,
        issuer: &TokenIssuer<'_>,
        req: &CodeExchange<'_>,
    ) -> Result<OAuthTokens, AuthError> {
        self.authenticate_client(req.client_id, req.credentials, true)?;
        let code = match self.redeem_auth_code(
            req.code,
            req.client_id,
            req.redirect_uri,
            req.code_verifier,
        )? {
            Redemption::Redeemed(code) => code,
            Redemption::Replayed(code) => {
                let revoked = self.revoke_family(&family_id_for_code(&code.code))?;
                tracing::warn!(
                    client_id = req.client_id,
                    revoked,
                    "refused a replayed authorization code and revoked its tokens"
                );
                return Err(OAuthError::CodeReplayed { revoked }.into());
            }
        };
        let unknown = issuer.registry.unknown(&code.scopes);
        if !unknown.is_empty() {
            return Err(OAuthError::UnknownScopes { scopes: unknown }.into());
        }
        check_resource_audience(
            req.resource,
            issuer.bound_origins,
            &infer_audience(&code.scopes),
        )?;
        self.mint_oauth_pair(
            issuer,
            PairSpec {
                user_id: &code.user_id,
                client_id: &code.client_id,
                access_scopes: code.scopes.clone(),
                row_scopes: &code.scopes,
                family_id: family_id_for_code(&code.code),
                rotate_from: None,
            },
        )
    }

    /// Rotates a refresh token into a new pair (see the module docs).
    pub fn refresh_oauth_tokens(
        &self,
        issuer: &TokenIssuer<'_>,
        req: &RefreshRequest<'_>,
    ) -> Result<OAuthTokens, AuthError> {
        self.authenticate_client(req.client_id, req.credentials, true)?;
        let row = self
            .find_refresh_token(req.refresh_token)?
            .ok_or(OAuthError::RefreshTokenNotFound)?;
        if row.client_id != req.client_id {
            return Err(OAuthError::RefreshTokenClientMismatch.into());
        }
        let user_id = row
            .user_id
            .clone()
            .ok_or(OAuthError::RefreshTokenWithoutUser)?;
        if row.revoked_at.is_some() {
            let revoked = self.revoke_family(&row.family_id)?;
            tracing::warn!(client_id = req.client_id, family_id = %row.family_id, revoked, "a spent refresh token was presented again; revoked its family");
            return Err(OAuthError::RefreshTokenRevoked { revoked }.into());
        }
        if parse_timestamp(&row.expires_at).is_none_or(|expiry| self.now() > expiry) {
            return Err(OAuthError::RefreshTokenExpired.into());
        }
        let access_scopes = narrowed_scopes(&row.scopes, req.scopes)?;
        check_resource_audience(
            req.resource,
            issuer.bound_origins,
            &infer_audience(&access_scopes),
        )?;
        self.mint_oauth_pair(
            issuer,
            PairSpec {
                user_id: &user_id,
                client_id: &row.client_id,
                access_scopes,
                row_scopes: &row.scopes,
                family_id: row.family_id.clone(),
                rotate_from: Some(&row.jti),
            },
        )
    }

    /// The `tokens` row of the refresh token `plaintext` (found by its SHA-256), revoked or not.
    pub fn find_refresh_token(&self, plaintext: &str) -> Result<Option<TokenRecord>, AuthError> {
        if plaintext.is_empty() {
            return Ok(None);
        }
        self.lock()
            .query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE refresh_token_hash = ?1 LIMIT 1"
                ),
                [sha256_hex(plaintext)],
                record_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a refresh token"))
    }

    /// Revokes every still-live row of refresh family `family_id`; returns how many.
    pub fn revoke_family(&self, family_id: &str) -> Result<usize, AuthError> {
        let stamp = format_timestamp(self.now());
        self.lock()
            .execute(
                "UPDATE tokens SET revoked_at = ?1
                 WHERE (family_id = ?2 OR (family_id IS NULL AND jti = ?2)) AND revoked_at IS NULL",
                rusqlite::params![stamp, family_id],
            )
            .map_err(AuthError::sql("revoking a token family"))
    }

    /// Signs the access token, then records the refresh row (spending the rotated one, if any).
    fn mint_oauth_pair(
        &self,
        issuer: &TokenIssuer<'_>,
        spec: PairSpec<'_>,
    ) -> Result<OAuthTokens, AuthError> {
        if self.user_by_id(spec.user_id)?.is_none() {
            return Err(AuthError::UnknownUser {
                user: spec.user_id.to_owned(),
            });
        }
        let now = self.now();
        let iat = unix_seconds(now);
        let audience = infer_audience(&spec.access_scopes);
        let jti = new_jti();
        let claims = Claims {
            pa_scope_set: None,
            permissions: None,
            scope: spec.access_scopes.join(" "),
            client_id: Some(spec.client_id.to_owned()),
            vault_scope: self.vault_scope_for_user(spec.user_id)?,
            sub: Some(spec.user_id.to_owned()),
            iss: Some(issuer.issuer.to_owned()),
            iat: Some(iat),
            exp: Some(iat + i64::try_from(ACCESS_TOKEN_TTL.as_secs()).unwrap_or(900)),
            aud: Some(Audience::One(audience.clone())),
            jti: Some(jti.clone()),
            extra: Map::new(),
        };
        let access_token = self.sign_claims(&claims)?;
        let refresh_token = random_token();
        let stamp = format_timestamp(now);
        let refresh_expires_at = format_timestamp(now + REFRESH_TOKEN_TTL);

        self.record_refresh_row(
            &spec,
            &jti,
            &sha256_hex(&refresh_token),
            &stamp,
            &refresh_expires_at,
        )?;
        tracing::info!(
            client_id = spec.client_id,
            user_id = spec.user_id,
            jti = %jti,
            aud = %audience,
            rotated = spec.rotate_from.is_some(),
            "issued OAuth tokens"
        );
        Ok(OAuthTokens {
            access_token,
            refresh_token,
            scopes: spec.access_scopes,
            audience,
            jti,
            family_id: spec.family_id,
            refresh_expires_at,
            claims,
        })
    }
}

impl HubDb {
    /// In one transaction: spends the rotated row (a row someone else already spent is a
    /// conflict) and inserts the new refresh row, shaped as the original writes it.
    fn record_refresh_row(
        &self,
        spec: &PairSpec<'_>,
        jti: &str,
        refresh_hash: &str,
        stamp: &str,
        expires_at: &str,
    ) -> Result<(), AuthError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("issuing OAuth tokens"))?;
        if let Some(old) = spec.rotate_from {
            let spent = tx
                .execute(
                    "UPDATE tokens SET revoked_at = ?1 WHERE jti = ?2 AND revoked_at IS NULL",
                    rusqlite::params![stamp, old],
                )
                .map_err(AuthError::sql("spending a refresh token"))?;
            if spent == 0 {
                return Err(OAuthError::RotationConflict.into());
            }
        }
        tx.execute(
            "INSERT INTO tokens (jti, user_id, client_id, scopes, refresh_token_hash, family_id,
                                 expires_at, created_at, created_via)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                jti,
                spec.user_id,
                spec.client_id,
                spec.row_scopes.join(" "),
                refresh_hash,
                spec.family_id,
                expires_at,
                stamp,
                CreatedVia::OauthRefresh.as_str(),
            ],
        )
        .map_err(AuthError::sql("recording a refresh token"))?;
        tx.commit().map_err(AuthError::sql("issuing OAuth tokens"))
    }
}

/// The access token's scopes at refresh: the grant when none are asked for, else the requested
/// subset (duplicates removed); anything beyond the grant is refused.
fn narrowed_scopes(
    granted: &[String],
    requested: Option<&[String]>,
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(granted.to_vec());
    };
    let beyond: Vec<String> = requested
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect();
    if !beyond.is_empty() {
        return Err(OAuthError::ScopeEscalation { scopes: beyond });
    }
    let mut out: Vec<String> = Vec::new();
    for scope in requested {
        if !out.contains(scope) {
            out.push(scope.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "oauth_tokens_tests.rs"]
mod tests;

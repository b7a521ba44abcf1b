//! Authorization codes (`auth_codes` table): the one-use ticket between consent and the token
//! endpoint.
//!
//! Issuing ([`HubDb::issue_authorization_code`]) is the single point every path to a code goes
//! through (consent page, skipped consent, same-hub auto-trust), so its checks cannot be
//! bypassed: the client exists and is approved, the redirect URI is one it registered (exact
//! match), PKCE is S256 with a well-formed challenge (`plain` is refused), no operator-only
//! scope is asked for, the scopes are capped to what the user may delegate
//! ([`HubDb::cap_scopes_to_user`]), the capped set is recorded as the user's grant, and the
//! code (32 random bytes, base64url) lives [`AUTH_CODE_TTL`].
//!
//! Redeeming ([`HubDb::redeem_auth_code`]) checks, in one write transaction: the code exists
//! for this client (otherwise "not found", so codes of other clients are not disclosed), the
//! redirect URI equals the bound one, the code was not used before, it has not expired, and
//! SHA-256 of the verifier equals the challenge; then stamps `used_at`. A second redemption is
//! reported as [`Redemption::Replayed`] so the token layer can revoke what the first one issued
//! (RFC 6749 §10.5). The original revoked nothing on replay and checked expiry before reuse; we
//! check reuse first so a late replay is still recognised.

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::clients::ClientStatus;
use crate::clock::{format_timestamp, parse_timestamp};
use crate::db::HubDb;
use crate::error::AuthError;
use crate::grants::require_user_and_client;
use crate::oauth_error::OAuthError;
use crate::scopes::is_non_requestable_scope;
use crate::secret_tokens::{constant_time_eq, random_token, sha256_base64url};

/// How long a code may wait to be redeemed (60 seconds).
pub const AUTH_CODE_TTL: Duration = Duration::from_secs(60);

/// The only PKCE method accepted.
pub const PKCE_METHOD_S256: &str = "S256";

/// One `auth_codes` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// The code itself. A secret until redeemed.
    pub code: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who consented.
    pub user_id: String,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// The scopes it carries (already capped).
    pub scopes: Vec<String>,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// Always `S256` for codes we issue.
    pub code_challenge_method: String,
    /// Expiry (stored text).
    pub expires_at: String,
    /// When it was redeemed (stored text), if it was.
    pub used_at: Option<String>,
    /// Creation (stored text).
    pub created_at: String,
}

/// What the consent step asks to issue.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// `client_id`.
    pub client_id: String,
    /// The signed-in user who consented.
    pub user_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// The consented scopes, after resource binding and vault picking
    /// ([`crate::attenuation::bind_request_scopes`]).
    pub scopes: Vec<String>,
    /// `code_challenge`.
    pub code_challenge: String,
    /// `code_challenge_method`.
    pub code_challenge_method: String,
}

/// The outcome of redeeming a code that exists for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// First redemption: issue tokens for this code.
    Redeemed(AuthCode),
    /// The code was redeemed before; refuse, and revoke what the first redemption issued.
    Replayed(AuthCode),
}

const CODE_COLUMNS: &str = "code, client_id, user_id, redirect_uri, scopes, code_challenge, \
                            code_challenge_method, expires_at, used_at, created_at";

fn code_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuthCode> {
    let scopes: String = row.get(4)?;
    Ok(AuthCode {
        code: row.get(0)?,
        client_id: row.get(1)?,
        user_id: row.get(2)?,
        redirect_uri: row.get(3)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        code_challenge: row.get(5)?,
        code_challenge_method: row.get(6)?,
        expires_at: row.get(7)?,
        used_at: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// Refuses anything but S256 with a 43-character base64url challenge (a SHA-256 digest).
pub fn check_pkce_challenge(challenge: &str, method: &str) -> Result<(), OAuthError> {
    if method != PKCE_METHOD_S256 {
        return Err(OAuthError::UnsupportedPkceMethod {
            method: method.to_owned(),
        });
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(OAuthError::InvalidCodeChallenge)
    }
}

/// Whether `verifier` matches `challenge` under `method` (S256 only; anything else fails).
pub fn verify_pkce(challenge: &str, method: &str, verifier: &str) -> bool {
    method == PKCE_METHOD_S256 && constant_time_eq(&sha256_base64url(verifier), challenge)
}

impl HubDb {
    /// Issues a code for a consented request (see the module docs for every check). The
    /// returned code's scopes are the capped set actually granted.
    pub fn issue_authorization_code(
        &self,
        req: &AuthorizationRequest,
    ) -> Result<AuthCode, AuthError> {
        let client = self.require_client(&req.client_id)?;
        if client.status != ClientStatus::Approved {
            return Err(OAuthError::ClientNotApproved {
                client_id: req.client_id.clone(),
            }
            .into());
        }
        client.require_registered_redirect_uri(&req.redirect_uri)?;
        check_pkce_challenge(&req.code_challenge, &req.code_challenge_method)?;
        let blocked: Vec<String> = req
            .scopes
            .iter()
            .filter(|s| is_non_requestable_scope(s))
            .cloned()
            .collect();
        if !blocked.is_empty() {
            return Err(OAuthError::NonRequestableScopes { scopes: blocked }.into());
        }
        let scopes = self.cap_scopes_to_user(&req.user_id, &req.scopes)?;
        self.record_grant(&req.user_id, &req.client_id, &scopes)?;

        let now = self.now();
        let code = AuthCode {
            code: random_token(),
            client_id: req.client_id.clone(),
            user_id: req.user_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            scopes,
            code_challenge: req.code_challenge.clone(),
            code_challenge_method: req.code_challenge_method.clone(),
            expires_at: format_timestamp(now + AUTH_CODE_TTL),
            used_at: None,
            created_at: format_timestamp(now),
        };
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("issuing an authorization code"))?;
        require_user_and_client(&tx, &code.user_id, &code.client_id)?;
        tx.execute(
            &format!(
                "INSERT INTO auth_codes ({CODE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9)"
            ),
            rusqlite::params![
                code.code,
                code.client_id,
                code.user_id,
                code.redirect_uri,
                code.scopes.join(" "),
                code.code_challenge,
                code.code_challenge_method,
                code.expires_at,
                code.created_at,
            ],
        )
        .map_err(AuthError::sql("issuing an authorization code"))?;
        tx.commit()
            .map_err(AuthError::sql("issuing an authorization code"))?;
        tracing::info!(client_id = %code.client_id, user_id = %code.user_id, scopes = %code.scopes.join(" "), "issued an authorization code");
        Ok(code)
    }

    /// The stored code `code`, if any (for listings and tests).
    pub fn auth_code(&self, code: &str) -> Result<Option<AuthCode>, AuthError> {
        self.lock()
            .query_row(
                &format!("SELECT {CODE_COLUMNS} FROM auth_codes WHERE code = ?1"),
                [code],
                code_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up an authorization code"))
    }

    /// Redeems `code` for `client_id` (see the module docs for the order of checks).
    pub fn redeem_auth_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Redemption, AuthError> {
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("redeeming an authorization code"))?;
        let row = tx
            .query_row(
                &format!("SELECT {CODE_COLUMNS} FROM auth_codes WHERE code = ?1"),
                [code],
                code_from_row,
            )
            .optional()
            .map_err(AuthError::sql("redeeming an authorization code"))?;
        let Some(mut found) = row.filter(|c| c.client_id == client_id) else {
            return Err(OAuthError::CodeNotFound.into());
        };
        if found.redirect_uri != redirect_uri {
            return Err(OAuthError::CodeRedirectMismatch.into());
        }
        if found.used_at.is_some() {
            tracing::warn!(
                client_id,
                "an authorization code was presented a second time"
            );
            return Ok(Redemption::Replayed(found));
        }
        if parse_timestamp(&found.expires_at).is_none_or(|expiry| now > expiry) {
            return Err(OAuthError::CodeExpired.into());
        }
        if !verify_pkce(
            &found.code_challenge,
            &found.code_challenge_method,
            code_verifier,
        ) {
            return Err(OAuthError::CodeVerifierMismatch.into());
        }
        let stamp = format_timestamp(now);
        tx.execute(
            "UPDATE auth_codes SET used_at = ?1 WHERE code = ?2 AND used_at IS NULL",
            rusqlite::params![stamp, code],
        )
        .map_err(AuthError::sql("redeeming an authorization code"))?;
        tx.commit()
            .map_err(AuthError::sql("redeeming an authorization code"))?;
        found.used_at = Some(stamp);
        Ok(Redemption::Redeemed(found))
    }
}

#[cfg(test)]
#[path = "auth_codes_tests.rs"]
mod tests;

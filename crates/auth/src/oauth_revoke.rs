//! RFC 7009 token revocation (`/oauth/revoke`).
//!
//! Flow: the client is authenticated (confidential clients prove their secret; approval is not
//! required, so a pending client can still clean up). The token is looked up as a refresh token
//! (by its SHA-256) unless the hint says `access_token`, then as an access token by the `jti` in
//! its payload (read without verifying the signature: the row has to exist and belong to this
//! client anyway), then as a refresh token again. A row of another client is left alone. The
//! row is marked revoked; because an access token shares its refresh token's row, revoking
//! either kills both. The endpoint answers 200 whatever the outcome, so callers cannot probe
//! for live tokens; [`RevocationOutcome`] is only for logs and tests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clients::ClientCredentials;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::tokens::TokenRecord;

/// What a revocation request did (the HTTP answer is 200 in every case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationOutcome {
    /// The row `jti` was live and is now revoked.
    Revoked {
        /// The revoked row.
        jti: String,
    },
    /// The row `jti` was already revoked.
    AlreadyRevoked {
        /// The row.
        jti: String,
    },
    /// No row matches the token.
    Unknown,
    /// The token belongs to another client; nothing was changed.
    OtherClient,
}

/// The `jti` claim of a JWT's payload, without checking the signature.
pub fn unverified_jti(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("jti")?.as_str().map(str::to_owned)
}

impl HubDb {
    /// Revokes `token` for `client_id` (see the module docs). `hint` is `token_type_hint`.
    /// Errors only when the client is unknown or fails authentication.
    pub fn revoke_oauth_token(
        &self,
        token: &str,
        hint: Option<&str>,
        client_id: &str,
        credentials: &ClientCredentials,
    ) -> Result<RevocationOutcome, AuthError> {
        self.authenticate_client(client_id, credentials, false)?;
        let Some(row) = self.revocation_target(token, hint)? else {
            return Ok(RevocationOutcome::Unknown);
        };
        if row.client_id != client_id {
            return Ok(RevocationOutcome::OtherClient);
        }
        if self.revoke_token(&row.jti)? {
            tracing::info!(client_id, jti = %row.jti, "revoked an OAuth token on the client's request");
            Ok(RevocationOutcome::Revoked { jti: row.jti })
        } else {
            Ok(RevocationOutcome::AlreadyRevoked { jti: row.jti })
        }
    }

    /// The row `token` names, trying the shapes in the order the hint suggests.
    fn revocation_target(
        &self,
        token: &str,
        hint: Option<&str>,
    ) -> Result<Option<TokenRecord>, AuthError> {
        let hinted_access = hint == Some("access_token");
        if !hinted_access && let Some(row) = self.find_refresh_token(token)? {
            return Ok(Some(row));
        }
        if let Some(jti) = unverified_jti(token)
            && let Some(row) = self.token_record(&jti)?
        {
            return Ok(Some(row));
        }
        if hinted_access {
            return self.find_refresh_token(token);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jti_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"u","jti":"abc123"}"#);
        assert_eq!(
            unverified_jti(&format!("h.{payload}.s")).as_deref(),
            Some("abc123")
        );
        let no_jti = URL_SAFE_NO_PAD.encode(r#"{"sub":"u"}"#);
        assert_eq!(unverified_jti(&format!("h.{no_jti}.s")), None);
        assert_eq!(unverified_jti("opaque-refresh-token"), None);
        assert_eq!(unverified_jti("a.b.c.d"), None);
        assert_eq!(unverified_jti("a.!!!.c"), None);
    }
}

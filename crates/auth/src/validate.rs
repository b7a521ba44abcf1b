//! Checking a presented bearer token, and why a token is refused.
//!
//! Order of checks (the first failure wins): header parses and names a `kid` → the key is
//! known (active or retired less than 24 h ago) → RS256 signature → `exp` → `iss` is one of the
//! issuers the hub is known by → `aud` (only when the caller expects one) → `jti` not revoked →
//! `sub` present → the required scope is among the space-separated `scope`.

use std::time::SystemTime;

use jsonwebtoken::{Algorithm, Validation};

use crate::clock::unix_seconds;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::tokens::Claims;

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct ValidationRequest {
    /// Every issuer the hub is known by (see [`crate::known_issuers`]); `iss` must be one.
    pub accepted_issuers: Vec<String>,
    /// A scope the token must carry, if any.
    pub required_scope: Option<String>,
    /// An audience the token must carry, if the caller checks audience.
    pub expected_audience: Option<String>,
    /// The time to judge `exp` and key retention against (from a [`crate::Clock`]).
    pub now: SystemTime,
}

/// Why a bearer token was refused. Maps to the HTTP answer via [`AuthFailure::status`] and
/// [`AuthFailure::error_code`]; `Display` is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header, or it does not start with `Bearer `.
    #[error("send the request with an Authorization: Bearer <token> header")]
    MissingBearer,
    /// `Bearer ` followed by nothing.
    #[error("the bearer token is empty")]
    EmptyBearer,
    /// Not a JWT we can read, not RS256, or missing `kid`/`exp`.
    #[error("bearer token invalid: {0}")]
    Malformed(String),
    /// The `kid` names no key this hub verifies with (never ours, or retired over 24 h ago).
    #[error("bearer token invalid: signing key {kid:?} is unknown or retired")]
    UnknownKey {
        /// The header's `kid`.
        kid: String,
    },
    /// The RS256 signature does not match.
    #[error("bearer token invalid: the signature does not verify")]
    BadSignature,
    /// `exp` is in the past.
    #[error("bearer token invalid: it expired (exp {exp})")]
    Expired {
        /// The token's `exp`, Unix seconds.
        exp: i64,
    },
    /// `iss` is missing or not an issuer this hub is known by.
    #[error("bearer token invalid: issuer {iss:?} is not this hub")]
    UnknownIssuer {
        /// The token's `iss` (empty when absent).
        iss: String,
    },
    /// `aud` does not include the expected audience.
    #[error("bearer token invalid: it is not meant for {expected:?}")]
    WrongAudience {
        /// The audience the caller required.
        expected: String,
    },
    /// The registry marks the token's `jti` revoked.
    #[error("bearer token invalid: it has been revoked")]
    Revoked {
        /// The revoked `jti`.
        jti: String,
    },
    /// `sub` is missing or empty.
    #[error("the bearer token has no subject (sub claim)")]
    NoSubject,
    /// Valid token without the scope the route needs.
    #[error("the bearer token does not carry the {required} scope")]
    InsufficientScope {
        /// The scope that was required.
        required: String,
    },
    /// The hub database failed while checking; not the caller's fault.
    #[error("could not check the bearer token: {0}")]
    Internal(String),
}

impl AuthFailure {
    /// HTTP status: 403 for a missing scope, 500 for an internal failure, else 401.
    pub fn status(&self) -> u16 {
        match self {
            AuthFailure::InsufficientScope { .. } => 403,
            AuthFailure::Internal(_) => 500,
            _ => 401,
        }
    }

    /// The JSON `error` code: `insufficient_scope`, `server_error` or `unauthenticated`.
    pub fn error_code(&self) -> &'static str {
        match self {
            AuthFailure::InsufficientScope { .. } => "insufficient_scope",
            AuthFailure::Internal(_) => "server_error",
            _ => "unauthenticated",
        }
    }

    /// The JSON `error_description`.
    pub fn description(&self) -> String {
        self.to_string()
    }
}

impl From<AuthError> for AuthFailure {
    fn from(e: AuthError) -> Self {
        AuthFailure::Internal(e.to_string())
    }
}

/// Extracts the token from an `Authorization` header value: it must start with exactly
/// `Bearer `; surrounding whitespace after the prefix is ignored.
pub fn parse_bearer(header_value: Option<&str>) -> Result<&str, AuthFailure> {
    let value = header_value.ok_or(AuthFailure::MissingBearer)?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or(AuthFailure::MissingBearer)?
        .trim();
    if token.is_empty() {
        return Err(AuthFailure::EmptyBearer);
    }
    Ok(token)
}

impl HubDb {
    /// Validates `token` against `req` and returns its claims.
    pub fn validate(&self, token: &str, req: &ValidationRequest) -> Result<Claims, AuthFailure> {
        let claims = self.verify_signature(token, req.now)?;
        check_expiry(&claims, req.now)?;
        let iss = claims.iss.clone().unwrap_or_default();
        if !req.accepted_issuers.iter().any(|accepted| accepted == &iss) {
            return Err(AuthFailure::UnknownIssuer { iss });
        }
        if let Some(expected) = &req.expected_audience
            && !claims
                .aud
                .as_ref()
                .is_some_and(|aud| aud.contains(expected))
        {
            return Err(AuthFailure::WrongAudience {
                expected: expected.clone(),
            });
        }
        self.check_not_revoked(&claims)?;
        if claims.sub.as_deref().is_none_or(str::is_empty) {
            return Err(AuthFailure::NoSubject);
        }
        if let Some(required) = &req.required_scope
            && !claims.has_scope(required)
        {
            return Err(AuthFailure::InsufficientScope {
                required: required.clone(),
            });
        }
        Ok(claims)
    }

    /// Signature, key, expiry and revocation checks only, whatever the issuer (used to decide
    /// whether a token this hub minted may be re-issued under a new issuer).
    pub fn validate_ignoring_issuer(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Claims, AuthFailure> {
        let claims = self.verify_signature(token, now)?;
        check_expiry(&claims, now)?;
        self.check_not_revoked(&claims)?;
        Ok(claims)
    }

    /// Header, key lookup by `kid`, RS256 signature; returns the claims.
    fn verify_signature(&self, token: &str, now: SystemTime) -> Result<Claims, AuthFailure> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthFailure::Malformed(format!("not a readable JWT ({e})")))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthFailure::Malformed(format!(
                "algorithm {:?} is not accepted (RS256 only)",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthFailure::Malformed("the header has no kid".to_owned()))?;
        let (_, loaded) = self
            .verification_key(&kid, now)?
            .ok_or(AuthFailure::UnknownKey { kid })?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data =
            jsonwebtoken::decode::<Claims>(token, &loaded.decoding, &validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthFailure::BadSignature,
                    _ => AuthFailure::Malformed(e.to_string()),
                }
            })?;
        Ok(data.claims)
    }

    fn check_not_revoked(&self, claims: &Claims) -> Result<(), AuthFailure> {
        if let Some(jti) = &claims.jti
            && self.is_revoked(jti)?
        {
            return Err(AuthFailure::Revoked { jti: jti.clone() });
        }
        Ok(())
    }
}

/// `exp` must be present and strictly in the future.
fn check_expiry(claims: &Claims, now: SystemTime) -> Result<(), AuthFailure> {
    let exp = claims
        .exp
        .ok_or_else(|| AuthFailure::Malformed("the token has no exp claim".to_owned()))?;
    if unix_seconds(now) >= exp {
        return Err(AuthFailure::Expired { exp });
    }
    Ok(())
}

//! Token documents and the token API: the revocation list modules poll, and
//! `POST /api/auth/mint-token`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// `GET /.well-known/parachute-revocation.json`: the `jti`s of revoked tokens that have not
/// expired yet, in the original's shape (its token library, scope-guard, requires `jtis` to be
/// an array of strings and refuses every token while it cannot read one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevocationList {
    /// When the list was made (ISO-8601, UTC, milliseconds).
    pub generated_at: String,
    /// The revoked `jti`s.
    pub jtis: Vec<String>,
}

/// `POST /api/auth/mint-token` body (the original's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MintTokenRequest {
    /// Space-separated scopes to mint.
    pub scope: String,
    /// `aud`; inferred from the scopes when absent (`vault:<n>:<verb>` → `vault.<n>`, else the
    /// first scope's service, else `hub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Lifetime in seconds (default 90 days, at most 365 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "number | null")]
    pub expires_in: Option<u64>,
    /// `sub`; the bearer's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Fine-grained constraints (a JSON object) carried as the `permissions` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "Record<string, unknown> | null")]
    pub permissions: Option<Value>,
}

/// The answer to a mint: the token (a secret: hand it to its holder) and its registry facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MintedTokenAnswer {
    /// Its `jti` (what `revoke-token` takes).
    pub jti: String,
    /// The compact JWT.
    pub token: String,
    /// Its expiry (ISO-8601).
    pub expires_at: String,
    /// Its scopes, space-separated.
    pub scope: String,
    /// The `permissions` claim, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "Record<string, unknown> | null")]
    pub permissions: Option<Value>,
}

//! Minting JWTs and the `tokens` registry (every token the hub issues gets a row, keyed by
//! `jti`, so it can be listed and revoked).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use rand::RngCore as _;
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::{format_timestamp, from_unix_seconds, unix_seconds};
use crate::db::HubDb;
use crate::error::AuthError;
use crate::keys::encoding_key;
use crate::operator::OperatorScopeSet;

/// `client_id` claim and column of tokens the hub mints for itself (operator and CLI mints).
pub const HUB_CLIENT_ID: &str = "parachute-hub";

/// Default lifetime of `parachute auth mint-token` tokens (90 days).
pub const MINT_DEFAULT_TTL: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// Lifetime of `mint-token --ephemeral` tokens (1 hour).
pub const MINT_EPHEMERAL_TTL: Duration = Duration::from_secs(60 * 60);

/// Longest lifetime `mint-token` accepts (365 days).
pub const MINT_MAX_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Which path minted a token (`tokens.created_via`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatedVia {
    /// An OAuth refresh token (the original's OAuth flow; we only read these).
    OauthRefresh,
    /// `parachute auth mint-token` or the mint-token API.
    CliMint,
    /// An operator token (`operator.token`).
    OperatorMint,
}

impl CreatedVia {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CreatedVia::OauthRefresh => "oauth_refresh",
            CreatedVia::CliMint => "cli_mint",
            CreatedVia::OperatorMint => "operator_mint",
        }
    }
}

/// A JWT `aud` claim: one audience (what we mint) or several (allowed by RFC 7519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// A list of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` is (one of) the audience(s).
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(one) => one == aud,
            Audience::Many(many) => many.iter().any(|a| a == aud),
        }
    }
}

/// The claims of a hub-issued JWT, in the order the original writes them.
///
/// Every field is optional on input so a foreign or malformed token can be parsed and then
/// rejected with a precise reason; tokens we mint always carry all of them (except the two
/// extension claims).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Operator tokens only: the scope set the token was minted under, so renewal keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pa_scope_set: Option<String>,
    /// Optional fine-grained constraints (`mint-token --permissions`), a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Value>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Per-user vault restriction; `[]` means none.
    #[serde(default)]
    pub vault_scope: Vec<String>,
    /// Subject: the hub user id (operator tokens: the first user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Issuer: the hub origin the token was minted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Issued-at, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Audience: `operator`, `vault.<name>`, a module name, `hub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Unique token id, base64url of 16 random bytes; keys the `tokens` row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Any other claims, kept so nothing is lost when a token is inspected.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// The scopes, split on whitespace.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The expiry as a time, if present.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.exp.map(from_unix_seconds)
    }
}

/// What to mint. Build with [`MintRequest::cli`] or [`MintRequest::operator`] and adjust.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// `sub` claim.
    pub sub: String,
    /// Scopes, joined with spaces into `scope`.
    pub scopes: Vec<String>,
    /// `aud` claim.
    pub audience: String,
    /// `iss` claim: the hub origin the token is for.
    pub issuer: String,
    /// Lifetime; `exp = iat + ttl` (whole seconds).
    pub ttl: Duration,
    /// `client_id` claim and column.
    pub client_id: String,
    /// Provenance stored in the registry row.
    pub created_via: CreatedVia,
    /// `tokens.subject`: `operator` for operator tokens, the subject otherwise.
    pub subject: String,
    /// `tokens.user_id` (left NULL by operator and CLI mints, as the original does).
    pub user_id: Option<String>,
    /// Optional `permissions` claim (a JSON object), also stored in the row.
    pub permissions: Option<Value>,
    /// Operator tokens: the `pa_scope_set` claim.
    pub scope_set: Option<OperatorScopeSet>,
    /// The `vault_scope` claim: vaults the token is pinned to (`[]`: no pin).
    pub vault_scope: Vec<String>,
}

impl MintRequest {
    /// A `mint-token` style token: `created_via = cli_mint`, row subject = `sub`.
    pub fn cli(
        sub: &str,
        scopes: Vec<String>,
        audience: &str,
        issuer: &str,
        ttl: Duration,
    ) -> Self {
        Self {
            sub: sub.to_owned(),
            scopes,
            audience: audience.to_owned(),
            issuer: issuer.to_owned(),
            ttl,
            client_id: HUB_CLIENT_ID.to_owned(),
            created_via: CreatedVia::CliMint,
            subject: sub.to_owned(),
            user_id: None,
            permissions: None,
            scope_set: None,
            vault_scope: Vec::new(),
        }
    }
}

/// A freshly minted token.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// The compact JWT. A secret: hand it to its holder, never log it.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// `tokens.expires_at` text (the `exp` instant).
    pub expires_at: String,
    /// The claims it carries.
    pub claims: Claims,
}

/// One `tokens` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRecord {
    /// Token id.
    pub jti: String,
    /// Hub user the token belongs to (OAuth rows), if any.
    pub user_id: Option<String>,
    /// Non-user subject (`operator`, a user id for CLI mints, …).
    pub subject: Option<String>,
    /// Client the token was issued to.
    pub client_id: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Refresh-token family (OAuth rows); the jti when absent.
    pub family_id: String,
    /// Expiry (stored text).
    pub expires_at: String,
    /// Revocation time (stored text), if revoked.
    pub revoked_at: Option<String>,
    /// Creation time (stored text).
    pub created_at: String,
    /// Provenance text (`oauth_refresh`, `cli_mint`, `operator_mint`).
    pub created_via: String,
    /// JSON-encoded permissions, if any.
    pub permissions: Option<String>,
}

/// Which rows [`HubDb::list_tokens`] returns.
#[derive(Debug, Clone, Default)]
pub struct TokenFilter {
    /// `Some(true)`: only revoked; `Some(false)`: only unrevoked; `None`: both.
    pub revoked: Option<bool>,
    /// Rows whose `user_id` or `subject` equals this.
    pub subject: Option<String>,
    /// Rows minted this way.
    pub created_via: Option<CreatedVia>,
}

/// A new random `jti`: base64url (no padding) of 16 random bytes.
pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The audience a token for `scopes` is meant for when none is given: `vault.<name>` for the
/// first `vault:<name>:<read|write|admin>` scope, else the service before the first `:` of the
/// first scope that has one, else `hub`.
pub fn infer_audience<S: AsRef<str>>(scopes: &[S]) -> String {
    for scope in scopes {
        let parts: Vec<&str> = scope.as_ref().split(':').collect();
        if let ["vault", name, verb] = parts.as_slice()
            && !name.is_empty()
            && matches!(*verb, "read" | "write" | "admin")
        {
            return format!("vault.{name}");
        }
    }
    for scope in scopes {
        if let Some(idx) = scope.as_ref().find(':')
            && idx > 0
        {
            return scope.as_ref()[..idx].to_owned();
        }
    }
    "hub".to_owned()
}

/// Scopes only an operator token may carry; `mint-token` must refuse to mint them.
pub fn is_operator_only_scope(scope: &str) -> bool {
    matches!(
        scope,
        "parachute:host:admin"
            | "parachute:host:install"
            | "parachute:host:start"
            | "parachute:host:expose"
            | "parachute:host:auth"
            | "parachute:host:vault"
    )
}

pub(crate) const TOKEN_COLUMNS: &str = "jti, user_id, subject, client_id, scopes, family_id, expires_at, \
                             revoked_at, created_at, created_via, permissions";

pub(crate) fn record_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let jti: String = row.get(0)?;
    let scopes: String = row.get(4)?;
    Ok(TokenRecord {
        user_id: row.get(1)?,
        subject: row.get(2)?,
        client_id: row.get(3)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        family_id: row
            .get::<_, Option<String>>(5)?
            .unwrap_or_else(|| jti.clone()),
        expires_at: row.get(6)?,
        revoked_at: row.get(7)?,
        created_at: row.get(8)?,
        created_via: row.get(9)?,
        permissions: row.get(10)?,
        jti,
    })
}

/// Signs `claims` with `key`. The original's header is exactly `{"alg":"RS256","kid":…}`: no
/// `typ`.
fn sign_with(key: &crate::keys::SigningKey, claims: &Claims) -> Result<String, AuthError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = None;
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &encoding_key(key)?)
        .map_err(|e| AuthError::Sign(e.to_string()))
}

impl HubDb {
    /// Signs `claims` with the active key without recording anything (OAuth access tokens
    /// share the `tokens` row of their refresh token, which the caller writes).
    pub(crate) fn sign_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        let key = self.active_key()?;
        sign_with(&key, claims)
    }

    /// Signs a token with the active key and records it in `tokens`.
    pub fn mint(&self, req: &MintRequest) -> Result<MintedToken, AuthError> {
        let now = self.now();
        let minted = self.sign_request(req, now)?;
        let permissions = match &req.permissions {
            Some(v) => {
                Some(serde_json::to_string(v).map_err(|e| AuthError::Claims(e.to_string()))?)
            }
            None => None,
        };
        let created_at = format_timestamp(now);
        self.lock()
            .execute(
                "INSERT INTO tokens (jti, user_id, client_id, scopes, expires_at, created_at,
                                     permissions, created_via, subject)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    minted.jti,
                    req.user_id,
                    req.client_id,
                    minted.claims.scope,
                    minted.expires_at,
                    created_at,
                    permissions,
                    req.created_via.as_str(),
                    req.subject,
                ],
            )
            .map_err(AuthError::sql("recording a minted token"))?;
        tracing::info!(jti = %minted.jti, created_via = req.created_via.as_str(), aud = %req.audience, "minted a token");
        Ok(minted)
    }

    /// Signs a token with the active key without a `tokens` row: for short-lived bearers the
    /// original does not record either (the dashboard's host-admin token, 10 minutes). They
    /// cannot be revoked one by one; they expire.
    pub fn mint_unrecorded(&self, req: &MintRequest) -> Result<MintedToken, AuthError> {
        self.sign_request(req, self.now())
    }

    /// The signed token for `req`, issued at `now`.
    fn sign_request(&self, req: &MintRequest, now: SystemTime) -> Result<MintedToken, AuthError> {
        let key = self.active_key()?;
        let iat = unix_seconds(now);
        let ttl = i64::try_from(req.ttl.as_secs()).unwrap_or(i64::MAX);
        let exp = iat.saturating_add(ttl);
        let jti = new_jti();
        let scope = req.scopes.join(" ");
        let claims = Claims {
            pa_scope_set: req.scope_set.map(|s| s.name().to_owned()),
            permissions: req.permissions.clone(),
            scope: scope.clone(),
            client_id: Some(req.client_id.clone()),
            vault_scope: req.vault_scope.clone(),
            sub: Some(req.sub.clone()),
            iss: Some(req.issuer.clone()),
            iat: Some(iat),
            exp: Some(exp),
            aud: Some(Audience::One(req.audience.clone())),
            jti: Some(jti.clone()),
            extra: Map::new(),
        };
        let token = sign_with(&key, &claims)?;
        let expires_at = format_timestamp(from_unix_seconds(exp));
        Ok(MintedToken {
            token,
            jti,
            expires_at,
            claims,
        })
    }

    /// Marks the token `jti` revoked. Returns false when there is no such row or it was already
    /// revoked (the first revocation time is kept).
    pub fn revoke_token(&self, jti: &str) -> Result<bool, AuthError> {
        let stamp = format_timestamp(self.now());
        let changed = self
            .lock()
            .execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE jti = ?2 AND revoked_at IS NULL",
                rusqlite::params![stamp, jti],
            )
            .map_err(AuthError::sql("revoking a token"))?;
        Ok(changed > 0)
    }

    /// The registry row for `jti`, if any.
    pub fn token_record(&self, jti: &str) -> Result<Option<TokenRecord>, AuthError> {
        self.lock()
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE jti = ?1"),
                [jti],
                record_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a token"))
    }

    /// Registry rows matching `filter`, newest first.
    pub fn list_tokens(&self, filter: &TokenFilter) -> Result<Vec<TokenRecord>, AuthError> {
        let mut sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE 1 = 1");
        let mut params: Vec<String> = Vec::new();
        match filter.revoked {
            Some(true) => sql.push_str(" AND revoked_at IS NOT NULL"),
            Some(false) => sql.push_str(" AND revoked_at IS NULL"),
            None => {}
        }
        if let Some(subject) = &filter.subject {
            params.push(subject.clone());
            params.push(subject.clone());
            sql.push_str(&format!(
                " AND (user_id = ?{} OR subject = ?{})",
                params.len() - 1,
                params.len()
            ));
        }
        if let Some(via) = filter.created_via {
            params.push(via.as_str().to_owned());
            sql.push_str(&format!(" AND created_via = ?{}", params.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, jti DESC");
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&sql)
            .map_err(AuthError::sql("listing tokens"))?;
        stmt.query_map(rusqlite::params_from_iter(params.iter()), record_from_row)
            .and_then(Iterator::collect)
            .map_err(AuthError::sql("listing tokens"))
    }

    /// `jti`s revoked but not yet expired, sorted (the revocation list document).
    pub fn active_revocations(&self) -> Result<Vec<String>, AuthError> {
        let now = format_timestamp(self.now());
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT jti FROM tokens WHERE revoked_at IS NOT NULL AND expires_at > ?1 ORDER BY jti",
            )
            .map_err(AuthError::sql("listing revoked tokens"))?;
        stmt.query_map([now], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(AuthError::sql("listing revoked tokens"))
    }

    /// Whether the registry marks `jti` revoked (unknown jtis are not revoked).
    pub(crate) fn is_revoked(&self, jti: &str) -> Result<bool, AuthError> {
        let revoked: Option<Option<String>> = self
            .lock()
            .query_row("SELECT revoked_at FROM tokens WHERE jti = ?1", [jti], |r| {
                r.get(0)
            })
            .optional()
            .map_err(AuthError::sql("checking token revocation"))?;
        Ok(matches!(revoked, Some(Some(_))))
    }
}

//! The management API on the wire, in the original's shapes: the token registry
//! (`GET /api/auth/tokens`, `POST /api/auth/revoke-token`), remembered consent
//! (`GET /api/grants`), OAuth clients (`/api/oauth/clients…`) and accounts (`GET /api/users`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// One registry row (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TokenRow {
    /// The token id.
    pub jti: String,
    /// The user it was issued to (OAuth tokens), if any.
    pub user_id: Option<String>,
    /// Its subject (`operator` for operator tokens).
    pub subject: Option<String>,
    /// The client it was issued to.
    pub client_id: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Expiry (ISO-8601).
    pub expires_at: String,
    /// When it was revoked (ISO-8601), if it was.
    pub revoked_at: Option<String>,
    /// Creation (ISO-8601).
    pub created_at: String,
    /// `oauth_refresh`, `cli_mint` or `operator_mint`.
    pub created_via: String,
    /// The `permissions` claim, if any.
    #[ts(type = "Record<string, unknown> | null")]
    pub permissions: Option<Value>,
}

/// `GET /api/auth/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TokenList {
    /// The rows, newest first.
    pub tokens: Vec<TokenRow>,
    /// Always `null` here: the whole registry fits one page.
    pub next_cursor: Option<String>,
}

/// `POST /api/auth/revoke-token` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeTokenRequest {
    /// The token id to revoke.
    pub jti: String,
}

/// `POST /api/auth/revoke-token` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokeTokenAnswer {
    /// The token id.
    pub jti: String,
    /// When it is (or already was) revoked.
    pub revoked_at: String,
    /// Whether it had been revoked before this request.
    pub already_revoked: bool,
}

/// One remembered consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GrantRow {
    /// The user who approved.
    pub user_id: String,
    /// The app.
    pub client_id: String,
    /// Its name, when the client still exists and has one.
    pub client_name: Option<String>,
    /// Every scope approved so far.
    pub scopes: Vec<String>,
    /// The latest approval (ISO-8601).
    pub granted_at: String,
}

/// `GET /api/grants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GrantList {
    /// The bearer's user's grants, newest first.
    pub grants: Vec<GrantRow>,
}

/// An OAuth client (`GET /api/oauth/clients/<id>`, and in the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OAuthClientView {
    /// Its id.
    pub client_id: String,
    /// Its registered name.
    pub client_name: Option<String>,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes named at registration.
    pub scopes: Vec<String>,
    /// `pending` or `approved`.
    pub status: String,
    /// Registration time (ISO-8601).
    pub registered_at: String,
    /// Registered by this hub's operator.
    pub same_hub: bool,
}

/// `GET /api/oauth/clients` (ours: every client, pending first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OAuthClientList {
    /// The clients.
    pub clients: Vec<OAuthClientView>,
}

/// An account (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UserRow {
    /// Its id.
    pub id: String,
    /// Its sign-in name.
    pub username: String,
    /// Whether the person chose their own password.
    pub password_changed: bool,
    /// The vaults it may use (`user_vaults`; empty for the admin: no narrowing).
    pub assigned_vaults: Vec<String>,
    /// Creation (ISO-8601).
    pub created_at: String,
    /// Ours: whether two-step sign-in is on.
    pub two_factor: bool,
}

/// `GET /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UserList {
    /// Every account, oldest (the admin) first.
    pub users: Vec<UserRow>,
}

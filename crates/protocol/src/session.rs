//! Sign-in on the wire: who the browser is (`GET /api/me`) and the dashboard's short-lived
//! bearer (`GET /admin/host-admin-token`), in the original's shapes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `GET /api/me`: `{hasSession: false}`, or the signed-in user with the CSRF token the page
/// must send back as `__csrf` on its form posts (sign-out, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeAnswer {
    /// Whether the request carried a live session cookie.
    #[serde(rename = "hasSession")]
    pub has_session: bool,
    /// The signed-in user (absent when signed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user: Option<MeUser>,
    /// The double-submit CSRF token (absent when signed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub csrf: Option<String>,
    /// Ours: whether this user is the hub's admin (the first user), who may get a host-admin
    /// token; other users have only their account pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub admin: Option<bool>,
}

/// The user in [`MeAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeUser {
    /// The user's id (the `sub` of their tokens).
    pub id: String,
    /// What to call them (their username).
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// `GET /admin/host-admin-token`: a 10-minute bearer for the dashboard, minted from the admin's
/// session. Not recorded in the token registry; the page fetches a new one before it lapses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HostAdminToken {
    /// The compact JWT (a secret: keep it in memory only).
    pub token: String,
    /// Its expiry (ISO-8601).
    pub expires_at: String,
    /// The scopes it carries (`parachute:host:admin`, `parachute:host:auth`).
    pub scopes: Vec<String>,
}

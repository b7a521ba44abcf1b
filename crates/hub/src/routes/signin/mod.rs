//! Sign-in to the hub's own pages: `/login` (password, then `/login/2fa` when the user has
//! TOTP), `/logout`, the desktop window's one-time `/login/ticket`, `GET /api/me` and
//! `GET /admin/host-admin-token` (a session becomes a 10-minute bearer for the dashboard).
//!
//! Compatible both ways with the original: the same `sessions` rows and cookie
//! (`parachute_hub_session`, HttpOnly, SameSite=Lax, Secure over https), the same double-submit
//! CSRF cookie and `__csrf` field, the same `next` field (also read as `return_to`), and
//! TOTP/backup codes stored on the `users` row. The storage and rules live in
//! `parachute_auth`; this module only maps them to HTTP.
//!
//! Every state-changing form post here is checked in this order: the `Origin` (or `Referer`)
//! names this hub ([`origin`]), the CSRF token matches, the attempt is admitted by the limiter
//! keyed on username and the client address a recorded connector forwarded ([`client`]), then
//! the credential.

pub mod client;
pub mod host_admin_token;
pub mod login;
pub mod me;
pub mod origin;
pub mod pages;
pub mod session;
pub mod state;
pub mod ticket;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use state::{SignInState, WindowLogin, WindowLoginError};

/// Where a signed-in browser goes when nothing else was asked for: the dashboard.
pub const DEFAULT_LANDING: &str = "/admin";

/// The routes of this area, to merge into the hub's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/login",
            get(login::login_page_route).post(login::login_submit),
        )
        .route("/login/2fa", post(login::second_factor_submit))
        .route("/login/ticket", get(ticket::redeem))
        .route("/logout", post(login::logout))
        .route("/api/me", get(me::me))
        .route("/admin/host-admin-token", get(host_admin_token::mint))
}

/// `raw` if it is a path on this hub (`/…`, not `//…` or `/\…`, no control characters), else
/// the default landing. The one guard against open redirects after sign-in.
pub fn safe_next(raw: Option<&str>) -> String {
    match raw.map(str::trim) {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => DEFAULT_LANDING.to_owned(),
    }
}

/// Whether `path` stays on this origin when used as a `Location`.
fn is_local_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_survive() {
        assert_eq!(safe_next(Some("/admin/modules?x=1")), "/admin/modules?x=1");
        assert_eq!(
            safe_next(Some("/oauth/authorize?a=b")),
            "/oauth/authorize?a=b"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x=y",
            "",
            "evil",
        ] {
            assert_eq!(safe_next(Some(bad)), DEFAULT_LANDING, "{bad:?}");
        }
        assert_eq!(safe_next(None), DEFAULT_LANDING);
    }
}

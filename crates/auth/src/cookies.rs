//! The hub's browser cookies: names, lifetimes, `Set-Cookie` values and reading them back from
//! a `Cookie` header.
//!
//! Names and attributes are the original's, so a browser signed in on one hub stays signed in
//! on the other: every cookie is `HttpOnly; SameSite=Lax`, `Secure` only when the request came
//! over HTTPS (a `Secure` cookie sent over plain `http://127.0.0.1` is dropped by the browser),
//! and scoped to `Path=/` except the pending-login cookie, which only rides `/login*`.

use std::time::Duration;

/// The browser session cookie; its value is the `sessions.id`.
pub const SESSION_COOKIE_NAME: &str = "parachute_hub_session";
/// The double-submit CSRF cookie.
pub const CSRF_COOKIE_NAME: &str = "parachute_hub_csrf";
/// The half-signed-in cookie between the password and the second-factor step.
pub const PENDING_LOGIN_COOKIE_NAME: &str = "parachute_hub_pending_login";

/// Path of the pending-login cookie: only the `/login` and `/login/2fa` requests carry it.
pub const PENDING_LOGIN_COOKIE_PATH: &str = "/login";

/// A `Set-Cookie` value: `name=value; HttpOnly[; Secure]; SameSite=Lax; Path=…; Max-Age=…`.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Duration, secure: bool) -> String {
    let mut parts = vec![format!("{name}={value}"), "HttpOnly".to_owned()];
    if secure {
        parts.push("Secure".to_owned());
    }
    parts.push("SameSite=Lax".to_owned());
    parts.push(format!("Path={path}"));
    parts.push(format!("Max-Age={}", max_age.as_secs()));
    parts.join("; ")
}

/// A `Set-Cookie` value that makes the browser forget `name` (empty value, `Max-Age=0`).
pub fn clear_cookie(name: &str, path: &str, secure: bool) -> String {
    set_cookie(name, "", path, Duration::ZERO, secure)
}

/// The value of cookie `name` in a `Cookie` request header, if present.
///
/// Pairs are split on `;`, names compared exactly after trimming; a value may itself contain
/// `=`. The first matching pair wins.
pub fn cookie_value<'h>(cookie_header: Option<&'h str>, name: &str) -> Option<&'h str> {
    cookie_header?.split(';').find_map(|pair| {
        let pair = pair.trim();
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// The session cookie for `session_id`, living as long as the session row
/// ([`crate::sessions::SESSION_TTL`]).
pub fn session_cookie(session_id: &str, secure: bool) -> String {
    set_cookie(
        SESSION_COOKIE_NAME,
        session_id,
        "/",
        crate::sessions::SESSION_TTL,
        secure,
    )
}

/// Clears the session cookie (sign-out).
pub fn session_clear_cookie(secure: bool) -> String {
    clear_cookie(SESSION_COOKIE_NAME, "/", secure)
}

/// The CSRF cookie for `token` ([`crate::csrf::CSRF_TTL`]).
pub fn csrf_cookie(token: &str, secure: bool) -> String {
    set_cookie(CSRF_COOKIE_NAME, token, "/", crate::csrf::CSRF_TTL, secure)
}

/// The pending-login cookie for `token` ([`crate::pending_login::PENDING_LOGIN_TTL`]).
pub fn pending_login_cookie(token: &str, secure: bool) -> String {
    set_cookie(
        PENDING_LOGIN_COOKIE_NAME,
        token,
        PENDING_LOGIN_COOKIE_PATH,
        crate::pending_login::PENDING_LOGIN_TTL,
        secure,
    )
}

/// Clears the pending-login cookie (second factor done or abandoned).
pub fn pending_login_clear_cookie(secure: bool) -> String {
    clear_cookie(PENDING_LOGIN_COOKIE_NAME, PENDING_LOGIN_COOKIE_PATH, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_has_the_original_shape() {
        assert_eq!(
            session_cookie("abc", true),
            "parachute_hub_session=abc; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=86400"
        );
        assert_eq!(
            session_cookie("abc", false),
            "parachute_hub_session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"
        );
        assert_eq!(
            session_clear_cookie(false),
            "parachute_hub_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn csrf_and_pending_cookies() {
        assert_eq!(
            csrf_cookie("t", false),
            "parachute_hub_csrf=t; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000"
        );
        assert_eq!(
            pending_login_cookie("p", true),
            "parachute_hub_pending_login=p; HttpOnly; Secure; SameSite=Lax; Path=/login; Max-Age=300"
        );
        assert!(pending_login_clear_cookie(true).ends_with("Path=/login; Max-Age=0"));
    }

    #[test]
    fn values_are_read_back_from_a_cookie_header() {
        let header = "theme=dark; parachute_hub_session=1QOL_x-y; parachute_hub_csrf=a=b==";
        assert_eq!(
            cookie_value(Some(header), SESSION_COOKIE_NAME),
            Some("1QOL_x-y")
        );
        assert_eq!(cookie_value(Some(header), CSRF_COOKIE_NAME), Some("a=b=="));
        assert_eq!(cookie_value(Some(header), "missing"), None);
        assert_eq!(cookie_value(None, SESSION_COOKIE_NAME), None);
        assert_eq!(
            cookie_value(Some("parachute_hub_session"), SESSION_COOKIE_NAME),
            Some("")
        );
        // A prefix of the name is another cookie.
        assert_eq!(
            cookie_value(Some("parachute_hub_session_old=x"), SESSION_COOKIE_NAME),
            None
        );
    }
}

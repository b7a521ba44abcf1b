//! CSRF tokens for the hub's own HTML forms (sign-in, consent, account pages): the
//! double-submit-cookie pattern the original uses.
//!
//! Flow: a page that renders a form calls [`ensure_csrf_token`] with the request's `Cookie`
//! header; it reuses the token already in the `parachute_hub_csrf` cookie or makes a new one
//! (and then the response must carry [`EnsuredCsrf::set_cookie`]). The token is embedded as the
//! hidden field [`CSRF_FIELD_NAME`]. On submit, [`verify_csrf_token`] compares the field with the
//! cookie in constant time; both must be present and equal. Works before sign-in (no session is
//! needed) and across tabs.

use std::time::Duration;

use crate::cookies::{CSRF_COOKIE_NAME, cookie_value, csrf_cookie};
use crate::secret_tokens::{constant_time_eq, random_token};

/// Name of the hidden form field that carries the token.
pub const CSRF_FIELD_NAME: &str = "__csrf";

/// Lifetime of the CSRF cookie (30 days): longer than a session, so a tab left open across a
/// sign-in does not fail its next submit.
pub const CSRF_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The token a form should embed, and the cookie to set when it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredCsrf {
    /// The value for the hidden [`CSRF_FIELD_NAME`] field.
    pub token: String,
    /// A `Set-Cookie` value the response must carry, when the request had no token yet.
    pub set_cookie: Option<String>,
}

/// A new random CSRF token (32 random bytes, base64url).
pub fn generate_csrf_token() -> String {
    random_token()
}

/// The request's CSRF token, or a new one with the cookie to set. `secure`: whether the request
/// came over HTTPS (decides the cookie's `Secure` attribute).
pub fn ensure_csrf_token(cookie_header: Option<&str>, secure: bool) -> EnsuredCsrf {
    match cookie_value(cookie_header, CSRF_COOKIE_NAME).filter(|t| !t.is_empty()) {
        Some(existing) => EnsuredCsrf {
            token: existing.to_owned(),
            set_cookie: None,
        },
        None => {
            let token = generate_csrf_token();
            let set_cookie = Some(csrf_cookie(&token, secure));
            EnsuredCsrf { token, set_cookie }
        }
    }
}

/// Whether the submitted form token equals the cookie token (both present, constant time).
pub fn verify_csrf_token(cookie_header: Option<&str>, form_token: Option<&str>) -> bool {
    match (cookie_value(cookie_header, CSRF_COOKIE_NAME), form_token) {
        (Some(cookie), Some(form)) if !cookie.is_empty() && !form.is_empty() => {
            constant_time_eq(cookie, form)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_comes_with_its_cookie_and_is_then_reused() {
        let first = ensure_csrf_token(None, false);
        let cookie = first.set_cookie.clone().expect("new token sets a cookie");
        assert!(cookie.starts_with(&format!("parachute_hub_csrf={}; ", first.token)));
        assert!(!cookie.contains("Secure"));
        assert_eq!(first.token.len(), 43);

        let header = format!("other=1; parachute_hub_csrf={}", first.token);
        let again = ensure_csrf_token(Some(&header), true);
        assert_eq!(again.token, first.token);
        assert_eq!(again.set_cookie, None);

        let empty = ensure_csrf_token(Some("parachute_hub_csrf="), true);
        assert!(
            empty
                .set_cookie
                .expect("empty cookie replaced")
                .contains("Secure")
        );
    }

    #[test]
    fn verification_needs_both_halves_equal() {
        let header = "parachute_hub_csrf=tok123";
        assert!(verify_csrf_token(Some(header), Some("tok123")));
        assert!(!verify_csrf_token(Some(header), Some("tok124")));
        assert!(!verify_csrf_token(Some(header), Some("tok12")));
        assert!(!verify_csrf_token(Some(header), None));
        assert!(!verify_csrf_token(None, Some("tok123")));
        assert!(!verify_csrf_token(Some("parachute_hub_csrf="), Some("")));
    }
}

//! The one-shot bootstrap token that guards first-run setup.
//!
//! Flow: when `serve` starts with no user and no seed admin in the environment, it calls
//! [`BootstrapToken::generate`] and prints the token on its startup banner (only someone with
//! the box's console or logs sees it). The setup wizard asks for it; its account step calls
//! [`BootstrapToken::verify`] before creating the admin, then [`BootstrapToken::consume`] so the
//! same value cannot claim the hub twice. The token lives only in memory: a restart makes a new
//! one, so a leaked old value is worthless. Format as the original's:
//! `parachute-bootstrap-<base64url(32 random bytes)>`.

use std::sync::Mutex;

use crate::secret_tokens::{TOKEN_BYTES, constant_time_eq, random_base64url};

/// Every bootstrap token starts with this.
pub const BOOTSTRAP_TOKEN_PREFIX: &str = "parachute-bootstrap-";

/// The hub's current bootstrap token, if first-run setup is open. One per hub process.
#[derive(Debug, Default)]
pub struct BootstrapToken {
    /// The live token; `None` before generation and after a successful claim.
    current: Mutex<Option<String>>,
}

impl BootstrapToken {
    /// No token yet (setup not open).
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a fresh token (replacing any previous one) and returns it for the banner.
    pub fn generate(&self) -> String {
        let token = format!("{BOOTSTRAP_TOKEN_PREFIX}{}", random_base64url(TOKEN_BYTES));
        *self.lock() = Some(token.clone());
        token
    }

    /// The live token, if any (the wizard hides its token field when there is none).
    pub fn current(&self) -> Option<String> {
        self.lock().clone()
    }

    /// Whether `supplied` is the live token (constant time; false when there is none).
    pub fn verify(&self, supplied: &str) -> bool {
        match self.lock().as_deref() {
            Some(current) => !supplied.is_empty() && constant_time_eq(current, supplied.trim()),
            None => false,
        }
    }

    /// Forgets the token after a successful claim; later [`BootstrapToken::verify`] calls fail.
    pub fn consume(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `value` has the bootstrap token's shape (prefix plus 43 base64url characters).
pub fn looks_like_bootstrap_token(value: &str) -> bool {
    value
        .strip_prefix(BOOTSTRAP_TOKEN_PREFIX)
        .is_some_and(|tail| {
            tail.len() == 43
                && tail
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_has_the_original_format() {
        let guard = BootstrapToken::new();
        assert_eq!(guard.current(), None);
        let token = guard.generate();
        assert!(token.starts_with("parachute-bootstrap-"), "{token}");
        assert_eq!(token.len(), "parachute-bootstrap-".len() + 43);
        assert!(looks_like_bootstrap_token(&token));
        assert!(!looks_like_bootstrap_token("parachute-bootstrap-short"));
        assert!(!looks_like_bootstrap_token(
            &token.replace("parachute", "other")
        ));
    }

    #[test]
    fn verifies_once_then_is_gone() {
        let guard = BootstrapToken::new();
        assert!(
            !guard.verify("parachute-bootstrap-anything"),
            "no token yet"
        );
        let token = guard.generate();
        assert!(guard.verify(&token));
        assert!(
            guard.verify(&format!(" {token}\n")),
            "pasted with whitespace"
        );
        assert!(!guard.verify(""));
        assert!(!guard.verify(&token[..token.len() - 1]));
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(!guard.verify(&wrong));

        guard.consume();
        assert!(!guard.verify(&token));
        assert_eq!(guard.current(), None);
    }

    #[test]
    fn regenerating_replaces_the_old_token() {
        let guard = BootstrapToken::new();
        let old = guard.generate();
        let new = guard.generate();
        assert_ne!(old, new);
        assert!(!guard.verify(&old));
        assert!(guard.verify(&new));
    }
}

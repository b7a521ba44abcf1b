//! Half-finished sign-ins waiting for their second factor.
//!
//! Flow: `/login` checks the password of a user with two-factor on; instead of a session it
//! calls [`PendingLogins::create`] and sets the returned token as the short-lived
//! `parachute_hub_pending_login` cookie. `/login/2fa` looks the token up with
//! [`PendingLogins::get`] (a wrong code may be retried against the same entry), verifies the
//! code, then calls [`PendingLogins::consume`] and creates the real session. Entries live
//! [`PENDING_LOGIN_TTL`] in memory only, as in the original: a restart just asks for the
//! password again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::secret_tokens::random_token;

/// How long the second-factor step may take (5 minutes).
pub const PENDING_LOGIN_TTL: Duration = Duration::from_secs(5 * 60);

/// Most entries kept at once; the oldest are dropped beyond it so a flood of password
/// successes cannot grow memory without bound.
const MAX_PENDING: usize = 10_000;

/// What a pending sign-in remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The user whose password was right.
    pub user_id: String,
    /// Where to send the browser once the second factor is verified.
    pub next: String,
}

/// One stored entry.
#[derive(Debug)]
struct Entry {
    /// The remembered state.
    login: PendingLogin,
    /// When the entry stops being usable.
    expires_at: SystemTime,
}

/// The in-memory table of pending sign-ins. One per hub process.
pub struct PendingLogins {
    /// Entries by token.
    entries: Mutex<HashMap<String, Entry>>,
    /// Source of "now" for expiry.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PendingLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogins").finish_non_exhaustive()
    }
}

impl PendingLogins {
    /// An empty table using `clock` for expiry.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Remembers that `user_id` passed the password step; returns the opaque token for the
    /// cookie.
    pub fn create(&self, user_id: &str, next: &str) -> String {
        let now = self.clock.now();
        let token = random_token();
        let mut entries = self.lock();
        entries.retain(|_, e| e.expires_at > now);
        if entries.len() >= MAX_PENDING
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.expires_at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(
            token.clone(),
            Entry {
                login: PendingLogin {
                    user_id: user_id.to_owned(),
                    next: next.to_owned(),
                },
                expires_at: now + PENDING_LOGIN_TTL,
            },
        );
        token
    }

    /// The pending sign-in behind `token`, if it exists and has not expired. Does not consume it.
    pub fn get(&self, token: &str) -> Option<PendingLogin> {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.retain(|_, e| e.expires_at > now);
        entries.get(token).map(|e| e.login.clone())
    }

    /// Forgets `token` (second factor verified, or the user cancelled). Unknown tokens are fine.
    pub fn consume(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    #[test]
    fn entries_live_five_minutes_and_are_consumed_once() {
        let clock = Arc::new(FixedClock::at("2026-12-02T03:00:00Z"));
        let pending = PendingLogins::new(clock.clone());
        let token = pending.create("u1", "/admin");
        assert_eq!(token.len(), 43);
        let want = PendingLogin {
            user_id: "u1".to_owned(),
            next: "/admin".to_owned(),
        };
        assert_eq!(pending.get(&token), Some(want.clone()));
        assert_eq!(pending.get(&token), Some(want), "get does not consume");
        assert_eq!(pending.get("unknown"), None);

        clock.advance(PENDING_LOGIN_TTL - Duration::from_secs(1));
        assert!(pending.get(&token).is_some());
        clock.advance(Duration::from_secs(1));
        assert_eq!(pending.get(&token), None, "expired at exactly the TTL");

        let second = pending.create("u2", "/");
        pending.consume(&second);
        assert_eq!(pending.get(&second), None);
        pending.consume("never-existed");
    }
}

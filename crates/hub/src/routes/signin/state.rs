//! What sign-in keeps in memory for one hub process: half-finished sign-ins waiting for a
//! second factor, the attempt limiters, and the desktop window's one-time tickets.
//!
//! All of it is lost on restart on purpose (as the original's pending logins): a restart only
//! asks for the password again, and a ticket is only ever seconds old.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use parachute_auth::Clock;
use parachute_auth::pending_login::PendingLogins;
use parachute_auth::rate_limit::{LOGIN_LIMIT, RateLimit, RateLimiter, SECOND_FACTOR_LIMIT};
use parachute_auth::secret_tokens::{constant_time_eq, random_token};

/// Token requests one client may make per minute: far more than any client refreshes, far
/// too few to guess anything.
pub const TOKEN_LIMIT: RateLimit = RateLimit {
    max_attempts: 30,
    window: Duration::from_secs(60),
};

/// How long a desktop window ticket may wait to be redeemed.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Most unredeemed tickets kept; older ones are dropped beyond it.
const MAX_TICKETS: usize = 64;

/// Sign-in's in-memory state.
pub struct SignInState {
    /// Passwords that were right, waiting for the second factor.
    pub pending: PendingLogins,
    /// `/login` attempts per username and client address.
    pub login_limiter: RateLimiter,
    /// `/login/2fa` attempts per user and client address.
    pub second_factor_limiter: RateLimiter,
    /// `/oauth/token` requests per client id (behind a tunnel every peer is loopback, so the
    /// client is the actor to slow).
    pub token_limiter: RateLimiter,
    /// Unredeemed desktop window tickets.
    tickets: Mutex<HashMap<String, Ticket>>,
    /// Source of "now" for ticket expiry.
    clock: Arc<dyn Clock>,
}

/// One window ticket.
#[derive(Debug, Clone)]
struct Ticket {
    /// Who the window is signed in as.
    user_id: String,
    /// When the ticket stops being redeemable.
    expires_at: SystemTime,
}

/// A one-time sign-in for the desktop app's window (see `HubHandle::mint_window_login`).
#[derive(Clone, PartialEq, Eq)]
pub struct WindowLogin {
    /// Path and query to load in the window (`/login/ticket?t=…`); a secret until redeemed.
    pub path: String,
    /// The same on the hub's loopback origin.
    pub url: String,
    /// When it stops working if not loaded.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for WindowLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowLogin")
            .field("path", &"/login/ticket?t=<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no window login could be made.
#[derive(Debug, thiserror::Error)]
pub enum WindowLoginError {
    /// Nobody to sign in as yet.
    #[error("the hub has no admin account yet; finish first-run setup before opening the window")]
    NoAdmin,
    /// `hub.db` could not be read.
    #[error("cannot read the admin account from hub.db: {0}")]
    Db(#[from] parachute_auth::AuthError),
}

impl SignInState {
    /// Fresh state judged by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            pending: PendingLogins::new(clock.clone()),
            login_limiter: RateLimiter::new(LOGIN_LIMIT, clock.clone()),
            second_factor_limiter: RateLimiter::new(SECOND_FACTOR_LIMIT, clock.clone()),
            token_limiter: RateLimiter::new(TOKEN_LIMIT, clock.clone()),
            tickets: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// A new one-time ticket for `user_id`; returns it and its expiry.
    pub fn issue_ticket(&self, user_id: &str) -> (String, SystemTime) {
        let now = self.clock.now();
        let expires_at = now + TICKET_TTL;
        let token = random_token();
        let mut tickets = self.lock();
        tickets.retain(|_, t| t.expires_at > now);
        if tickets.len() >= MAX_TICKETS
            && let Some(oldest) = tickets
                .iter()
                .min_by_key(|(_, t)| t.expires_at)
                .map(|(k, _)| k.clone())
        {
            tickets.remove(&oldest);
        }
        tickets.insert(
            token.clone(),
            Ticket {
                user_id: user_id.to_owned(),
                expires_at,
            },
        );
        (token, expires_at)
    }

    /// Redeems `token` once: the user it was issued for, if it is live. Compared in constant
    /// time against every live ticket so the lookup leaks nothing about near misses.
    pub fn redeem_ticket(&self, token: &str) -> Option<String> {
        let now = self.clock.now();
        let mut tickets = self.lock();
        tickets.retain(|_, t| t.expires_at > now);
        let key = tickets
            .keys()
            .find(|k| constant_time_eq(k, token))
            .cloned()?;
        tickets.remove(&key).map(|t| t.user_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.tickets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parachute_auth::FixedClock;

    #[test]
    fn a_ticket_works_once_and_not_after_its_minute() {
        let clock = Arc::new(FixedClock::at("2026-12-02T10:00:00Z"));
        let state = SignInState::new(clock.clone());
        let (t, _) = state.issue_ticket("u1");
        assert_eq!(state.redeem_ticket("nope"), None);
        assert_eq!(state.redeem_ticket(&t).as_deref(), Some("u1"));
        assert_eq!(state.redeem_ticket(&t), None, "one use");
        let (late, _) = state.issue_ticket("u1");
        clock.advance(TICKET_TTL);
        assert_eq!(state.redeem_ticket(&late), None, "expired");
    }
}

//! Throttling of sign-in attempts: a sliding-window limiter keyed by any string.
//!
//! Flow: before checking a credential the caller asks [`RateLimiter::check_and_record`] with a
//! key naming the actor (a username, a client id, or the forwarded client address from
//! [`forwarded_client_address`]; never only the TCP peer, which behind tailscale or cloudflared
//! is always loopback). Each key keeps the instants of its admitted attempts inside the window.
//! While fewer than `max_attempts` remain, the attempt is admitted and recorded; otherwise it is
//! refused with the time until the oldest one leaves the window. Refused attempts are not
//! recorded, so hammering never pushes the reset further out: the rightful owner is slowed for
//! at most one window, never locked out. A password and its second factor should count against
//! the same limiter so knowing the password buys no extra guesses at the code.
//!
//! Memory is bounded: empty keys are pruned and, past [`MAX_KEYS`], the stalest key is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

/// Most keys tracked at once.
pub const MAX_KEYS: usize = 10_000;

/// The original's `/login` limit: 5 attempts per 15 minutes.
pub const LOGIN_LIMIT: RateLimit = RateLimit {
    max_attempts: 5,
    window: Duration::from_secs(15 * 60),
};
/// The original's `/login/2fa` limit: 5 attempts per 15 minutes.
pub const SECOND_FACTOR_LIMIT: RateLimit = RateLimit {
    max_attempts: 5,
    window: Duration::from_secs(15 * 60),
};
/// The original's `/account/change-password` limit: 3 attempts per 5 minutes.
pub const CHANGE_PASSWORD_LIMIT: RateLimit = RateLimit {
    max_attempts: 3,
    window: Duration::from_secs(5 * 60),
};
/// The original's per-user vault-token minting limit: 10 per 10 minutes.
pub const VAULT_TOKEN_MINT_LIMIT: RateLimit = RateLimit {
    max_attempts: 10,
    window: Duration::from_secs(10 * 60),
};

/// How many attempts a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Attempts admitted inside one window.
    pub max_attempts: usize,
    /// Length of the sliding window.
    pub window: Duration,
}

/// The answer for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Go ahead and check the credential.
    Allowed {
        /// Attempts this key has left in the current window after this one.
        remaining: usize,
    },
    /// Too many recent attempts: answer 429 with `Retry-After`.
    Limited {
        /// When the key may try again (at least one second).
        retry_after: Duration,
    },
}

impl RateDecision {
    /// Whether the attempt may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, RateDecision::Allowed { .. })
    }

    /// Whole seconds for a `Retry-After` header (`None` when allowed).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            RateDecision::Allowed { .. } => None,
            RateDecision::Limited { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
        }
    }
}

/// A sliding-window limiter. One per protected surface; cheap to share behind an `Arc`.
pub struct RateLimiter {
    /// Attempts and window.
    limit: RateLimit,
    /// Admitted attempt instants per key, oldest first.
    buckets: Mutex<HashMap<String, VecDeque<SystemTime>>>,
    /// Source of "now".
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter admitting `limit.max_attempts` per `limit.window`, judged by `clock`.
    pub fn new(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Decides on one attempt by `key`, recording it when admitted.
    pub fn check_and_record(&self, key: &str) -> RateDecision {
        let now = self.clock.now();
        let mut buckets = self.lock();
        self.bound_keys(&mut buckets, now);
        let bucket = buckets.entry(key.to_owned()).or_default();
        prune(bucket, now, self.limit.window);
        if bucket.len() >= self.limit.max_attempts {
            let oldest = bucket.front().copied().unwrap_or(now);
            let reset_at = oldest + self.limit.window;
            let retry_after = reset_at
                .duration_since(now)
                .unwrap_or_default()
                .max(Duration::from_secs(1));
            return RateDecision::Limited { retry_after };
        }
        bucket.push_back(now);
        RateDecision::Allowed {
            remaining: self.limit.max_attempts - bucket.len(),
        }
    }

    /// Forgets `key`'s attempts (for example after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Number of keys currently tracked.
    pub fn tracked_keys(&self) -> usize {
        self.lock().len()
    }

    /// Drops empty keys, then the stalest ones while over [`MAX_KEYS`].
    fn bound_keys(&self, buckets: &mut HashMap<String, VecDeque<SystemTime>>, now: SystemTime) {
        if buckets.len() < MAX_KEYS {
            return;
        }
        for bucket in buckets.values_mut() {
            prune(bucket, now, self.limit.window);
        }
        buckets.retain(|_, b| !b.is_empty());
        while buckets.len() >= MAX_KEYS {
            let stalest = buckets
                .iter()
                .min_by_key(|(_, b)| b.back().copied())
                .map(|(k, _)| k.clone());
            match stalest {
                Some(key) => buckets.remove(&key),
                None => break,
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<SystemTime>>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops attempts at or before `now - window`.
fn prune(bucket: &mut VecDeque<SystemTime>, now: SystemTime, window: Duration) {
    while let Some(&oldest) = bucket.front() {
        let age = now.duration_since(oldest).unwrap_or_default();
        if age >= window {
            bucket.pop_front();
        } else {
            break;
        }
    }
}

/// The client address a proxy forwarded: `CF-Connecting-IP` (cloudflared), else the first hop
/// of `X-Forwarded-For`, else `"unknown"` (all direct loopback callers then share one key).
/// Empty values count as absent.
pub fn forwarded_client_address(
    cf_connecting_ip: Option<&str>,
    x_forwarded_for: Option<&str>,
) -> String {
    let non_empty = |v: &str| {
        let t = v.trim();
        (!t.is_empty()).then(|| t.to_owned())
    };
    cf_connecting_ip
        .and_then(non_empty)
        .or_else(|| x_forwarded_for.and_then(|v| v.split(',').next().and_then(non_empty)))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    fn limiter(limit: RateLimit) -> (Arc<FixedClock>, RateLimiter) {
        let clock = Arc::new(FixedClock::at("2026-12-02T03:00:00Z"));
        (clock.clone(), RateLimiter::new(limit, clock))
    }

    #[test]
    fn five_attempts_then_a_retry_after_that_counts_down() {
        let (clock, limiter) = limiter(LOGIN_LIMIT);
        for left in (0..5).rev() {
            assert_eq!(
                limiter.check_and_record("admin"),
                RateDecision::Allowed { remaining: left }
            );
            clock.advance(Duration::from_secs(60));
        }
        // First attempt was 5 minutes ago; it leaves the window in 10 minutes.
        let denied = limiter.check_and_record("admin");
        assert_eq!(
            denied,
            RateDecision::Limited {
                retry_after: Duration::from_secs(600)
            }
        );
        assert_eq!(denied.retry_after_secs(), Some(600));
        // Other keys are unaffected.
        assert!(limiter.check_and_record("alice").is_allowed());

        // Hammering while refused does not push the reset out.
        for _ in 0..50 {
            assert!(!limiter.check_and_record("admin").is_allowed());
        }
        clock.advance(Duration::from_secs(599));
        assert_eq!(
            limiter.check_and_record("admin").retry_after_secs(),
            Some(1)
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            limiter.check_and_record("admin"),
            RateDecision::Allowed { remaining: 0 },
            "the oldest attempt left the window, one slot opened"
        );
    }

    #[test]
    fn the_owner_is_never_locked_out_beyond_one_window() {
        let (clock, limiter) = limiter(CHANGE_PASSWORD_LIMIT);
        for _ in 0..3 {
            assert!(limiter.check_and_record("u1").is_allowed());
        }
        assert!(!limiter.check_and_record("u1").is_allowed());
        clock.advance(CHANGE_PASSWORD_LIMIT.window);
        assert_eq!(
            limiter.check_and_record("u1"),
            RateDecision::Allowed { remaining: 2 }
        );
    }

    #[test]
    fn clear_forgets_a_key_and_sub_second_waits_round_up() {
        let (clock, limiter) = limiter(RateLimit {
            max_attempts: 1,
            window: Duration::from_millis(1500),
        });
        assert!(limiter.check_and_record("k").is_allowed());
        clock.advance(Duration::from_millis(1000));
        let denied = limiter.check_and_record("k");
        assert_eq!(denied.retry_after_secs(), Some(1));
        assert_eq!(
            denied,
            RateDecision::Limited {
                retry_after: Duration::from_secs(1)
            },
            "floor of one second"
        );
        limiter.clear("k");
        assert!(limiter.check_and_record("k").is_allowed());
        assert_eq!(limiter.tracked_keys(), 1);
    }

    #[test]
    fn key_count_stays_bounded() {
        let (clock, limiter) = limiter(RateLimit {
            max_attempts: 1,
            window: Duration::from_secs(60),
        });
        for i in 0..(MAX_KEYS + 50) {
            limiter.check_and_record(&format!("attacker-{i}"));
            if i % 1000 == 0 {
                clock.advance(Duration::from_millis(1));
            }
        }
        assert!(
            limiter.tracked_keys() <= MAX_KEYS,
            "{}",
            limiter.tracked_keys()
        );
        assert!(limiter.check_and_record("owner").is_allowed());
    }

    #[test]
    fn forwarded_address_prefers_cloudflare_then_first_hop() {
        assert_eq!(
            forwarded_client_address(Some(" 203.0.113.9 "), Some("198.51.100.1")),
            "203.0.113.9"
        );
        assert_eq!(
            forwarded_client_address(Some(""), Some("198.51.100.1, 10.0.0.1")),
            "198.51.100.1"
        );
        assert_eq!(
            forwarded_client_address(None, Some(" , 10.0.0.1")),
            "unknown"
        );
        assert_eq!(forwarded_client_address(None, None), "unknown");
    }
}

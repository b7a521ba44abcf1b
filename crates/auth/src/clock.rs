//! Time: an injectable clock and the timestamp format `hub.db` uses.
//!
//! The original stores every timestamp as JavaScript's `Date.toISOString()`: UTC, millisecond
//! precision, `Z` suffix (`2026-11-27T07:41:48.312Z`). We write the same shape so rows we add
//! sort and compare (as text) with rows the original wrote.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// Where "now" comes from. Token expiry and key retention depend on it, so tests pin it.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The real wall clock, used by every production caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, so tests can cross expiry and retention boundaries
/// without sleeping.
#[derive(Debug)]
pub struct FixedClock {
    /// The instant `now()` returns; behind a mutex so a shared clock can be moved by a test.
    now: Mutex<SystemTime>,
}

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: SystemTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock stopped at an RFC 3339 instant such as `2026-11-28T00:00:00Z`.
    ///
    /// # Panics
    /// When `rfc3339` does not parse: this constructor is for tests with literal dates.
    pub fn at(rfc3339: &str) -> Self {
        let parsed = parse_timestamp(rfc3339)
            .unwrap_or_else(|| panic!("FixedClock::at: {rfc3339:?} is not an RFC 3339 time"));
        Self::new(parsed)
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut guard = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *guard += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats `t` the way `hub.db` stores timestamps: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn format_timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored timestamp (any RFC 3339 form, the original's included).
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| SystemTime::from(d.with_timezone(&Utc)))
}

/// Whole seconds since the Unix epoch (JWT `iat`/`exp` units); times before 1970 count as 0.
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The instant `secs` seconds after the Unix epoch (negative values clamp to the epoch).
pub fn from_unix_seconds(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_the_original_format() {
        let t = parse_timestamp("2026-11-27T07:41:48.312Z").expect("parses");
        assert_eq!(format_timestamp(t), "2026-11-27T07:41:48.312Z");
        assert_eq!(
            format_timestamp(from_unix_seconds(1_803_541_312)),
            "2027-02-25T07:41:52.000Z"
        );
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at("2026-11-28T00:00:00Z");
        let start = clock.now();
        clock.advance(Duration::from_secs(90));
        assert_eq!(
            clock.now().duration_since(start).expect("forward"),
            Duration::from_secs(90)
        );
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}

//! The one bounded poll loop: check, sleep, check again until a deadline. Every "wait until"
//! in the blocking code (ports, processes, connectors, a restarted hub) goes through it, so each
//! wait is bounded the same way and never sleeps past its budget.

use std::time::{Duration, Instant};

/// Calls `check` every `interval` until it returns `Some` or `budget` has passed (`check` runs
/// at least once, and once more at the deadline). The last sleep is cut to the time left.
pub fn poll_until<T>(
    budget: Duration,
    interval: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + budget;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(interval.min(left));
    }
}

/// [`poll_until`] for a condition: true once `done` held within `budget`.
pub fn poll_for(budget: Duration, interval: Duration, mut done: impl FnMut() -> bool) -> bool {
    poll_until(budget, interval, || done().then_some(())).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_answer_and_gives_up_at_the_budget() {
        let mut n = 0;
        assert_eq!(
            poll_until(Duration::from_secs(5), Duration::from_millis(1), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        let started = Instant::now();
        assert!(!poll_for(
            Duration::from_millis(30),
            Duration::from_millis(10),
            || false
        ));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(
            poll_for(Duration::ZERO, Duration::from_secs(1), || true),
            "checked once"
        );
    }
}

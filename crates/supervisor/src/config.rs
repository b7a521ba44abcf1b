//! Supervisor tuning: crash policy, stop grace, readiness gate, log sizes.

use std::time::Duration;

use crate::mark::HomeMark;

/// When and how often a crashed module is respawned (SPEC Part A item 6).
#[derive(Debug, Clone)]
pub struct CrashPolicy {
    /// Delay before the first respawn; doubles for each further consecutive crash.
    pub first_delay: Duration,
    /// No respawn waits longer than this, however many crashes came before.
    pub max_delay: Duration,
    /// Relative random spread (0.2 = ±20 %) so modules that fail together do not restart in step.
    pub jitter: f64,
    /// A run at least this long counts as healthy and resets the consecutive-crash count.
    pub healthy_after: Duration,
    /// After this many consecutive crashes the module is left `crashed` for an operator.
    pub give_up_after: u32,
}

impl Default for CrashPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: 0.2,
            healthy_after: Duration::from_secs(60),
            give_up_after: 5,
        }
    }
}

impl CrashPolicy {
    /// The delay before respawning after the `crash_number`-th consecutive crash (1-based),
    /// before jitter.
    pub fn base_delay(&self, crash_number: u32) -> Duration {
        let doublings = crash_number.saturating_sub(1).min(30);
        let delay = self.first_delay.saturating_mul(1u32 << doublings);
        delay.min(self.max_delay)
    }

    /// [`CrashPolicy::base_delay`] with the random spread applied (still capped).
    pub fn delay(&self, crash_number: u32) -> Duration {
        let base = self.base_delay(crash_number).as_secs_f64();
        let spread = if self.jitter > 0.0 {
            rand::Rng::gen_range(&mut rand::thread_rng(), -self.jitter..=self.jitter)
        } else {
            0.0
        };
        Duration::from_secs_f64((base * (1.0 + spread)).max(0.0)).min(self.max_delay)
    }
}

/// Everything the supervisor needs to know that is not per module.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Crash/respawn rules.
    pub crash_policy: CrashPolicy,
    /// How long a module gets between group SIGTERM and group SIGKILL.
    pub stop_grace: Duration,
    /// How long after spawn the module must accept TCP on its port before it is flagged
    /// `started_but_unbound` (it keeps running and is polled further).
    pub readiness_timeout: Duration,
    /// The longest interval between readiness probes: the first probes follow each other
    /// quickly (5 ms, doubling), so a module that binds at once is noticed within milliseconds,
    /// then back off to this.
    pub readiness_interval: Duration,
    /// Size of the in-memory log ring per module, in bytes of line text.
    pub ring_bytes: usize,
    /// A module's log file is rotated once it grows past this many bytes.
    pub log_file_max_bytes: u64,
    /// How many rotated log files (`<short>.log.1` …) are kept.
    pub log_files_kept: u32,
    /// Lines of output quoted in a crash reason.
    pub crash_reason_lines: usize,
    /// The home this supervisor's modules belong to. With it, every spawn carries a mark
    /// (`PARACHUTE_SUPERVISOR_MARK`) naming this home and hub, so marked processes that leave a
    /// module's process group are stopped with the module, and [`crate::sweep_orphans`] can
    /// find them after the hub died. Without it nothing is marked.
    pub home_mark: Option<HomeMark>,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            crash_policy: CrashPolicy::default(),
            stop_grace: Duration::from_secs(5),
            readiness_timeout: Duration::from_secs(4),
            readiness_interval: Duration::from_millis(200),
            ring_bytes: 64 * 1024,
            log_file_max_bytes: 5 * 1024 * 1024,
            log_files_kept: 3,
            crash_reason_lines: 10,
            home_mark: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_half_a_second_and_cap_at_thirty() {
        let p = CrashPolicy::default();
        let ms: Vec<u128> = (1..=8).map(|n| p.base_delay(n).as_millis()).collect();
        assert_eq!(ms, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let p = CrashPolicy::default();
        for _ in 0..200 {
            let d = p.delay(2).as_millis();
            assert!((800..=1200).contains(&d), "{d}");
        }
        assert!(p.delay(20) <= p.max_delay);
    }
}

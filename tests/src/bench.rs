//! Helpers of the benchmarks in `tests/benches/` (never used by a timed test): CPU time of a
//! process tree from `/proc`, `wrk` runs and their parsing, medians and spreads.

use std::process::Command;
use std::time::Duration;

/// utime + stime of `pid` (all its threads), in clock ticks; 0 when it is gone.
pub fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state letter (field 3).
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// The direct children of `pid` (every thread's list).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// What one `wrk` run reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct WrkRun {
    /// Requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Requests completed.
    pub requests: u64,
    /// Non-2xx/3xx answers plus socket errors.
    pub errors: u64,
}

/// Runs `wrk` (one thread, `connections` keep-alive connections) against
/// `http://127.0.0.1:<port><path>` for `secs` seconds.
pub fn wrk(port: u16, path: &str, connections: usize, secs: u64) -> WrkRun {
    let out = Command::new("wrk")
        .args(["-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("wrk is installed by scripts/bench");
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// Parses `wrk --latency` output.
pub fn parse_wrk(text: &str) -> WrkRun {
    let mut run = WrkRun::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => run.rps = v.parse().unwrap_or(0.0),
            ["50%", v] => run.p50 = duration(v),
            ["99%", v] => run.p99 = duration(v),
            [n, "requests", "in", ..] => run.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => run.errors += n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                run.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    run
}

/// `123.45us`, `1.20ms`, `2.00s` as a duration.
fn duration(text: &str) -> Duration {
    let (number, scale) = if let Some(v) = text.strip_suffix("us") {
        (v, 1e-6)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1e-3)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1.0)
    } else {
        (text, 1.0)
    };
    Duration::from_secs_f64(number.parse::<f64>().unwrap_or(0.0) * scale)
}

/// The median of `values` and their spread (min, max); zeros when empty.
pub fn median_spread(values: &[f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// `median (min–max)` with `digits` decimals.
pub fn show(values: &[f64], digits: usize) -> String {
    let (m, lo, hi) = median_spread(values);
    format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
}

/// The number in `key` of the environment, or `default`.
pub fn env_number(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let text = "Running 3s test @ http://127.0.0.1:1/x\n  1 threads and 32 connections\n  Latency Distribution\n     50%  612.00us\n     75%    1.02ms\n     90%    1.50ms\n     99%    3.10ms\n  60123 requests in 3.00s, 9.10MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  20041.00\n";
        let run = parse_wrk(text);
        assert_eq!(run.requests, 60123);
        assert_eq!(run.errors, 3);
        assert!((run.rps - 20041.0).abs() < 0.5);
        assert_eq!(run.p50, Duration::from_micros(612));
        assert_eq!(run.p99, Duration::from_micros(3100));
        assert_eq!(median_spread(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
    }
}

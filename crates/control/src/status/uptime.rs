//! How long a process has been running, from the OS (`/proc` on Linux, `ps` elsewhere), and
//! the compact duration formats of the UPTIME and LATENCY columns.

use std::time::Duration;

/// How long `pid` has been running, when the OS tells us.
pub fn process_uptime(pid: u32) -> Option<Duration> {
    if cfg!(target_os = "linux") {
        linux_uptime(pid)
    } else {
        ps_uptime(pid)
    }
}

/// Seconds since boot now (`/proc/uptime`) minus the process's start (`starttime` of
/// `/proc/<pid>/stat`, in clock ticks after boot).
fn linux_uptime(pid: u32) -> Option<Duration> {
    let start_ticks = parachute_os::process::stat(pid)?.start_ticks;
    let since_boot = std::fs::read_to_string("/proc/uptime").ok()?;
    let started = start_ticks as f64 / clock_ticks()? as f64;
    let now: f64 = since_boot.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_secs_f64((now - started).max(0.0)))
}

fn clock_ticks() -> Option<u64> {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => u64::try_from(t).ok(),
        _ => None,
    }
}

/// `ps -o etime= -p <pid>`: `[[dd-]hh:]mm:ss`.
fn ps_uptime(pid: u32) -> Option<Duration> {
    use parachute_os::CommandRunner;
    let runner = parachute_os::SystemRunner::from_env();
    let pid = pid.to_string();
    let out = runner
        .run_with_timeout("ps", &["-o", "etime=", "-p", &pid], Duration::from_secs(2))
        .ok()?;
    out.success().then_some(())?;
    parse_etime(out.stdout.trim())
}

/// Parses `ps` elapsed time: `ss`, `mm:ss`, `hh:mm:ss` or `dd-hh:mm:ss`.
pub fn parse_etime(text: &str) -> Option<Duration> {
    let (days, clock) = match text.split_once('-') {
        Some((d, rest)) => (d.trim().parse::<u64>().ok()?, rest),
        None => (0, text),
    };
    let mut secs = 0u64;
    for part in clock.trim().split(':') {
        secs = secs * 60 + part.trim().parse::<u64>().ok()?;
    }
    Some(Duration::from_secs(days * 86_400 + secs))
}

/// UPTIME cell: `42s`, `5m12s`, `3h04m`, `2d05h`.
pub fn format_uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..=86_399 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// LATENCY cell: `0.8ms`, `12ms`, `1.4s`.
pub fn format_latency(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{}ms", ms.round() as u64)
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_compact() {
        assert_eq!(format_uptime(Duration::from_secs(42)), "42s");
        assert_eq!(format_uptime(Duration::from_secs(312)), "5m12s");
        assert_eq!(
            format_uptime(Duration::from_secs(3 * 3600 + 4 * 60 + 5)),
            "3h04m"
        );
        assert_eq!(
            format_uptime(Duration::from_secs(2 * 86_400 + 5 * 3600)),
            "2d05h"
        );
        assert_eq!(format_latency(Duration::from_micros(830)), "0.8ms");
        assert_eq!(format_latency(Duration::from_micros(12_400)), "12ms");
        assert_eq!(format_latency(Duration::from_millis(1_430)), "1.4s");
    }

    #[test]
    fn ps_elapsed_times_parse() {
        assert_eq!(parse_etime("05"), Some(Duration::from_secs(5)));
        assert_eq!(parse_etime("01:05"), Some(Duration::from_secs(65)));
        assert_eq!(parse_etime("02:01:05"), Some(Duration::from_secs(7265)));
        assert_eq!(
            parse_etime("3-02:01:05"),
            Some(Duration::from_secs(3 * 86_400 + 7265))
        );
        assert_eq!(parse_etime("x"), None);
    }

    #[test]
    fn our_own_process_has_a_plausible_uptime() {
        let up = process_uptime(std::process::id()).expect("uptime of self");
        assert!(up < Duration::from_secs(24 * 3600), "{up:?}");
    }
}

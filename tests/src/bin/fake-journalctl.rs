//! Fake `journalctl` for the black-box suites (see TOOL-FORMATS.md §5.3).
//!
//! `[--user] -u <unit> [-n <N>] [--no-pager]` prints the last N (default 10) lines the fake
//! `systemctl` wrote to `<state>/systemd/<user|system>/<unit>.journal`, in journalctl's short
//! format, or `-- No entries --`. Always exit 0, like the real tool. Failure injection: each
//! line `<verb> <exit> <stderr text>` of `<state>/journalctl.fail` (verb `-u` or `*`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

fn main() {
    let (state, args) = parachute_tests::fake::record_invocation("journalctl");
    let mut user = false;
    let mut unit = None;
    let mut lines: usize = 10;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--user" => user = true,
            "-u" | "--unit" => unit = it.next().cloned(),
            "-n" | "--lines" => lines = it.next().and_then(|n| n.parse().ok()).unwrap_or(10),
            s if s.starts_with("--unit=") => unit = Some(s["--unit=".len()..].to_string()),
            s if s.starts_with("--lines=") => lines = s["--lines=".len()..].parse().unwrap_or(10),
            _ => {}
        }
    }
    fake_service::fail_if_injected(&state, "journalctl", "-u");
    let scope = if user { "user" } else { "system" };
    let text = unit
        .map(|u| {
            state
                .join("systemd")
                .join(scope)
                .join(format!("{u}.journal"))
        })
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        println!("-- No entries --");
    } else {
        for line in &all[all.len().saturating_sub(lines)..] {
            println!("{line}");
        }
    }
}

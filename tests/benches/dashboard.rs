//! Benchmark (prints figures, asserts nothing about time): the embedded dashboard.
//!
//! 1. Size: every file `parachute-ui` embeds, raw and gzip -9 (what a browser downloads with
//!    compression), and the total.
//! 2. Time to first paint of `/admin/modules` in headless Debian chromium (`ui/e2e/paint.mjs`,
//!    a fresh page with the cache disabled per load, signed in by a session cookie made in
//!    `hub.db`): first paint, first contentful paint, and the moment the page's heading showed
//!    (after the bearer and `/api/modules`), medians (min–max) over `PARACHUTE_BENCH_RUNS` loads.
//! 3. The hub's resident memory (VmRSS, and VmHWM, its peak) with the UI embedded, idle after
//!    start and after those loads.
//!
//! Run with `scripts/bench dashboard` (it builds the UI first so the binary embeds it).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use parachute_tests::TestHome;
use parachute_tests::auth::{db, ensure_admin};
use parachute_tests::bench::{env_number, show};
use parachute_tests::hub::{HubProcess, add_test_module};

fn gzip_len(bytes: &[u8]) -> usize {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().expect("gzip output").stdout.len()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn size() {
    if !parachute_ui::BUILT {
        println!(
            "dashboard: NOT BUILT into this binary (run scripts/ui-build): sizes are the stand-in page's"
        );
    }
    let (mut raw, mut gz) = (0, 0);
    for path in parachute_ui::paths() {
        let bytes = parachute_ui::file(&path).unwrap().bytes;
        let g = gzip_len(bytes);
        println!("  {path}: {} bytes, gzip {g}", bytes.len());
        raw += bytes.len();
        gz += g;
    }
    println!(
        "dashboard size: {raw} bytes, gzip -9 {gz} bytes ({:.1} KiB)",
        gz as f64 / 1024.0
    );
}

fn main() {
    size();
    let runs = env_number("PARACHUTE_BENCH_RUNS", 5);
    let home = TestHome::new();
    let user = ensure_admin(home.path());
    add_test_module(home.path(), "alpha", parachute_tests::free_port(), &[]);
    let hub = HubProcess::start(home.path());
    std::thread::sleep(Duration::from_secs(2));
    let pid = hub.pid();
    println!(
        "hub RSS idle: {} KiB (peak {} KiB)",
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:")
    );
    let session = db(home.path()).create_session(&user).unwrap();
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let out = Command::new("timeout")
        .args(["150", "node", "e2e/paint.mjs"])
        .current_dir(&ui)
        .env("HUB_URL", format!("http://127.0.0.1:{}", hub.port))
        .env("SESSION", &session.id)
        .env("RUNS", runs.to_string())
        .output()
        .expect("node e2e/paint.mjs (needs node, ui/node_modules and /usr/bin/chromium)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("paint_ms "))
        .map(|l| l.split(' ').filter_map(|v| v.parse().ok()).collect())
        .collect();
    if rows.is_empty() {
        println!(
            "first paint: no figures ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        let col = |i: usize| rows.iter().map(|r| r[i]).collect::<Vec<_>>();
        println!(
            "/admin/modules in headless chromium, {} loads, ms since navigation:",
            rows.len()
        );
        println!("  first paint            {}", show(&col(0), 1));
        println!("  first contentful paint {}", show(&col(1), 1));
        println!("  modules heading shown  {}", show(&col(2), 1));
    }
    println!(
        "hub RSS after the loads: {} KiB (peak {} KiB)",
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:")
    );
}

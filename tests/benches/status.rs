//! Wall time of `parachute status` with the hub up and three running modules.
//!
//! Starts a real `parachute serve` (the binary next to this bench, so `scripts/bench` measures
//! the release build) against a temp home with three test modules, waits until all three run,
//! then times `RUNS` complete `parachute status` invocations (process start to exit) and
//! prints min / median / mean / max. Prints figures only; never asserts on time.
//!
//! `PARACHUTE_BENCH_RUNS=<n>` changes the number of runs (default 30).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{TestHome, auth, bin, free_port, http, wait_for};

fn main() {
    let runs: usize = std::env::var("PARACHUTE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let home = TestHome::new();
    let ports = [free_port(), free_port(), free_port()];
    for (i, port) in ports.iter().enumerate() {
        add_test_module(home.path(), &format!("mod{i}"), *port, &[]);
    }
    let hub = HubProcess::start(home.path());
    let token = auth::operator_token(home.path(), hub.port);
    let bearer = auth::bearer(&token);
    let ready = wait_for(Duration::from_secs(60), || {
        let resp = http::request(
            hub.port,
            "GET",
            "/api/modules",
            &[("authorization", &bearer)],
            None,
        )
        .ok()?;
        let doc = resp.json();
        let running = doc["modules"]
            .as_array()?
            .iter()
            .filter(|m| m["supervisor_status"] == "running")
            .count();
        let listening = ports
            .iter()
            .all(|p| parachute_os::port::is_listening(*p, Duration::from_millis(200)));
        (running == 3 && listening).then_some(())
    });
    assert!(
        ready.is_some(),
        "modules never came up:\n{}",
        hub.output_text()
    );
    let unit_dir = tempfile::tempdir().unwrap();

    let status = || {
        let started = Instant::now();
        let out = Command::new(bin("parachute"))
            .arg("status")
            .env("PARACHUTE_HOME", home.path())
            .env("PARACHUTE_UNIT_DIR", unit_dir.path())
            .env("PARACHUTE_UNIT_MANAGER", "systemd")
            .env("PARACHUTE_UNIT_SCOPE", "user")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run parachute status");
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "status failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            text.matches(" active ").count(),
            4,
            "unexpected table:\n{text}"
        );
        took
    };
    // Warm up (page cache, first connections).
    for _ in 0..3 {
        status();
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| status()).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    println!(
        "parachute status, hub up + 3 modules, {} runs: min {:.1} ms, median {:.1} ms, mean {:.1} ms, max {:.1} ms",
        times.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        mean,
        ms(times[times.len() - 1]),
    );
}

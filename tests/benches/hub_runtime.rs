//! Benchmark (prints figures, asserts nothing about time): the hub runtime core.
//!
//! - cold start of `parachute serve` to the first `/health` 200;
//! - idle RSS of `serve` with 0 and with 3 modules;
//! - crash-to-respawned latency for a module's first crash;
//! - `/health` requests per second on 1 and on 32 keep-alive connections.
//!
//! Run with `scripts/bench hub_runtime` (release binaries).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_tests::hub::add_test_module;
use parachute_tests::{TestHome, bin, free_port, load};

struct Serve {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Serve {
    fn start(home: &TestHome) -> (Self, Duration) {
        let port = free_port();
        let t0 = Instant::now();
        let mut child = Command::new(bin("parachute"))
            .arg("serve")
            .env("PARACHUTE_HOME", home.path())
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        loop {
            if health_ok(port) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "hub never came up");
            std::thread::sleep(Duration::from_micros(500));
        }
        (Self { child, port, lines }, t0.elapsed())
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn wait_line(&self, needle: &str, nth: usize) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, l)| l.contains(needle))
                .nth(nth)
                .map(|(t, _)| *t);
            if let Some(t) = found {
                return t;
            }
            assert!(Instant::now() < deadline, "no line {needle:?} #{nth}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms (n={})",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn main() {
    println!(
        "== hub runtime benchmark (binary: {}) ==",
        bin("parachute").display()
    );

    let cold: Vec<Duration> = (0..10)
        .map(|_| {
            let home = TestHome::new();
            let (_serve, took) = Serve::start(&home);
            took
        })
        .collect();
    println!("cold start to first /health 200: {}", stats(cold));

    let home = TestHome::new();
    let (serve, _) = Serve::start(&home);
    std::thread::sleep(Duration::from_secs(2));
    println!("idle RSS, 0 modules: {} KiB", serve.rss_kib());
    let report = load::run(serve.port, "/health", 1, Duration::from_secs(3));
    println!(
        "/health, 1 connection: {:.0} req/s, p50 {:?}, p99 {:?}, errors {}",
        report.rps(),
        report.quantile(0.5),
        report.quantile(0.99),
        report.errors
    );
    let report = load::run(serve.port, "/health", 32, Duration::from_secs(3));
    println!(
        "/health, 32 connections: {:.0} req/s, p50 {:?}, p99 {:?}, errors {}",
        report.rps(),
        report.quantile(0.5),
        report.quantile(0.99),
        report.errors
    );
    drop(serve);

    let home = TestHome::new();
    for name in ["one", "two", "three"] {
        add_test_module(home.path(), name, free_port(), &[]);
    }
    let (serve, _) = Serve::start(&home);
    for name in ["one", "two", "three"] {
        serve.wait_line(&format!("[{name}] test-module up"), 0);
    }
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "idle RSS, 3 modules: {} KiB (hub process only)",
        serve.rss_kib()
    );
    drop(serve);

    let mut latencies = Vec::new();
    let mut beyond_backoff = Vec::new();
    for _ in 0..5 {
        let home = TestHome::new();
        add_test_module(
            home.path(),
            "crashy",
            free_port(),
            &["--exit-after-ms", "300"],
        );
        let (serve, _) = Serve::start(&home);
        let exited = serve.wait_line("[crashy] test-module exiting with code", 0);
        let respawned = serve.wait_line("[crashy] test-module up", 1);
        let scheduled: u64 = serve
            .lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l.contains("crashy exited"))
            .and_then(|(_, l)| {
                l.rsplit(" in ")
                    .next()?
                    .trim_end_matches(" ms")
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        let total = respawned - exited;
        latencies.push(total);
        beyond_backoff.push(total.saturating_sub(Duration::from_millis(scheduled)));
    }
    println!(
        "first crash to respawned (incl. the 500 ms ±20 % backoff): {}",
        stats(latencies)
    );
    println!(
        "  of which beyond the scheduled backoff: {}",
        stats(beyond_backoff)
    );
}

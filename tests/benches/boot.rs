//! Benchmark (prints figures, asserts nothing about time): boot at 1, 10 and 50 modules, and
//! the idle CPU of a booted hub.
//!
//! For each module count, in rounds that alternate the counts: a home with that many
//! `test-module`s (each binds at once), `parachute serve` spawned, then a raw `GET /health`
//! every millisecond until one answers 200 (the time from spawning `serve`), then `/api/ready`
//! polled until `ready: true` (every module up). After the last round of each count the hub is
//! left to settle for 2 s and its CPU time (utime + stime from `/proc`) is read over 10 s.
//! Prints medians (min–max) and the ratios between 50 and 1 module measured in this run.
//!
//! Run with `scripts/bench boot`. `PARACHUTE_BENCH_RUNS` rounds (default 5).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parachute_tests::bench::{self, show};
use parachute_tests::hub::add_test_module;
use parachute_tests::{TestHome, bin, free_port};

/// Module counts measured.
const COUNTS: [usize; 3] = [1, 10, 50];

/// A `parachute serve` child, stopped with SIGTERM on drop.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// One raw `GET path`; the response text, or empty when the hub did not answer.
fn get(port: u16, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// One boot of `modules` modules: (time to the first `/health` 200, time to every module up).
fn boot(home: &TestHome, keep: bool) -> (Duration, Duration, Option<Serve>) {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", port.to_string())
        .env_remove("PARACHUTE_HUB_ORIGIN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parachute serve");
    let serve = Serve(child);
    let deadline = started + Duration::from_secs(60);
    let health = loop {
        if get(port, "/health").starts_with("HTTP/1.1 200") {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "/health never answered");
        std::thread::sleep(Duration::from_millis(1));
    };
    let ready = loop {
        if get(port, "/api/ready").contains("\"ready\":true") {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "the modules never came up");
        std::thread::sleep(Duration::from_millis(2));
    };
    (health, ready, keep.then_some(serve))
}

/// CPU milliseconds per second of an idle hub, over `window` after a settle.
fn idle_cpu(serve: &Serve, window: Duration) -> f64 {
    std::thread::sleep(Duration::from_secs(2));
    let pid = serve.0.id();
    let before = bench::cpu_ticks(pid);
    std::thread::sleep(window);
    let ticks = bench::cpu_ticks(pid) - before;
    ticks as f64 / bench::ticks_per_second() * 1000.0 / window.as_secs_f64()
}

fn main() {
    let runs = bench::env_number("PARACHUTE_BENCH_RUNS", 5) as usize;
    println!(
        "== boot benchmark (hub binary: {}) ==",
        bin("parachute").display()
    );
    let homes: Vec<TestHome> = COUNTS
        .iter()
        .map(|&n| {
            let home = TestHome::new();
            for i in 0..n {
                add_test_module(home.path(), &format!("m{i}"), free_port(), &[]);
            }
            home
        })
        .collect();
    let mut health = vec![Vec::new(); COUNTS.len()];
    let mut ready = vec![Vec::new(); COUNTS.len()];
    let mut idle = vec![Vec::new(); COUNTS.len()];
    for round in 0..runs {
        for k in 0..COUNTS.len() {
            let i = (k + round) % COUNTS.len();
            let last = round + 1 == runs;
            let (h, r, serve) = boot(&homes[i], last);
            health[i].push(h.as_secs_f64() * 1000.0);
            ready[i].push(r.as_secs_f64() * 1000.0);
            if let Some(serve) = serve {
                idle[i].push(idle_cpu(&serve, Duration::from_secs(10)));
            }
        }
    }
    println!("{runs} rounds; median (min–max); idle CPU from the last round");
    println!(
        "{:>7} {:>26} {:>26} {:>20}",
        "modules", "spawn → /health 200 ms", "spawn → all ready ms", "idle CPU ms/s"
    );
    for (i, n) in COUNTS.iter().enumerate() {
        println!(
            "{:>7} {:>26} {:>26} {:>20}",
            n,
            show(&health[i], 1),
            show(&ready[i], 1),
            show(&idle[i], 2)
        );
    }
    let med = |v: &[f64]| bench::median_spread(v).0;
    let last = COUNTS.len() - 1;
    println!();
    println!(
        "50 / 1 modules: /health ×{:.2}, all ready ×{:.2}, idle CPU ×{:.2}",
        med(&health[last]) / med(&health[0]).max(1e-9),
        med(&ready[last]) / med(&ready[0]).max(1e-9),
        med(&idle[last]) / med(&idle[0]).max(1e-9)
    );
}

//! Benchmark (prints figures, asserts nothing about time): the reverse proxy beside nginx.
//!
//! Starts a release `parachute serve` with one supervised `test-module` mounted at `/bench`
//! (`stripPrefix: true`) and Debian's nginx in the foreground with a private config on a free
//! port, proxying `/bench/` to the same module with upstream keep-alive. Then, in rounds that
//! alternate the contenders' order, drives each path with `wrk` (one thread) on 32 and on 1
//! keep-alive connections: the module directly (`/health`), the hub's own `/health`, the hub's
//! proxy and nginx's (`/bench/health`). Prints medians (and min–max) of requests/s, p50 and
//! p99 latency, and CPU per request of the serving process (utime + stime from `/proc`, the hub
//! process, or nginx's master and workers), then the ratios measured in this run.
//!
//! Run with `scripts/bench proxy` (which installs `wrk` and `nginx-light`).
//! `PARACHUTE_BENCH_RUNS` rounds (default 5), `PARACHUTE_BENCH_SECS` per measurement (default 3).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parachute_tests::bench::{self, WrkRun, show};
use parachute_tests::hub::add_test_module;
use parachute_tests::{TestHome, bin, free_port, wait_for};

/// A child stopped with SIGTERM (then waited for) on drop.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn ok(port: u16, path: &str) -> bool {
    parachute_tests::http::get(port, path).is_ok_and(|r| r.status == 200)
}

/// nginx in the foreground, proxying `/bench/` on `port` to `upstream` (keep-alive upstream,
/// the forwarding headers the hub adds too, no access log).
fn start_nginx(dir: &std::path::Path, port: u16, upstream: u16) -> Option<Stopped> {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let conf = format!(
        "daemon off;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream module {{ server 127.0.0.1:{upstream}; keepalive 64; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location /bench/ {{\n      proxy_pass http://module/;\n\
               proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
               proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $remote_addr;\n\
               proxy_set_header X-Forwarded-Host $host;\n      proxy_set_header X-Forwarded-Proto $scheme;\n\
             }}\n  }}\n}}\n",
        d = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).ok()?;
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let nginx = Stopped(child);
    wait_for(Duration::from_secs(10), || {
        ok(port, "/bench/health").then_some(())
    })?;
    Some(nginx)
}

/// One contender: where to send load and whose CPU to count.
struct Target {
    label: &'static str,
    port: u16,
    path: &'static str,
    /// The serving process (its children count too: nginx's workers).
    pid: Option<u32>,
}

/// CPU ticks of `pid` and its direct children.
fn tree_ticks(pid: u32) -> u64 {
    bench::cpu_ticks(pid)
        + bench::children(pid)
            .into_iter()
            .map(bench::cpu_ticks)
            .sum::<u64>()
}

/// One measurement: requests/s, p50 µs, p99 µs, CPU µs per request.
fn measure(target: &Target, connections: usize, secs: u64) -> (WrkRun, Option<f64>) {
    bench::wrk(target.port, target.path, connections, 1);
    let before = target.pid.map(tree_ticks);
    let run = bench::wrk(target.port, target.path, connections, secs);
    let cpu = target.pid.zip(before).map(|(pid, before)| {
        let seconds = (tree_ticks(pid) - before) as f64 / bench::ticks_per_second();
        seconds * 1e6 / run.requests.max(1) as f64
    });
    (run, cpu)
}

/// Everything measured for one (target, connections) pair over the rounds.
#[derive(Default)]
struct Series {
    rps: Vec<f64>,
    p50_us: Vec<f64>,
    p99_us: Vec<f64>,
    cpu_us: Vec<f64>,
    errors: u64,
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed; run this through scripts/bench, which installs it");
        std::process::exit(1);
    }
    let runs = bench::env_number("PARACHUTE_BENCH_RUNS", 5) as usize;
    let secs = bench::env_number("PARACHUTE_BENCH_SECS", 3);
    println!(
        "== proxy benchmark (hub binary: {}) ==",
        bin("parachute").display()
    );
    let home = TestHome::new();
    let module_port = free_port();
    add_test_module(home.path(), "bench", module_port, &[]);
    let services = home.path().join("services.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&services).unwrap()).unwrap();
    doc["services"][0]["stripPrefix"] = serde_json::json!(true);
    std::fs::write(&services, serde_json::to_string_pretty(&doc).unwrap()).unwrap();

    let port = free_port();
    let hub = Command::new(bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", port.to_string())
        .env_remove("PARACHUTE_HUB_ORIGIN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parachute serve");
    let hub_pid = hub.id();
    let _hub = Stopped(hub);
    let up = wait_for(Duration::from_secs(60), || {
        ok(port, "/bench/health").then_some(())
    });
    assert!(up.is_some(), "the module never answered through the hub");

    let nginx_dir = tempfile::tempdir().unwrap();
    let nginx_port = free_port();
    let nginx = start_nginx(nginx_dir.path(), nginx_port, module_port);
    if nginx.is_none() {
        println!("(nginx is not available: its rows are left out)");
    }
    let mut targets = vec![
        Target {
            label: "module direct /health",
            port: module_port,
            path: "/health",
            pid: None,
        },
        Target {
            label: "hub's own /health",
            port,
            path: "/health",
            pid: Some(hub_pid),
        },
        Target {
            label: "hub proxy /bench/health",
            port,
            path: "/bench/health",
            pid: Some(hub_pid),
        },
    ];
    if let Some(nginx) = &nginx {
        targets.push(Target {
            label: "nginx proxy /bench/health",
            port: nginx_port,
            path: "/bench/health",
            pid: Some(nginx.0.id()),
        });
    }
    let mut results: BTreeMap<(usize, usize), Series> = BTreeMap::new();
    for round in 0..runs {
        for connections in [32, 1] {
            // Alternate who goes first, so drift on a shared machine spreads over everyone.
            for k in 0..targets.len() {
                let i = (k + round) % targets.len();
                let (run, cpu) = measure(&targets[i], connections, secs);
                let series = results.entry((connections, i)).or_default();
                series.rps.push(run.rps);
                series.p50_us.push(run.p50.as_secs_f64() * 1e6);
                series.p99_us.push(run.p99.as_secs_f64() * 1e6);
                series.cpu_us.extend(cpu);
                series.errors += run.errors;
            }
        }
    }
    print_results(&targets, &results, runs, secs);
}

fn print_results(
    targets: &[Target],
    results: &BTreeMap<(usize, usize), Series>,
    runs: usize,
    secs: u64,
) {
    println!("{runs} rounds of {secs} s per measurement; median (min–max)");
    println!(
        "{:<27} {:>5} {:>26} {:>22} {:>22} {:>18} {:>6}",
        "target", "conns", "req/s", "p50 µs", "p99 µs", "CPU µs/req", "errors"
    );
    for connections in [32, 1] {
        for (i, target) in targets.iter().enumerate() {
            let s = &results[&(connections, i)];
            let cpu = if s.cpu_us.is_empty() {
                "-".to_string()
            } else {
                show(&s.cpu_us, 1)
            };
            println!(
                "{:<27} {:>5} {:>26} {:>22} {:>22} {:>18} {:>6}",
                target.label,
                connections,
                show(&s.rps, 0),
                show(&s.p50_us, 0),
                show(&s.p99_us, 0),
                cpu,
                s.errors
            );
        }
    }
    let med = |v: &[f64]| bench::median_spread(v).0;
    let hub = 2;
    let ratio = |connections, a: usize, b: usize, pick: fn(&Series) -> &Vec<f64>| {
        med(pick(&results[&(connections, a)])) / med(pick(&results[&(connections, b)])).max(1e-9)
    };
    println!();
    println!(
        "hub proxy / direct, 32 conns: req/s ×{:.2}",
        ratio(32, hub, 0, |s| &s.rps)
    );
    if targets.len() > 3 {
        let nginx = 3;
        println!(
            "hub proxy / nginx, 32 conns: req/s ×{:.2}, CPU/req ×{:.2}",
            ratio(32, hub, nginx, |s| &s.rps),
            ratio(32, hub, nginx, |s| &s.cpu_us)
        );
        println!(
            "hub proxy / nginx, 1 conn: p50 ×{:.2}, CPU/req ×{:.2}",
            ratio(1, hub, nginx, |s| &s.p50_us),
            ratio(1, hub, nginx, |s| &s.cpu_us)
        );
    }
}

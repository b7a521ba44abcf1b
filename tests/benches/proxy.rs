//! Benchmark (prints figures, asserts nothing about time): what the reverse proxy adds.
//!
//! Starts a release `parachute serve` with one supervised `test-module` mounted at `/bench`
//! (`stripPrefix: true`), then drives `GET /health` on the module directly and
//! `GET /bench/health` through the hub, each with 1 and with 32 keep-alive connections for
//! about 3 s, and prints requests per second, p50/p99 latency and the latency the hub adds.
//! The hub's own `/health` is measured too, as the baseline of its HTTP stack without a hop.
//!
//! Run with `scripts/bench proxy` (release binaries from `target/release/`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parachute_tests::hub::add_test_module;
use parachute_tests::load::{self, LoadReport};
use parachute_tests::{TestHome, bin, free_port, wait_for};

/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(3);
/// Warm-up before each measurement (fills the proxy's connection pool).
const WARM_UP: Duration = Duration::from_millis(500);

/// A `parachute serve` child, stopped with SIGTERM on drop.
struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

fn ok(port: u16, path: &str) -> bool {
    parachute_tests::http::get(port, path).is_ok_and(|r| r.status == 200)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn measure(port: u16, path: &str, connections: usize) -> LoadReport {
    load::run(port, path, connections, WARM_UP);
    load::run(port, path, connections, RUN)
}

fn main() {
    println!(
        "== proxy benchmark (binary: {}) ==",
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
    let child = Command::new(bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", port.to_string())
        .env_remove("PARACHUTE_HUB_ORIGIN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn parachute serve");
    let serve = Serve { child, port };
    let up = wait_for(Duration::from_secs(60), || {
        ok(serve.port, "/bench/health").then_some(())
    });
    assert!(up.is_some(), "the module never answered through the hub");
    assert!(ok(module_port, "/health"));

    println!(
        "{:<28} {:>6} {:>10} {:>9} {:>9} {:>7}",
        "target", "conns", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let mut rows = Vec::new();
    for connections in [1, 32] {
        let direct = measure(module_port, "/health", connections);
        let hub_own = measure(serve.port, "/health", connections);
        let proxied = measure(serve.port, "/bench/health", connections);
        for (label, report) in [
            ("module direct  /health", &direct),
            ("hub's own      /health", &hub_own),
            ("through hub    /bench/health", &proxied),
        ] {
            println!(
                "{:<28} {:>6} {:>10.0} {:>9.3} {:>9.3} {:>7}",
                label,
                connections,
                report.rps(),
                ms(report.quantile(0.5)),
                ms(report.quantile(0.99)),
                report.errors
            );
        }
        rows.push((connections, direct, proxied));
    }
    println!();
    for (connections, direct, proxied) in &rows {
        println!(
            "added by the proxy, {connections:>2} connection(s): p50 +{:.3} ms, p99 +{:.3} ms, throughput {:.0}% of direct",
            ms(proxied.quantile(0.5)) - ms(direct.quantile(0.5)),
            ms(proxied.quantile(0.99)) - ms(direct.quantile(0.99)),
            100.0 * proxied.rps() / direct.rps().max(1.0),
        );
    }
}

//! Helpers shared by the black-box suites in `tests/tests/`.
//!
//! The suites run the real `parachute` binary against a temporary `PARACHUTE_HOME`, with real
//! child processes and real sockets on 127.0.0.1. External tools we cannot run here
//! (`systemctl`, `launchctl`, `tailscale`, `cloudflared`, …) are replaced by the small programs
//! in `src/bin/fake-*.rs`, put on a private `PATH` by [`FakeTools`].

#![allow(clippy::print_stdout, clippy::print_stderr)] // test helpers report to the test output.

pub mod auth;
pub mod bench;
pub mod cli;
pub mod fake;
pub mod http;
pub mod hub;
pub mod load;
pub mod oauth;
pub mod sse;
pub mod totp;
pub mod web;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The directory holding the workspace's built binaries (`target/<profile>/`).
///
/// Test executables live in `target/<profile>/deps/`; the binaries sit one level up.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    let dir = if deps.ends_with("deps") {
        deps.parent().expect("profile dir")
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The path of a workspace binary such as `parachute`, `test-module` or `fake-systemctl`.
///
/// Panics with the fix when it is missing: `cargo test --workspace` builds every binary first.
/// `scripts/bench` sets `PARACHUTE_BENCH_HUB` to the shipped (`dist` profile) `parachute`, which
/// the benchmarks then run instead of the one beside them.
pub fn bin(name: &str) -> PathBuf {
    let path = match std::env::var_os("PARACHUTE_BENCH_HUB") {
        Some(hub) if name == "parachute" => PathBuf::from(hub),
        _ => bin_dir().join(name),
    };
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` (or `cargo test --workspace`) first",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1 (bound and released at once; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free ports on 127.0.0.1, held open together while they are chosen so the
/// kernel cannot hand the same one out twice (rows with one port would be refused as
/// duplicates).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A temporary `PARACHUTE_HOME`, removed when dropped.
pub struct TestHome {
    /// Owns the directory; dropping it deletes everything.
    dir: tempfile::TempDir,
}

impl TestHome {
    /// A fresh, empty home.
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("parachute-home-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    /// The home's root path (what `PARACHUTE_HOME` is set to).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `relative` under the home, creating parent directories.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Reads `relative` under the home to a string (panics when missing).
    pub fn read(&self, relative: &str) -> String {
        let path = self.path().join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

/// Polls `check` every 25 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// True when `pid` is gone. A zombie counts as gone: PID 1 here does not reap orphans.
pub fn pid_gone(pid: u32) -> bool {
    !parachute_os::process::is_alive(pid)
}

/// A directory of fake external tools to put in front of `PATH`.
pub use fake::FakeTools;

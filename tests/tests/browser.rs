//! The dashboard end to end in a real browser: `ui/e2e/run.mjs` (playwright-core driving
//! Debian's `chromium`, no browser download) against a real `parachute serve` with two test
//! modules on a free port. It walks first-run setup, sees the modules, restarts one (its pid
//! changes), crashes one (the crash card, then "retry now"), follows logs, checks that a post
//! without the CSRF token and one from a foreign `Origin` are refused, signs out, is refused a
//! wrong password and signs in again. Screenshots of every page at 1280 and 375 px go to
//! `<target>/<profile>/e2e-screenshots/`.
//!
//! Needs `node` (18+), `ui/node_modules` and `/usr/bin/chromium`: `scripts/test` installs
//! them (`ensure_ui_packages`, `ensure_apt_packages chromium`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{TestHome, bin_dir, free_port};

/// The whole browser run's limit (the script bounds itself and each step too).
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn preflight() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (scripts/test does: ensure_apt_packages chromium)"
    );
    assert!(
        ui_dir().join("node_modules/playwright-core").is_dir(),
        "ui/node_modules is missing: run `npm ci` in ui/ (scripts/test does)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not on PATH: install Node 18 or newer (scripts/test does)"
    );
}

#[test]
fn the_dashboard_in_chromium() {
    preflight();
    let home = TestHome::new();
    let crash = home.path().join("beta.crash");
    add_test_module(home.path(), "alpha", free_port(), &["--tick-ms", "500"]);
    add_test_module(
        home.path(),
        "beta",
        free_port(),
        &["--crash-if-exists", &crash.display().to_string()],
    );
    let hub = HubProcess::start(home.path());
    let line = hub.wait_for_line("setup bootstrap token", Duration::from_secs(10));
    let token = line.rsplit(' ').next().unwrap().to_owned();
    let shots = bin_dir().join("e2e-screenshots");
    let _ = std::fs::remove_dir_all(&shots);

    let mut child = Command::new("node")
        .arg("e2e/run.mjs")
        .current_dir(ui_dir())
        .env("HUB_URL", format!("http://127.0.0.1:{}", hub.port))
        .env("BOOTSTRAP_TOKEN", &token)
        .env("CRASH_FILE", &crash)
        .env("SHOTS_DIR", &shots)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let report = format!(
        "browser run:\n{out}\n{err}\nscreenshots: {}\nhub output:\n{}",
        shots.display(),
        hub.output_text()
    );
    let status =
        status.unwrap_or_else(|| panic!("the browser run exceeded {RUN_LIMIT:?}\n{report}"));
    assert!(status.success(), "{report}");
    assert!(!out.contains("not ok"), "{report}");
    for step in [
        "ok - first-run setup: account, vault, exposure",
        "ok - restart a module and watch its pid change",
        "ok - crash a module and see the crash card",
        "ok - follow a module's logs",
        "ok - a post without the CSRF token is refused",
        "ok - a foreign Origin is refused",
        "ok - sign out",
        "ok - a wrong password is refused",
        "ok - sign in and come back",
    ] {
        assert!(out.contains(step), "missing {step:?}\n{report}");
    }
    for page in [
        "setup-account",
        "modules",
        "modules-crashed",
        "vaults",
        "exposure",
        "hub",
        "settings",
        "login",
    ] {
        for width in [1280, 375] {
            let shot = shots.join(format!("{page}-{width}.png"));
            assert!(shot.is_file(), "no screenshot {}", shot.display());
        }
    }
}

//! The whole connection of an MCP client, driven by libraries nobody here wrote: Python's
//! authlib does the OAuth client side and playwright-core drives Debian's chromium for the
//! person's part (sign in, Approve), against a real `parachute serve` with `test-module` as the
//! vault: 401 challenge → discovery → registration → authorize in the browser → code exchange →
//! a call the module accepts after checking the token against the hub's JWKS and revocation
//! list → refresh → the old refresh token refused, and its family with it (see
//! tests/oauth-client/mcp_flow.py for the steps).
//!
//! The client's dependencies are installed by `scripts/test` (`ensure_oauth_client_deps` in
//! scripts/lib/deps.sh): the venv under `<target>/test-deps/venv`, playwright-core under
//! tests/browser/node_modules. Screenshots of the two pages at 375 px go to
//! `<target>/test-artifacts/oauth/`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parachute_tests::auth::{ADMIN_PASSWORD, ADMIN_USER, ensure_admin};
use parachute_tests::hub::{HubOptions, HubProcess, add_row};
use parachute_tests::{TestHome, bin, bin_dir, free_port, wait_for};
use serde_json::{Value, json};

/// `test-module` standing in for the vault, outside the hub's supervision; killed on drop.
struct Vault(Child);

impl Drop for Vault {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_vault(port: u16, hub: &str) -> Vault {
    let child = Command::new(bin("test-module"))
        .arg("--require-bearer")
        .env("PORT", port.to_string())
        .env("PARACHUTE_HUB_ORIGIN", hub)
        .env("TEST_MODULE_AUDIENCE", "vault.work")
        .env(
            "TEST_MODULE_RESOURCE_METADATA",
            format!("{hub}/.well-known/oauth-protected-resource/vault/work/mcp"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn test-module");
    let vault = Vault(child);
    let up = wait_for(Duration::from_secs(10), || {
        parachute_tests::http::get(port, "/health")
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(up.is_some(), "test-module never answered /health");
    vault
}

/// The interpreter of the venv `scripts/test` makes.
fn python() -> PathBuf {
    let target = bin_dir().parent().expect("target dir").to_path_buf();
    let python = target.join("test-deps/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test once (or `source scripts/lib/deps.sh && ensure_oauth_client_deps`) to install the OAuth client's authlib venv and playwright-core",
        python.display()
    );
    python
}

fn tests_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the client with a deadline; its last JSON line.
fn run_client(args: &[String]) -> Value {
    assert!(
        tests_dir()
            .join("browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules is missing: run scripts/test once (ensure_oauth_client_deps)"
    );
    let mut child = Command::new(python())
        .arg(tests_dir().join("oauth-client/mcp_flow.py"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the python client");
    let deadline = Instant::now() + Duration::from_secs(150);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the OAuth client did not finish within 150 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no report from the client\nstdout: {stdout}\nstderr: {stderr}"));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}\nstderr: {stderr}"))
}

#[test]
fn an_mcp_client_connects_through_discovery_browser_consent_and_refresh() {
    let home = TestHome::new();
    ensure_admin(home.path());
    let hub_port = free_port();
    let vault_port = free_port();
    let hub_origin = format!("http://127.0.0.1:{hub_port}");
    add_row(
        home.path(),
        json!({"name": "parachute-vault", "port": vault_port, "paths": ["/vault/work"],
               "health": "/health", "version": "1.0.0"}),
    );
    let _vault = start_vault(vault_port, &hub_origin);
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            port: Some(hub_port),
            ..HubOptions::default()
        },
    );
    let shots = bin_dir().parent().unwrap().join("test-artifacts/oauth");
    std::fs::create_dir_all(&shots).unwrap();
    let report = run_client(&[
        format!("{hub_origin}/vault/work/mcp"),
        ADMIN_USER.to_string(),
        ADMIN_PASSWORD.to_string(),
        tests_dir()
            .join("browser/authorize.mjs")
            .display()
            .to_string(),
        free_port().to_string(),
        shots.display().to_string(),
    ]);
    assert_eq!(
        report["ok"],
        true,
        "{report}\nhub log:\n{}",
        hub.output_text()
    );
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "401 challenge",
            "protected-resource document",
            "authorization-server document",
            "registration",
            "browser sign-in and approval",
            "code exchange",
            "call with the access token",
            "refresh rotates",
            "call with the refreshed token",
            "old refresh token refused",
            "reuse revoked the family",
        ]
    );
    // What the hub recorded: the client is approved (by the admin's consent), and the grant
    // is the one vault scope.
    let db = parachute_tests::auth::db(home.path());
    let client_id = report["client_id"].as_str().unwrap();
    assert_eq!(
        db.client(client_id).unwrap().unwrap().status.as_str(),
        "approved"
    );
    let user = db.first_user_id().unwrap().unwrap();
    let grant = db
        .grant(&user, client_id)
        .unwrap()
        .expect("a remembered grant");
    assert_eq!(grant.scopes, vec!["vault:work:read".to_string()]);
    for shot in ["oauth-sign-in-375.png", "oauth-consent-375.png"] {
        assert!(shots.join(shot).exists(), "{shot} saved");
    }
}

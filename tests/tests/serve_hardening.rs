//! `parachute serve` against hostile or careless homes: umask 000, a `services.json` or `.env`
//! others can write, rows named like paths, `.env` lines no process can take, temp files of
//! writers that died, and the hub's proof of identity on the wire.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod expose_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use parachute_tests::hub::{HubOptions, HubProcess, add_row, add_test_module};
use parachute_tests::{auth, bin, free_port, http, wait_for};
use serde_json::{Value, json};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn listening(port: u16) -> bool {
    parachute_os::port::is_listening(port, Duration::from_millis(300))
}

/// The hub's entry for `short` in `GET /api/modules`.
fn module(hub: &HubProcess, token: &str, short: &str) -> Value {
    let bearer = auth::bearer(token);
    let resp = http::request(
        hub.port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["short"] == short)
        .cloned()
        .unwrap_or(Value::Null)
}

/// A pid no process has: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn under_umask_000_a_new_home_and_everything_serve_writes_is_private() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("fresh-home");
    let mut hub = HubProcess::start_with(
        &root,
        HubOptions {
            umask: Some(0),
            ..HubOptions::default()
        },
    );
    for dir in [root.clone(), root.join("hub"), root.join("hub/run")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in [root.join("hub.db"), root.join("hub/run/hub.port")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(hub.stop(), Some(0), "{}", hub.output_text());
}

#[test]
fn under_umask_000_exposure_writes_private_state_discovery_and_env_files() {
    let mut stand = expose_support::Stand::new(&["tailscale"]);
    stand.with_vault();
    let hub = HubProcess::start_with(
        stand.root(),
        HubOptions {
            env: vec![("PATH".into(), stand.fakes.path_env())],
            umask: Some(0),
            ..HubOptions::default()
        },
    );
    auth::operator_token(stand.root(), hub.port);
    hub.wait_for_line("[vault] env PARACHUTE_HUB_ORIGIN=", Duration::from_secs(60));
    stand.hub = Some(hub);
    // `parachute expose tailnet` under umask 000 too.
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" expose tailnet")
        .arg(bin("parachute"))
        .env_clear()
        .env("PATH", stand.fakes.path_env())
        .env("HOME", stand.user.path())
        .env("PARACHUTE_HOME", stand.root())
        .env(parachute_tests::fake::STATE_ENV, stand.fakes.state_dir())
        .env("PARACHUTE_UNIT_DIR", stand.unit_dir())
        .env("PARACHUTE_UNIT_SCOPE", "user")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let root = stand.root();
    for dir in [root.join("well-known"), root.join("vault")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in [
        "expose-state.json",
        "well-known/parachute.json",
        "well-known/hub.html",
        "vault/.env",
        "operator.token",
    ] {
        assert_eq!(mode(&root.join(file)), 0o600, "{file}");
    }
    // The vault was restarted with the new origin: the hub accepted what exposure wrote.
    stand.wait_count(
        &expose_support::vault_origin_line("https://mybox.tail1a2b3c.ts.net"),
        1,
    );
}

#[test]
fn modules_do_not_start_while_others_can_write_services_json_or_their_env() {
    let home = parachute_tests::TestHome::new();
    let (alpha, beta) = (free_port(), free_port());
    add_test_module(home.path(), "alpha", alpha, &[]);
    add_test_module(home.path(), "beta", beta, &[]);
    let services = home.path().join("services.json");
    chmod(&services, 0o666);
    let hub = HubProcess::start(home.path());
    let token = auth::operator_token(home.path(), hub.port);
    let line = hub.wait_for_line("not starting any module", Duration::from_secs(30));
    assert!(line.contains(&services.display().to_string()), "{line}");
    assert!(line.contains("chmod o-w"), "{line}");
    for short in ["alpha", "beta"] {
        let refused = wait_for(Duration::from_secs(30), || {
            let m = module(&hub, &token, short);
            (m["supervisor_start_error"]["error_type"] == "insecure_permissions").then_some(m)
        })
        .unwrap_or_else(|| panic!("{short} was not refused:\n{}", hub.output_text()));
        let why = refused["supervisor_start_error"]["error_description"]
            .as_str()
            .unwrap();
        assert!(why.contains("services.json"), "{why}");
        assert!(why.contains("chmod o-w"), "{why}");
    }
    assert!(!listening(alpha) && !listening(beta));
    // /health and the API kept answering all along.
    assert_eq!(http::get(hub.port, "/health").unwrap().status, 200);

    // Fixed: alpha starts on request. beta's own .env is open to others: it stays refused.
    chmod(&services, 0o600);
    let env = home.write("beta/.env", "A=1\n");
    chmod(&env, 0o646);
    let bearer = auth::bearer(&token);
    for short in ["alpha", "beta"] {
        let path = format!("/api/modules/{short}/start");
        let resp =
            http::request(hub.port, "POST", &path, &[("authorization", &bearer)], None).unwrap();
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    assert!(wait_for(Duration::from_secs(30), || listening(alpha).then_some(())).is_some());
    let beta_state = module(&hub, &token, "beta");
    let why = beta_state["supervisor_start_error"]["error_description"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("beta/.env"), "{beta_state}");
    assert!(!listening(beta));
}

#[test]
fn a_row_named_like_a_path_creates_nothing_outside_the_home() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("home");
    std::fs::create_dir(&root).unwrap();
    let good = free_port();
    add_test_module(&root, "alpha", good, &[]);
    // A row whose name climbs out of the home, with a module that would run.
    add_test_module(&root, "escaper", free_port(), &[]);
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("services.json")).unwrap())
            .unwrap();
    doc["services"][1]["name"] = json!("../escape-target/x");
    std::fs::write(root.join("services.json"), doc.to_string()).unwrap();
    add_row(
        &root,
        json!({"name": "ctl\u{1b}[2Jname", "port": free_port(), "paths": ["/c"], "health": "/health", "version": "1"}),
    );
    let hub = HubProcess::start(&root);
    assert!(wait_for(Duration::from_secs(30), || listening(good).then_some(())).is_some());
    let line = hub.wait_for_line("../escape-target/x", Duration::from_secs(10));
    assert!(line.contains("skipping row 2"), "{line}");
    assert!(line.contains("one plain file name"), "{line}");
    hub.wait_for_line("skipping row 3", Duration::from_secs(10));
    let entries: Vec<PathBuf> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries, vec![root.clone()], "nothing next to the home");
    assert!(
        !hub.output_text().contains('\u{1b}'),
        "no raw escape reached the hub's output"
    );
}

#[test]
fn an_env_line_no_process_can_take_is_skipped_with_a_warning_and_the_module_starts() {
    let home = parachute_tests::TestHome::new();
    let port = free_port();
    add_test_module(home.path(), "alpha", port, &["--print-env", "GOOD,LATER"]);
    let mut text = b"GOOD=yes\nBAD=a\0b\n".to_vec();
    text.extend_from_slice(format!("HUGE={}\n", "x".repeat(1024 * 1024)).as_bytes());
    text.extend_from_slice(b"LATER=also\n");
    let env = home.path().join("alpha/.env");
    std::fs::create_dir_all(env.parent().unwrap()).unwrap();
    std::fs::write(&env, text).unwrap();
    let hub = HubProcess::start(home.path());
    hub.wait_for_line("[alpha] env GOOD=yes", Duration::from_secs(30));
    hub.wait_for_line("[alpha] env LATER=also", Duration::from_secs(10));
    assert!(wait_for(Duration::from_secs(30), || listening(port).then_some(())).is_some());
    let shown = env.display().to_string();
    let nul = hub.wait_for_line(&format!("{shown} line 2"), Duration::from_secs(10));
    assert!(nul.contains("NUL"), "{nul}");
    let huge = hub.wait_for_line(&format!("{shown} line 3"), Duration::from_secs(10));
    assert!(huge.contains("bytes long"), "{huge}");
}

#[test]
fn serve_removes_temp_files_of_dead_writers_and_nothing_else() {
    let home = parachute_tests::TestHome::new();
    let dead = dead_pid();
    let live = std::process::id();
    let stale = [
        home.write(
            &format!("services.json.tmp-{dead}-1700000000000"),
            "{\"serv",
        ),
        home.write(&format!("vault/.env.tmp-{dead}-1700000000000-2"), "PART"),
        home.write(&format!("hub/run/hub.port.tmp-{dead}-1"), "19"),
    ];
    let kept = [
        home.write(&format!("services.json.tmp-{live}-1700000000000"), "{"),
        home.write(&format!("vault/notes.db.tmp-{dead}-1"), "module data"),
    ];
    let hub = HubProcess::start(home.path());
    for path in &stale {
        assert!(!path.exists(), "{}:\n{}", path.display(), hub.output_text());
    }
    for path in &kept {
        assert!(path.exists(), "{}", path.display());
    }
}

#[test]
fn the_proof_route_signs_fresh_challenges_only_and_carries_no_credential() {
    let home = parachute_tests::TestHome::new();
    let hub = HubProcess::start(home.path());
    // Before setup: open (the setup gate covers the API only), and no bearer needed.
    let nonce = "q".repeat(43);
    let resp = http::get(
        hub.port,
        &format!("/.well-known/parachute-hub-proof?nonce={nonce}"),
    )
    .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let jws = resp.json()["proof"].as_str().unwrap().to_string();
    let db = auth::db(home.path());
    let expect = parachute_auth::ProofExpectation {
        nonce,
        port: hub.port,
        home_id: parachute_home::Home::at(home.path()).id().unwrap(),
        now: std::time::SystemTime::now(),
    };
    db.verify_hub_proof(&jws, &expect).unwrap();
    for bad in [
        "",
        "?nonce=",
        "?nonce=short",
        "?nonce=has%20space%20aaaaaaaaaaaaaaaa",
    ] {
        let resp = http::get(hub.port, &format!("/.well-known/parachute-hub-proof{bad}")).unwrap();
        assert_eq!(resp.status, 400, "{bad}: {}", resp.body);
        assert_eq!(resp.json()["error"], "invalid_request");
    }
    // A proof is not a bearer.
    auth::ensure_admin(home.path());
    let bearer = auth::bearer(&jws);
    let resp = http::request(
        hub.port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    assert_eq!(resp.status, 401, "{}", resp.body);
}

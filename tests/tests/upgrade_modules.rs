//! Module upgrades as the original does them, through a real hub with a fake `bun` and `npm`
//! (the registry is `npm.dist-tags.json`: `npm view <pkg>@<tag> version` reads it and `bun add
//! -g <pkg>@<tag>` installs the version it names): the channel each upgrade installs from, the
//! downgrade guard, "already at V" without a restart, and the restart through the supervisor —
//! over the API and through `parachute upgrade <svc>`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod api_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use api_support::{Rig, vault_row};
use parachute_tests::{bin, wait_for};
use serde_json::{Value, json};

const VAULT: &str = "@openparachute/vault";

/// Sets what the registry's tags point at.
fn registry(rig: &Rig, latest: &str, rc: &str) {
    std::fs::write(
        rig.fakes.state_dir().join("npm.dist-tags.json"),
        json!({ VAULT: {"latest": latest, "rc": rc} }).to_string(),
    )
    .unwrap();
}

/// A hub with a vault row, installed from `@latest` at `installed` and running.
fn installed_vault(installed: &str) -> (Rig, u64) {
    let rig = Rig::start(|home, _| {
        vault_row(home.path());
    });
    registry(&rig, installed, "9.9.9-rc.1");
    let op = rig.run_op("vault", "install", Some(json!({"channel": "latest"})));
    assert_eq!(op["status"], "succeeded", "{op}\n{}", rig.hub.output_text());
    let pid = rig.wait_running("vault", None);
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], installed);
    rig.fakes.clear_calls("bun");
    rig.fakes.clear_calls("npm");
    (rig, pid)
}

fn log_text(op: &Value) -> String {
    op["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `parachute upgrade <args…>` against the rig's hub, with the operator token in its home.
fn cli(rig: &Rig, args: &[&str]) -> (i32, String) {
    let user_home = rig.home.path().join("user");
    std::fs::create_dir_all(&user_home).unwrap();
    let out = Command::new(bin("parachute"))
        .arg("upgrade")
        .args(args)
        .env_clear()
        .env("PARACHUTE_HOME", rig.home.path())
        .env("HOME", &user_home)
        .env("PATH", rig.fakes.path_env())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run parachute upgrade");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_channel_follows_the_request_then_the_setting_then_the_installed_version() {
    let (rig, _) = installed_vault("1.0.0-rc.2");
    registry(&rig, "0.9.0", "1.0.0-rc.3");
    // Nothing asked, nothing stored: an rc install stays on rc.
    let op = rig.run_op("vault", "upgrade", None);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@rc"]
    );
    assert!(
        rig.fakes.calls("npm").contains(&vec![
            "view".into(),
            format!("{VAULT}@rc"),
            "version".into()
        ]),
        "the guard asked the registry: {:?}",
        rig.fakes.calls("npm")
    );
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], "1.0.0-rc.3");

    // The stored install channel wins over the installed version's.
    registry(&rig, "1.0.0", "1.0.0-rc.3");
    let r = rig.call(
        "PUT",
        "/api/modules/channel",
        Some(json!({"channel": "latest"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let op = rig.run_op("vault", "upgrade", None);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@latest"]
    );
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], "1.0.0");

    // The request wins over both; a bad one is refused before anything runs.
    registry(&rig, "1.0.0", "1.1.0-rc.1");
    let op = rig.run_op("vault", "upgrade", Some(json!({"channel": "rc"})));
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@rc"]
    );
    let before = rig.fakes.calls("bun").len();
    for body in [
        json!({"channel": "beta"}),
        json!({"allow_downgrade": "yes"}),
    ] {
        let r = rig.call("POST", "/api/modules/vault/upgrade", Some(body.clone()));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(rig.fakes.calls("bun").len(), before);
}

#[test]
fn a_downgrade_is_refused_unless_allowed_and_then_restarts_the_module() {
    let (rig, first) = installed_vault("1.3.0");
    registry(&rig, "1.2.0", "1.3.0-rc.1");

    let op = rig.run_op("vault", "upgrade", None);
    assert_eq!(op["status"], "failed", "{op}");
    let error = op["error"].as_str().unwrap();
    assert!(
        error.contains("refusing to downgrade vault: installed 1.3.0, @latest resolves to 1.2.0"),
        "{error}"
    );
    assert_eq!(op["error_detail"]["error_type"], "downgrade_refused");
    assert_eq!(op["error_detail"]["target_version"], "1.2.0");
    assert!(log_text(&op).contains("--allow-downgrade"), "{op}");
    // Nothing was installed and the module was left alone.
    assert!(
        rig.fakes.calls("bun").is_empty(),
        "{:?}",
        rig.fakes.calls("bun")
    );
    assert_eq!(rig.wait_running("vault", None), first);
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], "1.3.0");

    // Allowed: installed, and the supervisor restarts the module on the new package.
    let op = rig.run_op("vault", "upgrade", Some(json!({"allow_downgrade": true})));
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        rig.fakes.calls("bun"),
        vec![vec!["add", "-g", "@openparachute/vault@latest"]]
    );
    let second = rig.wait_running("vault", Some(first));
    assert_ne!(first, second);
    assert!(
        log_text(&op).contains("vault: 1.3.0 → 1.2.0; restarting"),
        "{op}"
    );
    rig.hub.wait_for_line(
        "[vault] @openparachute/vault@1.2.0 serving",
        Duration::from_secs(20),
    );
    assert!(
        op["log"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains(&format!("upgraded and restarted (pid {second})")),
        "{op}"
    );
}

#[test]
fn an_upgrade_that_changes_nothing_restarts_nothing() {
    let (rig, first) = installed_vault("1.2.0");
    let op = rig.run_op("vault", "upgrade", None);
    assert_eq!(op["status"], "succeeded", "{op}");
    let last = op["log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, "vault is already at 1.2.0; not restarted", "{op}");
    assert_eq!(rig.fakes.calls("bun").len(), 1, "bun add -g ran once");
    // A restart would have happened before the operation ended: still the same process.
    assert_eq!(rig.entry("vault")["pid"], first, "{}", rig.entry("vault"));
    assert_eq!(rig.entry("vault")["supervisor_status"], "running");
}

#[test]
fn the_cli_passes_the_flag_and_prints_the_outcome() {
    let (rig, first) = installed_vault("1.3.0");
    rig.fakes.clear_calls("bun");

    // Already current.
    let (code, text) = cli(&rig, &["vault"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("✓ vault is already at 1.3.0; not restarted."),
        "{text}"
    );
    assert_eq!(rig.wait_running("vault", None), first);

    // A downgrade: refused, with the way forward, exit 1.
    registry(&rig, "1.2.0", "1.3.0-rc.1");
    let (code, text) = cli(&rig, &["vault"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "✗ vault: refusing to downgrade vault: installed 1.3.0, @latest resolves to 1.2.0"
        ),
        "{text}"
    );
    assert!(text.contains("--allow-downgrade"), "{text}");
    assert_eq!(
        rig.fakes.calls("bun").len(),
        1,
        "only the first run installed"
    );

    // Allowed: installed and restarted through the hub's supervisor.
    let (code, text) = cli(&rig, &["vault", "--allow-downgrade"]);
    assert_eq!(code, 0, "{text}");
    let second = rig.wait_running("vault", Some(first));
    assert!(
        text.contains(&format!("✓ vault upgraded and restarted (pid {second}).")),
        "{text}"
    );
    assert!(text.contains("1.3.0 → 1.2.0"), "{text}");

    // The channel flag reaches the hub.
    let (code, text) = cli(&rig, &["vault", "--channel", "rc"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@rc"]
    );
    assert!(
        wait_for(Duration::from_secs(30), || (rig
            .row("parachute-vault")
            .unwrap()["version"]
            == "1.3.0-rc.1")
            .then_some(()))
        .is_some()
    );
}

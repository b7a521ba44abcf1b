//! Black-box: install, upgrade and uninstall through the package manager (a fake `bun` that
//! records its argv), the operation registry, the module list with registry versions (a fake
//! `npm`), the install channel setting and `GET /api/hub`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod api_support;

use std::path::PathBuf;
use std::time::Duration;

use api_support::{Rig, error_of, vault_row};
use parachute_tests::auth::bearer;
use parachute_tests::hub::add_test_module;
use parachute_tests::{free_port, http, pid_gone, wait_for};
use serde_json::{Value, json};

#[test]
fn install_seeds_a_first_party_row_starts_it_and_uninstall_removes_everything() {
    let rig = Rig::start(|_, _| {});
    let op = rig.run_op("scribe", "install", Some(json!({"channel": "rc"})));
    assert_eq!(op["status"], "succeeded", "{op}\n{}", rig.hub.output_text());
    assert_eq!(op["kind"], "install");
    assert_eq!(op["short"], "scribe");
    assert!(op["finishedAt"].is_string() && op["startedAt"].is_string());
    assert_eq!(
        rig.fakes.calls("bun"),
        vec![vec!["add", "-g", "@openparachute/scribe@rc"]]
    );
    let row = rig.row("parachute-scribe").expect("seeded row");
    assert_eq!(row["port"], 1943);
    assert_eq!(row["paths"], json!(["/scribe"]));
    assert_eq!(row["version"], "1.0.0");
    assert_eq!(
        row["installDir"].as_str().map(PathBuf::from),
        Some(rig.global_dir("@openparachute/scribe"))
    );
    rig.hub.wait_for_line(
        "[scribe] @openparachute/scribe@1.0.0 serving",
        Duration::from_secs(20),
    );
    let pid = rig.wait_running("scribe", None);
    let entry = rig.entry("scribe");
    assert_eq!(entry["installed"], true);
    assert_eq!(entry["installed_version"], "1.0.0");
    assert!(
        op["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains(&format!("pid {pid}"))),
        "{op}"
    );
    // The discovery document on disk lists it.
    let doc = rig.home.read("well-known/parachute.json");
    assert!(doc.contains("/scribe"), "{doc}");

    let r = rig.call("POST", "/api/modules/scribe/uninstall", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["short"], "scribe");
    assert!(!body["log"].as_array().unwrap().is_empty());
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(pid as u32)
            .then_some(()))
        .is_some()
    );
    assert!(rig.row("parachute-scribe").is_none(), "{}", rig.services());
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["remove", "-g", "@openparachute/scribe"]
    );
    assert!(!rig.global_dir("@openparachute/scribe").exists());
    let entry = rig.entry("scribe");
    assert_eq!(entry["installed"], false);
    assert_eq!(entry["supervisor_status"], Value::Null);
    let r = rig.call("POST", "/api/modules/scribe/restart", None);
    assert_eq!(error_of(&r), "not_supervised");
}

#[test]
fn install_channel_comes_from_the_setting_and_upgrade_restarts() {
    let rig = Rig::start(|home, _| {
        vault_row(home.path());
    });
    // No body and no setting: latest. The row existed (boot could not run the missing binary).
    let op = rig.run_op("vault", "install", None);
    assert_eq!(op["status"], "succeeded", "{op}\n{}", rig.hub.output_text());
    assert_eq!(
        rig.fakes.calls("bun"),
        vec![vec!["add", "-g", "@openparachute/vault@latest"]]
    );
    let first = rig.wait_running("vault", None);
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], "1.0.0");

    let r = rig.call(
        "PUT",
        "/api/modules/channel",
        Some(json!({"channel": "rc"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["channel"], "rc");
    std::fs::write(rig.fakes.state_dir().join("bun.version"), "1.1.0-rc.1").unwrap();
    let op = rig.run_op("vault", "upgrade", None);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(op["kind"], "upgrade");
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@rc"]
    );
    let second = rig.wait_running("vault", Some(first));
    assert_ne!(first, second);
    assert_eq!(rig.row("parachute-vault").unwrap()["version"], "1.1.0-rc.1");
    // The body wins over the setting.
    rig.run_op("vault", "upgrade", Some(json!({"channel": "latest"})));
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["add", "-g", "@openparachute/vault@latest"]
    );
    // Installed and running: install succeeds at once without bun.
    let before = rig.fakes.calls("bun").len();
    let op = rig.run_op("vault", "install", None);
    assert_eq!(op["status"], "succeeded");
    assert_eq!(rig.fakes.calls("bun").len(), before);
}

#[test]
fn a_failing_bun_fails_the_operation_and_starts_nothing() {
    let rig = Rig::start(|_, fakes| {
        std::fs::write(
            fakes.state_dir().join("bun.fail"),
            "add 1 error: GET https://registry.npmjs.org/@openparachute%2fchannel - 404\n",
        )
        .unwrap();
    });
    let op = rig.run_op("channel", "install", None);
    assert_eq!(op["status"], "failed", "{op}");
    let error = op["error"].as_str().unwrap();
    assert!(error.contains("code 1"), "{error}");
    assert_eq!(op["error_detail"]["exit_code"], 1);
    assert!(
        op["error_detail"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{op}"
    );
    assert!(rig.row("parachute-channel").is_none());
    let entry = rig.entry("channel");
    assert_eq!(entry["supervisor_status"], Value::Null, "{entry}");
    assert_eq!(
        rig.call("GET", "/api/modules/channel/logs", None).status,
        404,
        "nothing may be supervised after a failed install"
    );
}

#[test]
fn a_second_operation_on_the_same_module_is_refused_while_one_runs() {
    let rig = Rig::start(|home, fakes| {
        vault_row(home.path());
        std::fs::write(fakes.state_dir().join("bun.hold"), "").unwrap();
    });
    let r = rig.call("POST", "/api/modules/vault/install", None);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["operation_id"].as_str().unwrap().to_string();
    // bun has been called and is held: the install is in flight.
    wait_for(Duration::from_secs(30), || {
        (!rig.fakes.calls("bun").is_empty()).then_some(())
    })
    .expect("bun called");
    assert_eq!(
        rig.call("GET", &format!("/api/modules/operations/{id}"), None)
            .json()["status"],
        "running"
    );
    for action in ["install", "upgrade", "uninstall"] {
        let r = rig.call("POST", &format!("/api/modules/vault/{action}"), None);
        assert_eq!(r.status, 409, "{action}: {}", r.body);
        assert_eq!(error_of(&r), "operation_in_flight");
        assert_eq!(r.json()["operation_id"], id.as_str());
    }
    std::fs::remove_file(rig.fakes.state_dir().join("bun.hold")).unwrap();
    let op = rig.wait_op(&id);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(rig.fakes.calls("bun").len(), 1);
    // Free again.
    assert_eq!(rig.run_op("vault", "upgrade", None)["status"], "succeeded");
}

#[test]
fn third_party_module_upgrades_and_uninstalls_through_its_package() {
    let rig = Rig::start(|home, _| {
        add_test_module(home.path(), "acme", free_port(), &[]);
        home.write(
            "mods/acme/package.json",
            r#"{"name": "@acme/widget", "version": "2.0.0"}"#,
        );
    });
    let install_dir = rig.row("acme").unwrap()["installDir"].clone();
    let first = rig.wait_running("acme", None);
    let entry = rig.entry("acme");
    assert_eq!(entry["package"], "@acme/widget");
    assert_eq!(entry["available"], true);
    assert_eq!(entry["install_dir"], install_dir);

    let op = rig.run_op("acme", "upgrade", None);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        rig.fakes.calls("bun"),
        vec![vec!["add", "-g", "@acme/widget@latest"]]
    );
    let second = rig.wait_running("acme", Some(first));
    assert_ne!(first, second);
    // Its own installDir (where its module.json lives) is kept.
    assert_eq!(rig.row("acme").unwrap()["installDir"], install_dir);

    let r = rig.call("POST", "/api/modules/acme/uninstall", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(rig.row("acme").is_none());
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(second as u32)
            .then_some(()))
        .is_some()
    );
    assert_eq!(
        rig.fakes.calls("bun").last().unwrap(),
        &vec!["remove", "-g", "@acme/widget"]
    );
    let r = rig.call("POST", "/api/modules/acme/start", None);
    assert_eq!(error_of(&r), "unknown_module", "{}", r.body);
}

#[test]
fn module_list_channel_setting_and_hub_info() {
    let rig = Rig::start(|home, fakes| {
        add_test_module(home.path(), "echo", free_port(), &[]);
        std::fs::write(
            fakes.state_dir().join("npm.dist-tags.json"),
            r#"{"@openparachute/vault": {"latest": "1.2.0", "rc": "1.3.0-rc.1"}}"#,
        )
        .unwrap();
    });
    rig.wait_running("echo", None);
    // `?latest=0` answers from local state only.
    let quick = rig.call("GET", "/api/modules?latest=0", None).json();
    assert_eq!(quick["modules"][0]["latest_version"], Value::Null);
    assert!(rig.fakes.calls("npm").is_empty());
    let list = rig.call("GET", "/api/modules", None).json();
    assert_eq!(list["supervisor_available"], true);
    assert_eq!(list["module_install_channel"], "latest");
    let modules = list["modules"].as_array().unwrap();
    let shorts: Vec<&str> = modules
        .iter()
        .map(|m| m["short"].as_str().unwrap())
        .collect();
    assert_eq!(shorts, vec!["vault", "scribe", "echo"]);
    let vault = &modules[0];
    assert_eq!(vault["package"], "@openparachute/vault");
    assert_eq!(vault["display_name"], "Vault");
    assert_eq!(vault["available"], true);
    assert_eq!(vault["installed"], false);
    assert_eq!(vault["installed_version"], Value::Null);
    assert_eq!(vault["latest_version"], "1.2.0");
    assert_eq!(vault["supervisor_status"], Value::Null);
    // npm does not know scribe: null, not an error.
    assert_eq!(modules[1]["latest_version"], Value::Null);
    let echo = &modules[2];
    assert_eq!(echo["installed"], true);
    assert_eq!(echo["installed_version"], "1.0.0");
    assert_eq!(echo["supervisor_status"], "running");
    assert!(echo["pid"].as_u64().is_some());
    assert!(echo["supervisor_started_at"].as_u64().is_some(), "{echo}");
    assert!(echo["supervisor_ready"].is_boolean(), "{echo}");
    assert_eq!(echo["package"], Value::Null);
    assert_eq!(echo["available"], false);
    assert!(echo["install_dir"].as_str().unwrap().ends_with("mods/echo"));
    assert_eq!(echo["uis"], json!([]));
    for key in [
        "tagline",
        "management_url",
        "supervisor_start_error",
        "latest_version",
    ] {
        assert!(echo.get(key).is_some(), "{key} missing: {echo}");
    }
    // The registry answer is cached.
    rig.call("GET", "/api/modules", None);
    let vault_lookups = |calls: &[Vec<String>]| {
        calls
            .iter()
            .filter(|c| c.get(1).map(String::as_str) == Some("@openparachute/vault"))
            .count()
    };
    assert_eq!(vault_lookups(&rig.fakes.calls("npm")), 1);
    assert!(
        rig.fakes.calls("npm").contains(
            &["view", "@openparachute/vault", "dist-tags", "--json"]
                .map(String::from)
                .to_vec()
        ),
        "{:?}",
        rig.fakes.calls("npm")
    );

    // Channel: validated, stored, reflected (and the rc tag is looked up).
    for (body, code) in [
        ("{\"channel\": \"beta\"}", "invalid_channel"),
        ("{}", "invalid_channel"),
        ("{\"channel\": 1}", "invalid_channel"),
        ("[\"rc\"]", "invalid_request"),
        ("not json", "invalid_request"),
    ] {
        let auth = bearer(&rig.token);
        let r = http::request(
            rig.hub.port,
            "PUT",
            "/api/modules/channel",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ],
            Some(body),
        )
        .unwrap();
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(error_of(&r), code, "{body}");
    }
    let r = rig.call(
        "PUT",
        "/api/modules/channel",
        Some(json!({"channel": "rc"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["channel"], "rc");
    let list = rig.call("GET", "/api/modules", None).json();
    assert_eq!(list["module_install_channel"], "rc");
    assert_eq!(list["modules"][0]["latest_version"], "1.3.0-rc.1");
    assert_eq!(
        rig.call("POST", "/api/modules/channel", None).status,
        405,
        "channel is PUT only"
    );

    let r = rig.call("GET", "/api/hub", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let hub = r.json();
    assert!(hub["version"].as_str().is_some_and(|v| !v.is_empty()));
    let started = hub["started_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "{started}"
    );
    assert!(hub["uptime_ms"].as_u64().is_some());
    assert_eq!(hub["source"], "binary");
    assert_eq!(hub["port"], rig.hub.port);
    assert_eq!(hub["pid"], rig.hub.pid());
}

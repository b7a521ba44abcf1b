//! Black-box: the module operations API of a real `parachute serve`, with real test-module
//! children and fake `bun`/`npm` first on the hub's PATH.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use parachute_tests::auth::{bearer, ensure_admin, operator_token, token_with};
use parachute_tests::hub::{HubOptions, HubProcess, add_row, add_test_module};
use parachute_tests::{FakeTools, TestHome, free_port, http, pid_gone, wait_for};
use serde_json::{Value, json};

/// A hub with fake `bun`/`npm`, an admin and an admin-set operator token.
struct Rig {
    /// The hub's home (dropped last: declared after the hub).
    hub: HubProcess,
    /// Admin-set operator token for the hub's loopback origin.
    token: String,
    /// Fake tools (their state dir holds the recorded calls).
    fakes: FakeTools,
    /// `BUN_INSTALL` of the hub.
    bun: tempfile::TempDir,
    /// The home.
    home: TestHome,
}

impl Rig {
    /// Prepares the home with `prepare`, then starts the hub with an admin account.
    fn start(prepare: impl FnOnce(&TestHome, &FakeTools)) -> Rig {
        Self::start_with(true, prepare)
    }

    fn start_with(admin: bool, prepare: impl FnOnce(&TestHome, &FakeTools)) -> Rig {
        let home = TestHome::new();
        let fakes = FakeTools::new(&["bun", "npm"]);
        let bun = tempfile::Builder::new()
            .prefix("parachute-bun-")
            .tempdir()
            .unwrap();
        prepare(&home, &fakes);
        if admin {
            ensure_admin(home.path());
        }
        let env = vec![
            (
                "PATH".to_string(),
                format!("{}:{}", bun.path().join("bin").display(), fakes.path_env()),
            ),
            (
                parachute_tests::fake::STATE_ENV.to_string(),
                fakes.state_dir().display().to_string(),
            ),
            ("BUN_INSTALL".to_string(), bun.path().display().to_string()),
            ("PARACHUTE_INSTALL_CHANNEL".to_string(), String::new()),
            ("PARACHUTE_MODULE_CHANNEL".to_string(), String::new()),
        ];
        let hub = HubProcess::start_with(
            home.path(),
            HubOptions {
                env,
                ..Default::default()
            },
        );
        let token = if admin {
            operator_token(home.path(), hub.port)
        } else {
            String::new()
        };
        Rig {
            hub,
            token,
            fakes,
            bun,
            home,
        }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.hub.port)
    }

    /// `method path` with the operator token and an optional JSON body.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> http::Response {
        self.call_as(&self.token, method, path, body)
    }

    fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> http::Response {
        let auth = bearer(token);
        let text = body.map(|b| b.to_string());
        let mut headers = vec![("authorization", auth.as_str())];
        if text.is_some() {
            headers.push(("content-type", "application/json"));
        }
        http::request(self.hub.port, method, path, &headers, text.as_deref()).unwrap()
    }

    /// Polls an operation until it ends; returns it.
    fn wait_op(&self, id: &str) -> Value {
        wait_for(Duration::from_secs(90), || {
            let op = self
                .call("GET", &format!("/api/modules/operations/{id}"), None)
                .json();
            matches!(op["status"].as_str(), Some("succeeded" | "failed")).then_some(op)
        })
        .unwrap_or_else(|| panic!("operation {id} never ended:\n{}", self.hub.output_text()))
    }

    /// Starts an install/upgrade and waits for its operation.
    fn run_op(&self, short: &str, action: &str, body: Option<Value>) -> Value {
        let r = self.call("POST", &format!("/api/modules/{short}/{action}"), body);
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.json()["operation_id"].as_str().unwrap().to_string();
        self.wait_op(&id)
    }

    /// The `/api/modules` entry of `short` (without registry lookups).
    fn entry(&self, short: &str) -> Value {
        let list = self.call("GET", "/api/modules?latest=0", None);
        assert_eq!(list.status, 200, "{}", list.body);
        list.json()["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["short"] == short)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Waits until `short` runs with a pid other than `not`; returns the pid.
    fn wait_running(&self, short: &str, not: Option<u64>) -> u64 {
        wait_for(Duration::from_secs(30), || {
            let e = self.entry(short);
            let pid = e["pid"].as_u64()?;
            (e["supervisor_status"] == "running" && Some(pid) != not).then_some(pid)
        })
        .unwrap_or_else(|| panic!("{short} never ran:\n{}", self.hub.output_text()))
    }

    /// `services.json` (an empty registry when the file does not exist).
    fn services(&self) -> Value {
        match std::fs::read_to_string(self.home.path().join("services.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => json!({"services": []}),
        }
    }

    fn row(&self, name: &str) -> Option<Value> {
        self.services()["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
    }

    fn global_dir(&self, package: &str) -> PathBuf {
        self.bun
            .path()
            .join("install/global/node_modules")
            .join(package)
    }
}

fn error_of(r: &http::Response) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

/// A vault row on a free port (so parallel tests never fight over 1940).
fn vault_row(home: &Path) -> u16 {
    let port = free_port();
    add_row(
        home,
        json!({"name": "parachute-vault", "port": port, "paths": ["/vault/default"],
               "health": "/vault/default/health", "version": "0.9.0"}),
    );
    port
}

#[test]
fn setup_gate_then_bearer_and_scope_checks() {
    let rig = Rig::start_with(false, |_, _| {});
    for (method, path) in [
        ("GET", "/api/modules"),
        ("POST", "/api/modules/vault/start"),
        ("GET", "/api/hub"),
    ] {
        let r = http::request(rig.hub.port, method, path, &[], None).unwrap();
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert_eq!(error_of(&r), "setup_required");
    }

    ensure_admin(rig.home.path());
    let none = http::request(rig.hub.port, "POST", "/api/modules/vault/start", &[], None).unwrap();
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(error_of(&none), "unauthenticated");
    let bad = rig.call_as("not-a-jwt", "GET", "/api/modules", None);
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert_eq!(error_of(&bad), "unauthenticated");

    let auth_only = token_with(
        rig.home.path(),
        &rig.issuer(),
        &["parachute:host:auth"],
        Duration::from_secs(600),
    );
    let admin_only = token_with(
        rig.home.path(),
        &rig.issuer(),
        &["parachute:host:admin"],
        Duration::from_secs(600),
    );
    for (method, path) in [
        ("POST", "/api/modules/vault/start"),
        ("POST", "/api/modules/vault/install"),
        ("GET", "/api/modules/vault/logs"),
        ("GET", "/api/modules/operations/x"),
        ("PUT", "/api/modules/channel"),
        ("GET", "/api/hub"),
    ] {
        let r = rig.call_as(&auth_only, method, path, Some(json!({"channel": "rc"})));
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(error_of(&r), "insufficient_scope");
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("parachute:host:admin")
        );
    }
    // The listing needs host:auth, which an admin-only token lacks.
    assert_eq!(
        rig.call_as(&auth_only, "GET", "/api/modules", None).status,
        200
    );
    let r = rig.call_as(&admin_only, "GET", "/api/modules", None);
    assert_eq!(r.status, 403, "{}", r.body);
    // Nothing was installed or run by any refused request.
    assert!(rig.fakes.calls("bun").is_empty());
}

#[test]
fn start_stop_restart_any_module_with_fresh_env() {
    let rig = Rig::start(|home, _| {
        add_test_module(home.path(), "echo", free_port(), &["--print-env", "FOO"]);
        home.write("echo/.env", "FOO=first\n");
    });
    let first = rig.wait_running("echo", None);
    rig.hub
        .wait_for_line("[echo] env FOO=first", Duration::from_secs(20));

    // Restart: a new process that sees the .env as it is now.
    rig.home.write("echo/.env", "FOO=second\n");
    let r = rig.call("POST", "/api/modules/echo/restart", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["short"], "echo");
    let second = body["state"]["pid"]
        .as_u64()
        .expect("restart answers with the new pid");
    assert_ne!(second, first);
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(first as u32)
            .then_some(()))
        .is_some()
    );
    rig.hub
        .wait_for_line("[echo] env FOO=second", Duration::from_secs(20));

    // Stop: down, and stays down.
    let r = rig.call("POST", "/api/modules/echo/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["stopped"], true);
    assert_eq!(body["state"]["status"], "stopped");
    assert!(
        wait_for(Duration::from_secs(15), || pid_gone(second as u32)
            .then_some(()))
        .is_some()
    );
    assert_eq!(rig.entry("echo")["supervisor_status"], "stopped");

    // Start: up again; a second start returns the same process.
    let r = rig.call("POST", "/api/modules/echo/start", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let third = r.json()["state"]["pid"].as_u64().unwrap();
    assert!(third != first && third != second);
    assert_eq!(r.json()["state"]["status"], "running");
    let again = rig.call("POST", "/api/modules/echo/start", None).json();
    assert_eq!(again["state"]["pid"].as_u64(), Some(third));
}

#[test]
fn error_codes_for_unknown_uninstalled_and_unstartable_modules() {
    let rig = Rig::start(|home, _| {
        // A CLI-only third-party module (module.json without startCmd) …
        let cli = home.path().join("mods/cli");
        std::fs::create_dir_all(cli.join(".parachute")).unwrap();
        std::fs::write(cli.join(".parachute/module.json"), r#"{"name":"cli"}"#).unwrap();
        add_row(
            home.path(),
            json!({"name": "cli", "port": free_port(), "paths": ["/cli"], "health": "/health",
                   "version": "1.0.0", "installDir": cli}),
        );
        // … and a row nobody knows how to start.
        add_row(
            home.path(),
            json!({"name": "ghost", "port": free_port(), "paths": ["/ghost"], "health": "/health",
                   "version": "1.0.0"}),
        );
    });
    let expect = |method: &str, path: &str, status: u16, code: &str| {
        let r = rig.call(method, path, None);
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(error_of(&r), code, "{method} {path}: {}", r.body);
        assert!(
            r.json()["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            r.body
        );
    };
    for (method, action) in [
        ("POST", "start"),
        ("POST", "stop"),
        ("POST", "restart"),
        ("GET", "logs"),
        ("POST", "install"),
        ("POST", "upgrade"),
        ("POST", "uninstall"),
    ] {
        expect(
            method,
            &format!("/api/modules/nosuch/{action}"),
            404,
            "unknown_module",
        );
    }
    // First-party, not installed.
    expect("POST", "/api/modules/scribe/start", 400, "not_installed");
    expect("POST", "/api/modules/scribe/upgrade", 400, "not_installed");
    expect("POST", "/api/modules/scribe/restart", 404, "not_supervised");
    expect("GET", "/api/modules/scribe/logs", 404, "not_supervised");
    let r = rig.call("POST", "/api/modules/scribe/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"short": "scribe", "stopped": false}));
    // Rows with nothing to run.
    expect("POST", "/api/modules/cli/start", 422, "no_start_cmd");
    expect("POST", "/api/modules/ghost/start", 422, "no_start_cmd");
    // Third-party rows without a package cannot be installed through bun.
    expect("POST", "/api/modules/ghost/install", 422, "not_installable");
    expect("POST", "/api/modules/cli/upgrade", 422, "not_installable");
    // Unknown action, wrong method, unknown operation.
    expect("POST", "/api/modules/ghost/explode", 404, "not_found");
    expect("GET", "/api/modules/ghost/start", 405, "method_not_allowed");
    expect(
        "GET",
        "/api/modules/operations/no-such-op",
        404,
        "not_found",
    );
    // Bad install bodies.
    let r = rig.call(
        "POST",
        "/api/modules/vault/install",
        Some(json!({"channel": "beta"})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(error_of(&r), "invalid_channel");
    let auth = bearer(&rig.token);
    let r = http::request(
        rig.hub.port,
        "POST",
        "/api/modules/vault/install",
        &[("authorization", auth.as_str())],
        Some("{not json"),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(error_of(&r), "invalid_request");
    assert!(
        rig.fakes.calls("bun").is_empty(),
        "no request above may run bun"
    );
}

/// Reads `reader` line by line until `done` accepts a line; returns the lines read.
fn read_until(reader: &mut impl BufRead, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read the follow stream");
        assert!(n > 0, "the stream ended early after {lines:?}");
        let line = line.trim_end().to_string();
        let stop = done(&line);
        lines.push(line);
        if stop {
            return lines;
        }
    }
}

fn tick_number(line: &str) -> Option<u64> {
    line.strip_prefix("tick ")?.parse().ok()
}

#[test]
fn logs_as_json_and_as_a_live_stream_that_ends_on_stop() {
    let rig = Rig::start(|home, _| {
        add_test_module(
            home.path(),
            "talker",
            free_port(),
            &["--say", "hello logs", "--tick-ms", "200"],
        );
    });
    rig.hub
        .wait_for_line("[talker] tick 2", Duration::from_secs(30));
    let r = rig.call("GET", "/api/modules/talker/logs", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["short"], "talker");
    let lines: Vec<String> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(lines.iter().any(|l| l == "hello logs"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "test-module stderr hello"),
        "{lines:?}"
    );
    assert_eq!(
        body["text"].as_str().unwrap(),
        format!("{}\n", lines.join("\n"))
    );

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap();
    let resp = client
        .get(format!(
            "http://127.0.0.1:{}/api/modules/talker/logs?follow=1",
            rig.hub.port
        ))
        .header("authorization", bearer(&rig.token))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let mut reader = BufReader::new(resp);
    // The replay comes first, then lines printed after the request started.
    let replay = read_until(&mut reader, |l| l == "hello logs");
    assert!(
        replay.iter().any(|l| l.starts_with("test-module up")),
        "{replay:?}"
    );
    // Every tick the buffer holds now was printed before this point, so a later tick on the
    // stream was printed after the follow request started.
    let snapshot = rig.call("GET", "/api/modules/talker/logs", None).json();
    let seen = snapshot["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| tick_number(l.as_str().unwrap()))
        .max()
        .unwrap();
    let live = read_until(&mut reader, |l| tick_number(l).is_some_and(|n| n > seen));
    assert!(
        live.iter().any(|l| tick_number(l) == Some(seen)),
        "ticks arrive in order: {live:?}"
    );

    // Stopping the module ends the stream (after its last words).
    let r = rig.call("POST", "/api/modules/talker/stop", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut rest = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read to the end") == 0 {
            break;
        }
        rest.push(line.trim_end().to_string());
    }
    assert!(rest.iter().any(|l| l.contains("got SIGTERM")), "{rest:?}");

    // A follow of a module that is already stopped replays and ends.
    let r = rig.call("GET", "/api/modules/talker/logs?follow=true", None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("hello logs"), "{}", r.body);
}

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

#[test]
fn an_open_follow_stream_does_not_hold_up_hub_shutdown() {
    let mut rig = Rig::start(|home, _| {
        add_test_module(home.path(), "talker", free_port(), &["--tick-ms", "100"]);
    });
    rig.hub
        .wait_for_line("[talker] tick 1", Duration::from_secs(30));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap();
    let resp = client
        .get(format!(
            "http://127.0.0.1:{}/api/modules/talker/logs?follow=1",
            rig.hub.port
        ))
        .header("authorization", bearer(&rig.token))
        .send()
        .unwrap();
    let mut reader = BufReader::new(resp);
    read_until(&mut reader, |l| tick_number(l).is_some());
    assert_eq!(rig.hub.stop(), Some(0), "{}", rig.hub.output_text());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    assert!(rest.contains("the hub is stopping"), "{rest}");
}

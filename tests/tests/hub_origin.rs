//! Black-box: the `hub_origin` setting (`GET|PUT /api/settings/hub-origin`) and the one issuer
//! rule (setting > environment > exposure > request/loopback). With the setting stored, a
//! module told that origin — `test-module --require-bearer`, which validates `iss` against
//! its `PARACHUTE_HUB_ORIGIN` as the vault does — accepts tokens from `auth mint-token`, the
//! operator token and `POST /api/auth/mint-token`; invalid origins are refused with a clear
//! error and change nothing; `null` clears the setting and the module is restarted with the
//! origin it has without it (here the exposed origin).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use std::time::Duration;

use cli_support::CliEnv;
use parachute_tests::auth::{bearer, claims, ensure_admin, operator_token, token_with};
use parachute_tests::hub::{HubOptions, HubProcess, add_test_module};
use parachute_tests::{free_port, http, wait_for};
use serde_json::{Value, json};

const EXPOSED: &str = "https://box.tail9.ts.net";
const CHOSEN: &str = "https://hub.example.com";
const ORIGIN_LINE: &str = "[echo] env PARACHUTE_HUB_ORIGIN=";

/// A hub whose home records a tailnet exposure, supervising a protected module `echo`.
struct Stand {
    hub: HubProcess,
    env: CliEnv,
    module_port: u16,
}

impl Stand {
    fn start() -> Self {
        let env = CliEnv::new();
        let home = env.root();
        env.home.write(
            "expose-state.json",
            &json!({"version": 1, "layer": "tailnet", "mode": "path",
                    "canonicalFqdn": "box.tail9.ts.net", "port": 443, "funnel": false,
                    "entries": [], "hubOrigin": EXPOSED})
            .to_string(),
        );
        let module_port = free_port();
        add_test_module(
            home,
            "echo",
            module_port,
            &["--require-bearer", "--print-env", "PARACHUTE_HUB_ORIGIN"],
        );
        // As exposure leaves it: the module's .env carries the exposed origin.
        env.home.write(
            "echo/.env",
            &format!("KEEP=1\nPARACHUTE_HUB_ORIGIN={EXPOSED}\n"),
        );
        ensure_admin(home);
        let port = free_port();
        let hub = HubProcess::start_with(
            home,
            HubOptions {
                port: Some(port),
                // The module reaches the hub's documents on loopback, as a proxy in front of
                // the public origin would forward them.
                env: vec![(
                    "TEST_MODULE_HUB_URL".into(),
                    format!("http://127.0.0.1:{port}"),
                )],
                ..Default::default()
            },
        );
        operator_token(home, hub.port);
        let stand = Self {
            hub,
            env,
            module_port,
        };
        stand.wait_told(EXPOSED, 1);
        stand
    }

    /// Waits until the module has been started `times` times with `origin`, and answers.
    fn wait_told(&self, origin: &str, times: usize) {
        let line = format!("{ORIGIN_LINE}{origin}");
        let seen = wait_for(Duration::from_secs(60), || {
            let n = self.hub.output().iter().filter(|l| **l == line).count();
            (n >= times).then_some(n)
        });
        assert_eq!(
            seen,
            Some(times),
            "expected {line:?} {times}x:\n{}",
            self.hub.output_text()
        );
        let up = wait_for(Duration::from_secs(30), || {
            http::get(self.module_port, "/health")
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(
            up.is_some(),
            "echo never answered:\n{}",
            self.hub.output_text()
        );
    }

    fn origin_lines(&self) -> usize {
        self.hub
            .output()
            .iter()
            .filter(|l| l.starts_with(ORIGIN_LINE))
            .count()
    }

    fn operator(&self) -> String {
        self.env.home.read("operator.token").trim().to_string()
    }

    fn settings(&self, method: &str, body: Option<&str>) -> http::Response {
        let auth = bearer(&self.operator());
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        http::request(
            self.hub.port,
            method,
            "/api/settings/hub-origin",
            &headers,
            body,
        )
        .unwrap()
    }

    /// The protected module's answer to `token`: (status, body).
    fn module_says(&self, token: &str) -> (u16, Value) {
        let auth = bearer(token);
        let r = http::request(
            self.module_port,
            "GET",
            "/notes",
            &[("authorization", &auth)],
            None,
        )
        .unwrap();
        (r.status, r.json())
    }

    /// A token from `parachute auth mint-token`.
    fn cli_token(&self) -> String {
        let out = self
            .env
            .run(&["auth", "mint-token", "--scope", "vault:default:read"]);
        assert_eq!(out.code, 0, "{}", out.all());
        out.stdout.trim().to_string()
    }

    /// A token from `POST /api/auth/mint-token`, with the operator token as bearer.
    fn api_token(&self) -> String {
        let auth = bearer(&self.operator());
        let r = http::request(
            self.hub.port,
            "POST",
            "/api/auth/mint-token",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Some(r#"{"scope": "vault:default:read", "expires_in": 600}"#),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let body = r.json();
        assert_eq!(body["scope"], "vault:default:read");
        body["token"].as_str().unwrap().to_string()
    }
}

fn iss(token: &str) -> String {
    claims(token)["iss"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The module accepts `token` (and it carries `origin`).
fn accepted(stand: &Stand, token: &str, origin: &str, what: &str) {
    assert_eq!(iss(token), origin, "{what}");
    let (status, body) = stand.module_says(token);
    assert_eq!(status, 200, "{what}: {body}");
    assert_eq!(body["claims"]["iss"], origin, "{what}");
}

#[test]
fn with_hub_origin_set_every_minted_token_is_accepted_by_a_module_told_that_origin() {
    let stand = Stand::start();
    let loopback = format!("http://127.0.0.1:{}", stand.hub.port);

    // Nothing stored: the rule falls to the exposure, for tokens minted anywhere.
    let r = stand.settings("GET", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"hub_origin": null, "resolved_issuer": EXPOSED, "source": "exposure"})
    );
    accepted(&stand, &stand.cli_token(), EXPOSED, "CLI, exposed");
    accepted(&stand, &stand.api_token(), EXPOSED, "API, exposed");

    // Each kind of invalid origin is refused, naming the problem, and changes nothing.
    let pid_before = stand.module_says(&stand.api_token()).1["module"]["pid"].clone();
    let lines_before = stand.origin_lines();
    for (body, code, needle) in [
        (
            r#"{"hub_origin": "hub.example.com"}"#,
            "invalid_hub_origin",
            "http:// or https://",
        ),
        (
            r#"{"hub_origin": "ftp://hub.example.com"}"#,
            "invalid_hub_origin",
            "http:// or https://",
        ),
        (
            r#"{"hub_origin": "https://hub.example.com/"}"#,
            "invalid_hub_origin",
            "slash",
        ),
        (
            r#"{"hub_origin": "https://hub.example.com/admin"}"#,
            "invalid_hub_origin",
            "path",
        ),
        (
            r#"{"hub_origin": "https://hub.example.com?x=1"}"#,
            "invalid_hub_origin",
            "query",
        ),
        (
            r#"{"hub_origin": "https://hub.example.com#top"}"#,
            "invalid_hub_origin",
            "fragment",
        ),
        (
            r#"{"hub_origin": "https://me:pw@hub.example.com"}"#,
            "invalid_hub_origin",
            "credentials",
        ),
        (
            r#"{"hub_origin": "https://"}"#,
            "invalid_hub_origin",
            "no host",
        ),
        (
            r#"{"hub_origin": 1939}"#,
            "invalid_hub_origin",
            "got number",
        ),
        (
            r#"{"origin": "https://hub.example.com"}"#,
            "invalid_request",
            "hub_origin field",
        ),
        ("https://hub.example.com", "invalid_request", "JSON"),
    ] {
        let r = stand.settings("PUT", Some(body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let answer = r.json();
        assert_eq!(answer["error"], code, "{body}: {answer}");
        let description = answer["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{body}: {description}");
    }
    assert_eq!(
        stand.settings("GET", None).json()["hub_origin"],
        Value::Null
    );
    assert_eq!(stand.origin_lines(), lines_before, "nothing was restarted");
    assert_eq!(
        stand.module_says(&stand.api_token()).1["module"]["pid"],
        pid_before
    );

    // Stored: normalised, the module restarted with it, its .env and operator.token follow.
    let r = stand.settings("PUT", Some(r#"{"hub_origin": "HTTPS://Hub.Example.com"}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    assert_eq!(answer["hub_origin"], CHOSEN);
    assert_eq!(answer["resolved_issuer"], CHOSEN);
    assert_eq!(answer["source"], "settings");
    assert_eq!(answer["module_origin"], CHOSEN);
    assert_eq!(answer["restarted"], json!(["echo"]), "{answer}");
    assert_eq!(answer["operator_token_reissued"], true);
    assert_eq!(answer["warnings"], json!([]));
    stand.wait_told(CHOSEN, 1);
    let dotenv = stand.env.home.read("echo/.env");
    assert_eq!(dotenv, format!("KEEP=1\nPARACHUTE_HUB_ORIGIN={CHOSEN}\n"));
    assert_eq!(
        stand.settings("GET", None).json(),
        json!({"hub_origin": CHOSEN, "resolved_issuer": CHOSEN, "source": "settings"})
    );

    // Tokens from the CLI, the operator token and the API all carry it; the module takes them.
    accepted(&stand, &stand.cli_token(), CHOSEN, "auth mint-token");
    accepted(&stand, &stand.operator(), CHOSEN, "operator token");
    let from_api = stand.api_token();
    accepted(&stand, &from_api, CHOSEN, "POST /api/auth/mint-token");
    // The hub itself still takes the re-issued operator token over loopback, and answers
    // for the chosen host name.
    let auth = bearer(&stand.operator());
    let r = http::request(
        stand.hub.port,
        "GET",
        "/api/modules?latest=0",
        &[("authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http::request(
        stand.hub.port,
        "GET",
        "/health",
        &[("host", "hub.example.com")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // A token minted for loopback is not one the module was told about.
    let stray = token_with(
        stand.env.root(),
        &loopback,
        &["vault:default:read"],
        Duration::from_secs(600),
    );
    let (status, body) = stand.module_says(&stray);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("issuer")),
        "{body}"
    );

    // Cleared: back to the origin the module has without it (the exposure), restarted again.
    let r = stand.settings("PUT", Some(r#"{"hub_origin": null}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    assert_eq!(answer["hub_origin"], Value::Null);
    assert_eq!(answer["module_origin"], EXPOSED);
    assert_eq!(answer["source"], "exposure");
    assert_eq!(answer["restarted"], json!(["echo"]), "{answer}");
    stand.wait_told(EXPOSED, 2);
    assert_eq!(
        stand.env.home.read("echo/.env"),
        format!("KEEP=1\nPARACHUTE_HUB_ORIGIN={EXPOSED}\n")
    );
    assert_eq!(iss(&stand.operator()), EXPOSED);
    accepted(&stand, &stand.cli_token(), EXPOSED, "CLI after clearing");
    let (status, body) = stand.module_says(&from_api);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("issuer")),
        "{body}"
    );
    assert_eq!(
        stand.settings("GET", None).json(),
        json!({"hub_origin": null, "resolved_issuer": EXPOSED, "source": "exposure"})
    );

    // Clearing again changes nothing, so nothing restarts.
    let lines = stand.origin_lines();
    let r = stand.settings("PUT", Some(r#"{"hub_origin": ""}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["restarted"], json!([]));
    assert_eq!(stand.origin_lines(), lines);
}

//! `GET/POST /api/expose` against a real hub and the fake `tailscale`: the same library call
//! as `parachute expose tailnet [off]` (same commands, same state file, the vault restarted on
//! the new origin), its progress lines in the answer, the refusals (scope, bad bodies, a
//! Cloudflare tunnel without a hostname) and a failing tool's lines in the error.

mod expose_support;

use std::time::Duration;

use expose_support::{Stand, argv, vault_origin_line};
use parachute_tests::auth::{bearer, operator_token, token_with};
use parachute_tests::http::request;
use serde_json::{Value, json};

const ORIGIN: &str = "https://mybox.tail1a2b3c.ts.net";

fn stand() -> Stand {
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    let env = vec![
        ("HOME".to_string(), stand.user.path().display().to_string()),
        ("USER".to_string(), "tester".to_string()),
        (
            parachute_tests::fake::STATE_ENV.to_string(),
            stand.fakes.state_dir().display().to_string(),
        ),
        (
            "PARACHUTE_UNIT_DIR".to_string(),
            stand.unit_dir().display().to_string(),
        ),
        ("PARACHUTE_UNIT_SCOPE".to_string(), "user".to_string()),
    ];
    stand.start_hub_with(env);
    stand
}

fn post(port: u16, auth: &str, body: &str) -> (u16, Value) {
    let r = request(
        port,
        "POST",
        "/api/expose",
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
        ],
        Some(body),
    )
    .unwrap();
    (r.status, r.json())
}

#[test]
fn tailnet_on_and_off_over_http() {
    let stand = stand();
    let port = stand.hub().port;
    let auth = bearer(&operator_token(stand.root(), port));
    let r = request(
        port,
        "GET",
        "/api/expose",
        &[("authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(
        r.json(),
        json!({"layer": null, "url": null, "hub_origin": null, "tunnels": []})
    );
    let restarted = vault_origin_line(ORIGIN);

    let (status, body) = post(port, &auth, r#"{"layer": "tailnet", "enable": true}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["exposure"]["layer"], "tailnet");
    assert_eq!(
        body["exposure"]["url"],
        format!("{ORIGIN}/").trim_end_matches('/')
    );
    let lines: Vec<String> = serde_json::from_value(body["lines"].clone()).unwrap();
    let target = format!("http://127.0.0.1:{port}/");
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "$ tailscale serve --bg --https=443 --set-path=/ {target}"
        ))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("Tailnet exposure is up")),
        "{lines:?}"
    );
    assert_eq!(
        stand.calls("tailscale"),
        vec![
            argv(&["version"]),
            argv(&["status", "--json"]),
            argv(&["serve", "--bg", "--https=443", "--set-path=/", &target]),
        ]
    );
    assert_eq!(stand.json("expose-state.json").unwrap()["layer"], "tailnet");
    // The vault was restarted on the new origin, through this same hub.
    stand
        .hub()
        .wait_for_line(&restarted, Duration::from_secs(30));

    let (status, body) = post(port, &auth, r#"{"layer": "tailnet", "enable": false}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["exposure"]["layer"], Value::Null);
    assert_eq!(body["nothing_to_do"], false);
    assert!(stand.json("expose-state.json").is_none());
    // Again: a harmless no-op.
    let (status, body) = post(port, &auth, r#"{"layer": "tailnet", "enable": false}"#);
    assert_eq!((status, body["nothing_to_do"].clone()), (200, json!(true)));
}

#[test]
fn refusals_and_failures_are_explained() {
    let stand = stand();
    let port = stand.hub().port;
    let auth = bearer(&operator_token(stand.root(), port));
    let (status, body) = post(port, &auth, r#"{"layer": "cloudflare"}"#);
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("domain_required")),
        "{body}"
    );
    let (status, body) = post(port, &auth, r#"{"layer": "moon"}"#);
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_request"))
    );
    let weak = bearer(&token_with(
        stand.root(),
        &format!("http://127.0.0.1:{port}"),
        &["parachute:host:auth"],
        Duration::from_secs(600),
    ));
    let (status, _) = post(port, &weak, r#"{"layer": "tailnet"}"#);
    assert_eq!(status, 403);
    let r = request(port, "GET", "/api/expose", &[], None).unwrap();
    assert_eq!(r.status, 401);
    // A failing tool: the error carries the lines written before it; nothing is recorded.
    stand.inject(
        "tailscale",
        &["serve-up 1 sending serve config: Access denied: serve config denied"],
    );
    let (status, body) = post(port, &auth, r#"{"layer": "tailnet"}"#);
    assert_eq!(
        (status, body["error"].clone()),
        (502, json!("expose_failed")),
        "{body}"
    );
    assert!(
        body["lines"].as_array().is_some_and(|l| !l.is_empty()),
        "{body}"
    );
    assert!(stand.json("expose-state.json").is_none());
}

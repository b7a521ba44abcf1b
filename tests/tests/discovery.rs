//! `/.well-known/parachute.json` from a real `parachute serve`: the original's document for the
//! original's `services.json`, the origin taken from the request (or the configured origin),
//! the full shape with `module.json` metadata, CORS and caching headers, and rows added while
//! the hub runs.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::path::Path;

use parachute_tests::hub::{HubOptions, HubProcess, add_row, add_test_module};
use parachute_tests::{TestHome, free_port};
use serde_json::{Value, json};

const FIXTURE: &str = "data/original-0.6.3-rc.2";

fn fixture(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn discovery(port: u16, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Value) {
    let r =
        parachute_tests::http::request(port, "GET", "/.well-known/parachute.json", headers, None)
            .unwrap();
    let body = r.json();
    (r.status, r.headers, body)
}

#[test]
fn matches_the_originals_document_for_its_services_json() {
    let home = TestHome::new();
    home.write("services.json", &fixture("services.json"));
    let hub = HubProcess::start(home.path());
    let expected: Value = serde_json::from_str(&fixture("well-known/parachute.json")).unwrap();
    // As the tailnet layer forwards a request for https://box.tail1234.ts.net.
    let (status, _, doc) = discovery(
        hub.port,
        &[
            ("x-forwarded-host", "box.tail1234.ts.net"),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(doc, expected);
}

#[test]
fn public_uncached_json() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let r = parachute_tests::http::get(hub.port, "/.well-known/parachute.json").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"vaults": [], "services": []}));

    let pre = parachute_tests::http::request(
        hub.port,
        "OPTIONS",
        "/.well-known/parachute.json",
        &[("origin", "http://localhost:5173")],
        None,
    )
    .unwrap();
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(
        pre.header("access-control-allow-methods")
            .unwrap()
            .contains("GET")
    );
}

#[test]
fn origin_follows_the_request() {
    let home = TestHome::new();
    add_row(
        home.path(),
        json!({"name": "parachute-vault", "port": free_port(), "paths": ["/vault/default"],
               "health": "/health", "version": "0.4.0"}),
    );
    // The host allowlist only lets known names through; this one stands for an exposed name.
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            env: vec![("PARACHUTE_ALLOWED_HOSTS".into(), "box.example.net".into())],
            ..HubOptions::default()
        },
    );

    let (_, _, doc) = discovery(hub.port, &[]);
    assert_eq!(
        doc["vaults"][0]["url"],
        format!("http://127.0.0.1:{}/vault/default", hub.port)
    );
    let (_, _, doc) = discovery(hub.port, &[("host", "localhost:7777")]);
    assert_eq!(
        doc["vaults"][0]["url"],
        "http://localhost:7777/vault/default"
    );
    let (_, _, doc) = discovery(
        hub.port,
        &[("host", "box.example.net"), ("x-forwarded-proto", "https")],
    );
    assert_eq!(
        doc["vaults"][0]["url"],
        "https://box.example.net/vault/default"
    );
    assert_eq!(
        doc["services"][0]["infoUrl"],
        "https://box.example.net/vault/default/.parachute/info"
    );
}

#[test]
fn the_exposed_host_gets_the_exposed_https_origin_without_forwarded_headers() {
    // The original's home, exposed on its tailnet: the tunnel terminates TLS and forwards
    // plain http, yet links in the document must be the https origin users reach.
    let home = TestHome::new();
    home.write("services.json", &fixture("services.json"));
    home.write("expose-state.json", &fixture("expose-state.json"));
    let hub = HubProcess::start(home.path());
    let (status, _, doc) = discovery(hub.port, &[("host", "box.tail1234.ts.net")]);
    assert_eq!(status, 200);
    let expected: Value = serde_json::from_str(&fixture("well-known/parachute.json")).unwrap();
    assert_eq!(doc, expected);
    // Loopback callers still get loopback links.
    let (_, _, doc) = discovery(hub.port, &[]);
    assert_eq!(
        doc["vaults"][0]["url"],
        format!("http://127.0.0.1:{}/vault/default", hub.port)
    );
}

#[test]
fn a_configured_origin_wins_over_the_request() {
    let home = TestHome::new();
    add_row(
        home.path(),
        json!({"name": "parachute-vault", "port": free_port(), "paths": ["/vault/default"],
               "health": "/health", "version": "0.4.0"}),
    );
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            env: vec![(
                "PARACHUTE_HUB_ORIGIN".into(),
                "https://hub.example.org".into(),
            )],
            ..HubOptions::default()
        },
    );
    let (_, _, doc) = discovery(hub.port, &[("host", "localhost:9")]);
    assert_eq!(
        doc["vaults"][0]["url"],
        "https://hub.example.org/vault/default"
    );
}

#[test]
fn full_shape_with_module_metadata_and_rows_added_later() {
    let home = TestHome::new();
    add_row(
        home.path(),
        json!({"name": "parachute-vault", "port": 1, "paths": ["/vault/default", "/vault/work"],
               "health": "/health", "version": "0.4.0", "installDir": home.path().join("v")}),
    );
    home.write(
        "v/.parachute/module.json",
        &json!({"name": "vault", "uiUrl": "/admin/", "managementUrl": "/admin/"}).to_string(),
    );
    add_test_module(home.path(), "board", free_port(), &[]);
    let module_json = home.path().join("mods/board/.parachute/module.json");
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&module_json).unwrap()).unwrap();
    meta["uiUrl"] = json!("/board/app/");
    meta["displayName"] = json!("Board");
    std::fs::write(&module_json, meta.to_string()).unwrap();
    let hub = HubProcess::start(home.path());
    let origin = format!("http://127.0.0.1:{}", hub.port);

    let (_, _, doc) = discovery(hub.port, &[]);
    assert_eq!(
        doc["vaults"],
        json!([
            {"name": "default", "url": format!("{origin}/vault/default"), "version": "0.4.0",
             "managementUrl": "/admin/"},
            {"name": "work", "url": format!("{origin}/vault/work"), "version": "0.4.0",
             "managementUrl": "/admin/"},
        ])
    );
    assert_eq!(
        doc["services"][1]["uiUrl"],
        format!("{origin}/vault/work/admin/")
    );
    assert_eq!(
        doc["services"][2],
        json!({"name": "board", "url": format!("{origin}/board"), "path": "/board",
               "version": "1.0.0", "infoUrl": format!("{origin}/board/.parachute/info"),
               "displayName": "Board", "uiUrl": format!("{origin}/board/app/")})
    );
    assert_eq!(
        doc["board"],
        json!([{"url": format!("{origin}/board"), "version": "1.0.0"}])
    );

    // Built per request: a row written while the hub runs shows up at once.
    add_row(
        home.path(),
        json!({"name": "parachute-scribe", "port": free_port(), "paths": ["/scribe"],
               "health": "/health", "version": "0.2.0", "tagline": "Speech to text"}),
    );
    let (_, _, doc) = discovery(hub.port, &[]);
    assert_eq!(
        doc["scribe"],
        json!([{"url": format!("{origin}/scribe"), "version": "0.2.0"}])
    );
    assert_eq!(doc["services"][3]["tagline"], "Speech to text");
}

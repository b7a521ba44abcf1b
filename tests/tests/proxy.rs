//! The reverse proxy against a real `parachute serve` with supervised test modules: routing
//! (longest prefix, `/` boundaries, vault instances, `stripPrefix`), streaming in both
//! directions, redirects passed through, forwarding headers, loopback-only rows, and the
//! 503/502 answers for modules that are starting or down.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod proxy_support;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use parachute_tests::hub::{HubOptions, HubProcess, add_row, add_test_module};
use parachute_tests::{TestHome, free_port};
use proxy_support::{GatedBody, Live, Standalone, client, patch_row, url, wait_status};
use serde_json::{Value, json};

/// A hub with one supervised test module `mod` mounted at `/mod`, answering through the proxy.
/// The module's own routes (`/echo`, `/stream`, `/redirect`) need `strip` on; every other path
/// answers with a description of the request it received.
/// `box.tail1234.ts.net` passes the hub's host allowlist, standing for an exposed name.
fn hub_with_module(home: &TestHome, strip: Option<bool>) -> HubProcess {
    add_test_module(home.path(), "mod", free_port(), &[]);
    if let Some(strip) = strip {
        patch_row(home.path(), "mod", |row| row["stripPrefix"] = json!(strip));
    }
    let options = HubOptions {
        env: vec![(
            "PARACHUTE_ALLOWED_HOSTS".into(),
            "box.tail1234.ts.net".into(),
        )],
        ..HubOptions::default()
    };
    let hub = HubProcess::start_with(home.path(), options);
    wait_status(hub.port, "/mod/health", 200);
    hub
}

fn get_json(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client().get(url(port, path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

#[test]
fn get_keeps_path_and_query_and_adds_forwarding_headers() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, None);
    let (status, seen) = get_json(
        hub.port,
        "/mod/some/where?x=1&y=two%20words",
        &[("accept-encoding", "gzip, br"), ("x-custom", "kept")],
    );
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/mod/some/where");
    assert_eq!(seen["query"], "x=1&y=two%20words");
    let h = &seen["headers"];
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["accept-encoding"], "identity");
    assert_eq!(h["x-forwarded-host"], format!("127.0.0.1:{}", hub.port));
    assert_eq!(h["x-forwarded-proto"], "http");
    let module_port = seen["module"]["port"].as_str().unwrap();
    assert_eq!(h["host"], format!("127.0.0.1:{module_port}"));

    // Forwarding headers set by an outer proxy are passed on untouched.
    let (_, seen) = get_json(
        hub.port,
        "/mod/x",
        &[
            ("x-forwarded-host", "box.tail1234.ts.net"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "100.64.0.9"),
        ],
    );
    assert_eq!(seen["headers"]["x-forwarded-host"], "box.tail1234.ts.net");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
    assert_eq!(seen["headers"]["x-forwarded-for"], "100.64.0.9");
}

#[test]
fn strip_prefix_follows_the_row() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, Some(true));
    let (_, seen) = get_json(hub.port, "/mod/inner/path?q=1", &[]);
    assert_eq!(seen["path"], "/inner/path");
    assert_eq!(seen["query"], "q=1");
    let (_, seen) = get_json(hub.port, "/mod", &[]);
    assert_eq!(seen["path"], "/");

    // Turned off while the hub runs: the next request keeps the prefix.
    patch_row(home.path(), "mod", |row| row["stripPrefix"] = json!(false));
    let (_, seen) = get_json(hub.port, "/mod/inner/path", &[]);
    assert_eq!(seen["path"], "/mod/inner/path");
}

#[test]
fn large_bodies_stream_through_both_ways() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, Some(true));
    let body: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let resp = client()
        .post(url(hub.port, "/mod/echo"))
        .header("content-type", "application/x-test")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-test");
    assert_eq!(resp.bytes().unwrap().as_ref(), body.as_slice());

    // Chunked upload (no Content-Length).
    let reader = std::io::Cursor::new(body.clone()).chain(std::io::Cursor::new(b"tail".to_vec()));
    let resp = client()
        .post(url(hub.port, "/mod/echo"))
        .body(reqwest::blocking::Body::new(reader))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let echoed = resp.bytes().unwrap();
    assert_eq!(echoed.len(), body.len() + 4);
    assert_eq!(&echoed[..body.len()], body.as_slice());
    assert_eq!(&echoed[body.len()..], b"tail");
}

#[test]
fn streamed_response_chunks_arrive_as_sent() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, Some(true));
    let resp = client().get(url(hub.port, "/mod/stream")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-length").is_none());
    assert_eq!(resp.text().unwrap(), "chunk 0\nchunk 1\nchunk 2\n");
}

#[test]
fn neither_body_is_buffered_by_the_proxy() {
    let home = TestHome::new();
    let live = Arc::new(Live::start());
    add_row(
        home.path(),
        json!({"name": "live", "port": live.port, "paths": ["/live"],
               "health": "/health", "version": "1"}),
    );
    let hub = HubProcess::start(home.path());

    // Response: the first chunk reaches us while the upstream is still holding the second.
    let mut resp = client().get(url(hub.port, "/live/stream")).send().unwrap();
    assert_eq!(resp.status(), 200);
    let mut first = [0u8; 6];
    resp.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first\n");
    live.release();
    let mut rest = String::new();
    resp.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "second\n");

    // Request: the upstream sees the first part before the client sends the rest.
    let gate_live = live.clone();
    let body = GatedBody::new(vec![b'a'; 4096], vec![b'b'; 10_000], move || {
        gate_live.first_chunk().is_some()
    });
    let resp = client()
        .post(url(hub.port, "/live/upload"))
        .body(reqwest::blocking::Body::new(body))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().unwrap(), "14096");
}

#[test]
fn redirects_are_passed_back_not_followed() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, Some(true));
    let resp = client().get(url(hub.port, "/mod/redirect")).send().unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/elsewhere");
    assert_eq!(resp.text().unwrap(), "moved");
}

#[test]
fn longest_prefix_wins_and_mounts_end_at_slashes() {
    let home = TestHome::new();
    let (port_a, port_ab) = (free_port(), free_port());
    add_test_module(home.path(), "outer", port_a, &[]);
    add_test_module(home.path(), "inner", port_ab, &[]);
    patch_row(home.path(), "outer", |r| r["paths"] = json!(["/a"]));
    patch_row(home.path(), "inner", |r| r["paths"] = json!(["/a/b/"]));
    let hub = HubProcess::start(home.path());
    wait_status(hub.port, "/a/health", 200);
    wait_status(hub.port, "/a/b/health", 200);

    let served_by = |path: &str| -> Value {
        let (status, seen) = get_json(hub.port, path, &[]);
        assert_eq!(status, 200, "{path}: {seen}");
        seen["module"]["port"].clone()
    };
    assert_eq!(served_by("/a"), json!(port_a.to_string()));
    assert_eq!(served_by("/a/x"), json!(port_a.to_string()));
    assert_eq!(served_by("/a/bc"), json!(port_a.to_string()));
    assert_eq!(served_by("/a/b"), json!(port_ab.to_string()));
    assert_eq!(served_by("/a/b/deep/er"), json!(port_ab.to_string()));

    let (status, body) = get_json(hub.port, "/ab", &[]);
    assert_eq!((status, body), (404, json!("not found")));
}

#[test]
fn vault_paths_route_by_instance_name() {
    let home = TestHome::new();
    let vault = Standalone::start();
    add_row(
        home.path(),
        json!({"name": "parachute-vault", "port": vault.port,
               "paths": ["/vault/default", "/vault/work"], "health": "/health", "version": "1"}),
    );
    add_row(
        home.path(),
        json!({"name": "parachute-vault-team", "port": vault.port,
               "paths": ["/vault/team"], "health": "/health", "version": "1"}),
    );
    // A non-vault row can never answer for a vault path.
    let other = Standalone::start();
    add_row(
        home.path(),
        json!({"name": "greedy", "port": other.port, "paths": ["/vault"],
               "health": "/health", "version": "1"}),
    );
    let hub = HubProcess::start(home.path());

    for (path, expected) in [
        (
            "/vault/default/api/notes?limit=2",
            "/vault/default/api/notes",
        ),
        ("/vault/work", "/vault/work"),
        ("/vault/team/health-check", "/vault/team/health-check"),
    ] {
        let (status, seen) = get_json(hub.port, path, &[]);
        assert_eq!(status, 200, "{path}: {seen}");
        assert_eq!(seen["path"], expected);
        assert_eq!(seen["module"]["port"], json!(vault.port.to_string()));
    }
    let (status, body) = get_json(hub.port, "/vault/unknown/health", &[]);
    assert_eq!((status, body), (404, json!("not found")));
    // The bare `/vault` is the original's retired SPA path: it redirects (SPEC Part B §11)
    // before any row is consulted, while `/vault/<name>/…` above stays the proxy.
    let resp = client().get(url(hub.port, "/vault?x=1")).send().unwrap();
    assert_eq!(resp.status().as_u16(), 301);
    assert_eq!(resp.headers()["location"], "/admin/vaults?x=1");
    let _ = other;
}

#[test]
fn loopback_only_rows_are_hidden_from_exposure_layers() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, None);
    patch_row(home.path(), "mod", |r| {
        r["publicExposure"] = json!("loopback")
    });

    let (status, _) = get_json(hub.port, "/mod/x", &[]);
    assert_eq!(status, 200, "a direct local call passes");
    let (status, _) = get_json(hub.port, "/mod/x", &[("host", "localhost")]);
    assert_eq!(status, 200);
    for headers in [
        vec![("x-forwarded-host", "box.tail1234.ts.net")],
        vec![("host", "box.tail1234.ts.net")],
        vec![("x-forwarded-for", "203.0.113.7")],
        vec![("tailscale-user-login", "someone@example.com")],
        vec![("cf-connecting-ip", "203.0.113.7")],
    ] {
        let (status, body) = get_json(hub.port, "/mod/x", &headers);
        assert_eq!((status, body), (404, json!("not found")), "{headers:?}");
    }

    // The same call reaches an `allowed` row.
    patch_row(home.path(), "mod", |r| {
        r["publicExposure"] = json!("allowed")
    });
    let (status, _) = get_json(
        hub.port,
        "/mod/x",
        &[("x-forwarded-host", "box.tail1234.ts.net")],
    );
    assert_eq!(status, 200);
}

#[test]
fn a_module_still_starting_gets_503_with_retry_after() {
    let home = TestHome::new();
    add_test_module(
        home.path(),
        "slow",
        free_port(),
        &["--bind-delay-ms", "10000"],
    );
    let hub = HubProcess::start(home.path());

    let resp = client()
        .get(url(hub.port, "/slow/x"))
        .header("accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"], "upstream_starting");
    assert_eq!(body["service"], "slow");
    assert_eq!(body["retry_after_ms"], 2000);
    assert_eq!(body["max_attempts"], 5);

    let resp = client()
        .get(url(hub.port, "/slow/x"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.headers().contains_key("retry-after"));
    let page = resp.text().unwrap();
    assert!(page.contains("/api/ready"), "{page}");

    // Once it binds, the same path goes through.
    wait_status(hub.port, "/slow/health", 200);
}

#[test]
fn a_module_that_cannot_run_gets_502_pointing_at_the_dashboard() {
    let home = TestHome::new();
    add_test_module(home.path(), "broken", free_port(), &[]);
    let module_json = home.path().join("mods/broken/.parachute/module.json");
    std::fs::write(
        &module_json,
        json!({"name": "broken", "startCmd": ["/nonexistent/parachute-no-such-binary"]})
            .to_string(),
    )
    .unwrap();
    // And a row nobody supervises, on a port nothing listens on.
    add_row(
        home.path(),
        json!({"name": "ghost", "port": free_port(), "paths": ["/ghost"],
               "health": "/health", "version": "1"}),
    );
    let hub = HubProcess::start(home.path());

    let resp = wait_status(hub.port, "/broken/x", 502);
    assert!(resp.headers().get("retry-after").is_none());
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"], "upstream_unreachable");
    assert_eq!(body["admin_url"], "/admin/modules");
    let text = body["error_description"].as_str().unwrap();
    assert!(text.contains("parachute logs broken"), "{text}");
    assert!(text.contains("parachute status"), "{text}");

    let resp = client()
        .get(url(hub.port, "/broken/x"))
        .header("accept", "text/html")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.text().unwrap().contains("href=\"/admin/modules\""));

    let (status, body) = get_json(hub.port, "/ghost/x", &[]);
    assert_eq!(status, 502);
    assert_eq!(body["error"], "upstream_unreachable");
    assert_eq!(body["service"], "ghost");
}

#[test]
fn unknown_paths_are_404_and_new_rows_route_at_once() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let (status, body) = get_json(hub.port, "/nothing/here", &[]);
    assert_eq!((status, body), (404, json!("not found")));
    let resp = client()
        .get(url(hub.port, "/nothing/here"))
        .header("accept", "text/html")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().unwrap().contains("/nothing/here"));

    // Hub routes are never shadowed by a module mount.
    let module = Standalone::start();
    add_row(
        home.path(),
        json!({"name": "late", "port": module.port, "paths": ["/late", "/health"],
               "health": "/health", "version": "1"}),
    );
    let (status, seen) = get_json(hub.port, "/late/x", &[]);
    assert_eq!(
        status, 200,
        "a row added while the hub runs is routable: {seen}"
    );
    assert_eq!(seen["path"], "/late/x");
    let (_, health) = get_json(hub.port, "/health", &[]);
    assert_eq!(health["service"], "parachute-hub");
}

#[test]
fn an_open_proxied_stream_does_not_hold_up_hub_shutdown() {
    let home = TestHome::new();
    let live = Live::start();
    add_row(
        home.path(),
        json!({"name": "live", "port": live.port, "paths": ["/live"],
               "health": "/health", "version": "1"}),
    );
    let mut hub = HubProcess::start(home.path());
    // The upstream holds this response open until released, which never happens here: a
    // module's event stream or long poll looks the same to the hub.
    let mut resp = client().get(url(hub.port, "/live/stream")).send().unwrap();
    let mut first = [0u8; 6];
    resp.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first\n");
    assert_eq!(hub.stop(), Some(0), "{}", hub.output_text());
    // It says why it stopped waiting.
    hub.wait_for_line("still open", Duration::from_secs(10));
}

#[test]
fn a_row_on_the_hubs_own_port_is_not_proxied_to_itself() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    add_row(
        home.path(),
        json!({"name": "loop", "port": hub.port, "paths": ["/loop"],
               "health": "/health", "version": "1"}),
    );
    let (status, body) = get_json(hub.port, "/loop/x", &[]);
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "upstream_unreachable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("the hub's own"),
        "{body}"
    );
    let (status, _) = get_json(hub.port, "/health", &[]);
    assert_eq!(status, 200);
}

#[test]
fn module_answers_pass_through_without_the_hubs_own_headers() {
    let home = TestHome::new();
    let hub = hub_with_module(&home, None);
    let proxied = parachute_tests::http::get(hub.port, "/mod/anything").unwrap();
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    assert_eq!(proxied.header("x-frame-options"), None);
    assert_eq!(proxied.header("referrer-policy"), None);
    // The hub's own routes do carry them.
    let own = parachute_tests::http::get(hub.port, "/.well-known/jwks.json").unwrap();
    assert_eq!(own.header("x-frame-options"), Some("SAMEORIGIN"));
}

/// A client's malformed chunked body is the client's fault: 400, not a module error, and the
/// module keeps answering.
#[test]
fn an_invalid_chunked_body_answers_400() {
    use std::io::Write;
    let home = TestHome::new();
    let hub = hub_with_module(&home, Some(true));
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", hub.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let request = format!(
        "POST /mod/echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\nnot-hex\r\nworld\r\n0\r\n\r\n",
        hub.port
    );
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("bad_request"), "{answer}");
    assert!(!answer.contains("upstream_"), "{answer}");
    wait_status(hub.port, "/mod/health", 200);
}

//! The hub answers only for host names it is known by (DNS-rebinding defence): loopback names
//! always, the exposed name only while its layer is up, configured origins, and nothing else —
//! whether or not the hub is exposed. Protected routes stay protected on exposed names.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod expose_support;

use expose_support::{FQDN, Stand};

#[test]
fn foreign_hosts_are_refused_and_loopback_names_always_answer() {
    let mut stand = Stand::new(&[]);
    stand.start_hub();
    let port = stand.hub().port;
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ] {
        assert_eq!(stand.get_as(&host, "/health").status, 200, "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:1939",
        FQDN,
        "localhost.evil.example",
        "[::1]evil.example",
    ] {
        let r = stand.get_as(host, "/health");
        assert_eq!(r.status, 421, "{host}: {}", r.body);
        let body = r.json();
        assert_eq!(body["error"], "unknown_host");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains(&format!("http://127.0.0.1:{port}/")),
            "{body}"
        );
        // Every route, not just /health: discovery and the module proxy too.
        for path in [
            "/.well-known/parachute.json",
            "/vault/default/x",
            "/api/modules",
        ] {
            assert_eq!(stand.get_as(host, path).status, 421, "{host}{path}");
        }
    }
}

#[test]
fn the_exposed_name_answers_only_while_its_layer_is_up() {
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    stand.start_hub();
    assert_eq!(stand.get_as(FQDN, "/health").status, 421, "not exposed yet");

    stand.cli(&["expose", "tailnet"]).ok();
    assert_eq!(stand.get_as(FQDN, "/health").status, 200);
    assert_eq!(stand.get_as(&format!("{FQDN}:443"), "/health").status, 200);
    let doc = stand.get_as(FQDN, "/.well-known/parachute.json");
    assert_eq!(doc.status, 200);
    assert!(
        doc.body.contains(&format!("{FQDN}/vault/default")),
        "{}",
        doc.body
    );
    // Still foreign: any other name.
    assert_eq!(stand.get_as("evil.example", "/health").status, 421);
    // Module operations stay bearer-protected on the exposed name.
    let r = parachute_tests::http::request(
        stand.hub().port,
        "POST",
        "/api/modules/vault/restart",
        &[("host", FQDN)],
        Some("{}"),
    )
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.body);

    stand.cli(&["expose", "tailnet", "off"]).ok();
    assert_eq!(
        stand.get_as(FQDN, "/health").status,
        421,
        "refused again after off"
    );
}

#[test]
fn configured_origins_and_extra_names_are_known() {
    let mut stand = Stand::new(&[]);
    stand.start_hub_with(vec![
        (
            "PARACHUTE_HUB_ORIGIN".into(),
            "https://env.example.org".into(),
        ),
        (
            "PARACHUTE_ALLOWED_HOSTS".into(),
            "proxy.example.net, Other.Example.NET".into(),
        ),
    ]);
    for host in [
        "env.example.org",
        "proxy.example.net:8443",
        "other.example.net",
    ] {
        assert_eq!(stand.get_as(host, "/health").status, 200, "{host}");
    }
    // The hub_origin setting is read per request.
    assert_eq!(stand.get_as("set.example.com", "/health").status, 421);
    parachute_tests::auth::db(stand.root())
        .set_setting(
            parachute_auth::SETTING_HUB_ORIGIN,
            "https://set.example.com",
        )
        .unwrap();
    assert_eq!(stand.get_as("set.example.com", "/health").status, 200);
    // IP literals cannot come from a rebinding page: a tailnet peer may use one.
    assert_eq!(stand.get_as("100.101.102.103:1939", "/health").status, 200);
}

/// A malformed `expose-state.json` makes the hub refuse the exposed name (it must not widen
/// the allowlist), and the hub's log names the file and the fix.
#[test]
fn a_malformed_expose_state_is_named_in_the_log_when_it_refuses_the_exposed_name() {
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    stand.start_hub();
    stand.cli(&["expose", "tailnet"]).ok();
    assert_eq!(stand.get_as(FQDN, "/health").status, 200);
    std::fs::write(
        stand.home.path().join("expose-state.json"),
        "{ \"version\": ",
    )
    .unwrap();
    assert_eq!(stand.get_as(FQDN, "/health").status, 421);
    // The home watcher also names the malformed file; wait for the host guard's own line.
    let line = stand.hub().wait_for_line(
        "hub answers 421 to requests for the exposed host name",
        std::time::Duration::from_secs(10),
    );
    assert!(line.contains("expose-state.json is malformed"), "{line}");
    assert!(line.contains("parachute expose"), "{line}");
}

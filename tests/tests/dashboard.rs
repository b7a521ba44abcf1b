//! The dashboard as `parachute serve` serves it: the embedded build under `/admin` (types,
//! caching, SPA fallback, sign-in redirect), the hub page at `/`, the setup redirect before an
//! admin exists, and the original's exact-path 301s (never `/vault/<name>/…`).

use parachute_tests::TestHome;
use parachute_tests::auth::{db, ensure_admin};
use parachute_tests::http::request;
use parachute_tests::hub::HubProcess;

const HTML: (&str, &str) = ("accept", "text/html,application/xhtml+xml");

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> parachute_tests::http::Response {
    request(port, "GET", path, headers, None).expect("GET")
}

#[test]
fn before_setup_pages_go_to_setup_and_assets_load() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    for path in ["/", "/hub.html", "/admin", "/admin/modules"] {
        let r = get(hub.port, path, &[HTML]);
        assert_eq!(r.status, 302, "{path}: {}", r.body);
        assert_eq!(r.header("location"), Some("/admin/setup"), "{path}");
    }
    // The API keeps the original's JSON answer.
    let r = get(
        hub.port,
        "/admin/modules",
        &[("accept", "application/json")],
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "setup_required");
    // Every embedded build file is served with its type; hashed ones are immutable.
    for path in parachute_ui::paths() {
        if !path.starts_with("assets/") {
            continue;
        }
        let r = get(hub.port, &format!("/admin/{path}"), &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some(parachute_ui::content_type(&path))
        );
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
    }
    assert_eq!(get(hub.port, "/admin/assets/nope.js", &[]).status, 404);
}

#[test]
fn the_shell_needs_a_session_and_falls_back_to_index() {
    let home = TestHome::new();
    let user = ensure_admin(home.path());
    let hub = HubProcess::start(home.path());
    let r = get(hub.port, "/admin/modules?x=1", &[HTML]);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/login?return_to=%2Fadmin%2Fmodules%3Fx%3D1")
    );
    let session = db(home.path()).create_session(&user).unwrap();
    let cookie = format!("parachute_hub_session={}", session.id);
    for path in [
        "/admin",
        "/admin/",
        "/admin/modules",
        "/admin/vaults/default/x",
    ] {
        let r = get(hub.port, path, &[HTML, ("cookie", &cookie)]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        if parachute_ui::BUILT {
            assert!(r.body.contains("/admin/assets/"), "{}", r.body);
        } else {
            assert!(r.body.contains("scripts/ui-build"), "{}", r.body);
        }
    }
}

#[test]
fn retired_paths_move_permanently_and_only_exactly() {
    let home = TestHome::new();
    ensure_admin(home.path());
    let hub = HubProcess::start(home.path());
    for (from, to) in [
        ("/vault", "/admin/vaults"),
        ("/vault/", "/admin/vaults"),
        ("/vault/new?a=b", "/admin/vaults/new?a=b"),
        ("/hub/vaults/x", "/admin/vaults/x"),
        ("/hub", "/admin/vaults"),
        ("/hub/permissions", "/admin/permissions"),
        ("/hub/tokens", "/admin/tokens"),
        ("/admin/login?return_to=%2Fx", "/login?return_to=%2Fx"),
        ("/admin/logout", "/logout"),
        ("/admin/config/vault", "/admin/vaults"),
        ("/notes/n/1", "/surface/notes/n/1"),
    ] {
        for method in ["GET", "POST"] {
            let r = request(hub.port, method, from, &[], None).unwrap();
            assert_eq!(r.status, 301, "{method} {from}");
            assert_eq!(r.header("location"), Some(to), "{from}");
        }
    }
    // The vault proxy's paths are not redirects (no such vault here: 404).
    for path in ["/vault/default", "/vault/new/x", "/vault/default/mcp"] {
        assert_eq!(get(hub.port, path, &[]).status, 404, "{path}");
    }
    // The notes redirect can be turned off (then the path is the proxy's).
    db(home.path())
        .set_setting("notes_redirect_disabled", "true")
        .unwrap();
    assert_eq!(get(hub.port, "/notes/x", &[]).status, 404);
}

#[test]
fn the_hub_page_lists_modules_once_setup_is_done() {
    let home = TestHome::new();
    ensure_admin(home.path());
    db(home.path())
        .set_setting("setup_vault_skipped", "true")
        .unwrap();
    let hub = HubProcess::start(home.path());
    for path in ["/", "/hub.html"] {
        let r = get(hub.port, path, &[HTML]);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("href=\"/admin/\""), "{}", r.body);
    }
}

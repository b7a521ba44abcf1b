//! An install written by the original hub (0.6.3-rc.2) switches to ours with nothing lost: its
//! `hub.db`, keys, tokens and admin keep working under a real `parachute serve`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::path::Path;
use std::time::Duration;

use parachute_tests::auth::bearer;
use parachute_tests::hub::{HubOptions, HubProcess};
use parachute_tests::{TestHome, http};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/original-0.6.3-rc.2");

fn original_home() -> TestHome {
    let home = TestHome::new();
    for file in [
        "services.json",
        "expose-state.json",
        "operator.token",
        "hub.db",
        "vault/.env",
    ] {
        let from = Path::new(FIXTURE).join(file);
        let to = home.path().join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    home
}

#[test]
fn the_originals_operator_token_drives_our_hub_over_loopback() {
    let home = original_home();
    let hub = HubProcess::start(home.path());
    // The admin exists, so the setup gate is open: no bearer means 401, not 503.
    let r = http::get(hub.port, "/api/modules?latest=0").unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    // The token the original minted carries its exposed issuer; the original itself then
    // refused it on loopback (its issuer bug). Ours accepts every origin it is known by.
    let token = std::fs::read_to_string(home.path().join("operator.token")).unwrap();
    let auth = bearer(token.trim());
    let r = http::request(
        hub.port,
        "GET",
        "/api/modules?latest=0",
        &[("authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let modules = r.json();
    assert!(
        modules["modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["short"] == "vault"),
        "{modules}"
    );
    // The keys it signed with are the ones we publish.
    let ours = http::get(hub.port, "/.well-known/jwks.json")
        .unwrap()
        .json();
    let theirs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURE).join("jwks.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn the_originals_admin_password_still_verifies_and_the_schema_is_untouched() {
    let home = original_home();
    let before = schema(home.path());
    let hub = HubProcess::start(home.path());
    assert_eq!(http::get(hub.port, "/health").unwrap().status, 200);
    drop(hub);
    let db = parachute_tests::auth::db(home.path());
    assert!(db.verify_password("admin", "fixture-password-1").unwrap());
    assert!(!db.verify_password("admin", "wrong").unwrap());
    drop(db);
    assert_eq!(
        schema(home.path()),
        before,
        "our hub changed the original's schema"
    );
}

#[test]
fn initial_admin_from_the_environment_opens_the_setup_gate() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let r = http::get(hub.port, "/api/modules").unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "setup_required");
    assert_eq!(r.json()["setup_url"], "/admin/setup");
    drop(hub);

    let home = TestHome::new();
    let hub = start_seeding(&home, "owner", "s3cret-enough");
    hub.wait_for_line("admin=seeded", Duration::from_secs(10));
    let r = http::get(hub.port, "/api/modules").unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    let db = parachute_tests::auth::db(home.path());
    assert!(db.verify_password("owner", "s3cret-enough").unwrap());
    assert_eq!(db.first_user().unwrap().unwrap().username, "owner");
    assert_eq!(db.user_count().unwrap(), 1);
    // The seed is a bootstrap: a restart with the variables still set changes nothing.
    drop(hub);
    let hub = start_seeding(&home, "other", "another-one");
    hub.wait_for_line("admin=exists", Duration::from_secs(10));
    assert_eq!(db.user_count().unwrap(), 1);
    assert!(db.verify_password("owner", "s3cret-enough").unwrap());
}

/// A hub started with `PARACHUTE_INITIAL_ADMIN_USERNAME`/`_PASSWORD` set.
fn start_seeding(home: &TestHome, username: &str, password: &str) -> HubProcess {
    HubProcess::start_with(
        home.path(),
        HubOptions {
            env: vec![
                ("PARACHUTE_INITIAL_ADMIN_USERNAME".into(), username.into()),
                ("PARACHUTE_INITIAL_ADMIN_PASSWORD".into(), password.into()),
            ],
            ..HubOptions::default()
        },
    )
}

/// Every schema object of `hub.db` (name and SQL), read-only.
fn schema(home: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        home.join("hub.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT name || ':' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
        .unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

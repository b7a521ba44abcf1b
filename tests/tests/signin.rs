//! Sign-in against a real `parachute serve`: the password form, wrong passwords, the limiter
//! (and whose address it keys on), two-factor with TOTP and backup codes, CSRF and foreign
//! origins refused, the dashboard's host-admin token only from the admin's session, the event
//! stream by cookie, sign-out, and sessions and users the original hub wrote.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::path::Path;

use parachute_tests::auth::{ADMIN_PASSWORD, ADMIN_USER, bearer, db, ensure_admin, verify};
use parachute_tests::hub::HubProcess;
use parachute_tests::sse::SseStream;
use parachute_tests::web::{WebClient, csrf_field};
use parachute_tests::{TestHome, totp};
use serde_json::{Value, json};

const SESSION: &str = "parachute_hub_session";
const PENDING: &str = "parachute_hub_pending_login";

/// A home with the suites' admin, served.
fn hub_with_admin() -> (TestHome, HubProcess) {
    let home = TestHome::new();
    ensure_admin(home.path());
    let hub = HubProcess::start(home.path());
    (home, hub)
}

/// Opens `/login` (so the CSRF cookie is set) and returns the form's token.
fn open_form(web: &mut WebClient, path: &str) -> String {
    let page = web.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    csrf_field(&page.body)
}

/// Posts the password form.
fn submit_password(
    web: &mut WebClient,
    user: &str,
    password: &str,
    next: &str,
) -> parachute_tests::http::Response {
    let csrf = open_form(web, "/login");
    web.post_form(
        "/login",
        &[
            ("__csrf", &csrf),
            ("username", user),
            ("password", password),
            ("next", next),
        ],
    )
}

fn me(web: &mut WebClient) -> Value {
    let answer = web.get("/api/me");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    answer.json()
}

#[test]
fn sign_in_get_the_dashboard_token_follow_events_and_sign_out() {
    let (_home, hub) = hub_with_admin();
    let mut web = WebClient::new(hub.port);

    let page = web.get("/login?return_to=/admin/modules");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<label for=\"username\">Username</label>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<label for=\"password\">Password</label>")
    );
    assert!(page.body.contains(">Sign in</button>"));
    assert!(page.body.contains("name=\"next\" value=\"/admin/modules\""));
    let csrf_cookie = web
        .last_set_cookie("parachute_hub_csrf")
        .expect("csrf cookie")
        .to_string();
    assert!(
        csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"),
        "{csrf_cookie}"
    );
    assert_eq!(me(&mut web), json!({"hasSession": false}));
    assert_eq!(
        web.get("/admin/host-admin-token").status,
        401,
        "no session yet"
    );

    let signed = submit_password(&mut web, ADMIN_USER, ADMIN_PASSWORD, "/admin/modules");
    assert_eq!(signed.status, 302, "{}", signed.body);
    assert_eq!(signed.header("location"), Some("/admin/modules"));
    let cookie = web.last_set_cookie(SESSION).expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age=86400"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );

    let who = me(&mut web);
    assert_eq!(who["hasSession"], true, "{who}");
    assert_eq!(who["user"]["displayName"], ADMIN_USER);
    assert_eq!(who["admin"], true);
    assert_eq!(who["csrf"], web.cookies["parachute_hub_csrf"].as_str());

    // The session becomes a short bearer the dashboard uses on /api/*.
    let minted = web.get("/admin/host-admin-token");
    assert_eq!(minted.status, 200, "{}", minted.body);
    assert_eq!(minted.header("cache-control"), Some("no-store"));
    let minted = minted.json();
    assert_eq!(
        minted["scopes"],
        json!(["parachute:host:admin", "parachute:host:auth"])
    );
    let token = minted["token"].as_str().unwrap();
    let issuer = format!("http://127.0.0.1:{}", hub.port);
    let claims = verify(hub.port, token, &issuer, "hub");
    let lifetime = claims.expires_at.unwrap().as_secs() - claims.issued_at.unwrap().as_secs();
    assert_eq!(lifetime, 600, "ten minutes");
    assert_eq!(claims.custom["client_id"], "parachute-hub-spa");
    let modules = parachute_tests::http::request(
        hub.port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer(token))],
        None,
    )
    .unwrap();
    assert_eq!(modules.status, 200, "{}", modules.body);

    // The event stream takes the session cookie (EventSource cannot send a bearer).
    let cookies = web.cookie_header();
    let stream = SseStream::open(hub.port, "/api/events", &[("cookie", &cookies)], None).unwrap();
    assert_eq!(stream.status, 200);
    drop(stream);
    let anonymous = SseStream::open(hub.port, "/api/events", &[], None).unwrap();
    assert_eq!(anonymous.status, 401);
    drop(anonymous);

    // Sign-out needs the CSRF token too, then the session is gone on the server.
    let csrf = who["csrf"].as_str().unwrap().to_string();
    let session_id = web.cookies[SESSION].clone();
    let refused = web.post_form("/logout", &[]);
    assert_eq!(refused.status, 400, "no CSRF token");
    assert_eq!(me(&mut web)["hasSession"], true, "still signed in");
    let out = web.post_form("/logout", &[("__csrf", &csrf)]);
    assert_eq!(out.status, 302);
    assert_eq!(out.header("location"), Some("/login"));
    assert!(!web.cookies.contains_key(SESSION), "cookie cleared");
    assert_eq!(me(&mut web), json!({"hasSession": false}));
    // Replaying the old cookie does not bring the session back.
    web.cookies.insert(SESSION.into(), session_id);
    assert_eq!(me(&mut web), json!({"hasSession": false}));
    assert_eq!(web.get("/admin/host-admin-token").status, 401);
}

#[test]
fn wrong_passwords_are_refused_and_the_limiter_slows_the_guesser_not_the_owner() {
    let (home, hub) = hub_with_admin();
    let mut attacker = WebClient::new(hub.port);
    let wrong = submit_password(&mut attacker, ADMIN_USER, "nope", "/admin");
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Wrong username or password."),
        "{}",
        wrong.body
    );
    assert!(!attacker.cookies.contains_key(SESSION));
    let unknown = submit_password(&mut attacker, "nobody", "nope", "/admin");
    assert_eq!(unknown.status, 401);
    for _ in 0..4 {
        assert_eq!(
            submit_password(&mut attacker, ADMIN_USER, "nope", "/admin").status,
            401
        );
    }
    // Five tries used: even the right password now waits, and says how long.
    let limited = submit_password(&mut attacker, ADMIN_USER, ADMIN_PASSWORD, "/admin");
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(limited.body.contains("Too many sign-in attempts"));
    // Other accounts are unaffected.
    db(home.path())
        .create_user("friend", "friend-password-1")
        .unwrap();
    let mut friend = WebClient::new(hub.port);
    assert_eq!(
        submit_password(&mut friend, "friend", "friend-password-1", "/").status,
        302
    );

    // Without a recorded connector, forwarded headers are the caller's word and count for
    // nothing: a forged X-Forwarded-For does not buy fresh attempts.
    attacker.extra_headers = vec![("x-forwarded-for".into(), "203.0.113.9".into())];
    assert_eq!(
        submit_password(&mut attacker, ADMIN_USER, ADMIN_PASSWORD, "/admin").status,
        429
    );

    // Behind tailscale serve every peer is 127.0.0.1; the connector's hop names the client.
    home.write(
        "expose-state.json",
        &json!({"version": 1, "layer": "tailnet", "mode": "path",
                "canonicalFqdn": "box.tail1234.ts.net", "port": 443, "funnel": false,
                "entries": []})
        .to_string(),
    );
    let mut guesser = WebClient::new(hub.port);
    guesser.extra_headers = vec![("x-forwarded-for".into(), "1.1.1.1, 100.64.0.66".into())];
    for _ in 0..5 {
        assert_eq!(
            submit_password(&mut guesser, ADMIN_USER, "guess", "/admin").status,
            401
        );
    }
    assert_eq!(
        submit_password(&mut guesser, ADMIN_USER, "guess", "/admin").status,
        429
    );
    // Rewriting the hops the client controls changes nothing: the last hop is the connector's.
    guesser.extra_headers = vec![("x-forwarded-for".into(), "9.9.9.9, 100.64.0.66".into())];
    assert_eq!(
        submit_password(&mut guesser, ADMIN_USER, "guess", "/admin").status,
        429
    );
    // The owner, on another device of the tailnet, is not locked out.
    let mut owner = WebClient::new(hub.port);
    owner.extra_headers = vec![("x-forwarded-for".into(), "100.64.0.8".into())];
    let signed = submit_password(&mut owner, ADMIN_USER, ADMIN_PASSWORD, "/admin");
    assert_eq!(signed.status, 302, "{}", signed.body);
    assert!(owner.cookies.contains_key(SESSION));
}

#[test]
fn forms_from_other_sites_or_without_the_csrf_token_are_refused() {
    let (_home, hub) = hub_with_admin();
    let mut web = WebClient::new(hub.port);
    let csrf = open_form(&mut web, "/login");
    let fields = [
        ("__csrf", csrf.as_str()),
        ("username", ADMIN_USER),
        ("password", ADMIN_PASSWORD),
    ];

    let foreign = web.post_form_with("/login", &fields, &[("origin", "https://evil.example")]);
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert!(foreign.body.contains("another website"));
    let by_referer = web.post_form_with(
        "/login",
        &fields,
        &[("origin", "null"), ("referer", "https://evil.example/page")],
    );
    assert_eq!(by_referer.status, 403);
    let lookalike = web.post_form_with(
        "/login",
        &fields,
        &[("origin", "http://127.0.0.1.evil.example")],
    );
    assert_eq!(lookalike.status, 403);

    let no_token = web.post_form(
        "/login",
        &[("username", ADMIN_USER), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(no_token.status, 400);
    let wrong_token = web.post_form(
        "/login",
        &[
            ("__csrf", "forged"),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    );
    assert_eq!(wrong_token.status, 400);
    // A cookie-less forger cannot match a token it cannot read.
    let mut forger = WebClient::new(hub.port);
    let forged = forger.post_form("/login", &fields);
    assert_eq!(forged.status, 400);
    assert!(!web.cookies.contains_key(SESSION) && !forger.cookies.contains_key(SESSION));

    // The hub's own origin (and a post with neither Origin nor Referer) is accepted.
    let ok = web.post_form_with("/login", &fields, &[]);
    assert_eq!(ok.status, 302, "{}", ok.body);
    let who = me(&mut web);
    // Sign-out from another site is refused too.
    let csrf = who["csrf"].as_str().unwrap();
    let out = web.post_form_with(
        "/logout",
        &[("__csrf", csrf)],
        &[("origin", "https://evil.example")],
    );
    assert_eq!(out.status, 403);
    assert_eq!(me(&mut web)["hasSession"], true);
}

#[test]
fn next_and_return_to_never_leave_the_hub() {
    let (_home, hub) = hub_with_admin();
    for (asked, landed) in [
        ("https://evil.example/", "/admin"),
        ("//evil.example/x", "/admin"),
        ("/\\evil.example", "/admin"),
        ("javascript:alert(1)", "/admin"),
        ("/admin/modules?tab=logs", "/admin/modules?tab=logs"),
    ] {
        let mut web = WebClient::new(hub.port);
        let signed = submit_password(&mut web, ADMIN_USER, ADMIN_PASSWORD, asked);
        assert_eq!(signed.status, 302, "{asked}");
        assert_eq!(signed.header("location"), Some(landed), "{asked}");
    }
    let mut web = WebClient::new(hub.port);
    let page = web.get("/login?return_to=https%3A%2F%2Fevil.example%2F");
    assert!(
        page.body.contains("name=\"next\" value=\"/admin\""),
        "{}",
        page.body
    );
}

#[test]
fn the_dashboard_token_is_for_the_admin_s_session_only() {
    let (home, hub) = hub_with_admin();
    db(home.path())
        .create_user("friend", "friend-password-1")
        .unwrap();
    let mut friend = WebClient::new(hub.port);
    let signed = submit_password(&mut friend, "friend", "friend-password-1", "/admin");
    assert_eq!(signed.status, 302);
    assert_eq!(
        signed.header("location"),
        Some("/account/"),
        "not an admin page"
    );
    let who = me(&mut friend);
    assert_eq!(who["admin"], false);
    let refused = friend.get("/admin/host-admin-token");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "not_admin");
    let events = SseStream::open(
        hub.port,
        "/api/events",
        &[("cookie", &friend.cookie_header())],
        None,
    )
    .unwrap();
    assert_eq!(
        events.status, 401,
        "another account's session is no admin session"
    );
    drop(events);

    let mut stranger = WebClient::new(hub.port);
    stranger
        .cookies
        .insert(SESSION.into(), "not-a-session".into());
    let refused = stranger.get("/admin/host-admin-token");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "unauthenticated");
}

/// A home holding the `hub.db` the original hub wrote (see the fixture's README), with its
/// admin session moved to expire an hour from now (the rest of the row as written).
fn original_home() -> (TestHome, Value) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/auth/tests/data/original-0.6.3-rc.2-oauth");
    let home = TestHome::new();
    std::fs::copy(fixture.join("hub.db"), home.path().join("hub.db")).unwrap();
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("secrets.json")).unwrap())
            .unwrap();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let conn = rusqlite::Connection::open(home.path().join("hub.db")).unwrap();
    let id = secrets["admin_session_cookie"][SESSION].as_str().unwrap();
    let changed = conn
        .execute(
            "UPDATE sessions SET expires_at = ?1 WHERE id = ?2",
            [later.as_str(), id],
        )
        .unwrap();
    assert_eq!(changed, 1, "the original's session row is in the fixture");
    (home, secrets)
}

#[test]
fn a_session_the_original_made_is_valid_here() {
    let (home, secrets) = original_home();
    let hub = HubProcess::start(home.path());
    let mut web = WebClient::new(hub.port);
    let id = secrets["admin_session_cookie"][SESSION].as_str().unwrap();
    web.cookies.insert(SESSION.into(), id.into());
    let who = me(&mut web);
    assert_eq!(who["hasSession"], true, "{who}");
    assert_eq!(who["user"]["displayName"], "admin");
    assert_eq!(who["user"]["id"], secrets["sessions_in_db"][1]["user_id"]);
    assert_eq!(web.get("/admin/host-admin-token").status, 200);
    // And a session we make is a row the original reads: same columns, same stamp shape.
    let mut fresh = WebClient::new(hub.port);
    let password = secrets["users"]["admin"]["password"].as_str().unwrap();
    assert_eq!(
        submit_password(&mut fresh, "admin", password, "/admin").status,
        302
    );
    let conn = rusqlite::Connection::open(home.path().join("hub.db")).unwrap();
    let (user_id, expires, created): (String, String, String) = conn
        .query_row(
            "SELECT user_id, expires_at, created_at FROM sessions WHERE id = ?1",
            [&fresh.cookies[SESSION]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(user_id, who["user"]["id"].as_str().unwrap());
    for stamp in [&expires, &created] {
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.',
            "{stamp}"
        );
    }
}

#[test]
fn alice_signs_in_only_with_her_totp_or_a_backup_code_each_once() {
    let (home, secrets) = original_home();
    let hub = HubProcess::start(home.path());
    let alice = &secrets["users"]["alice"];
    let password = alice["password"].as_str().unwrap();
    let secret = alice["totp_secret_base32"].as_str().unwrap();
    let backup = alice["backup_codes"][0].as_str().unwrap();

    // The password alone gives a code page and a pending cookie, no session.
    let mut web = WebClient::new(hub.port);
    let step = submit_password(&mut web, "alice", password, "/account/");
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("name=\"code\""), "{}", step.body);
    assert!(!web.cookies.contains_key(SESSION));
    let pending = web.last_set_cookie(PENDING).unwrap();
    assert!(
        pending.contains("Path=/login") && pending.contains("HttpOnly"),
        "{pending}"
    );
    assert_eq!(me(&mut web)["hasSession"], false);
    let csrf = csrf_field(&step.body);

    let wrong = web.post_form("/login/2fa", &[("__csrf", &csrf), ("code", "000000")]);
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("wrong or expired"), "{}", wrong.body);
    let no_csrf = web.post_form("/login/2fa", &[("code", &totp::code_now(secret))]);
    assert_eq!(no_csrf.status, 400);

    let code = totp::code_now(secret);
    let ok = web.post_form("/login/2fa", &[("__csrf", &csrf), ("code", &code)]);
    assert_eq!(ok.status, 302, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/account/"));
    assert!(web.cookies.contains_key(SESSION));
    assert!(!web.cookies.contains_key(PENDING), "pending cookie cleared");
    assert_eq!(me(&mut web)["user"]["displayName"], "alice");

    // The same code again (someone watched it being typed) is refused.
    let mut watcher = WebClient::new(hub.port);
    let step = submit_password(&mut watcher, "alice", password, "/account/");
    let csrf = csrf_field(&step.body);
    let replay = watcher.post_form("/login/2fa", &[("__csrf", &csrf), ("code", &code)]);
    assert_eq!(replay.status, 401);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    // A backup code works once, in any case and with its hyphen.
    let with_backup = watcher.post_form(
        "/login/2fa",
        &[("__csrf", &csrf), ("code", &backup.to_uppercase())],
    );
    assert_eq!(with_backup.status, 302, "{}", with_backup.body);
    let mut again = WebClient::new(hub.port);
    let step = submit_password(&mut again, "alice", password, "/account/");
    let csrf = csrf_field(&step.body);
    let spent = again.post_form("/login/2fa", &[("__csrf", &csrf), ("code", backup)]);
    assert_eq!(spent.status, 401, "a backup code is spent once used");
    let left: String = rusqlite::Connection::open(home.path().join("hub.db"))
        .unwrap()
        .query_row(
            "SELECT totp_backup_codes FROM users WHERE username = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(serde_json::from_str::<Vec<String>>(&left).unwrap().len(), 9);

    // Without a pending sign-in the code page gives nothing.
    let mut cold = WebClient::new(hub.port);
    let csrf = open_form(&mut cold, "/login");
    let cold_try = cold.post_form(
        "/login/2fa",
        &[("__csrf", &csrf), ("code", &totp::code_now(secret))],
    );
    assert_eq!(cold_try.status, 401);
    assert!(!cold.cookies.contains_key(SESSION));
}

#[test]
fn the_code_page_has_its_own_limiter() {
    let (home, secrets) = original_home();
    let hub = HubProcess::start(home.path());
    let password = secrets["users"]["alice"]["password"].as_str().unwrap();
    let mut web = WebClient::new(hub.port);
    let step = submit_password(&mut web, "alice", password, "/account/");
    let csrf = csrf_field(&step.body);
    for _ in 0..5 {
        assert_eq!(
            web.post_form("/login/2fa", &[("__csrf", &csrf), ("code", "123456")])
                .status,
            401
        );
    }
    let limited = web.post_form("/login/2fa", &[("__csrf", &csrf), ("code", "123456")]);
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
}

//! The signed-in person's pages against a real `parachute serve`: `/account/`, changing the
//! password (the current one checked, other sessions signed out), and turning two-step sign-in
//! on in the browser with a code computed here, then off with the password.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use parachute_tests::auth::{ADMIN_PASSWORD, ADMIN_USER, db, ensure_admin};
use parachute_tests::hub::HubProcess;
use parachute_tests::web::{WebClient, csrf_field};
use parachute_tests::{TestHome, totp};

fn sign_in(web: &mut WebClient, password: &str) -> u16 {
    let page = web.get("/login");
    let csrf = csrf_field(&page.body);
    web.post_form(
        "/login",
        &[
            ("__csrf", &csrf),
            ("username", ADMIN_USER),
            ("password", password),
        ],
    )
    .status
}

#[test]
fn change_password_and_two_step_sign_in_from_the_account_pages() {
    let home = TestHome::new();
    let admin = ensure_admin(home.path());
    let hub = HubProcess::start(home.path());
    let mut web = WebClient::new(hub.port);
    let bounce = web.get("/account/");
    assert_eq!(bounce.status, 302);
    assert_eq!(bounce.header("location"), Some("/login?next=%2Faccount%2F"));
    assert_eq!(sign_in(&mut web, ADMIN_PASSWORD), 302);
    let mut other = WebClient::new(hub.port);
    assert_eq!(sign_in(&mut other, ADMIN_PASSWORD), 302);

    let page = web.get("/account/");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("Signed in as <b>{ADMIN_USER}</b>")),
        "{}",
        page.body
    );

    let form = web.get("/account/change-password");
    let csrf = csrf_field(&form.body);
    let wrong = web.post_form(
        "/account/change-password",
        &[
            ("__csrf", &csrf),
            ("current", "nope"),
            ("new", "a new long password"),
            ("confirm", "a new long password"),
        ],
    );
    assert_eq!(wrong.status, 401);
    let foreign = web.post_form_with(
        "/account/change-password",
        &[
            ("__csrf", &csrf),
            ("current", ADMIN_PASSWORD),
            ("new", "a new long password"),
            ("confirm", "a new long password"),
        ],
        &[("origin", "https://evil.example")],
    );
    assert_eq!(foreign.status, 403);
    let changed = web.post_form(
        "/account/change-password",
        &[
            ("__csrf", &csrf),
            ("current", ADMIN_PASSWORD),
            ("new", "a new long password"),
            ("confirm", "a new long password"),
        ],
    );
    assert_eq!(changed.status, 302, "{}", changed.body);
    assert_eq!(
        web.get("/api/me").json()["hasSession"],
        true,
        "this browser stays signed in"
    );
    assert_eq!(
        other.get("/api/me").json()["hasSession"],
        false,
        "other sessions end"
    );
    let mut fresh = WebClient::new(hub.port);
    assert_eq!(sign_in(&mut fresh, ADMIN_PASSWORD), 401);
    assert_eq!(sign_in(&mut fresh, "a new long password"), 302);

    // Two-step sign-in on, with a code from the secret the page shows.
    let page = web.get("/account/2fa");
    assert_eq!(page.status, 200);
    let marker = "name=\"secret\" value=\"";
    let start = page.body.find(marker).expect("secret field") + marker.len();
    let secret = &page.body[start..start + page.body[start..].find('"').unwrap()];
    let csrf = csrf_field(&page.body);
    let on = web.post_form(
        "/account/2fa/enroll",
        &[
            ("__csrf", &csrf),
            ("secret", secret),
            ("code", &totp::code_now(secret)),
        ],
    );
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(
        on.body.matches("<li><code>").count(),
        10,
        "ten backup codes: {}",
        on.body
    );
    assert!(db(home.path()).two_factor_status(&admin).unwrap().enrolled);
    let page = web.get("/account/2fa");
    assert!(
        page.body.contains("Two-step sign-in is on"),
        "{}",
        page.body
    );
    let off_wrong = web.post_form(
        "/account/2fa/disenroll",
        &[("__csrf", &csrf), ("password", "nope")],
    );
    assert_eq!(off_wrong.status, 401);
    let off = web.post_form(
        "/account/2fa/disenroll",
        &[("__csrf", &csrf), ("password", "a new long password")],
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(!db(home.path()).two_factor_status(&admin).unwrap().enrolled);
}

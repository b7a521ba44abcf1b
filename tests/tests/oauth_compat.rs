//! What the original hub wrote keeps working here (fixture
//! `crates/auth/tests/data/original-0.6.3-rc.2-oauth/`, made by a real MCP client against the
//! original; its `secrets.json` has the plaintext values): the live refresh token refreshes
//! (and rotates), the family the original revoked after a reuse stays revoked, and the pending
//! client gets no code or token until someone approves it. (Alice's TOTP and backup codes and
//! the admin's session are in the `signin` suite.)

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::path::Path;

use parachute_tests::hub::HubProcess;
use parachute_tests::oauth::{AuthorizeRequest, Pkce, location_param, open_authorize, token};
use parachute_tests::web::WebClient;
use parachute_tests::{TestHome, auth::verify};
use serde_json::Value;

fn fixture() -> (TestHome, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/auth/tests/data/original-0.6.3-rc.2-oauth");
    let home = TestHome::new();
    std::fs::copy(dir.join("hub.db"), home.path().join("hub.db")).unwrap();
    let secrets =
        serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap();
    (home, secrets)
}

fn refresh(port: u16, client_id: &str, refresh_token: &str) -> parachute_tests::http::Response {
    token(
        port,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
}

#[test]
fn the_original_s_live_refresh_token_refreshes_and_rotates_here() {
    let (home, secrets) = fixture();
    let hub = HubProcess::start(home.path());
    let live = &secrets["live_client"];
    let client_id = live["client_id"].as_str().unwrap();
    let original = live["refresh_token"].as_str().unwrap();

    let answer = refresh(hub.port, client_id, original);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let access = answer["access_token"].as_str().unwrap();
    let claims = verify(
        hub.port,
        access,
        &format!("http://127.0.0.1:{}", hub.port),
        "vault.default",
    );
    assert_eq!(claims.custom["client_id"], client_id);
    assert_eq!(answer["scope"], claims.custom["scope"]);
    let ours = answer["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(ours, original);

    // The family is the original's: our rotation kept it, so reusing the original's token
    // now revokes ours too.
    let conn = rusqlite::Connection::open(home.path().join("hub.db")).unwrap();
    let families: Vec<String> = conn
        .prepare("SELECT DISTINCT family_id FROM tokens WHERE client_id = ?1")
        .unwrap()
        .query_map([client_id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        families.len(),
        1,
        "one family across both hubs: {families:?}"
    );
    assert_eq!(
        refresh(hub.port, client_id, &ours).status,
        200,
        "ours refreshes in turn"
    );
    assert_eq!(
        refresh(hub.port, client_id, original).json()["error"],
        "invalid_grant"
    );
}

#[test]
fn the_family_the_original_revoked_stays_revoked() {
    let (home, secrets) = fixture();
    let hub = HubProcess::start(home.path());
    let revoked = &secrets["revoked_family_client"];
    let client_id = revoked["client_id"].as_str().unwrap();
    for key in ["spent_refresh_token", "revoked_refresh_token"] {
        let answer = refresh(hub.port, client_id, revoked[key].as_str().unwrap());
        assert_eq!(answer.status, 400, "{key}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_grant", "{key}");
    }
    // Another client's live refresh token is not this client's to use.
    let live = secrets["live_client"]["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(hub.port, client_id, live).json()["error"],
        "invalid_grant"
    );
}

#[test]
fn the_pending_client_gets_no_code_until_someone_approves_it() {
    let (home, secrets) = fixture();
    let hub = HubProcess::start(home.path());
    let client_id = secrets["pending_client"]["client_id"].as_str().unwrap();
    let redirect = "http://127.0.0.1:33419/callback";
    let pkce = Pkce::new();
    let req = AuthorizeRequest {
        client_id,
        redirect_uri: redirect,
        scope: "vault:default:read",
        state: "s1",
        resource: None,
        challenge: &pkce.challenge,
        method: "S256",
    };
    // Signed out: only the sign-in page, no code.
    let mut browser = WebClient::new(hub.port);
    let bounce = open_authorize(&mut browser, &req);
    assert_eq!(bounce.status, 302);
    assert!(bounce.header("location").unwrap().starts_with("/login?"));
    // Alice (not the admin) can only be told to ask the admin.
    let alice = &secrets["users"]["alice"];
    let mut web = WebClient::new(hub.port);
    let page = web.get("/login");
    let csrf = parachute_tests::web::csrf_field(&page.body);
    let step = web.post_form(
        "/login",
        &[
            ("__csrf", &csrf),
            ("username", "alice"),
            ("password", alice["password"].as_str().unwrap()),
            ("next", "/"),
        ],
    );
    let code = parachute_tests::totp::code_now(alice["totp_secret_base32"].as_str().unwrap());
    let signed = web.post_form(
        "/login/2fa",
        &[
            ("__csrf", &parachute_tests::web::csrf_field(&step.body)),
            ("code", &code),
        ],
    );
    assert_eq!(signed.status, 302, "{}", signed.body);
    let waiting = open_authorize(&mut web, &req);
    assert_eq!(waiting.status, 403);
    assert_eq!(location_param_or_none(&waiting), None);
    // The token endpoint refuses the pending client outright.
    let refused = token(
        hub.port,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", "anything"),
            ("redirect_uri", redirect),
            ("code_verifier", &pkce.verifier),
        ],
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "invalid_client");
    // The admin (with the session the original made) sees the consent page, not a code.
    let mut admin = WebClient::new(hub.port);
    let id = secrets["admin_session_cookie"]["parachute_hub_session"]
        .as_str()
        .unwrap();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    rusqlite::Connection::open(home.path().join("hub.db"))
        .unwrap()
        .execute(
            "UPDATE sessions SET expires_at = ?1 WHERE id = ?2",
            [later.as_str(), id],
        )
        .unwrap();
    admin
        .cookies
        .insert("parachute_hub_session".into(), id.into());
    let consent = open_authorize(&mut admin, &req);
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent
            .body
            .contains("has not connected to your hub before"),
        "{}",
        consent.body
    );
    let db = parachute_tests::auth::db(home.path());
    assert_eq!(
        db.client(client_id).unwrap().unwrap().status.as_str(),
        "pending",
        "showing the page approves nothing"
    );
}

fn location_param_or_none(r: &parachute_tests::http::Response) -> Option<String> {
    r.header("location").and_then(|_| location_param(r, "code"))
}

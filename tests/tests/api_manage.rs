//! The management API against a real `parachute serve`, with the bearer the dashboard gets
//! from `/admin/host-admin-token`: the token registry and revocation (only within the
//! bearer's minting authority), grants, OAuth clients and their approval, accounts with their
//! vaults; refusals in the RFC 6750 dialect.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::time::Duration;

use parachute_tests::TestHome;
use parachute_tests::auth::{ADMIN_PASSWORD, ADMIN_USER, bearer, db, ensure_admin, token_with};
use parachute_tests::http::request;
use parachute_tests::hub::HubProcess;
use parachute_tests::oauth::{AuthorizeRequest, Pkce, authorize_to_code, register};
use parachute_tests::web::{WebClient, csrf_field};

const REDIRECT: &str = "http://127.0.0.1:45112/callback";

fn dashboard_token(web: &mut WebClient) -> String {
    let page = web.get("/login");
    let csrf = csrf_field(&page.body);
    let done = web.post_form(
        "/login",
        &[
            ("__csrf", &csrf),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
        ],
    );
    assert_eq!(done.status, 302);
    web.get("/admin/host-admin-token").json()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_dashboard_manages_tokens_grants_clients_and_users() {
    let home = TestHome::new();
    ensure_admin(home.path());
    let friend = db(home.path())
        .create_user("friend", "friend-password-1")
        .unwrap();
    db(home.path())
        .set_user_vaults(&friend.id, &["work"])
        .unwrap();
    let hub = HubProcess::start(home.path());
    let port = hub.port;
    let mut web = WebClient::new(port);
    let token = dashboard_token(&mut web);
    let auth = bearer(&token);
    let get = |path: &str| request(port, "GET", path, &[("authorization", &auth)], None).unwrap();

    // A client connected through consent: its grant, its client row, its token row.
    let client_id = register(port, "Notes", REDIRECT)["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = get("/api/oauth/clients").json();
    assert_eq!(pending["clients"][0]["client_id"], client_id.as_str());
    assert_eq!(pending["clients"][0]["status"], "pending");
    let pkce = Pkce::new();
    let resource = format!("http://127.0.0.1:{port}/vault/work/mcp");
    let code = authorize_to_code(
        &mut web,
        &AuthorizeRequest {
            client_id: &client_id,
            redirect_uri: REDIRECT,
            scope: "vault:read",
            state: "s",
            resource: Some(&resource),
            challenge: &pkce.challenge,
            method: "S256",
        },
    );
    let tokens = parachute_tests::oauth::token(
        port,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .json();
    assert!(tokens["access_token"].is_string(), "{tokens}");

    let shown = get(&format!("/api/oauth/clients/{client_id}"));
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json()["status"], "approved");
    assert_eq!(get("/api/oauth/clients/nope").status, 404);

    let grants = get("/api/grants").json();
    assert_eq!(grants["grants"][0]["client_id"], client_id.as_str());
    assert_eq!(grants["grants"][0]["client_name"], "Notes");
    assert_eq!(
        grants["grants"][0]["scopes"],
        serde_json::json!(["vault:work:read"])
    );
    assert_eq!(
        get("/api/grants?vault=other").json()["grants"],
        serde_json::json!([])
    );

    let listed = get("/api/auth/tokens?created_via=oauth_refresh").json();
    let rows = listed["tokens"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["client_id"], client_id.as_str());
    assert!(rows[0].get("refresh_token_hash").is_none());
    let jti = rows[0]["jti"].as_str().unwrap().to_string();
    assert_eq!(get("/api/auth/tokens?revoked=maybe").status, 400);

    // Revocation within the bearer's authority only.
    let vault_admin = token_with(
        home.path(),
        &format!("http://127.0.0.1:{port}"),
        &["vault:other:admin"],
        Duration::from_secs(600),
    );
    let body = format!("{{\"jti\":\"{jti}\"}}");
    let refused = request(
        port,
        "POST",
        "/api/auth/revoke-token",
        &[("authorization", &bearer(&vault_admin))],
        Some(&body),
    )
    .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    let revoked = request(
        port,
        "POST",
        "/api/auth/revoke-token",
        &[("authorization", &auth)],
        Some(&body),
    )
    .unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["already_revoked"], false);
    let again = request(
        port,
        "POST",
        "/api/auth/revoke-token",
        &[("authorization", &auth)],
        Some(&body),
    )
    .unwrap();
    assert_eq!(again.json()["already_revoked"], true);
    let refresh = parachute_tests::oauth::token(
        port,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!(
        refresh.json()["error"],
        "invalid_grant",
        "revoked in the registry"
    );

    // Forget the grant: consent is asked again.
    let forgotten = request(
        port,
        "DELETE",
        &format!("/api/grants/{client_id}"),
        &[("authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(forgotten.status, 204);
    assert_eq!(
        request(
            port,
            "DELETE",
            &format!("/api/grants/{client_id}"),
            &[("authorization", &auth)],
            None
        )
        .unwrap()
        .status,
        404
    );

    let users = get("/api/users").json();
    let users = users["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["username"], ADMIN_USER);
    assert_eq!(users[1]["username"], "friend");
    assert_eq!(users[1]["assigned_vaults"], serde_json::json!(["work"]));
    assert!(users.iter().all(|u| u.get("password_hash").is_none()));

    // Without a bearer, or with too little: RFC 6750 refusals with a challenge.
    let anonymous = request(port, "GET", "/api/users", &[], None).unwrap();
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let weak = request(
        port,
        "GET",
        "/api/users",
        &[("authorization", &bearer(&vault_admin))],
        None,
    )
    .unwrap();
    assert_eq!(weak.status, 403);
    assert_eq!(weak.json()["error"], "insufficient_scope");
}

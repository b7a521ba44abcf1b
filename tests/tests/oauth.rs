//! The OAuth authorization server against a real `parachute serve`, driven over HTTP the way a
//! client and a signed-in browser do: discovery, registration, authorize with consent,
//! remembered grants, code exchange, refresh rotation, revocation, and every refusal the
//! issue lists (PKCE, verifier, replayed and expired codes, foreign redirects, open redirects,
//! scope escalation, another vault's resource, the wrong client, pending clients, CSRF and
//! foreign origins on approve, the token endpoint's limiter).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use parachute_tests::TestHome;
use parachute_tests::auth::{ADMIN_PASSWORD, ADMIN_USER, db, ensure_admin, verify};
use parachute_tests::hub::HubProcess;
use parachute_tests::oauth::{
    AuthorizeRequest, Pkce, answer_consent, authorize_to_code, location_param, open_authorize,
    register, token,
};
use parachute_tests::web::{WebClient, csrf_field};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:45111/callback";

struct Rig {
    home: TestHome,
    hub: HubProcess,
    /// A browser signed in as the admin.
    browser: WebClient,
}

impl Rig {
    fn new() -> Self {
        let home = TestHome::new();
        ensure_admin(home.path());
        let hub = HubProcess::start(home.path());
        let mut browser = WebClient::new(hub.port);
        sign_in(&mut browser, ADMIN_USER, ADMIN_PASSWORD);
        Self { home, hub, browser }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.hub.port)
    }

    fn resource(&self, vault: &str) -> String {
        format!("{}/vault/{vault}/mcp", self.origin())
    }

    /// A registered client, approved the way a person does it (the admin's consent).
    fn client(&self, name: &str) -> String {
        let reg = register(self.hub.port, name, REDIRECT);
        assert_eq!(reg["status"], "pending", "{reg}");
        reg["client_id"].as_str().unwrap().to_string()
    }
}

fn sign_in(web: &mut WebClient, user: &str, password: &str) {
    let page = web.get("/login");
    let csrf = csrf_field(&page.body);
    let done = web.post_form(
        "/login",
        &[
            ("__csrf", &csrf),
            ("username", user),
            ("password", password),
            ("next", "/"),
        ],
    );
    assert_eq!(done.status, 302, "{}", done.body);
}

fn request<'a>(
    client_id: &'a str,
    pkce: &'a Pkce,
    scope: &'a str,
    resource: Option<&'a str>,
) -> AuthorizeRequest<'a> {
    AuthorizeRequest {
        client_id,
        redirect_uri: REDIRECT,
        scope,
        state: "st-123",
        resource,
        challenge: &pkce.challenge,
        method: "S256",
    }
}

fn exchange(
    port: u16,
    client_id: &str,
    code: &str,
    verifier: &str,
) -> parachute_tests::http::Response {
    token(
        port,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh(
    port: u16,
    client_id: &str,
    refresh_token: &str,
    scope: Option<&str>,
) -> parachute_tests::http::Response {
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token),
    ];
    if let Some(s) = scope {
        fields.push(("scope", s));
    }
    token(port, &fields)
}

#[test]
fn discovery_documents_name_this_hub_and_its_vault_resources() {
    let rig = Rig::new();
    let origin = rig.origin();
    let asm = parachute_tests::http::get(rig.hub.port, "/.well-known/oauth-authorization-server")
        .unwrap();
    assert_eq!(asm.status, 200);
    assert_eq!(asm.header("access-control-allow-origin"), Some("*"));
    let asm = asm.json();
    assert_eq!(asm["issuer"], origin.as_str());
    assert_eq!(
        asm["authorization_endpoint"],
        format!("{origin}/oauth/authorize")
    );
    assert_eq!(asm["token_endpoint"], format!("{origin}/oauth/token"));
    assert_eq!(
        asm["registration_endpoint"],
        format!("{origin}/oauth/register")
    );
    assert_eq!(asm["revocation_endpoint"], format!("{origin}/oauth/revoke"));
    assert_eq!(asm["jwks_uri"], format!("{origin}/.well-known/jwks.json"));
    assert_eq!(
        asm["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let scopes: Vec<&str> = asm["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"vault:read"), "{scopes:?}");
    assert!(
        !scopes.iter().any(|s| s.starts_with("parachute:host:")),
        "operator scopes never offered: {scopes:?}"
    );

    let prm = parachute_tests::http::get(rig.hub.port, "/.well-known/oauth-protected-resource")
        .unwrap()
        .json();
    assert_eq!(prm["resource"], origin.as_str());
    assert_eq!(prm["authorization_servers"], serde_json::json!([origin]));
    let vault = parachute_tests::http::get(
        rig.hub.port,
        "/.well-known/oauth-protected-resource/vault/work/mcp",
    )
    .unwrap();
    assert_eq!(vault.status, 200);
    let vault = vault.json();
    assert_eq!(vault["resource"], rig.resource("work"));
    assert_eq!(vault["authorization_servers"], serde_json::json!([origin]));
    assert_eq!(
        vault["scopes_supported"],
        serde_json::json!(["vault:work:read", "vault:work:write", "vault:work:admin"])
    );
    assert_eq!(
        parachute_tests::http::get(
            rig.hub.port,
            "/.well-known/oauth-protected-resource/elsewhere"
        )
        .unwrap()
        .status,
        404
    );
}

#[test]
fn registration_checks_redirect_uris_and_says_pending() {
    let rig = Rig::new();
    let post = |body: &str| {
        parachute_tests::http::request(
            rig.hub.port,
            "POST",
            "/oauth/register",
            &[("content-type", "application/json")],
            Some(body),
        )
        .unwrap()
    };
    let plain = post(r#"{"redirect_uris":["http://evil.example/cb"]}"#);
    assert_eq!(plain.status, 400);
    assert_eq!(plain.json()["error"], "invalid_redirect_uri");
    let none = post(r#"{"client_name":"x"}"#);
    assert_eq!(none.json()["error"], "invalid_redirect_uri");
    assert_eq!(post("not json").json()["error"], "invalid_client_metadata");
    let fragment = post(r##"{"redirect_uris":["https://app.example/cb#x"]}"##);
    assert_eq!(fragment.status, 400);
    let ok = post(
        r#"{"redirect_uris":["https://app.example/cb"],"client_name":"App","token_endpoint_auth_method":"client_secret_post"}"#,
    );
    assert_eq!(ok.status, 201, "{}", ok.body);
    let ok = ok.json();
    assert_eq!(ok["status"], "pending");
    assert!(
        ok["client_secret"].as_str().is_some_and(|s| s.len() >= 32),
        "{ok}"
    );
    let bad_bearer = parachute_tests::http::request(
        rig.hub.port,
        "POST",
        "/oauth/register",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer nope"),
        ],
        Some(r#"{"redirect_uris":["https://app.example/cb"]}"#),
    )
    .unwrap();
    assert_eq!(
        bad_bearer.status, 401,
        "an invalid bearer is refused, not downgraded"
    );
}

#[test]
fn the_whole_flow_consent_remembered_exchange_refresh_rotation_and_revocation() {
    let mut rig = Rig::new();
    let port = rig.hub.port;
    let client_id = rig.client("Notes app");
    let resource = rig.resource("work");
    let pkce = Pkce::new();
    let req = request(&client_id, &pkce, "vault:read", Some(&resource));

    // Signed out: the browser is sent to the sign-in form and back.
    let mut stranger = WebClient::new(port);
    let bounce = open_authorize(&mut stranger, &req);
    assert_eq!(bounce.status, 302);
    let to = bounce.header("location").unwrap();
    assert!(
        to.starts_with("/login?next=%2Foauth%2Fauthorize%3F"),
        "{to}"
    );

    // The consent page names the app, the vault and the scope in plain words.
    let page = open_authorize(&mut rig.browser, &req);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Connect Notes app?"), "{}", page.body);
    assert!(page.body.contains("vault:work:read"));
    assert!(page.body.contains("Only the vault <b>work</b>"));
    assert!(page.body.contains(">Approve</button>") && page.body.contains(">Deny</button>"));
    let done = answer_consent(&mut rig.browser, &page, &req, "approve");
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(location_param(&done, "state").as_deref(), Some("st-123"));
    let code = location_param(&done, "code").unwrap();
    assert_eq!(
        db(rig.home.path())
            .client(&client_id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "approved",
        "the admin's consent approved the new client"
    );

    let tokens = exchange(port, &client_id, &code, &pkce.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    let tokens = tokens.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "vault:work:read");
    let access = tokens["access_token"].as_str().unwrap();
    let claims = verify(port, access, &rig.origin(), "vault.work");
    assert_eq!(claims.custom["client_id"], client_id.as_str());
    assert_eq!(claims.custom["scope"], "vault:work:read");

    // Remembered: the next authorization skips the page.
    let pkce2 = Pkce::new();
    let again = open_authorize(
        &mut rig.browser,
        &request(&client_id, &pkce2, "vault:read", Some(&resource)),
    );
    assert_eq!(again.status, 302, "{}", again.body);
    assert!(location_param(&again, "code").is_some());

    // Refresh rotates; the old refresh token then revokes the family.
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let rotated = refresh(port, &client_id, &first_refresh, None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = rotated.json();
    let second_refresh = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first_refresh);
    let escalate = refresh(
        port,
        &client_id,
        &second_refresh,
        Some("vault:work:read vault:work:write"),
    );
    assert_eq!(escalate.status, 400);
    assert_eq!(escalate.json()["error"], "invalid_scope");
    let reuse = refresh(port, &client_id, &first_refresh, None);
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    let after = refresh(port, &client_id, &second_refresh, None);
    assert_eq!(
        after.json()["error"],
        "invalid_grant",
        "the whole family was revoked"
    );

    // RFC 7009: revoking a live refresh token ends it; unknown tokens still answer 200.
    let code = authorize_to_code(
        &mut rig.browser,
        &request(&client_id, &pkce2, "vault:read", Some(&resource)),
    );
    let fresh = exchange(port, &client_id, &code, &pkce2.verifier).json();
    let live = fresh["refresh_token"].as_str().unwrap();
    let revoke = |token: &str| {
        parachute_tests::http::request(
            port,
            "POST",
            "/oauth/revoke",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(&format!("token={token}&client_id={client_id}")),
        )
        .unwrap()
    };
    assert_eq!(revoke(live).status, 200);
    assert_eq!(revoke("never-issued").status, 200);
    assert_eq!(
        refresh(port, &client_id, live, None).json()["error"],
        "invalid_grant"
    );
}

#[test]
fn pkce_codes_and_clients_are_checked() {
    let mut rig = Rig::new();
    let port = rig.hub.port;
    let client_id = rig.client("A");
    let resource = rig.resource("work");
    let pkce = Pkce::new();
    // Approve the client once (through consent), then work with skip-consent codes.
    let code = authorize_to_code(
        &mut rig.browser,
        &request(&client_id, &pkce, "vault:read", Some(&resource)),
    );

    // Missing or plain PKCE goes back to the client as invalid_request, with state.
    for method in ["", "plain"] {
        let mut req = request(&client_id, &pkce, "vault:read", Some(&resource));
        req.method = method;
        if method.is_empty() {
            req.challenge = "";
        }
        let refused = open_authorize(&mut rig.browser, &req);
        assert_eq!(refused.status, 302, "{}", refused.body);
        assert!(refused.header("location").unwrap().starts_with(REDIRECT));
        assert_eq!(
            location_param(&refused, "error").as_deref(),
            Some("invalid_request"),
            "{method:?}"
        );
        assert_eq!(location_param(&refused, "state").as_deref(), Some("st-123"));
        assert_eq!(location_param(&refused, "code"), None);
    }

    // Wrong verifier, then the right one works once; a replay revokes what it issued.
    let wrong = exchange(port, &client_id, &code, "x".repeat(43).as_str());
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let good = exchange(port, &client_id, &code, &pkce.verifier);
    assert_eq!(good.status, 200, "{}", good.body);
    let issued_refresh = good.json()["refresh_token"].as_str().unwrap().to_string();
    let replay = exchange(port, &client_id, &code, &pkce.verifier);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(
        refresh(port, &client_id, &issued_refresh, None).json()["error"],
        "invalid_grant",
        "the replay revoked the first exchange's tokens"
    );

    // Another client cannot redeem this client's code.
    let other = rig.client("B");
    let _ = authorize_to_code(
        &mut rig.browser,
        &request(&other, &Pkce::new(), "vault:read", Some(&resource)),
    );
    let code = authorize_to_code(
        &mut rig.browser,
        &request(&client_id, &pkce, "vault:read", Some(&resource)),
    );
    let stolen = exchange(port, &other, &code, &pkce.verifier);
    assert_eq!(stolen.json()["error"], "invalid_grant");

    // An expired code (its row aged past its minute) is refused.
    let code = authorize_to_code(
        &mut rig.browser,
        &request(&client_id, &pkce, "vault:read", Some(&resource)),
    );
    let conn = rusqlite::Connection::open(rig.home.path().join("hub.db")).unwrap();
    conn.execute(
        "UPDATE auth_codes SET expires_at = '2020-01-01T00:00:00.000Z' WHERE code = ?1",
        [&code],
    )
    .unwrap();
    let expired = exchange(port, &client_id, &code, &pkce.verifier);
    assert_eq!(expired.json()["error"], "invalid_grant");
    assert!(
        expired.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        expired.body
    );

    // A resource naming another vault than the code's audience.
    let code = authorize_to_code(
        &mut rig.browser,
        &request(&client_id, &pkce, "vault:read", Some(&resource)),
    );
    let other_vault = rig.resource("private");
    let target = token(
        port,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
            ("resource", &other_vault),
        ],
    );
    assert_eq!(target.json()["error"], "invalid_target", "{}", target.body);
}

#[test]
fn redirects_never_go_where_the_client_did_not_register() {
    let mut rig = Rig::new();
    let client_id = rig.client("A");
    let pkce = Pkce::new();
    let resource = rig.resource("work");
    let mut req = request(&client_id, &pkce, "vault:read", Some(&resource));
    req.redirect_uri = "https://evil.example/steal";
    let page = open_authorize(&mut rig.browser, &req);
    assert_eq!(page.status, 400);
    assert!(
        page.header("location").is_none(),
        "never redirected to an unregistered URI"
    );
    assert!(page.body.contains("did not register"), "{}", page.body);
    let unknown = open_authorize(
        &mut rig.browser,
        &request("no-such-client", &pkce, "vault:read", None),
    );
    assert_eq!(unknown.status, 400);
    assert!(unknown.header("location").is_none());

    // A state that looks like a URL is only echoed as a parameter of the registered URI.
    let mut req = request(&client_id, &pkce, "vault:read", Some(&resource));
    req.state = "https://evil.example/";
    let page = open_authorize(&mut rig.browser, &req);
    let denied = answer_consent(&mut rig.browser, &page, &req, "deny");
    assert_eq!(denied.status, 302);
    let location = denied.header("location").unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(
        location_param(&denied, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        location_param(&denied, "state").as_deref(),
        Some("https://evil.example/")
    );

    // The approve form's return_to stays on the hub's authorize path.
    let pending = rig.client("C");
    let csrf = rig.browser.get("/api/me").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let approved = rig.browser.post_form(
        "/oauth/authorize/approve",
        &[
            ("__csrf", &csrf),
            ("client_id", &pending),
            ("return_to", "https://evil.example/"),
        ],
    );
    assert_eq!(approved.status, 302);
    assert_eq!(approved.header("location"), Some("/admin"));
    assert_eq!(
        db(rig.home.path())
            .client(&pending)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "approved"
    );
}

#[test]
fn scopes_resources_and_approvals_are_refused_where_they_should_be() {
    let mut rig = Rig::new();
    let client_id = rig.client("A");
    let pkce = Pkce::new();
    let resource = rig.resource("work");

    // A resource for one vault with another vault's scopes.
    let refused = open_authorize(
        &mut rig.browser,
        &request(&client_id, &pkce, "vault:private:read", Some(&resource)),
    );
    assert_eq!(
        location_param(&refused, "error").as_deref(),
        Some("invalid_target")
    );
    // Operator-only scopes are never requestable.
    let refused = open_authorize(
        &mut rig.browser,
        &request(&client_id, &pkce, "parachute:host:admin", None),
    );
    assert_eq!(
        location_param(&refused, "error").as_deref(),
        Some("invalid_scope")
    );

    // The consent post needs the CSRF token and the hub's own origin.
    let req = request(&client_id, &pkce, "vault:read", Some(&resource));
    let page = open_authorize(&mut rig.browser, &req);
    assert_eq!(page.status, 200);
    let csrf = csrf_field(&page.body);
    let mut fields = vec![
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "vault:read"),
        ("state", "st-123"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", resource.as_str()),
        ("decision", "approve"),
    ];
    let no_csrf = rig.browser.post_form("/oauth/authorize", &fields);
    assert_eq!(no_csrf.status, 400);
    fields.push(("__csrf", &csrf));
    let foreign = rig.browser.post_form_with(
        "/oauth/authorize",
        &fields,
        &[("origin", "https://evil.example")],
    );
    assert_eq!(foreign.status, 403);
    let approve_foreign = rig.browser.post_form_with(
        "/oauth/authorize/approve",
        &[("__csrf", &csrf), ("client_id", &client_id)],
        &[("origin", "https://evil.example")],
    );
    assert_eq!(approve_foreign.status, 403);
    assert_eq!(
        db(rig.home.path())
            .client(&client_id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "pending"
    );

    // Someone who is not the admin cannot approve a pending client, nor get a code for it.
    db(rig.home.path())
        .create_user("friend", "friend-password-1")
        .unwrap();
    let mut friend = WebClient::new(rig.hub.port);
    sign_in(&mut friend, "friend", "friend-password-1");
    let waiting = open_authorize(&mut friend, &req);
    assert_eq!(waiting.status, 403);
    assert!(
        waiting.body.contains("only the hub's admin can approve"),
        "{}",
        waiting.body
    );
    assert_eq!(
        token(
            rig.hub.port,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &pkce.verifier)
            ]
        )
        .json()["error"],
        "invalid_client",
        "a pending client gets nothing from the token endpoint"
    );
}

#[test]
fn the_token_endpoint_slows_a_client_down() {
    let rig = Rig::new();
    let client_id = rig.client("Noisy");
    let mut last: Option<Value> = None;
    let mut limited = None;
    for i in 0..40 {
        let answer = refresh(rig.hub.port, &client_id, "guess", None);
        if answer.status == 429 {
            limited = Some((i, answer));
            break;
        }
        last = Some(answer.json());
    }
    let (at, answer) = limited.expect("the limiter answered 429");
    assert_eq!(at, 30, "thirty requests a minute per client");
    assert!(answer.header("retry-after").is_some());
    assert_eq!(
        last.unwrap()["error"],
        "invalid_client",
        "pending clients are refused before"
    );
    // Another client is unaffected.
    let other = rig.client("Quiet");
    assert_eq!(refresh(rig.hub.port, &other, "guess", None).status, 401);
}

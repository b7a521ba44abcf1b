//! First-run setup as the original's `parachute setup-wizard` verb drives it: `GET
//! /admin/setup` with `Accept: application/json` for the state and CSRF token, then one JSON
//! POST per step carrying `__csrf` and the cookies (the bootstrap token from the startup
//! output, the session the account step sets). Also the refusals: no or wrong bootstrap token,
//! no CSRF, a foreign Origin, a second claim, steps without a session.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use parachute_tests::TestHome;
use parachute_tests::http::{Response, request};
use parachute_tests::hub::HubProcess;
use serde_json::{Value, json};

/// The cookies the verb keeps between requests.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, r: &Response) {
        for (k, v) in &r.headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

fn state(port: u16, jar: &mut Jar) -> Value {
    let cookie = jar.header();
    let r = request(
        port,
        "GET",
        "/admin/setup",
        &[("accept", "application/json"), ("cookie", &cookie)],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    jar.take(&r);
    r.json()
}

fn post(port: u16, jar: &mut Jar, step: &str, body: Value, extra: &[(&str, &str)]) -> Response {
    let cookie = jar.header();
    let mut headers = vec![
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("cookie", cookie.as_str()),
    ];
    headers.extend_from_slice(extra);
    let r = request(
        port,
        "POST",
        &format!("/admin/setup/{step}"),
        &headers,
        Some(&body.to_string()),
    )
    .unwrap();
    jar.take(&r);
    r
}

fn bootstrap_token(hub: &HubProcess) -> String {
    let line = hub.wait_for_line("setup bootstrap token", Duration::from_secs(10));
    let token = line.rsplit(' ').next().unwrap().to_owned();
    assert!(token.starts_with("parachute-bootstrap-"), "{line}");
    token
}

#[test]
fn the_wizard_verbs_requests_walk_every_step() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let token = bootstrap_token(&hub);
    let mut jar = Jar::default();
    let s = state(hub.port, &mut jar);
    assert_eq!(s["step"], "welcome");
    assert_eq!(s["hasAdmin"], false);
    assert_eq!(s["requireBootstrapToken"], true);
    let csrf = s["csrfToken"].as_str().unwrap().to_owned();
    assert_eq!(jar.0.get("parachute_hub_csrf"), Some(&csrf));

    let account = |tok: &str| {
        json!({"__csrf": csrf, "username": "owner", "password": "long enough pw",
               "password_confirm": "long enough pw", "bootstrap_token": tok})
    };
    // Refusals first: nothing is created by any of them.
    let r = post(
        hub.port,
        &mut jar,
        "account",
        account("parachute-bootstrap-nope"),
        &[],
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "Bootstrap token rejected");
    let mut no_csrf = account(&token);
    no_csrf["__csrf"] = json!("other");
    let r = post(hub.port, &mut jar, "account", no_csrf, &[]);
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("Invalid form submission"))
    );
    let r = post(
        hub.port,
        &mut jar,
        "account",
        account(&token),
        &[("origin", "https://evil.example")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let mut short = account(&token);
    short["password"] = json!("short");
    short["password_confirm"] = json!("short");
    let r = post(hub.port, &mut jar, "account", short, &[]);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Password must be at least 8 characters."
    );
    assert_eq!(state(hub.port, &mut jar)["hasAdmin"], false);

    // The account step: admin, session, operator token.
    let r = post(hub.port, &mut jar, "account", account(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["step"], "vault");
    assert!(jar.0.contains_key("parachute_hub_session"));
    let op = home.path().join("operator.token");
    assert_eq!(
        std::fs::metadata(&op).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The token was one-shot.
    let r = post(hub.port, &mut jar, "account", account(&token), &[]);
    assert_eq!((r.status, r.json()["error"].clone()), (200, json!(null)));
    let s = state(hub.port, &mut jar);
    assert_eq!(
        (s["step"].clone(), s["requireBootstrapToken"].clone()),
        (json!("vault"), json!(false))
    );

    // Vault and expose need the session.
    let mut stranger = Jar::default();
    let sc = state(hub.port, &mut stranger)["csrfToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        hub.port,
        &mut stranger,
        "vault",
        json!({"__csrf": sc, "mode": "skip"}),
        &[],
    );
    assert_eq!(r.status, 401);
    let r = post(
        hub.port,
        &mut jar,
        "vault",
        json!({"__csrf": csrf, "mode": "create", "vault_name": "Bad Name"}),
        &[],
    );
    assert_eq!(r.status, 400);
    let r = post(
        hub.port,
        &mut jar,
        "vault",
        json!({"__csrf": csrf, "mode": "skip"}),
        &[],
    );
    assert_eq!(
        r.json(),
        json!({"step": "expose", "message": "vault step skipped"})
    );
    let r = post(
        hub.port,
        &mut jar,
        "expose",
        json!({"__csrf": csrf, "expose_mode": "everywhere"}),
        &[],
    );
    assert_eq!(r.status, 400);
    let r = post(
        hub.port,
        &mut jar,
        "expose",
        json!({"__csrf": csrf, "expose_mode": "localhost"}),
        &[],
    );
    assert_eq!(r.json()["step"], "done", "{}", r.body);
    assert_eq!(state(hub.port, &mut jar)["step"], "done");

    // Finished: a stranger's browser is sent to sign in; the API is open to the operator token.
    let r = request(
        hub.port,
        "GET",
        "/admin/setup",
        &[("accept", "text/html")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/login?return_to=%2Fadmin%2F"));
    let bearer = format!("Bearer {}", std::fs::read_to_string(&op).unwrap().trim());
    let r = request(
        hub.port,
        "GET",
        "/api/modules?latest=0",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn a_browser_form_post_is_answered_with_a_redirect() {
    let home = TestHome::new();
    let hub = HubProcess::start(home.path());
    let token = bootstrap_token(&hub);
    let mut jar = Jar::default();
    let csrf = state(hub.port, &mut jar)["csrfToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = jar.header();
    let form = format!(
        "__csrf={csrf}&username=owner&password=long+enough+pw&password_confirm=long+enough+pw&bootstrap_token={token}"
    );
    let r = request(
        hub.port,
        "POST",
        "/admin/setup/account",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &cookie),
            ("origin", &format!("http://127.0.0.1:{}", hub.port)),
        ],
        Some(&form),
    )
    .unwrap();
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/admin/setup"));
    assert!(
        r.header("set-cookie")
            .unwrap()
            .starts_with("parachute_hub_session=")
    );
}

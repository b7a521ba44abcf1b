//! OAuth helpers for the suites: PKCE pairs, registering a client, and walking
//! `/oauth/authorize` as a signed-in browser (consent page included) to a code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::http::Response;
use crate::web::{WebClient, csrf_field, encode};

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    /// The verifier the client keeps.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn new() -> Self {
        let bytes: [u8; 32] = std::array::from_fn(|_| rand_byte());
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

fn rand_byte() -> u8 {
    let mut b = [0u8; 1];
    getrandom(&mut b);
    b[0]
}

fn getrandom(buf: &mut [u8]) {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("/dev/urandom");
}

/// Registers a public client with `redirect_uri`; returns the registration answer.
pub fn register(port: u16, name: &str, redirect_uri: &str) -> Value {
    let body = json!({"client_name": name, "redirect_uris": [redirect_uri],
                      "token_endpoint_auth_method": "none"});
    let answer = crate::http::request(
        port,
        "POST",
        "/oauth/register",
        &[("content-type", "application/json")],
        Some(&body.to_string()),
    )
    .unwrap();
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()
}

/// An authorization request.
pub struct AuthorizeRequest<'a> {
    /// `client_id`.
    pub client_id: &'a str,
    /// `redirect_uri`.
    pub redirect_uri: &'a str,
    /// `scope`.
    pub scope: &'a str,
    /// `state`.
    pub state: &'a str,
    /// RFC 8707 `resource`, if any.
    pub resource: Option<&'a str>,
    /// `code_challenge`.
    pub challenge: &'a str,
    /// `code_challenge_method`.
    pub method: &'a str,
}

impl AuthorizeRequest<'_> {
    /// The query string of the request.
    pub fn query(&self) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state),
            ("code_challenge", self.challenge),
            ("code_challenge_method", self.method),
        ];
        if let Some(r) = self.resource {
            pairs.push(("resource", r));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The consent form's hidden fields.
    fn fields(&self) -> Vec<(&str, &str)> {
        let mut f = vec![
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state),
            ("code_challenge", self.challenge),
            ("code_challenge_method", self.method),
        ];
        if let Some(r) = self.resource {
            f.push(("resource", r));
        }
        f
    }
}

/// `GET /oauth/authorize` as `web`.
pub fn open_authorize(web: &mut WebClient, req: &AuthorizeRequest<'_>) -> Response {
    web.get(&format!("/oauth/authorize?{}", req.query()))
}

/// Posts the consent form of `page` with `decision` (`approve` or `deny`).
pub fn answer_consent(
    web: &mut WebClient,
    page: &Response,
    req: &AuthorizeRequest<'_>,
    decision: &str,
) -> Response {
    let csrf = csrf_field(&page.body);
    let mut fields = req.fields();
    fields.push(("__csrf", &csrf));
    fields.push(("decision", decision));
    web.post_form("/oauth/authorize", &fields)
}

/// The query parameters of a `Location` header.
pub fn location_params(response: &Response) -> Vec<(String, String)> {
    let location = response
        .header("location")
        .unwrap_or_else(|| panic!("no Location ({}): {}", response.status, response.body));
    let url = url_query(location);
    url.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One query parameter of a `Location` header.
pub fn location_param(response: &Response, name: &str) -> Option<String> {
    location_params(response)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn url_query(location: &str) -> &str {
    location.split_once('?').map_or("", |(_, q)| q)
}

/// Percent-decoding of a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Walks the authorization to a code: opens it, approves the consent page when shown, and
/// returns the code from the redirect (asserting `state` came back).
pub fn authorize_to_code(web: &mut WebClient, req: &AuthorizeRequest<'_>) -> String {
    let first = open_authorize(web, req);
    let done = match first.status {
        302 => first,
        200 => answer_consent(web, &first, req, "approve"),
        other => panic!("authorize answered {other}: {}", first.body),
    };
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.header("location").unwrap();
    assert!(location.starts_with(req.redirect_uri), "{location}");
    assert_eq!(location_param(&done, "state").as_deref(), Some(req.state));
    location_param(&done, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// `POST /oauth/token` with form `fields`.
pub fn token(port: u16, fields: &[(&str, &str)]) -> Response {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    crate::http::request(
        port,
        "POST",
        "/oauth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
    .unwrap()
}

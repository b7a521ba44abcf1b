//! A browser-like HTTP client for the sign-in suites: keeps cookies the way a browser does
//! (set, replace, forget on `Max-Age=0`; per name only, which is enough for one loopback
//! origin), never follows redirects by itself, and pulls the CSRF field out of the hub's forms.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::http::Response;

/// A cookie-keeping client for one hub.
pub struct WebClient {
    /// The hub's port on 127.0.0.1.
    port: u16,
    /// Cookies by name.
    pub cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` value seen, in order (to check attributes).
    pub set_cookies: Vec<String>,
    /// Headers sent with every request (a forwarded address, an `Origin`, …).
    pub extra_headers: Vec<(String, String)>,
    /// The underlying client.
    client: reqwest::blocking::Client,
}

impl WebClient {
    /// A client with no cookies.
    pub fn new(port: u16) -> Self {
        Self {
            port,
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            extra_headers: Vec::new(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("http client"),
        }
    }

    /// The origin the hub is reached on.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `Cookie:` as a browser would send it.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    /// `POST path` with a form body from `fields`, sent from the hub's own origin.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let origin = self.origin();
        self.post_form_with(path, fields, &[("origin", &origin)])
    }

    /// `POST path` with a form body and extra headers (no `Origin` unless given).
    pub fn post_form_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.send("POST", path, &all, Some(body))
    }

    /// Sends a request with the jar's cookies and records the answer's cookies.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.origin()));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (k, v) in &self.extra_headers {
            req = req.header(k.as_str(), v.as_str());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                self.remember(v);
            }
        }
        let body = resp.text().unwrap_or_default();
        Response {
            status,
            headers,
            body,
        }
    }

    fn remember(&mut self, set_cookie: &str) {
        self.set_cookies.push(set_cookie.to_string());
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
            return;
        };
        let expired = parts.any(|p| p.trim().eq_ignore_ascii_case("max-age=0"));
        if expired || value.is_empty() {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_string(), value.to_string());
        }
    }

    /// The last `Set-Cookie` value for `name`.
    pub fn last_set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .rev()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }
}

/// The value of the hidden `__csrf` field in a page.
pub fn csrf_field(page: &str) -> String {
    let marker = "name=\"__csrf\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no __csrf field in the page: {page}"))
        + marker.len();
    let end = page[start..].find('"').expect("end of the value") + start;
    page[start..end].to_string()
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

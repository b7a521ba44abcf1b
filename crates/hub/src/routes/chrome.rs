//! The chrome strip: a thin bar back to the hub (brand, Home, who is signed in, sign out)
//! injected after the `<body>` tag of module pages the proxy returns, as the original does.
//!
//! Only complete, non-streamed answers are touched: status 200, `text/html`, no
//! `Content-Encoding`, a declared `Content-Length` of at most [`MAX_INJECT_BYTES`] (an answer
//! without one is a stream and passes untouched, as does everything else), a path outside
//! [`OPT_OUT_PREFIXES`], and a page that has a `<body>` and no strip yet.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use parachute_auth::csrf::{CSRF_FIELD_NAME, ensure_csrf_token};

use crate::routes::admin::escape;
use crate::routes::signin::origin::is_https;
use crate::routes::signin::session::{append_cookie, signed_in};
use crate::state::AppState;

/// Largest page that gets the strip (the original's limit).
pub const MAX_INJECT_BYTES: u64 = 256 * 1024;

/// Paths whose pages draw their own chrome (the original's list).
pub const OPT_OUT_PREFIXES: &[&str] = &["/surface/notes/"];

/// Marks a page that already has the strip.
const MARKER: &str = "class=\"pc-chrome\"";

const STYLE: &str = ".pc-chrome{position:sticky;top:0;z-index:100;height:32px;display:flex;align-items:center;gap:1rem;padding:0 1rem;background:#f3f0ea;color:#2c2a26;border-bottom:1px solid #e4e0d8;font:14px system-ui,-apple-system,sans-serif;box-sizing:border-box}.pc-chrome a{color:inherit;text-decoration:none}.pc-chrome .pc-chrome-nav a{color:#6b6860}.pc-chrome-auth{margin-left:auto;display:inline-flex;gap:.4rem;align-items:center;color:#6b6860}.pc-chrome-auth button,.pc-chrome-auth a{background:none;border:0;padding:0;font:inherit;color:#4a7c59;text-decoration:underline;cursor:pointer}.pc-chrome form{display:inline;margin:0}";

/// The strip's HTML for a signed-in user (with the sign-out form's CSRF token) or a stranger.
pub fn strip(user: Option<(&str, &str)>, path: &str) -> String {
    let auth = match user {
        Some((name, csrf)) => format!(
            "<span>Signed in as <strong>{}</strong></span><form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"{CSRF_FIELD_NAME}\" value=\"{}\"><button type=\"submit\">Sign out</button></form>",
            escape(name),
            escape(csrf)
        ),
        None => {
            let back: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            format!("<a href=\"/login?return_to={back}\">Sign in</a>")
        }
    };
    format!(
        "<style>{STYLE}</style><header {MARKER} role=\"banner\"><a href=\"/\"><strong>Parachute</strong></a><nav class=\"pc-chrome-nav\" aria-label=\"Hub\"><a href=\"/\">Home</a> <a href=\"/admin/\">Dashboard</a></nav><div class=\"pc-chrome-auth\">{auth}</div></header>"
    )
}

/// `html` with `chrome` after its first `<body…>` tag; `None` when it has no body tag or
/// already carries a strip.
pub fn inject(html: &str, chrome: &str) -> Option<String> {
    if html.contains(MARKER) {
        return None;
    }
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    let start = loop {
        let at = from + lower[from..].find("<body")?;
        let next = lower.as_bytes().get(at + 5).copied();
        if matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
            break at;
        }
        from = at + 5;
    };
    let end = start + html[start..].find('>')? + 1;
    Some(format!("{}{chrome}{}", &html[..end], &html[end..]))
}

/// Whether a proxied answer qualifies (see the module docs), before its body is read.
pub fn qualifies(path: &str, response: &Response) -> bool {
    let h = response.headers();
    let text = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let length = text(header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    response.status() == StatusCode::OK
        && text(header::CONTENT_TYPE).is_some_and(|t| t.to_ascii_lowercase().contains("text/html"))
        && !h.contains_key(header::CONTENT_ENCODING)
        && length.is_some_and(|n| n <= MAX_INJECT_BYTES)
        && !OPT_OUT_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// The proxy's hook: the answer with the strip when it qualifies, else exactly as it came.
/// `request` is the incoming request's headers (for the session and CSRF cookies).
pub async fn decorate(
    state: &AppState,
    path: &str,
    request: &HeaderMap,
    response: Response,
) -> Response {
    if !qualifies(path, &response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The declared length bounds the read; a module that sends more is cut off by the limit.
    let bytes = match axum::body::to_bytes(body, MAX_INJECT_BYTES as usize).await {
        Ok(b) => b,
        Err(err) => {
            tracing::warn!(%err, path, "proxy: a module page ended early");
            let mut r = Response::new(Body::from("the module's page ended early"));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            return r;
        }
    };
    let Ok(html) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let secure = is_https(state, request);
    let cookies = request.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let who = signed_in(state, request).ok().flatten();
    let csrf = who.as_ref().map(|_| ensure_csrf_token(cookies, secure));
    let user = who
        .as_ref()
        .zip(csrf.as_ref())
        .map(|(w, c)| (w.user.username.as_str(), c.token.as_str()));
    let Some(page) = inject(html, &strip(user, path)) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
    let mut response = Response::from_parts(parts, Body::from(page));
    if let Some(cookie) = csrf.and_then(|c| c.set_cookie) {
        append_cookie(&mut response, &cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_goes_after_the_first_body_tag_once() {
        let page = "<html><bodyx></bodyx><BODY class=\"a\">hi</BODY></html>";
        let out = inject(page, "<header class=\"pc-chrome\"></header>").unwrap();
        assert_eq!(
            out,
            "<html><bodyx></bodyx><BODY class=\"a\"><header class=\"pc-chrome\"></header>hi</BODY></html>"
        );
        assert!(inject(&out, "<x>").is_none());
        assert!(inject("<p>fragment</p>", "<x>").is_none());
    }

    #[test]
    fn names_and_tokens_are_escaped() {
        let s = strip(Some(("<b>", "t\"x")), "/m");
        assert!(s.contains("&lt;b&gt;") && s.contains("t&quot;x"), "{s}");
        assert!(strip(None, "/vault/a b").contains("return_to=%2Fvault%2Fa+b"));
    }
}

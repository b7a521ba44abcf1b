//! The server-rendered pages of sign-in (and, through [`document`] and [`STYLE`], of the
//! consent and account pages): small, no script, no third-party fonts, usable at 375 px and
//! by keyboard. Every interpolated value goes through [`escape`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use parachute_auth::csrf::CSRF_FIELD_NAME;

/// The stylesheet every hub page shares (inline: the pages must work before sign-in and
/// without the dashboard's bundle).
pub const STYLE: &str = r#"
:root{--bg:#f7f5f0;--card:#fff;--fg:#26241f;--muted:#6a665d;--line:#e2ddd3;--accent:#3f6f4f;
--accent-fg:#fff;--danger:#a23a2c;--danger-bg:#fbeeec;--ok-bg:#edf5ef;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#181714;--card:#22211d;--fg:#ece8df;--muted:#a7a297;
--line:#3a3832;--accent:#7fb38f;--accent-fg:#10140f;--danger:#f08b7d;--danger-bg:#3a201c;--ok-bg:#1d2c21}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:flex-start;justify-content:center;
background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{width:100%;max-width:26rem;margin:8vh 1rem 2rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
.brand{display:flex;align-items:center;gap:.5rem;margin:0 0 1rem;color:var(--muted);font-size:.9rem}
.brand b{color:var(--fg);font-weight:600}
h1{font-size:1.35rem;margin:0 0 .25rem}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.92rem}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;padding:.65rem .75rem;font:inherit;color:inherit;
background:transparent;border:1px solid var(--line);border-radius:8px}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.actions{display:flex;gap:.75rem;margin-top:1.25rem;flex-wrap:wrap}
button{flex:1 1 8rem;padding:.7rem 1rem;font:inherit;font-weight:600;border-radius:8px;cursor:pointer;
border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg)}
button.secondary{background:transparent;color:var(--fg);border-color:var(--line)}
.error{background:var(--danger-bg);color:var(--danger);border-radius:8px;padding:.6rem .75rem;margin:.75rem 0}
.notice{background:var(--ok-bg);border-radius:8px;padding:.6rem .75rem;margin:.75rem 0}
code{font:.9em ui-monospace,Menlo,monospace;word-break:break-all}
ul.plain{padding-left:1.1rem;margin:.5rem 0}
"#;

/// HTML-escapes `s` for text and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page: `title` (escaped here) and `body` (already HTML).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"same-origin\"><title>{title} · Parachute</title>\
<style>{STYLE}</style></head><body><main><div class=\"card\">\
<div class=\"brand\" aria-hidden=\"true\">◠ <b>Parachute</b> hub</div>{body}</div></main></body></html>",
        title = escape(title),
    )
}

/// An HTML answer that is never cached and may not be framed by other sites.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut response = (status, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD_NAME}\" value=\"{}\">",
        escape(token)
    )
}

/// An error box (or nothing).
fn error_box(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    })
}

/// The password form.
pub fn login_page(next: &str, csrf: &str, username: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Sign in</h1><p class=\"muted\">Sign in to manage this hub.</p>{error}\
<form method=\"post\" action=\"/login\">{csrf}\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label for=\"username\">Username</label>\
<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" \
spellcheck=\"false\" required value=\"{username}\"{focus_user}>\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{focus_pass}>\
<div class=\"actions\"><button type=\"submit\">Sign in</button></div></form>",
        error = error_box(error),
        csrf = csrf_field(csrf),
        next = escape(next),
        username = escape(username),
        focus_user = if username.is_empty() {
            " autofocus"
        } else {
            ""
        },
        focus_pass = if username.is_empty() {
            ""
        } else {
            " autofocus"
        },
    );
    document("Sign in", &body)
}

/// The second-factor form.
pub fn second_factor_page(next: &str, csrf: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Two-step verification</h1>\
<p class=\"muted\">Enter the 6-digit code from your authenticator app, or one of your backup codes.</p>{error}\
<form method=\"post\" action=\"/login/2fa\">{csrf}\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label for=\"code\">Authentication code</label>\
<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"text\" autocomplete=\"one-time-code\" \
autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\
<div class=\"actions\"><button type=\"submit\">Verify</button></div></form>\
<p class=\"muted\"><a href=\"/login\">Start over</a></p>",
        error = error_box(error),
        csrf = csrf_field(csrf),
        next = escape(next),
    );
    document("Two-step verification", &body)
}

/// A page that only says what went wrong and where to go next.
pub fn message_page(title: &str, message: &str, link: (&str, &str)) -> String {
    let body = format!(
        "<h1>{title}</h1><p class=\"error\" role=\"alert\">{message}</p>\
<p><a href=\"{href}\">{label}</a></p>",
        title = escape(title),
        message = escape(message),
        href = escape(link.0),
        label = escape(link.1),
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_into_the_form() {
        let page = login_page("/a\"><script>", "tok", "<b>", Some("x<y"));
        assert!(page.contains("value=\"/a&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("value=\"&lt;b&gt;\""));
        assert!(page.contains("x&lt;y"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("<label for=\"username\">Username</label>"));
        assert!(page.contains("<button type=\"submit\">Sign in</button>"));
    }
}

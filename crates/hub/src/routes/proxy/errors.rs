//! Answers the proxy gives instead of the module's: not found, still starting, unreachable.
//!
//! HTML for callers whose `Accept` mentions `text/html` (browsers), JSON or plain text for
//! everyone else, so scripts and `curl` get something short and machine-readable.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_supervisor::{ModuleState, ModuleStatus};
use serde_json::json;

/// How long after a spawn a refused connection still counts as "starting" (the original's
/// boot window).
pub const BOOT_WINDOW: Duration = Duration::from_secs(30);
/// Retry cadence suggested to callers while a module starts.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);
/// How many retries the waiting page (and a JSON client) should make before giving up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Where an operator inspects and restarts modules.
pub const ADMIN_MODULES_URL: &str = "/admin/modules";

/// Why the module did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamState {
    /// On its way up: worth retrying in a moment (503).
    Transient,
    /// Down until someone acts (502).
    Persistent,
}

/// Classifies a failed connection from the supervisor's view of the module: spawning or
/// respawning, or running but not yet answering, or spawned less than [`BOOT_WINDOW`] ago, is
/// transient; so is a module the supervisor does not know yet while the hub is still `booting`.
/// Stopped, crashed, flagged unbound after its window, or unknown to a booted hub (nothing
/// will bring it up by itself) is persistent.
pub fn classify(state: Option<&ModuleState>, booting: bool, now: SystemTime) -> UpstreamState {
    let Some(state) = state else {
        return if booting {
            UpstreamState::Transient
        } else {
            UpstreamState::Persistent
        };
    };
    let transient = match state.status {
        ModuleStatus::Starting | ModuleStatus::Restarting => true,
        ModuleStatus::Stopped | ModuleStatus::Crashed => false,
        ModuleStatus::Running => {
            state.is_transient()
                || state
                    .started_at
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age < BOOT_WINDOW)
        }
    };
    if transient {
        UpstreamState::Transient
    } else {
        UpstreamState::Persistent
    }
}

/// Whether the caller asked for HTML.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// 404: a small page for browsers, `not found` for everyone else.
pub fn not_found(headers: &HeaderMap, path: &str) -> Response {
    if wants_html(headers) {
        let body = page(
            "Not found",
            &format!(
                "<p>Nothing on this hub answers <code>{}</code>.</p>\
                 <p><a href=\"/\">Back to the hub</a> · <a href=\"{ADMIN_MODULES_URL}\">Modules</a></p>",
                escape(path)
            ),
            "",
        );
        return html(StatusCode::NOT_FOUND, body);
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found",
    )
        .into_response()
}

/// The module `short` (row `name`) did not accept the connection: 503 with `Retry-After` while
/// it is starting, 502 with pointers to the dashboard and the CLI otherwise; HTML when the
/// caller asked for it ([`wants_html`]).
pub fn upstream_failed(
    html_wanted: bool,
    state: UpstreamState,
    short: &str,
    name: &str,
    detail: &str,
) -> Response {
    let mut response = match (state, html_wanted) {
        (UpstreamState::Transient, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "error": "upstream_starting",
                "error_type": "upstream_starting",
                "error_description": format!("{name} is still starting up; retry in a few seconds"),
                "service": short,
                "retry_after_ms": RETRY_AFTER.as_millis() as u64,
                "max_attempts": MAX_ATTEMPTS,
            })),
        )
            .into_response(),
        (UpstreamState::Transient, true) => {
            html(StatusCode::SERVICE_UNAVAILABLE, starting_page(short, name))
        }
        (UpstreamState::Persistent, false) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({
                "error": "upstream_unreachable",
                "error_type": "upstream_unreachable",
                "error_description": format!(
                    "{name} is not answering ({detail}). See its state and logs at {ADMIN_MODULES_URL}, or run `parachute status` and `parachute logs {short}`; `parachute restart {short}` starts it again"
                ),
                "service": short,
                "admin_url": ADMIN_MODULES_URL,
            })),
        )
            .into_response(),
        (UpstreamState::Persistent, true) => html(StatusCode::BAD_GATEWAY, down_page(short, name)),
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if state == UpstreamState::Transient {
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_AFTER.as_secs()),
        );
    }
    response
}

fn starting_page(short: &str, name: &str) -> String {
    let script = format!(
        r#"<script>
(function () {{
  var short = {short_js}, left = {MAX_ATTEMPTS}, every = {every};
  var note = document.getElementById('note');
  function check() {{
    if (left-- <= 0) {{ note.textContent = 'Still not up. Reload when you are ready, or check the modules page.'; return; }}
    fetch('/api/ready', {{ headers: {{ accept: 'application/json' }}, cache: 'no-store' }})
      .then(function (r) {{ return r.json(); }})
      .then(function (d) {{
        if (d && (d.ready || (d.ready_modules || []).indexOf(short) >= 0)) {{ location.reload(); }}
        else {{ setTimeout(check, every); }}
      }})
      .catch(function () {{ setTimeout(check, every); }});
  }}
  setTimeout(check, every);
}})();
</script>"#,
        short_js = serde_json::to_string(short).unwrap_or_default(),
        every = RETRY_AFTER.as_millis(),
    );
    page(
        "Starting…",
        &format!(
            "<p><code>{}</code> is starting up. This page reloads by itself once it answers.</p>\
             <p id=\"note\" class=\"muted\">Checking every {} seconds.</p>",
            escape(name),
            RETRY_AFTER.as_secs()
        ),
        &script,
    )
}

fn down_page(short: &str, name: &str) -> String {
    page(
        "Module not answering",
        &format!(
            "<p><code>{}</code> is not answering: it may have stopped, crashed or failed to start.</p>\
             <p><a href=\"{ADMIN_MODULES_URL}\">Open the modules page</a> to see its state and logs and restart it.</p>\
             <p class=\"muted\">From a terminal: <code>parachute status</code>, <code>parachute logs {}</code>, \
             <code>parachute restart {}</code>.</p>",
            escape(name),
            escape(short),
            escape(short)
        ),
        "",
    )
}

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Parachute</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d232b}}\
         code{{background:#eef1f4;padding:0 .25rem;border-radius:3px}}.muted{{color:#66707c}}</style></head>\
         <body><h1>{title}</h1>{body}{script}</body></html>"
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(body),
    )
        .into_response()
}

/// Minimal HTML escaping for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: ModuleStatus, ready: bool, age: Option<u64>, now: SystemTime) -> ModuleState {
        let mut s = blank();
        s.status = status;
        s.ready = ready;
        s.started_at = age.map(|a| now - Duration::from_secs(a));
        s
    }

    fn blank() -> ModuleState {
        ModuleState {
            short: "m".into(),
            status: ModuleStatus::Running,
            pid: None,
            port: None,
            started_at: None,
            ready: false,
            consecutive_crashes: 0,
            total_restarts: 0,
            last_crash_at: None,
            last_exit: None,
            next_retry_at: None,
            start_error: None,
        }
    }

    #[test]
    fn classification_follows_the_supervisor() {
        let now = SystemTime::now();
        let t = UpstreamState::Transient;
        let p = UpstreamState::Persistent;
        assert_eq!(classify(None, false, now), p);
        assert_eq!(classify(None, true, now), t);
        let cases = [
            (ModuleStatus::Starting, false, None, t),
            (ModuleStatus::Restarting, false, Some(100), t),
            (ModuleStatus::Running, false, Some(100), t),
            (ModuleStatus::Running, true, Some(5), t),
            (ModuleStatus::Running, true, Some(100), p),
            (ModuleStatus::Stopped, false, Some(1), p),
            (ModuleStatus::Crashed, false, Some(1), p),
        ];
        for (status, ready, age, want) in cases {
            let s = state(status, ready, age, now);
            assert_eq!(
                classify(Some(&s), false, now),
                want,
                "{status:?} ready={ready} age={age:?}"
            );
        }
    }

    #[test]
    fn html_only_when_asked_for() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        assert!(wants_html(&h));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

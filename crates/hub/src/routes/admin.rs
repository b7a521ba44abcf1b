//! The dashboard (`parachute-ui`, embedded) under `/admin`, and the hub page at `/` and
//! `/hub.html`.
//!
//! - `/admin/assets/*`: the build's hashed files, cached for a year (`immutable`), open before
//!   setup so the setup page can load.
//! - `/admin`, `/admin/*`: the SPA's `index.html` for every client-side route (never cached);
//!   a browser without a live session is sent to `/login?return_to=<path>`, except on
//!   `/admin/setup`, which setup serves itself (see `setup/`).
//! - `/`, `/hub.html`: 302 to `/admin/setup` until an admin and a vault exist (as the
//!   original), else a small page listing what the hub serves with a link to the dashboard.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use parachute_home::services;

use crate::auth::request_issuer;
use crate::state::AppState;

/// `Cache-Control` of hashed assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// An embedded file as an answer.
fn asset_response(asset: parachute_ui::Asset) -> Response {
    let cache = if asset.immutable {
        IMMUTABLE
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}

/// `GET /admin/assets/{*file}`: a hashed build file, or 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match parachute_ui::file(&format!("assets/{file}")) {
        Some(a) => asset_response(a),
        None => (StatusCode::NOT_FOUND, "no such dashboard asset").into_response(),
    }
}

/// Whether the request carries a live browser session.
pub fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    matches!(state.db().session_from_cookie(cookie), Ok(Some(_)))
}

/// `302 Found` to `location` (the original's status for these redirects; axum's `Redirect`
/// has no 302).
pub fn found(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The sign-in page with a way back to `path_and_query`.
pub fn login_redirect(path_and_query: &str) -> Response {
    let back: String = url::form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
    found(&format!("/login?return_to={back}"))
}

/// `GET /admin`, `/admin/{*rest}`: a top-level file of the build (`favicon.svg`), else the
/// SPA shell for a signed-in browser.
pub async fn shell(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if let Some(rest) = path.strip_prefix("/admin/")
        && !rest.contains('/')
        && rest != "index.html"
        && let Some(a) = parachute_ui::file(rest)
    {
        return asset_response(a);
    }
    if !signed_in(&state, request.headers()) {
        let pq = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(path);
        return login_redirect(pq);
    }
    spa_index()
}

/// The SPA's entry page (setup serves it too).
pub fn spa_index() -> Response {
    let mut r = asset_response(parachute_ui::index());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether a vault row is installed (the original sends `/` to setup until one is).
fn has_vault(state: &AppState) -> bool {
    let table = state.proxy().table(state.home());
    table
        .rows
        .iter()
        .any(|r| r.name == "parachute-vault" || r.paths.iter().any(|p| p.starts_with("/vault/")))
}

/// Setup is finished enough for the hub page: an admin, and a vault or a skipped vault step.
fn setup_done(state: &AppState) -> bool {
    let skipped = matches!(
        state
            .db()
            .setting(crate::routes::setup::VAULT_SKIPPED)
            .ok()
            .flatten()
            .as_deref(),
        Some("true")
    );
    state.has_admin() && (skipped || has_vault(state))
}

/// `/` and `/hub.html`.
pub async fn hub_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !setup_done(&state) {
        return found("/admin/setup");
    }
    let origin = request_issuer(&state, &headers);
    let table = state.proxy().table(state.home());
    let doc =
        parachute_home::discovery::build_document(&table.rows, &origin, services::module_json);
    let mut items = String::new();
    if let Some(list) = doc.get("services").and_then(|v| v.as_array()) {
        for s in list {
            let name = s
                .get("displayName")
                .or_else(|| s.get("name"))
                .and_then(|v| v.as_str())
                .unwrap_or("module");
            let url = s
                .get("uiUrl")
                .or_else(|| s.get("url"))
                .and_then(|v| v.as_str())
                .unwrap_or("#");
            items.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                escape(url),
                escape(name)
            ));
        }
    }
    if items.is_empty() {
        items.push_str("<li>No modules yet: install one from the dashboard.</li>");
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Parachute Hub</title><style>body{{font-family:system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px;line-height:1.5}}li{{margin:6px 0}}</style></head><body><h1>Parachute Hub</h1><ul>{items}</ul><p><a href=\"/admin/\">Open the dashboard</a></p></body></html>"
    ))
    .into_response()
}

/// HTML-escapes text for an element or a quoted attribute.
pub fn escape(text: &str) -> String {
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

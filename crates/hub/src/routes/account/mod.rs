//! The signed-in person's own pages, server-rendered like sign-in: `/account/` (who you are,
//! links, sign out), `/account/change-password` and `/account/2fa` (turn two-step sign-in on
//! with an authenticator app and get backup codes once, or off with the password).
//!
//! Every page needs a session (else `302 /login?next=…`); every post is checked for the same
//! origin and the CSRF token; the current password is checked under a per-user limiter.

pub mod password;
pub mod two_factor;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parachute_auth::csrf::{ensure_csrf_token, verify_csrf_token};

use crate::routes::signin::origin::{is_https, same_origin};
use crate::routes::signin::pages::{csrf_field, document, escape, html, message_page};
use crate::routes::signin::session::{SignedIn, append_cookie, cookie_header, redirect, signed_in};
use crate::state::AppState;

/// The routes of this area.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(|| async { redirect("/account/") }))
        .route("/account/", get(home))
        .route(
            "/account/change-password",
            get(password::page).post(password::submit),
        )
        .route("/account/2fa", get(two_factor::page))
        .route(
            "/account/2fa/enroll",
            axum::routing::post(two_factor::enroll),
        )
        .route(
            "/account/2fa/disenroll",
            axum::routing::post(two_factor::disenroll),
        )
}

/// The session, or the response that sends the browser to sign in first.
pub fn require_session(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<SignedIn, Box<Response>> {
    match signed_in(state, headers) {
        Ok(Some(who)) => Ok(who),
        Ok(None) => {
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(Box::new(redirect(&format!("/login?next={next}"))))
        }
        Err(e) => Err(Box::new(e.into_response())),
    }
}

/// A checked form post of the signed-in person: its fields.
pub fn read_post(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<HashMap<String, String>, Box<Response>> {
    if !same_origin(state, headers) {
        return Err(boxed_html(
            StatusCode::FORBIDDEN,
            message_page(
                "Request refused",
                "This form was sent from another website.",
                ("/account/", "Back to your account"),
            ),
        ));
    }
    let fields: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    if !verify_csrf_token(
        cookie_header(headers),
        fields.get("__csrf").map(String::as_str),
    ) {
        return Err(boxed_html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Form expired",
                "The page's security token did not match. Reload it and try again.",
                ("/account/", "Back to your account"),
            ),
        ));
    }
    Ok(fields)
}

/// A page with the CSRF cookie set when the browser had none; `body` gets the token.
pub fn page_with_csrf(
    state: &AppState,
    headers: &HeaderMap,
    title: &str,
    body: impl FnOnce(&str) -> String,
) -> Response {
    let csrf = ensure_csrf_token(cookie_header(headers), is_https(state, headers));
    let mut response = html(
        StatusCode::OK,
        document(title, &body(&csrf_field(&csrf.token))),
    );
    if let Some(cookie) = &csrf.set_cookie {
        append_cookie(&mut response, cookie);
    }
    response
}

/// `GET /account/`.
async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Response {
    let who = match require_session(&state, &headers, "/account/") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let two_factor = state
        .db()
        .two_factor_status(&who.user.id)
        .map(|s| s.enrolled)
        .unwrap_or(false);
    let admin_link = if who.admin {
        "<li><a href=\"/admin\">Manage the hub</a></li>"
    } else {
        ""
    };
    page_with_csrf(&state, &headers, "Your account", |csrf| {
        format!(
            "<h1>Your account</h1><p>Signed in as <b>{name}</b>.</p><ul class=\"plain\">{admin_link}\
<li><a href=\"/account/change-password\">Change password</a></li>\
<li><a href=\"/account/2fa\">Two-step sign-in</a> ({tf})</li></ul>\
<form method=\"post\" action=\"/logout\">{csrf}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Sign out</button></div></form>",
            name = escape(&who.user.username),
            tf = if two_factor { "on" } else { "off" },
        )
    })
}

fn boxed_html(status: StatusCode, page: String) -> Box<Response> {
    Box::new(html(status, page))
}

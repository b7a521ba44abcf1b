//! `/account/change-password`: the current password, then the new one twice. Success signs
//! the account out everywhere else and keeps this browser signed in with a new session.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{page_with_csrf, read_post, require_session};
use crate::routes::signin::login::PASSWORD_MAX_LEN;
use crate::routes::signin::origin::is_https;
use crate::routes::signin::pages::{escape, html, message_page};
use crate::routes::signin::session::start_session;
use crate::state::AppState;

/// Shortest new password accepted.
const MIN_LEN: usize = 8;

fn form(csrf: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    format!(
        "<h1>Change password</h1>{error}<form method=\"post\" action=\"/account/change-password\">{csrf}\
<label for=\"current\">Current password</label><input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required>\
<label for=\"new\">New password</label><input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" minlength=\"{MIN_LEN}\" required>\
<label for=\"confirm\">New password again</label><input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\
<div class=\"actions\"><button type=\"submit\">Change password</button></div></form><p class=\"muted\"><a href=\"/account/\">Back</a></p>"
    )
}

/// `GET`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match require_session(&state, &headers, "/account/change-password") {
        Ok(_) => page_with_csrf(&state, &headers, "Change password", |csrf| form(csrf, None)),
        Err(r) => *r,
    }
}

/// `POST`.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match require_session(&state, &headers, "/account/change-password") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let fields = match read_post(&state, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let csrf = crate::routes::signin::pages::csrf_field(&get("__csrf"));
    let again = |status, e: &str| {
        html(
            status,
            crate::routes::signin::pages::document("Change password", &form(&csrf, Some(e))),
        )
    };
    let (current, new, confirm) = (get("current"), get("new"), get("confirm"));
    if new.chars().count() < MIN_LEN || new.len() > PASSWORD_MAX_LEN {
        return again(
            StatusCode::BAD_REQUEST,
            &format!("The new password must be {MIN_LEN} to {PASSWORD_MAX_LEN} characters."),
        );
    }
    if new != confirm {
        return again(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    if let Some(secs) = state
        .signin()
        .password_limiter
        .check_and_record(&who.user.id)
        .retry_after_secs()
    {
        return html(
            StatusCode::TOO_MANY_REQUESTS,
            message_page(
                "Too many attempts",
                &format!("Wait {secs} seconds, then try again."),
                ("/account/", "Back"),
            ),
        );
    }
    let db = state.db_handle();
    let (name, pass) = (who.user.username.clone(), current.clone());
    let ok = tokio::task::spawn_blocking(move || db.verify_password(&name, &pass)).await;
    if !matches!(ok, Ok(Ok(true))) {
        return again(StatusCode::UNAUTHORIZED, "The current password is wrong.");
    }
    let db = state.db_handle();
    let name = who.user.username.clone();
    let changed = tokio::task::spawn_blocking(move || db.reset_password(&name, &new)).await;
    if !matches!(changed, Ok(Ok(_))) {
        return again(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The password could not be changed; see the hub log.",
        );
    }
    state.signin().password_limiter.clear(&who.user.id);
    let _ = state.db().delete_user_sessions(&who.user.id);
    start_session(
        &state,
        &who.user.id,
        "/account/",
        is_https(&state, &headers),
        &[],
    )
    .unwrap_or_else(IntoResponse::into_response)
}

//! `/account/2fa`: two-step sign-in in the browser, on the same `users` columns as the CLI and
//! the original. Off: a new secret (and its `otpauth://` URI) is shown with a code field;
//! confirming with a current code stores it and shows ten backup codes once. On: the status,
//! and a form that turns it off after the password is checked.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{page_with_csrf, read_post, require_session};
use crate::routes::signin::pages::{document, escape, html, message_page};
use crate::state::AppState;

/// `GET /account/2fa`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match require_session(&state, &headers, "/account/2fa") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let status = match state.db().two_factor_status(&who.user.id) {
        Ok(s) => s,
        Err(e) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                message_page("Hub error", &e.to_string(), ("/account/", "Back")),
            );
        }
    };
    if status.enrolled {
        return page_with_csrf(&state, &headers, "Two-step sign-in", |csrf| {
            format!(
                "<h1>Two-step sign-in is on</h1><p>{} backup codes left.</p>\
<form method=\"post\" action=\"/account/2fa/disenroll\">{csrf}\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Turn off</button></div></form><p class=\"muted\"><a href=\"/account/\">Back</a></p>",
                status.backup_codes_remaining
            )
        });
    }
    let pending = match state.db().begin_two_factor_enrolment(&who.user.id) {
        Ok(p) => p,
        Err(e) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                message_page("Hub error", &e.to_string(), ("/account/", "Back")),
            );
        }
    };
    page_with_csrf(&state, &headers, "Two-step sign-in", |csrf| {
        format!(
            "<h1>Turn on two-step sign-in</h1><p>Add this account to your authenticator app, then enter the code it shows.</p>\
<p>Secret: <code>{secret}</code></p><p class=\"muted\">Or open: <code>{uri}</code></p>\
<form method=\"post\" action=\"/account/2fa/enroll\">{csrf}<input type=\"hidden\" name=\"secret\" value=\"{secret}\">\
<label for=\"code\">Code from the app</label><input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
<div class=\"actions\"><button type=\"submit\">Turn on</button></div></form>",
            secret = escape(&pending.secret),
            uri = escape(&pending.otpauth_uri),
        )
    })
}

/// `POST /account/2fa/enroll`: confirm with a code; show the backup codes once.
pub async fn enroll(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match require_session(&state, &headers, "/account/2fa") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let fields = match read_post(&state, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let db = state.db_handle();
    let (user, secret, code) = (who.user.id.clone(), get("secret"), get("code"));
    match tokio::task::spawn_blocking(move || {
        db.confirm_two_factor_enrolment(&user, &secret, &code)
    })
    .await
    {
        Ok(Ok(enrolment)) => {
            let codes: String = enrolment
                .backup_codes
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", escape(c)))
                .collect();
            html(
                StatusCode::OK,
                document(
                    "Two-step sign-in is on",
                    &format!(
                        "<h1>Two-step sign-in is on</h1><p>Backup codes — each works once, and they are not shown again. Keep them somewhere safe:</p><ul class=\"plain\">{codes}</ul><p><a href=\"/account/\">Done</a></p>"
                    ),
                ),
            )
        }
        Ok(Err(e)) => html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Not turned on",
                &format!("{e}. Nothing was stored; try again with a fresh code."),
                ("/account/2fa", "Try again"),
            ),
        ),
        Err(e) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            message_page("Hub error", &e.to_string(), ("/account/", "Back")),
        ),
    }
}

/// `POST /account/2fa/disenroll`: the password, then off.
pub async fn disenroll(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match require_session(&state, &headers, "/account/2fa") {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let fields = match read_post(&state, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
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
    let (name, pass) = (
        who.user.username.clone(),
        fields.get("password").cloned().unwrap_or_default(),
    );
    if !matches!(
        tokio::task::spawn_blocking(move || db.verify_password(&name, &pass)).await,
        Ok(Ok(true))
    ) {
        return html(
            StatusCode::UNAUTHORIZED,
            message_page(
                "Wrong password",
                "Two-step sign-in stays on.",
                ("/account/2fa", "Back"),
            ),
        );
    }
    match state.db().disenrol_two_factor(&who.user.id) {
        Ok(_) => html(
            StatusCode::OK,
            document(
                "Two-step sign-in is off",
                "<h1>Two-step sign-in is off</h1><p><a href=\"/account/\">Back to your account</a></p>",
            ),
        ),
        Err(e) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            message_page("Hub error", &e.to_string(), ("/account/", "Back")),
        ),
    }
}

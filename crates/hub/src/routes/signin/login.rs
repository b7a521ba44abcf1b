//! `GET/POST /login`, `POST /login/2fa` and `POST /logout`.
//!
//! Password step (`POST /login`): same origin → CSRF → username and password present (and the
//! password at most [`PASSWORD_MAX_LEN`], before any hashing) → the limiter for this username
//! and client address → the password. A user with TOTP gets no session yet: a pending login
//! (in memory, 5 minutes, its cookie only rides `/login*`) and the code page. Everyone else
//! gets the session cookie and a `302` to `next`.
//!
//! Second step (`POST /login/2fa`): same origin → CSRF → the pending login → the limiter for
//! this user and address → the code as TOTP (each time step once) or a backup code (each once).
//! A wrong code may be retried against the same pending login until the limiter says stop.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use parachute_auth::cookies::{
    PENDING_LOGIN_COOKIE_NAME, cookie_value, pending_login_clear_cookie, pending_login_cookie,
};
use parachute_auth::csrf::{ensure_csrf_token, verify_csrf_token};
use parachute_auth::rate_limit::RateDecision;
use parachute_auth::two_factor::SecondFactorCheck;
use serde::Deserialize;

use super::client::{attempt_key, client_address, recorded_connector};
use super::origin::{is_https, same_origin};
use super::pages::{html, login_page, message_page, second_factor_page};
use super::session::{
    append_cookie, cookie_header, end_session, redirect, signed_in, start_session,
};
use super::{DEFAULT_LANDING, safe_next};
use crate::error::ApiError;
use crate::state::AppState;

/// Longest password we hash: a megabyte of input must not buy a megabyte of argon2id.
pub const PASSWORD_MAX_LEN: usize = 1024;

/// Largest form body read.
const FORM_LIMIT: usize = 16 * 1024;

/// `?next=` (the original's name) or `?return_to=`.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    /// Where to go after signing in.
    next: Option<String>,
    /// The same, by another name.
    return_to: Option<String>,
}

/// The fields the sign-in forms post (unknown fields are ignored).
#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    /// The CSRF token.
    #[serde(rename = "__csrf")]
    csrf: Option<String>,
    /// Where to go afterwards.
    next: Option<String>,
    /// The same, by another name.
    return_to: Option<String>,
    /// Password step.
    username: Option<String>,
    /// Password step.
    password: Option<String>,
    /// Second step: a TOTP or backup code.
    code: Option<String>,
}

impl SignInForm {
    fn next(&self) -> String {
        safe_next(self.next.as_deref().or(self.return_to.as_deref()))
    }
}

/// A form post taken apart: headers, the client address for the limiters, the fields.
struct Post {
    /// Request headers.
    headers: HeaderMap,
    /// The limiter's client address.
    address: String,
    /// The parsed form.
    form: SignInForm,
    /// Whether the browser sees https (cookies get `Secure`).
    secure: bool,
}

/// Reads a form post, refusing a foreign origin (`403`) or a bad CSRF token (`400`).
async fn read_post(state: &AppState, request: Request) -> Result<Post, Response> {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    if !same_origin(state, &headers) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "This form was sent from another website, so the hub did not accept it. Open the hub's own sign-in page and try again.",
        ));
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    let bytes: Bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The form was larger than a sign-in form can be.",
        )
    })?;
    let form: SignInForm = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if !verify_csrf_token(cookie_header(&headers), form.csrf.as_deref()) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "Form expired",
            "The form's security token did not match (it may have been open too long, or cookies are blocked). Reload the page and try again.",
        ));
    }
    let address = client_address(peer, &headers, recorded_connector(state.home()));
    let secure = is_https(state, &headers);
    Ok(Post {
        headers,
        address,
        form,
        secure,
    })
}

/// A message page with a way back to the sign-in form.
fn refusal(status: StatusCode, title: &str, message: &str) -> Response {
    html(
        status,
        message_page(title, message, ("/login", "Back to sign in")),
    )
}

/// `429` with `Retry-After`.
fn too_many(decision: RateDecision) -> Response {
    let secs = decision.retry_after_secs().unwrap_or(1);
    let minutes = secs.div_ceil(60);
    let mut response = refusal(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!(
            "Too many sign-in attempts for this account from here. Wait about {minutes} minute(s), then try again."
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// `GET /login`: the form (a signed-in browser goes straight on to `next`).
pub async fn login_page_route(
    State(state): State<AppState>,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let next = safe_next(query.next.as_deref().or(query.return_to.as_deref()));
    if signed_in(&state, &headers)?.is_some() {
        return Ok(redirect(&next));
    }
    let csrf = ensure_csrf_token(cookie_header(&headers), is_https(&state, &headers));
    let mut response = html(StatusCode::OK, login_page(&next, &csrf.token, "", None));
    if let Some(cookie) = &csrf.set_cookie {
        append_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// `POST /login`: the password step.
pub async fn login_submit(State(state): State<AppState>, request: Request) -> Response {
    let post = match read_post(&state, request).await {
        Ok(post) => post,
        Err(refused) => return refused,
    };
    password_step(&state, post)
        .await
        .unwrap_or_else(axum::response::IntoResponse::into_response)
}

async fn password_step(state: &AppState, post: Post) -> Result<Response, ApiError> {
    let next = post.form.next();
    let csrf = post.form.csrf.clone().unwrap_or_default();
    let username = post.form.username.clone().unwrap_or_default();
    let password = post.form.password.clone().unwrap_or_default();
    let form_again =
        |status, error: &str| html(status, login_page(&next, &csrf, &username, Some(error)));
    if username.trim().is_empty() || password.is_empty() {
        return Ok(form_again(
            StatusCode::BAD_REQUEST,
            "Enter your username and password.",
        ));
    }
    if password.len() > PASSWORD_MAX_LEN {
        return Ok(form_again(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Passwords are at most {PASSWORD_MAX_LEN} characters."),
        ));
    }
    let key = attempt_key(&username, &post.address);
    let decision = state.signin().login_limiter.check_and_record(&key);
    if !decision.is_allowed() {
        tracing::warn!(client = %post.address, "refused a sign-in attempt: too many recent attempts");
        return Ok(too_many(decision));
    }
    let db = state.db_handle();
    let (name, pass) = (username.clone(), password.clone());
    let verified = tokio::task::spawn_blocking(move || db.verify_password(&name, &pass))
        .await
        .map_err(|e| ApiError::internal("the password check stopped", e))?
        .map_err(|e| ApiError::internal("cannot check the password", e))?;
    let user = match state.db().user_by_username(&username) {
        Ok(Some(user)) if verified => user,
        Ok(_) => {
            tracing::info!(client = %post.address, "a sign-in attempt had a wrong username or password");
            return Ok(form_again(
                StatusCode::UNAUTHORIZED,
                "Wrong username or password.",
            ));
        }
        Err(e) => return Err(ApiError::internal("cannot read the user", e)),
    };
    let two_factor = state
        .db()
        .two_factor_status(&user.id)
        .map_err(|e| ApiError::internal("cannot read the two-factor state", e))?;
    if two_factor.enrolled {
        let token = state.signin().pending.create(&user.id, &next);
        let mut response = html(StatusCode::OK, second_factor_page(&next, &csrf, None));
        append_cookie(&mut response, &pending_login_cookie(&token, post.secure));
        return Ok(response);
    }
    state.signin().login_limiter.clear(&key);
    let target = landing(state, &user.id, &next);
    start_session(state, &user.id, &target, post.secure, &[])
}

/// Where `user_id` lands after signing in: `next`, except that a user who is not the admin is
/// sent to their account page instead of the admin pages (which would refuse them).
fn landing(state: &AppState, user_id: &str, next: &str) -> String {
    let admin = state.db().is_first_admin(user_id).unwrap_or(false);
    let admin_page = next == DEFAULT_LANDING || next.starts_with("/admin/");
    if !admin && admin_page {
        "/account/".to_owned()
    } else {
        next.to_owned()
    }
}

/// `POST /login/2fa`: the second step.
pub async fn second_factor_submit(State(state): State<AppState>, request: Request) -> Response {
    let post = match read_post(&state, request).await {
        Ok(post) => post,
        Err(refused) => return refused,
    };
    code_step(&state, post)
        .await
        .unwrap_or_else(axum::response::IntoResponse::into_response)
}

async fn code_step(state: &AppState, post: Post) -> Result<Response, ApiError> {
    let csrf = post.form.csrf.clone().unwrap_or_default();
    let token = cookie_value(cookie_header(&post.headers), PENDING_LOGIN_COOKIE_NAME)
        .unwrap_or_default()
        .to_owned();
    let Some(pending) = state.signin().pending.get(&token) else {
        let mut response = refusal(
            StatusCode::UNAUTHORIZED,
            "Sign-in expired",
            "The sign-in took too long or was already finished. Enter your password again.",
        );
        append_cookie(&mut response, &pending_login_clear_cookie(post.secure));
        return Ok(response);
    };
    let key = attempt_key(&pending.user_id, &post.address);
    let decision = state.signin().second_factor_limiter.check_and_record(&key);
    if !decision.is_allowed() {
        tracing::warn!(client = %post.address, "refused a two-factor attempt: too many recent attempts");
        return Ok(too_many(decision));
    }
    let code = post.form.code.clone().unwrap_or_default();
    let retry = |error: &str| {
        html(
            StatusCode::UNAUTHORIZED,
            second_factor_page(&pending.next, &csrf, Some(error)),
        )
    };
    if code.trim().is_empty() {
        return Ok(retry(
            "Enter the code from your authenticator app or a backup code.",
        ));
    }
    let db = state.db_handle();
    let user_id = pending.user_id.clone();
    let check = tokio::task::spawn_blocking(move || db.verify_second_factor(&user_id, &code))
        .await
        .map_err(|e| ApiError::internal("the code check stopped", e))?
        .map_err(|e| ApiError::internal("cannot check the code", e))?;
    match check {
        SecondFactorCheck::AcceptedTotp | SecondFactorCheck::AcceptedBackupCode { .. } => {
            state.signin().pending.consume(&token);
            state.signin().second_factor_limiter.clear(&key);
            let target = landing(state, &pending.user_id, &pending.next);
            let clear = pending_login_clear_cookie(post.secure);
            start_session(state, &pending.user_id, &target, post.secure, &[clear])
        }
        SecondFactorCheck::Replayed => Ok(retry(
            "That code was already used. Wait for the next code and enter it.",
        )),
        SecondFactorCheck::Rejected => Ok(retry("That code is wrong or expired. Try again.")),
        SecondFactorCheck::NotEnrolled => {
            state.signin().pending.consume(&token);
            Ok(refusal(
                StatusCode::UNAUTHORIZED,
                "Sign in again",
                "Two-step verification changed for this account. Enter your password again.",
            ))
        }
    }
}

/// `POST /logout`: ends the session (idempotent) and goes back to `/login`.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    match read_post(&state, request).await {
        Ok(post) => end_session(&state, &post.headers, post.secure),
        Err(refused) => refused,
    }
}

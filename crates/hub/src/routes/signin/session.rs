//! The browser session behind a request's cookie, and the responses that start or end one.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::cookies::{session_clear_cookie, session_cookie};
use parachute_auth::{Session, User};

use crate::error::ApiError;
use crate::state::AppState;

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The `sessions` row.
    pub session: Session,
    /// Its user (a session whose user was deleted counts as none).
    pub user: User,
    /// Whether the user is the hub's admin (the first user row, as the original decides).
    pub admin: bool,
}

/// The live session named by the request's `parachute_hub_session` cookie, if any.
pub fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
    let cookies = cookie_header(headers);
    let db = state.db();
    let Some(session) = db
        .session_from_cookie(cookies)
        .map_err(|e| ApiError::internal("cannot read the session", e))?
    else {
        return Ok(None);
    };
    let Some(user) = db
        .user_by_id(&session.user_id)
        .map_err(|e| ApiError::internal("cannot read the session's user", e))?
    else {
        return Ok(None);
    };
    let admin = db
        .is_first_admin(&user.id)
        .map_err(|e| ApiError::internal("cannot read the admin account", e))?;
    Ok(Some(SignedIn {
        session,
        user,
        admin,
    }))
}

/// The request's `Cookie` header (several are joined by the browser into one; we read the first).
pub fn cookie_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

/// Starts a session for `user_id` and sends the browser to `next` (`302`), setting the session
/// cookie and any `extra` cookies (clearing the pending-login one, …).
pub fn start_session(
    state: &AppState,
    user_id: &str,
    next: &str,
    secure: bool,
    extra: &[String],
) -> Result<Response, ApiError> {
    let session = state
        .db()
        .create_session(user_id)
        .map_err(|e| ApiError::internal("cannot start a session", e))?;
    let mut response = redirect(next);
    append_cookie(&mut response, &session_cookie(&session.id, secure));
    for cookie in extra {
        append_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// Ends the request's session (if any) and sends the browser to `/login`.
pub fn end_session(state: &AppState, headers: &HeaderMap, secure: bool) -> Response {
    if let Some(id) = parachute_auth::cookies::cookie_value(
        cookie_header(headers),
        parachute_auth::cookies::SESSION_COOKIE_NAME,
    ) && let Err(err) = state.db().delete_session(id)
    {
        tracing::warn!(%err, "cannot delete the session row; the cookie is cleared anyway");
    }
    let mut response = redirect("/login");
    append_cookie(&mut response, &session_clear_cookie(secure));
    response
}

/// `302 Found` to `location` (a path this module already checked), never cached.
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds one `Set-Cookie` header.
pub fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

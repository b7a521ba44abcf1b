//! `GET /api/me`: who the browser is signed in as, with the CSRF token its forms send back.
//! Public (signed out is an answer, not a 401), same-origin only (no CORS), never cached.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::csrf::ensure_csrf_token;
use parachute_protocol::{MeAnswer, MeUser};

use super::origin::is_https;
use super::session::{append_cookie, cookie_header, signed_in};
use crate::error::ApiError;
use crate::state::AppState;

/// The route.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(who) = signed_in(&state, &headers)? else {
        return Ok(no_store(Json(MeAnswer {
            has_session: false,
            user: None,
            csrf: None,
            admin: None,
        })));
    };
    let csrf = ensure_csrf_token(cookie_header(&headers), is_https(&state, &headers));
    let mut response = no_store(Json(MeAnswer {
        has_session: true,
        user: Some(MeUser {
            id: who.user.id,
            display_name: who.user.username,
        }),
        csrf: Some(csrf.token),
        admin: Some(who.admin),
    }));
    if let Some(cookie) = &csrf.set_cookie {
        append_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// `answer` with `Cache-Control: no-store` (sessions change at any time).
pub fn no_store(answer: impl IntoResponse) -> Response {
    let mut response = answer.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

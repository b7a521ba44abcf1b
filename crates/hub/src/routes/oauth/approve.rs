//! `POST /oauth/authorize/approve`: the admin approves a pending client and the browser goes
//! back into the authorization it interrupted (`return_to`, which must be a
//! `/oauth/authorize` path on this hub). The original's inline approval form posts here
//! (`client_id`, `return_to`, `__csrf`); the hub's own consent page approves in the same step
//! as consent instead.
//!
//! Checks: same origin, CSRF, the hub admin's session (`403` for anyone else), a registered
//! client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_auth::csrf::verify_csrf_token;
use serde::Deserialize;

use super::consent_page::request_error_page;
use super::support::parse_form;
use crate::routes::signin::origin::same_origin;
use crate::routes::signin::pages::html;
use crate::routes::signin::safe_next;
use crate::routes::signin::session::{cookie_header, redirect, signed_in};
use crate::state::AppState;

/// The form.
#[derive(Debug, Default, Deserialize)]
struct ApproveForm {
    /// The pending client.
    #[serde(default)]
    client_id: String,
    /// Where to continue.
    return_to: Option<String>,
    /// The CSRF token (`csrf_token` is the original's field name).
    #[serde(rename = "__csrf", alias = "csrf_token")]
    csrf: Option<String>,
}

/// The route.
pub async fn approve_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse =
        |status, title: &str, message: &str| html(status, request_error_page(title, message));
    if !same_origin(&state, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This approval was sent from another website.",
        );
    }
    let form: ApproveForm = parse_form(&body).unwrap_or_default();
    if !verify_csrf_token(cookie_header(&headers), form.csrf.as_deref()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Form expired",
            "The page's security token did not match. Reload it and try again.",
        );
    }
    match signed_in(&state, &headers) {
        Ok(Some(who)) if who.admin => {}
        Ok(_) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "Only the admin can approve apps",
                "Sign in as the hub's admin to approve new apps.",
            );
        }
        Err(e) => return e.into_response(),
    }
    match state.db().approve_client(&form.client_id) {
        Ok(_) => {}
        Err(parachute_auth::AuthError::OAuth(e)) => {
            return refuse(StatusCode::BAD_REQUEST, "Unknown app", &e.to_string());
        }
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Hub error",
                &e.to_string(),
            );
        }
    }
    let next = safe_next(form.return_to.as_deref());
    let target = if next.starts_with("/oauth/authorize") {
        next
    } else {
        "/admin".to_owned()
    };
    redirect(&target)
}

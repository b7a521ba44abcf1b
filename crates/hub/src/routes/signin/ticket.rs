//! `GET /login/ticket?t=…[&next=…]`: the desktop app's window signs in without a password.
//!
//! The app mints a ticket in process (`HubHandle::mint_window_login`: one use, 60 seconds,
//! for the hub's admin) and loads this URL in its window; the hub swaps the ticket for a
//! normal session cookie and redirects to `next`. A missing, used or expired ticket gets the
//! sign-in form's link instead. Nothing outside the hub's process can mint a ticket.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::origin::is_https;
use super::pages::{html, message_page};
use super::safe_next;
use super::session::start_session;
use crate::error::ApiError;
use crate::state::AppState;

/// The query.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    /// The ticket.
    #[serde(default)]
    t: String,
    /// Where to go afterwards.
    next: Option<String>,
}

/// The route.
pub async fn redeem(
    State(state): State<AppState>,
    Query(query): Query<TicketQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let next = safe_next(query.next.as_deref());
    let Some(user_id) = state.signin().redeem_ticket(&query.t) else {
        return Ok(html(
            StatusCode::UNAUTHORIZED,
            message_page(
                "Sign-in link expired",
                "This sign-in link was already used or is more than a minute old. Reopen the window from the app, or sign in with your password.",
                ("/login", "Sign in with a password"),
            ),
        ));
    };
    start_session(&state, &user_id, &next, is_https(&state, &headers), &[])
}

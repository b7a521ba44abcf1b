//! `GET /api/users`: every account with its vault assignments (`user_vaults`), never a
//! password hash.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use parachute_protocol::{UserList, UserRow};

use super::json;
use crate::auth::{SCOPE_HOST_ADMIN, require_scope_rfc6750};
use crate::error::ApiError;
use crate::state::AppState;

/// The route.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    let db = state.db();
    let fail = |e| ApiError::internal("cannot list the accounts", e);
    let mut users = Vec::new();
    for u in db.list_users().map_err(fail)? {
        users.push(UserRow {
            password_changed: db.password_changed(&u.id).map_err(fail)?,
            assigned_vaults: db.user_vaults(&u.id).map_err(fail)?,
            two_factor: db.two_factor_status(&u.id).map_err(fail)?.enrolled,
            id: u.id,
            username: u.username,
            created_at: u.created_at,
        });
    }
    Ok(json(&UserList { users }))
}

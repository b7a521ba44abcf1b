//! `GET /api/modules` (the dashboard's module list) and `PUT /api/modules/channel`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use parachute_protocol::{ChannelAnswer, ModuleStates, ModulesList};

use super::install::{channel_member, invalid_channel};
use crate::auth::{SCOPE_HOST_ADMIN, SCOPE_HOST_AUTH, require_scope};
use crate::error::ApiError;
use crate::packages::Channel;
use crate::service::ModuleService;
use crate::state::AppState;

/// `GET /api/modules` (scope `parachute:host:auth`). `latest_version` comes from the registry
/// (cached, `null` when unknown); `?latest=0|false` skips the registry entirely (for callers
/// such as `parachute status` that only want the live state, fast).
pub async fn modules(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<ModulesList>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_AUTH)?;
    let Query(query) = query?;
    let with_latest = !query
        .get("latest")
        .is_some_and(|v| v == "0" || v == "false");
    Ok(Json(ModuleService::new(state).list(with_latest).await))
}

/// `GET /api/modules/states` (scope `parachute:host:auth`): the supervisor's full state of
/// every module, by short name (the crash details the list leaves out). Ours; the dashboard
/// reads it once, then follows `module_state` events.
pub async fn states(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ModuleStates>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_AUTH)?;
    let mut modules: Vec<_> = state
        .supervisor()
        .snapshots()
        .iter()
        .map(crate::wire::module_state)
        .collect();
    modules.sort_by(|a, b| a.short.cmp(&b.short));
    Ok(Json(ModuleStates { modules }))
}

/// `PUT /api/modules/channel` (scope `parachute:host:admin`): `{channel: "latest"|"rc"}` is
/// stored as the `module_install_channel` setting and echoed back. (An install channel pinned
/// in the hub's configuration still wins over it; the answer says so in `effective_channel`.)
pub async fn set_channel(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ChannelAnswer>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    let raw = channel_member(&body?)?;
    let Some(channel) = raw.as_str().and_then(Channel::parse) else {
        return Err(invalid_channel(&raw));
    };
    Ok(Json(ModuleService::new(state).set_channel(channel)?))
}

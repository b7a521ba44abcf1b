//! `GET /api/hub`: what is running (version, since when, from where), for the dashboard badge
//! and upgrade card.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use parachute_protocol::HubInfo;

use crate::auth::{SCOPE_HOST_ADMIN, require_scope_rfc6750};
use crate::error::ApiError;
use crate::state::{AppState, HUB_VERSION};

/// `{version, started_at, uptime_ms, source, executable, pid, port, modules, …}` (scope
/// `parachute:host:admin`; refusals in RFC 6750's `invalid_token` dialect with a
/// `WWW-Authenticate` challenge, as the original's admin routes answer). `source` is
/// `container` under `PARACHUTE_HOME=/parachute`, else what the embedding front end says
/// (`binary`, `desktop`); the container build facts come from the configuration, as in the
/// original. `update` is the last check of the release feed (never fetched to answer this;
/// see [`crate::upgrade`]).
pub async fn hub(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_scope_rfc6750(&state, &headers, SCOPE_HOST_ADMIN)?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(hub_info(&state)),
    )
        .into_response())
}

/// What is running, for the route and the hub handle's snapshot.
pub fn hub_info(state: &AppState) -> HubInfo {
    let started = state.started_at();
    let build = state.build();
    let container = state.home().is_container();
    HubInfo {
        version: HUB_VERSION.to_string(),
        started_at: Some(crate::wire::iso(started)),
        uptime_ms: started.elapsed().map(|d| d.as_millis() as u64).unwrap_or(0),
        source: build.source.clone(),
        executable: std::env::current_exe()
            .ok()
            .map(|p| p.display().to_string()),
        pid: Some(std::process::id()),
        port: Some(state.port()),
        parachute_home: Some(state.home().root().display().to_string()),
        modules: u32::try_from(state.supervisor().snapshots().len()).unwrap_or(u32::MAX),
        container_build_time: build.build_time.clone(),
        render_commit: container.then(|| build.render_commit.clone()).flatten(),
        render_branch: container.then(|| build.render_branch.clone()).flatten(),
        update: Some(state.upgrades().update()),
    }
}

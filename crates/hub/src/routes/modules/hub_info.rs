//! `GET /api/hub`: what is running (version, since when, from where), for the dashboard badge
//! and upgrade card.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::{SCOPE_HOST_ADMIN, require_scope};
use crate::error::ApiError;
use crate::state::{AppState, HUB_VERSION};

/// `{version, started_at, uptime_ms, source, executable, pid, port, modules, …}` (scope
/// `parachute:host:admin`). `source` is `container` under `PARACHUTE_HOME=/parachute`, else
/// `binary` (this hub is a native executable, not an npm package); `container_build_time`,
/// `render_commit` and `render_branch` come from the environment when set, as in the original.
pub async fn hub(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    let started = state.started_at();
    let started_at = chrono::DateTime::<chrono::Utc>::from(started)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let uptime_ms = started.elapsed().map(|d| d.as_millis() as u64).unwrap_or(0);
    let container = state.home().is_container();
    let mut body = Map::new();
    body.insert("version".into(), json!(HUB_VERSION));
    body.insert("started_at".into(), json!(started_at));
    body.insert("uptime_ms".into(), json!(uptime_ms));
    body.insert(
        "source".into(),
        json!(if container { "container" } else { "binary" }),
    );
    body.insert(
        "executable".into(),
        json!(
            std::env::current_exe()
                .ok()
                .map(|p| p.display().to_string())
        ),
    );
    body.insert("pid".into(), json!(std::process::id()));
    body.insert("port".into(), json!(state.port()));
    body.insert(
        "parachute_home".into(),
        json!(state.home().root().display().to_string()),
    );
    body.insert(
        "modules".into(),
        json!(state.supervisor().snapshots().len()),
    );
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(v) = env("PARACHUTE_BUILD_TIME") {
        body.insert("container_build_time".into(), json!(v));
    }
    if container {
        for (key, var) in [
            ("render_commit", "RENDER_GIT_COMMIT"),
            ("render_branch", "RENDER_GIT_BRANCH"),
        ] {
            if let Some(v) = env(var) {
                body.insert(key.into(), json!(v));
            }
        }
    }
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(Value::Object(body)),
    )
        .into_response())
}

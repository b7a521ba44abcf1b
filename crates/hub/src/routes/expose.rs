//! `GET/POST /api/expose` (scope `parachute:host:admin`): the exposure the state files record,
//! and turning a layer on or off through the same library call `parachute expose` makes
//! ([`parachute_expose::Exposure`]), answering every progress line it wrote.
//!
//! Steps of a `POST`: check the bearer; parse [`ExposeRequest`] into a target (a Cloudflare
//! hostname is validated here, 400); take the one-at-a-time lock (409 while another change
//! runs); run the blocking library call on a blocking thread with this hub's runtime (module
//! restarts after an origin change go back through this hub); answer the lines and the
//! exposure afterwards, or the error with the lines written before it (502). The home watcher
//! sends `exposure_changed` when the state files change.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_expose::{
    CloudflareTarget, ExposeConfig, ExposeError, Exposure, Line, OffTarget, Target, UpOptions,
};
use parachute_protocol::{ExposeAnswer, ExposeRequest, ExposeTarget, ExposureSnapshot};
use parachute_unit::{ManagedUnit, UnitEnv};

use crate::auth::{SCOPE_HOST_ADMIN, require_scope};
use crate::error::ApiError;
use crate::state::AppState;

/// What the exposure library needs from the hub's configuration.
pub struct ExposeContext {
    /// Where `tailscale` and `cloudflared` are looked up (the hub's `PATH`).
    search_path: OsString,
    /// Who runs the hub: home directory (for `~/.cloudflared`) and service manager.
    units: UnitEnv,
    /// Held while a change runs: two at once would race on the state files.
    busy: tokio::sync::Mutex<()>,
}

impl ExposeContext {
    /// The context for a hub with this search path and unit environment.
    pub fn new(search_path: OsString, units: UnitEnv) -> Self {
        Self {
            search_path,
            units,
            busy: tokio::sync::Mutex::new(()),
        }
    }
}

/// `GET /api/expose`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ExposureSnapshot>, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    Ok(Json(crate::watch::exposure_snapshot(state.home())))
}

/// The library call a request asks for.
enum Change {
    /// Bring a layer up.
    Up(Target, UpOptions),
    /// Take one down.
    Off(OffTarget),
}

fn change(req: &ExposeRequest) -> Result<Change, ApiError> {
    let options = UpOptions {
        hub_origin: req.hub_origin.clone(),
    };
    Ok(match (req.layer, req.enable) {
        (ExposeTarget::Tailnet, true) => Change::Up(Target::Tailnet, options),
        (ExposeTarget::Tailnet, false) => Change::Off(OffTarget::Tailnet),
        (ExposeTarget::Funnel, true) => Change::Up(Target::Funnel, options),
        (ExposeTarget::Funnel, false) => Change::Off(OffTarget::Funnel),
        (ExposeTarget::Cloudflare, true) => {
            let domain = req.domain.as_deref().unwrap_or("").trim();
            if domain.is_empty() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "domain_required",
                    ExposeError::DomainRequired.to_string(),
                ));
            }
            let target =
                CloudflareTarget::new(domain, req.tunnel_name.as_deref()).map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_target", e.to_string())
                })?;
            Change::Up(Target::Cloudflare(target), options)
        }
        (ExposeTarget::Cloudflare, false) => Change::Off(OffTarget::Cloudflare {
            tunnel_name: req.tunnel_name.clone(),
        }),
    })
}

/// `POST /api/expose`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match run(&state, &headers, &body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<ExposeAnswer, ApiError> {
    require_scope(state, headers, SCOPE_HOST_ADMIN)?;
    let req: ExposeRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the body must be {{\"layer\": \"tailnet\"|\"funnel\"|\"cloudflare\", \"enable\": true|false, \"domain\"?}}: {e}"),
        )
    })?;
    let change = change(&req)?;
    let ctx = state.expose();
    let Ok(_guard) = ctx.busy.try_lock() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "in_flight",
            "another exposure change is running; try again when it has finished",
        ));
    };
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let mut config = ExposeConfig::for_user_home(&ctx.units.home_dir);
    config.progress = Some(Arc::new(move |line: &Line| {
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.render());
    }));
    config.runtime = Some(tokio::runtime::Handle::current());
    let runner = Arc::new(parachute_os::SystemRunner::with_search_path(
        ctx.search_path.clone(),
    ));
    let units = ManagedUnit::detect(runner.clone(), ctx.units.clone());
    let exposure = Exposure::new(state.home().clone(), runner, units, config);
    let outcome = tokio::task::spawn_blocking(move || match change {
        Change::Up(target, options) => exposure.up(&target, &options).map(|_| false),
        Change::Off(target) => exposure.off(&target).map(|r| r.nothing_to_do),
    })
    .await
    .map_err(|e| ApiError::internal("the exposure change stopped unexpectedly", e))?;
    // The state files changed under our own hand: a request right after this answer must be
    // checked against the new host names, not wait for the home watcher's event.
    state.hosts().invalidate();
    let lines = std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()));
    match outcome {
        Ok(nothing_to_do) => Ok(ExposeAnswer {
            exposure: crate::watch::exposure_snapshot(state.home()),
            lines,
            nothing_to_do,
        }),
        Err(err) => Err(
            ApiError::new(StatusCode::BAD_GATEWAY, "expose_failed", err.to_string())
                .with("lines", lines),
        ),
    }
}

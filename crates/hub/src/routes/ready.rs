//! `/api/ready`: which modules are up, still coming up, or down until someone acts.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::boot::BootOutcome;
use crate::state::AppState;

/// `{ready, booting, ready_modules, transient_modules, persistent_modules}`.
///
/// A module is *ready* once it accepts connections on its port, *transient* while it is being
/// spawned, respawned or has not bound yet, and *persistent* when it is stopped, crashed, or
/// flagged as started-but-unbound. `ready` is true once boot has finished and nothing is
/// transient; the status is 200 then and 503 otherwise, so `curl -f` and health gates can use
/// it directly.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let boot = state.boot();
    let mut ready_modules = Vec::new();
    let mut transient = Vec::new();
    let mut persistent = Vec::new();
    for module in state.supervisor().snapshots() {
        if module.ready && module.status == parachute_supervisor::ModuleStatus::Running {
            ready_modules.push(module.short);
        } else if module.is_transient() {
            transient.push(module.short);
        } else {
            persistent.push(module.short);
        }
    }
    let booting = boot.is_none();
    if let Some(outcomes) = &boot {
        for outcome in outcomes {
            if let BootOutcome::Unresolvable { short } = outcome {
                persistent.push(short.clone());
            }
        }
    }
    let is_ready = !booting && transient.is_empty();
    let status = if is_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "ready": is_ready,
            "booting": booting,
            "ready_modules": ready_modules,
            "transient_modules": transient,
            "persistent_modules": persistent,
        })),
    )
}

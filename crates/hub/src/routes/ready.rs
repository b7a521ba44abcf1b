//! `/api/ready`: which modules are up, still coming up, or down until someone acts.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use parachute_protocol::Ready;

use crate::boot::BootOutcome;
use crate::state::AppState;

/// Always 200 with `{ready, booting, ready_modules, transient_modules, persistent_modules}`,
/// as the original: callers poll it and read `ready`.
///
/// A module is *ready* once it accepts connections on its port, *transient* while it is being
/// spawned or respawned or has not bound yet, and *persistent* when it is stopped, crashed,
/// flagged as started-but-unbound, or could not be resolved at boot. `ready` is true only when
/// boot has finished and every module is ready. `booting` (ours) is true until every row has
/// been handed to the supervisor: a gate that should not count stopped modules against the hub
/// (the upgrade's) reads that instead.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(readiness(&state)),
    )
}

/// The readiness report of the hub of `state`.
pub fn readiness(state: &AppState) -> Ready {
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
    for outcome in boot.iter().flatten() {
        if let BootOutcome::Unresolvable { short } = outcome {
            persistent.push(short.clone());
        }
    }
    Ready {
        ready: !booting && transient.is_empty() && persistent.is_empty(),
        booting,
        ready_modules,
        transient_modules: transient,
        persistent_modules: persistent,
    }
}

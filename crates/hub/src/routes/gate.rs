//! The setup gate: until an admin account exists, account and API routes answer 503.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Paths that stay open before setup: liveness, readiness and public discovery.
fn gated(path: &str) -> bool {
    let api = path.starts_with("/api/") && path != "/api/ready";
    api || path == "/login"
        || path == "/logout"
        || path == "/admin"
        || (path.starts_with("/admin/") && !path.starts_with("/admin/setup"))
}

/// 503 `setup_required` for gated paths while the hub has no user.
pub async fn setup_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if gated(request.uri().path()) && !state.has_admin() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "setup_required",
            "this hub has no admin account yet: run `parachute auth set-password` (or set PARACHUTE_INITIAL_ADMIN_USERNAME and PARACHUTE_INITIAL_ADMIN_PASSWORD before starting it)",
        )
        .with("setup_url", "/admin/setup")
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::gated;

    #[test]
    fn gate_covers_api_and_account_routes_only() {
        for p in [
            "/api/modules",
            "/api/hub",
            "/login",
            "/logout",
            "/admin",
            "/admin/modules",
        ] {
            assert!(gated(p), "{p}");
        }
        for p in [
            "/health",
            "/api/ready",
            "/.well-known/jwks.json",
            "/vault/default/x",
            "/admin/setup",
        ] {
            assert!(!gated(p), "{p}");
        }
    }
}

//! The setup gate: until an admin account exists, account and API routes answer 503.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Paths that stay open before setup: liveness, readiness, public discovery, setup itself and
/// the dashboard's static files (the setup page needs them).
fn gated(path: &str) -> bool {
    let api = path.starts_with("/api/") && path != "/api/ready";
    api || path == "/login"
        || path == "/logout"
        || path == "/admin"
        || (path.starts_with("/admin/")
            && !path.starts_with("/admin/setup")
            && !path.starts_with("/admin/assets/"))
}

/// Whether a browser is asking for a page (it is sent to setup instead of a JSON 503).
fn wants_page(request: &Request) -> bool {
    let path = request.uri().path();
    let html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    html && request.method() == Method::GET
        && (path == "/admin" || path.starts_with("/admin/") || path == "/login")
}

/// 503 `setup_required` for gated paths while the hub has no user; a browser asking for a
/// dashboard page is redirected to `/admin/setup` instead.
pub async fn setup_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if gated(request.uri().path()) && !state.has_admin() {
        if wants_page(&request) {
            return crate::routes::admin::found("/admin/setup");
        }
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
            "/admin/assets/index-abc.js",
        ] {
            assert!(!gated(p), "{p}");
        }
    }
}

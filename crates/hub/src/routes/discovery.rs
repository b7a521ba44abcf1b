//! `/.well-known/parachute.json`: the discovery document, built per request from
//! `services.json` with the request's issuer as origin; plus [`write_well_known`], the on-disk
//! copy other code refreshes after an install or an exposure change.
//!
//! Shape (the original's, so its clients keep working):
//!
//! ```json
//! { "vaults":   [{"name", "url", "version", "managementUrl"?}],
//!   "services": [{"name", "url", "path", "version", "infoUrl", "displayName"?, "uiUrl"?,
//!                 "tagline"?, "uis"?}],
//!   "<row name minus parachute->": [{"url", "version"}] }
//! ```
//!
//! A vault row contributes one `vaults` and one `services` entry per path (one vault process
//! serves several vaults); any other row contributes its first path only, to `services` and to
//! the array named after it.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_home::services;

pub use parachute_home::discovery::{
    WellKnownWriteError, build_document, vault_instance_name, write_well_known,
};

use crate::auth::request_issuer;
use crate::state::AppState;

/// `GET /.well-known/parachute.json` (any method but `OPTIONS`, which answers the CORS
/// preflight). Public, `Access-Control-Allow-Origin: *`, never cached.
pub async fn discovery(State(state): State<AppState>, request: Request) -> Response {
    let cors = [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    if request.method() == Method::OPTIONS {
        return (StatusCode::NO_CONTENT, cors).into_response();
    }
    let origin = request_issuer(&state, request.headers());
    let table = state.proxy().table(state.home());
    let doc = build_document(&table.rows, &origin, services::module_json);
    let mut response = (cors, Json(doc)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

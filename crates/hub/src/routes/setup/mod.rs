//! First-run setup at `/admin/setup` (account → vault → exposure), as the original's wizard.
//!
//! `GET /admin/setup` with `Accept: application/json` answers the wizard's state envelope
//! ([`SetupState`], with the CSRF token and its cookie); a browser gets the dashboard's setup
//! page, or is sent to sign in once setup is complete. Each step is a `POST` taking JSON (the
//! original's `setup-wizard` verb) or a form, checked in this order: the `Origin` names this
//! hub, the double-submit CSRF token matches, the step's own rules ([`steps`]).
//!
//! State (the original's `hub_settings` keys): an admin row exists; a vault row exists or
//! `setup_vault_skipped`; `setup_expose_mode` is set.

pub mod body;
pub mod steps;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parachute_auth::SETTING_SETUP_EXPOSE_MODE;
use parachute_auth::csrf::ensure_csrf_token;
use parachute_protocol::{SetupError, SetupState, SetupStep};

use crate::routes::admin::{found, spa_index};
use crate::routes::signin::origin::is_https;
use crate::routes::signin::session::{append_cookie, cookie_header, signed_in};
use crate::state::AppState;

/// Setting: the vault step was skipped (the original's key).
pub const VAULT_SKIPPED: &str = "setup_vault_skipped";
/// Setting: the vault name asked for in the vault step (the original's key).
pub const VAULT_NAME: &str = "setup_vault_name";

/// The routes of this area (open before setup: the gate leaves `/admin/setup*` alone).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/setup", get(state_or_page))
        .route("/admin/setup/", get(state_or_page))
        .route("/admin/setup/account", post(steps::account).get(page))
        .route("/admin/setup/vault", post(steps::vault).get(page))
        .route("/admin/setup/expose", post(steps::expose).get(page))
}

/// Whether a vault row is installed.
pub fn has_vault_row(state: &AppState) -> bool {
    let table = state.proxy().table(state.home());
    table
        .rows
        .iter()
        .any(|r| r.name == "parachute-vault" || r.paths.iter().any(|p| p.starts_with("/vault/")))
}

fn setting(state: &AppState, key: &str) -> Option<String> {
    state.db().setting(key).ok().flatten()
}

/// Where setup stands (the original's derivation).
pub fn derive(state: &AppState) -> (SetupStep, bool, bool, bool) {
    let has_admin = state.has_admin();
    let has_vault =
        setting(state, VAULT_SKIPPED).as_deref() == Some("true") || has_vault_row(state);
    let has_expose = setting(state, SETTING_SETUP_EXPOSE_MODE).is_some();
    let step = if !has_admin {
        SetupStep::Welcome
    } else if !has_vault {
        SetupStep::Vault
    } else if !has_expose {
        SetupStep::Expose
    } else {
        SetupStep::Done
    };
    (step, has_admin, has_vault, has_expose)
}

/// Whether the request asked for JSON.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// `GET /admin/setup`.
async fn state_or_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let secure = is_https(&state, &headers);
    let csrf = ensure_csrf_token(cookie_header(&headers), secure);
    let (step, has_admin, has_vault, has_expose_mode) = derive(&state);
    let mut response = if wants_json(&headers) {
        let body = SetupState {
            step,
            has_admin,
            has_vault,
            has_expose_mode,
            require_bootstrap_token: state.bootstrap().current().is_some(),
            csrf_token: csrf.token.clone(),
        };
        let mut r = axum::Json(body).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    } else if step == SetupStep::Done && !matches!(signed_in(&state, &headers), Ok(Some(_))) {
        // As the original: a finished setup sends a stranger to sign in.
        found("/login?return_to=%2Fadmin%2F")
    } else {
        spa_index()
    };
    if let Some(cookie) = csrf.set_cookie {
        append_cookie(&mut response, &cookie);
    }
    response
}

/// `GET` of a step's path: the setup page (the SPA shows the current step).
async fn page() -> Response {
    spa_index()
}

/// A refused step in the original's JSON error shape.
pub fn refuse(status: StatusCode, title: &str, message: &str) -> Response {
    let body = SetupError {
        error: title.to_owned(),
        message: message.to_owned(),
        status: status.as_u16(),
    };
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

//! The three step posts of first-run setup. Each is checked in the order the module docs give
//! (origin, CSRF), then by its own rules:
//!
//! - **account** (no session needed): refused once an admin exists (`410` while the bootstrap
//!   token is still live, else an idempotent `200`); the one-shot bootstrap token must match;
//!   username 2–64 of `[A-Za-z0-9_.-]`, password 8+ and confirmed. Then the admin row, the
//!   token consumed, the operator token minted if none exists, and a session started.
//! - **vault** (session): `skip`, or `create` with a name (2–32 of `[a-z0-9_-]`, not `list`),
//!   which starts the vault module's install operation and answers its `op_id`.
//! - **expose** (session): records `localhost|tailnet|public` (the Exposure page does the
//!   layer itself).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_auth::SETTING_SETUP_EXPOSE_MODE;
use parachute_auth::cookies::session_cookie;
use parachute_auth::csrf::{CSRF_FIELD_NAME, verify_csrf_token};
use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_protocol::{SetupAnswer, SetupStep};

use super::body::{self, Fields};
use super::{VAULT_NAME, VAULT_SKIPPED, derive, refuse};
use crate::auth::{mint_issuer, request_issuer};
use crate::routes::signin::origin::{is_https, same_origin};
use crate::routes::signin::pages::{html, message_page};
use crate::routes::signin::session::{append_cookie, cookie_header, redirect, signed_in};
use crate::service::ModuleService;
use crate::state::AppState;

/// The exposure answers the wizard accepts (the original's).
pub const EXPOSE_MODES: &[&str] = &["localhost", "tailnet", "public"];

/// A refusal in the shape the request came in.
fn fail(json: bool, status: StatusCode, title: &str, message: &str) -> Response {
    if json {
        refuse(status, title, message)
    } else {
        html(
            status,
            message_page(title, message, ("/admin/setup", "Back to setup")),
        )
    }
}

/// A step done: JSON `{step, message, …}`, or a browser sent back to the setup page.
fn done(json: bool, answer: SetupAnswer, cookies: &[String]) -> Response {
    let mut response = if json {
        axum::Json(answer).into_response()
    } else {
        let mut r = redirect("/admin/setup");
        *r.status_mut() = StatusCode::SEE_OTHER;
        r
    };
    for c in cookies {
        append_cookie(&mut response, c);
    }
    response
}

fn answer(step: SetupStep, message: &str) -> SetupAnswer {
    SetupAnswer {
        step,
        message: message.to_owned(),
        op_id: None,
        minted_token: None,
    }
}

/// The checks every step shares: a readable body, this hub's origin, the CSRF token.
fn checked(state: &AppState, headers: &HeaderMap, raw: &Bytes) -> Result<Fields, Box<Response>> {
    let json_body = || {
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("application/json"))
    };
    let Some(fields) = body::parse(headers, raw) else {
        return Err(Box::new(fail(
            json_body(),
            StatusCode::BAD_REQUEST,
            "Invalid form submission",
            "The body must be a JSON object or a form.",
        )));
    };
    if !same_origin(state, headers) {
        return Err(Box::new(fail(
            fields.json,
            StatusCode::FORBIDDEN,
            "Cross-origin submission",
            "Setup only accepts posts from the hub's own pages.",
        )));
    }
    let token = fields.raw(CSRF_FIELD_NAME);
    if !verify_csrf_token(cookie_header(headers), token) {
        return Err(Box::new(fail(
            fields.json,
            StatusCode::BAD_REQUEST,
            "Invalid form submission",
            "Reload and try again.",
        )));
    }
    Ok(fields)
}

/// The original's account field rules; the message for the first broken one.
pub fn account_problem(username: &str, password: &str, confirm: &str) -> Option<&'static str> {
    let valid_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(2..=64).contains(&username.chars().count()) {
        Some("Username must be 2–64 characters.")
    } else if !valid_chars {
        Some("Username may use letters, digits, underscore, period, hyphen.")
    } else if password.chars().count() < 8 {
        Some("Password must be at least 8 characters.")
    } else if password != confirm {
        Some("Passwords do not match.")
    } else {
        None
    }
}

/// `POST /admin/setup/account`.
pub async fn account(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Response {
    let fields = match checked(&state, &headers, &raw) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let json = fields.json;
    let live_token = state.bootstrap().current().is_some();
    if state.has_admin() {
        if live_token {
            return fail(
                json,
                StatusCode::GONE,
                "Admin already claimed",
                "The bootstrap token was already used. Sign in at /login.",
            );
        }
        return done(json, answer(SetupStep::Vault, "admin already exists"), &[]);
    }
    if !state.bootstrap().verify(&fields.get("bootstrap_token")) {
        let message = if live_token {
            "Re-check the `parachute-bootstrap-…` line in your hub's startup output."
        } else {
            "This hub has no bootstrap token: restart `parachute serve`, which prints a new one."
        };
        return fail(
            json,
            StatusCode::UNAUTHORIZED,
            "Bootstrap token rejected",
            message,
        );
    }
    let username = fields.get("username");
    let password = fields.raw("password").unwrap_or("");
    let confirm = fields.raw("password_confirm").unwrap_or("");
    if let Some(problem) = account_problem(&username, password, confirm) {
        return fail(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid account fields",
            problem,
        );
    }
    let db = state.db();
    let user = match db.create_user(&username, password) {
        Ok(u) => u,
        Err(err) => {
            tracing::warn!(%err, "setup could not create the admin account");
            return fail(
                json,
                StatusCode::BAD_REQUEST,
                "Account creation failed",
                "Failed to create account. The username may already be taken.",
            );
        }
    };
    state.bootstrap().consume();
    ensure_operator_token(&state, &headers);
    let session = match db.create_session(&user.id) {
        Ok(s) => s,
        Err(err) => {
            tracing::error!(%err, "setup created the admin but cannot start a session");
            return fail(
                json,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Account created, not signed in",
                "The admin exists; sign in at /login to continue setup.",
            );
        }
    };
    let cookie = session_cookie(&session.id, is_https(&state, &headers));
    done(json, answer(SetupStep::Vault, "admin created"), &[cookie])
}

/// Writes an admin operator token for the CLI when none exists; a failure only warns (the
/// account stays created; `parachute auth rotate-operator` mints one later).
fn ensure_operator_token(state: &AppState, headers: &HeaderMap) {
    let path = state.home().operator_token();
    if path.exists() {
        return;
    }
    if let Err(err) = mint_operator(
        state.db(),
        OperatorScopeSet::Admin,
        &mint_issuer(state, headers),
        &path,
    ) {
        tracing::warn!(%err, "setup could not write the operator token; run `parachute auth rotate-operator`");
    }
}

/// A session is required after the account step.
fn require_session(state: &AppState, headers: &HeaderMap, json: bool) -> Result<(), Box<Response>> {
    match signed_in(state, headers) {
        Ok(Some(who)) if who.admin => Ok(()),
        Ok(_) => Err(Box::new(fail(
            json,
            StatusCode::UNAUTHORIZED,
            "No admin session",
            "Sign in to continue setup. The session cookie was set by the account step.",
        ))),
        Err(err) => Err(Box::new(err.into_response())),
    }
}

/// The original's vault name rules.
pub fn vault_name_problem(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    if !(2..=32).contains(&name.len()) {
        Some("vault names must be 2–32 characters long.".into())
    } else if !ok_chars {
        Some("vault names must be lowercase alphanumeric with hyphens or underscores.".into())
    } else if name == "list" {
        Some(format!("\"{name}\" is a reserved vault name."))
    } else {
        None
    }
}

/// `POST /admin/setup/vault`.
pub async fn vault(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Response {
    let fields = match checked(&state, &headers, &raw) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let json = fields.json;
    if let Err(r) = require_session(&state, &headers, json) {
        return *r;
    }
    if derive(&state).2 {
        return done(
            json,
            answer(SetupStep::Expose, "vault already provisioned"),
            &[],
        );
    }
    let mode = match fields.get("mode") {
        m if m.is_empty() => "create".to_owned(),
        m => m,
    };
    match mode.as_str() {
        "skip" => {
            if let Err(err) = state.db().set_setting(VAULT_SKIPPED, "true") {
                return crate::error::ApiError::internal("cannot record the skipped step", err)
                    .into_response();
            }
            done(json, answer(SetupStep::Expose, "vault step skipped"), &[])
        }
        "create" => create_vault(&state, &headers, &fields),
        "import" => fail(
            json,
            StatusCode::BAD_REQUEST,
            "Import not available",
            "This hub cannot import a vault during setup yet: create one, then import into it with `parachute vault`.",
        ),
        other => fail(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid vault mode",
            &format!("mode must be one of create, import, skip (got \"{other}\")"),
        ),
    }
}

fn create_vault(state: &AppState, headers: &HeaderMap, fields: &Fields) -> Response {
    let json = fields.json;
    let name = match fields.get("vault_name") {
        n if n.is_empty() => "default".to_owned(),
        n => n,
    };
    if let Some(problem) = vault_name_problem(&name) {
        return fail(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid vault name",
            &problem,
        );
    }
    if let Err(err) = state.db().set_setting(VAULT_NAME, &name) {
        return crate::error::ApiError::internal("cannot record the vault name", err)
            .into_response();
    }
    let service = ModuleService::new(state.clone());
    match service.install("vault", None, request_issuer(state, headers)) {
        Ok(op) => {
            let mut a = answer(SetupStep::Vault, "installing the vault module");
            a.op_id = Some(op.id);
            done(json, a, &[])
        }
        Err(err) => crate::error::ApiError::from(err).into_response(),
    }
}

/// `POST /admin/setup/expose`.
pub async fn expose(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Response {
    let fields = match checked(&state, &headers, &raw) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let json = fields.json;
    if let Err(r) = require_session(&state, &headers, json) {
        return *r;
    }
    if derive(&state).3 {
        return done(
            json,
            answer(SetupStep::Done, "expose mode already set"),
            &[],
        );
    }
    let mode = fields.get("expose_mode");
    if !EXPOSE_MODES.contains(&mode.as_str()) {
        return fail(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid expose_mode",
            &format!("Pick one of: {}.", EXPOSE_MODES.join(", ")),
        );
    }
    if let Err(err) = state.db().set_setting(SETTING_SETUP_EXPOSE_MODE, &mode) {
        return crate::error::ApiError::internal("cannot record the exposure answer", err)
            .into_response();
    }
    done(json, answer(SetupStep::Done, "expose mode set"), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_and_vault_rules_are_the_originals() {
        assert_eq!(account_problem("owner", "12345678", "12345678"), None);
        assert!(account_problem("o", "12345678", "12345678").is_some());
        assert!(account_problem("own er", "12345678", "12345678").is_some());
        assert!(account_problem("owner", "1234567", "1234567").is_some());
        assert!(account_problem("owner", "12345678", "12345679").is_some());
        assert_eq!(vault_name_problem("default"), None);
        assert_eq!(vault_name_problem("my_vault-2"), None);
        for bad in ["d", "Default", "a b", "list", &"x".repeat(33)] {
            assert!(vault_name_problem(bad).is_some(), "{bad}");
        }
    }
}

//! The original's permanent redirects of retired paths (SPEC Part B §11), before anything
//! else: any method, query string kept. Only these exact paths move; `/vault/<name>/…` is the
//! vault proxy and never redirects.
//!
//! | from | to |
//! |---|---|
//! | `/vault`, `/vault/`, `/vault/new` | `/admin/vaults[/new]` |
//! | `/hub/vaults`, `/hub/vaults/*` | `/admin/vaults*` |
//! | `/hub/permissions`, `/hub/tokens` | `/admin/permissions`, `/admin/tokens` |
//! | `/hub`, `/hub/` | `/admin/vaults` |
//! | `/admin/login`, `/admin/logout` | `/login`, `/logout` |
//! | `/admin/config`, `/admin/config/*` | `/admin/vaults` (query dropped, as the original) |
//! | `/notes`, `/notes/`, `/notes/*` | `/surface/notes…`, unless the `notes_redirect_disabled` setting is `true` |

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// The setting that turns the `/notes` redirect off (the original's key).
pub const NOTES_REDIRECT_DISABLED: &str = "notes_redirect_disabled";

/// Where `path` moved, without the query; `None` when it did not.
pub fn target(path: &str) -> Option<(String, bool)> {
    let keep_query = true;
    let to = match path {
        "/vault" | "/vault/" => "/admin/vaults".to_owned(),
        "/vault/new" => "/admin/vaults/new".to_owned(),
        "/hub/permissions" => "/admin/permissions".to_owned(),
        "/hub/tokens" => "/admin/tokens".to_owned(),
        "/hub" | "/hub/" => "/admin/vaults".to_owned(),
        "/admin/login" => "/login".to_owned(),
        "/admin/logout" => "/logout".to_owned(),
        "/admin/config" => return Some(("/admin/vaults".to_owned(), false)),
        p if p.starts_with("/admin/config/") => return Some(("/admin/vaults".to_owned(), false)),
        p if p == "/hub/vaults" || p.starts_with("/hub/vaults/") => {
            format!("/admin/vaults{}", &p["/hub/vaults".len()..])
        }
        _ => return None,
    };
    Some((to, keep_query))
}

/// `/notes…` → `/surface/notes…`.
pub fn notes_target(path: &str) -> Option<String> {
    if path == "/notes" || path == "/notes/" || path.starts_with("/notes/") {
        Some(format!("/surface{path}"))
    } else {
        None
    }
}

/// The middleware.
pub async fn legacy_redirects(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let query = request.uri().query();
    let moved = target(path).or_else(|| {
        let to = notes_target(path)?;
        let disabled = matches!(
            state
                .db()
                .setting(NOTES_REDIRECT_DISABLED)
                .ok()
                .flatten()
                .as_deref(),
            Some("true")
        );
        (!disabled).then_some((to, true))
    });
    let Some((to, keep_query)) = moved else {
        return next.run(request).await;
    };
    let location = match query {
        Some(q) if keep_query => format!("{to}?{q}"),
        _ => to,
    };
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_retired_paths_move() {
        assert_eq!(target("/vault").unwrap().0, "/admin/vaults");
        assert_eq!(target("/vault/").unwrap().0, "/admin/vaults");
        assert_eq!(target("/vault/new").unwrap().0, "/admin/vaults/new");
        assert_eq!(target("/hub/vaults/x/y").unwrap().0, "/admin/vaults/x/y");
        assert_eq!(target("/hub/").unwrap().0, "/admin/vaults");
        assert_eq!(target("/admin/login").unwrap().0, "/login");
        assert_eq!(
            target("/admin/config/a"),
            Some(("/admin/vaults".into(), false))
        );
        for kept in [
            "/vault/default",
            "/vault/default/mcp",
            "/vault/new/x",
            "/vaults",
            "/hubx",
            "/admin/modules",
            "/",
        ] {
            assert!(target(kept).is_none(), "{kept}");
        }
        assert_eq!(
            notes_target("/notes/a").as_deref(),
            Some("/surface/notes/a")
        );
        assert_eq!(notes_target("/notesy"), None);
    }
}

//! Discovery documents: `/.well-known/oauth-authorization-server` (RFC 8414) and
//! `/.well-known/oauth-protected-resource` (RFC 9728), the hub-wide form and the per-vault
//! path form `/.well-known/oauth-protected-resource/vault/<name>[/mcp]` an MCP client builds
//! from a vault's URL.
//!
//! Links are built on the origin the request can follow ([`crate::auth::request_issuer`]: the
//! one issuer rule, with the exposed origin only for requests that came in through it), so a
//! client on loopback and one through the tunnel each get endpoints they can reach. The
//! scopes advertised are the requestable ones (operator-only scopes are never offered), minus
//! optional modules that are not installed, as the original does.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_auth::scopes::{VAULT_VERBS, is_valid_vault_name};
use serde_json::json;

use super::support::{cors, installed_services, oauth_json, scope_registry};
use crate::auth::request_issuer;
use crate::state::AppState;

/// The RFC 8414 document (also served under any path suffix, for clients that insert the
/// resource's path).
pub async fn authorization_server(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let iss = request_issuer(&state, &headers);
    let scopes = scope_registry(&state).advertised(&installed_services(&state));
    cors(
        Json(json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oauth/authorize"),
            "token_endpoint": format!("{iss}/oauth/token"),
            "registration_endpoint": format!("{iss}/oauth/register"),
            "revocation_endpoint": format!("{iss}/oauth/revoke"),
            "jwks_uri": format!("{iss}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": scopes,
        }))
        .into_response(),
    )
}

/// The hub-wide RFC 9728 document: the hub is the resource and its own authorization server.
pub async fn protected_resource(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let iss = request_issuer(&state, &headers);
    let scopes = scope_registry(&state).advertised(&installed_services(&state));
    cors(Json(resource_document(&iss, &iss, &scopes)).into_response())
}

/// The per-vault path form: `vault/<name>` or `vault/<name>/mcp` after the well-known prefix.
/// The resource is the vault's MCP endpoint and the scopes are that vault's.
pub async fn protected_resource_for_path(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(vault) = vault_of_path(&rest) else {
        return oauth_json(
            StatusCode::NOT_FOUND,
            "not_found",
            "this hub describes /vault/<name>/mcp resources only; use /.well-known/oauth-protected-resource for the hub itself",
        );
    };
    let iss = request_issuer(&state, &headers);
    let scopes: Vec<String> = VAULT_VERBS
        .iter()
        .map(|verb| format!("vault:{vault}:{verb}"))
        .collect();
    let resource = format!("{iss}/vault/{vault}/mcp");
    cors(Json(resource_document(&resource, &iss, &scopes)).into_response())
}

fn resource_document(resource: &str, iss: &str, scopes: &[String]) -> serde_json::Value {
    json!({
        "resource": resource,
        "authorization_servers": [iss],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_documentation": "https://parachute.computer",
    })
}

/// The vault named by `vault/<name>` or `vault/<name>/mcp` (a trailing slash tolerated).
fn vault_of_path(rest: &str) -> Option<&str> {
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_prefix("vault/")?;
    let name = rest.strip_suffix("/mcp").unwrap_or(rest);
    is_valid_vault_name(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::vault_of_path;

    #[test]
    fn vault_paths_are_recognised() {
        assert_eq!(vault_of_path("vault/work/mcp"), Some("work"));
        assert_eq!(vault_of_path("vault/work"), Some("work"));
        assert_eq!(vault_of_path("vault/work/mcp/"), Some("work"));
        assert_eq!(vault_of_path("vault/a/b/mcp"), None);
        assert_eq!(vault_of_path("scribe/x"), None);
        assert_eq!(vault_of_path("vault/../mcp"), None);
    }
}

//! RFC 8707 resource indicators: binding an OAuth request to one vault.
//!
//! Flow: an MCP client connecting to `<hub>/vault/<name>/mcp` learns from the 401 challenge and
//! the vault's protected-resource metadata that the hub is its authorization server, and sends
//! `resource=<hub>/vault/<name>/mcp` (or the metadata URL itself) to `/oauth/authorize`.
//! [`resolve_resource_vault`] turns that into `<name>` when the resource is on one of the hub's
//! own origins; [`narrow_to_resource_vault`] then rewrites the request to that vault's named
//! scopes (dropping scopes meaningless in a vault-audience token) before consent, so the person
//! sees only what that one vault would grant and the token gets `aud = vault.<name>`. At the
//! token endpoint [`check_resource_audience`] refuses a `resource` naming a different vault than
//! the one the grant is bound to.
//!
//! Differences from the original, deliberately stricter: a bound request that names scopes of a
//! *different* vault is refused (the original passed them through, which could mint a token
//! whose audience is not the resource), and the token endpoint checks `resource` (the original
//! ignored it there). Resources that are not one of our vault endpoints are ignored as the
//! original does, so clients that send the hub origin keep working.

use url::Url;

use crate::issuers::normalize_origin;
use crate::oauth_error::OAuthError;
use crate::scopes::{is_valid_vault_name, named_vault_scope, unnamed_vault_verb};

/// The vault a resource indicator names, or `None` when it is absent, not a URL, on a foreign
/// origin, or not `/vault/<name>/mcp` or `/vault/<name>/.well-known/oauth-protected-resource`
/// (a trailing slash, query or fragment is tolerated). `bound_origins` are the hub's own
/// origins (loopback forms, configured and exposed origins).
pub fn resolve_resource_vault<S: AsRef<str>>(
    resource: Option<&str>,
    bound_origins: &[S],
) -> Option<String> {
    let parsed = Url::parse(resource?.trim()).ok()?;
    let origin = parsed.origin().ascii_serialization();
    if !bound_origins
        .iter()
        .any(|o| normalize_origin(o.as_ref()) == origin)
    {
        return None;
    }
    let rest = parsed.path().strip_prefix("/vault/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (segment, tail) = rest.split_once('/')?;
    if tail != "mcp" && tail != ".well-known/oauth-protected-resource" {
        return None;
    }
    let name = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    is_valid_vault_name(&name).then(|| name.into_owned())
}

/// The request's scopes rewritten for a token bound to `vault`: unnamed `vault:<verb>` becomes
/// `vault:<vault>:<verb>`, named scopes of `vault` stay, non-vault scopes are dropped (they are
/// unusable in a vault-audience token), duplicates are removed. A named scope of another vault
/// is refused. Idempotent.
pub fn narrow_to_resource_vault<S: AsRef<str>>(
    scopes: &[S],
    vault: &str,
    resource: &str,
) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    let mut foreign = Vec::new();
    for scope in scopes.iter().map(AsRef::as_ref) {
        if !scope.starts_with("vault:") {
            continue;
        }
        let narrowed = match (unnamed_vault_verb(scope), named_vault_scope(scope)) {
            (Some(verb), _) => format!("vault:{vault}:{verb}"),
            (None, Some((name, _))) if name != vault => {
                foreign.push(scope.to_owned());
                continue;
            }
            // This vault's named scope, or a malformed vault scope the registry will refuse.
            _ => scope.to_owned(),
        };
        if !out.contains(&narrowed) {
            out.push(narrowed);
        }
    }
    if !foreign.is_empty() {
        return Err(OAuthError::InvalidTarget {
            resource: resource.to_owned(),
            reason: format!(
                "it names the vault {vault:?} but the request asks for another vault's scopes \
                 ({}); connect to that vault's own address instead",
                foreign.join(", ")
            ),
        });
    }
    Ok(out)
}

/// At the token endpoint: when `resource` names one of our vaults, the token's audience must be
/// that vault's (`vault.<name>`).
pub fn check_resource_audience<S: AsRef<str>>(
    resource: Option<&str>,
    bound_origins: &[S],
    audience: &str,
) -> Result<(), OAuthError> {
    let Some(vault) = resolve_resource_vault(resource, bound_origins) else {
        return Ok(());
    };
    if audience == format!("vault.{vault}") {
        return Ok(());
    }
    Err(OAuthError::InvalidTarget {
        resource: resource.unwrap_or_default().to_owned(),
        reason: format!(
            "it names the vault {vault:?} but this grant is for {audience:?}; sign in again \
             from the app connected to {vault:?}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: &[&str] = &["http://127.0.0.1:1939", "https://box.tail1234.ts.net/"];

    #[test]
    fn vault_resources_on_our_origins_resolve() {
        let cases = [
            ("http://127.0.0.1:1939/vault/default/mcp", Some("default")),
            ("http://127.0.0.1:1939/vault/default/mcp/", Some("default")),
            (
                "https://box.tail1234.ts.net/vault/work/mcp?x=1#f",
                Some("work"),
            ),
            (
                "https://box.tail1234.ts.net:443/vault/work/.well-known/oauth-protected-resource",
                Some("work"),
            ),
            (
                "http://127.0.0.1:1939/vault/my%5Fvault/mcp",
                Some("my_vault"),
            ),
            ("http://127.0.0.1:1939/vault/%2F..%2Fadmin/mcp", None),
            ("http://127.0.0.1:1939/vault/%GG/mcp", None),
            ("http://127.0.0.1:1939/vault/default/other", None),
            ("http://127.0.0.1:1939/vault/a/b/mcp", None),
            ("http://127.0.0.1:1939/", None),
            ("https://evil.example/vault/default/mcp", None),
            ("http://localhost:1939/vault/default/mcp", None),
            ("not a url", None),
        ];
        for (resource, want) in cases {
            assert_eq!(
                resolve_resource_vault(Some(resource), BOUND).as_deref(),
                want,
                "{resource}"
            );
        }
        assert_eq!(resolve_resource_vault(None, BOUND), None);
    }

    #[test]
    fn narrowing_names_the_vault_and_drops_foreign_services() {
        let got = narrow_to_resource_vault(
            &[
                "vault:read",
                "vault:write",
                "scribe:transcribe",
                "hub:admin",
                "vault:default:read",
                "vault:default:admin",
            ],
            "default",
            "r",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                "vault:default:read",
                "vault:default:write",
                "vault:default:admin"
            ]
        );
        assert_eq!(
            narrow_to_resource_vault(&got, "default", "r").unwrap(),
            got,
            "idempotent"
        );
    }

    #[test]
    fn another_vaults_scope_is_refused() {
        let err = narrow_to_resource_vault(
            &["vault:read", "vault:work:admin"],
            "default",
            "http://127.0.0.1:1939/vault/default/mcp",
        )
        .unwrap_err();
        assert_eq!(err.error_code(), "invalid_target");
        assert!(err.to_string().contains("vault:work:admin"), "{err}");
    }

    #[test]
    fn token_endpoint_resource_must_match_the_audience() {
        let resource = Some("http://127.0.0.1:1939/vault/default/mcp");
        assert!(check_resource_audience(resource, BOUND, "vault.default").is_ok());
        let err = check_resource_audience(resource, BOUND, "vault.work").unwrap_err();
        assert_eq!(err.error_code(), "invalid_target");
        assert!(check_resource_audience(Some("http://127.0.0.1:1939"), BOUND, "hub").is_ok());
        assert!(check_resource_audience(None, BOUND, "vault.work").is_ok());
    }
}

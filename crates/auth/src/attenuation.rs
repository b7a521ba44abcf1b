//! Attenuation: nobody hands out more than they hold.
//!
//! Two rules, as in the original:
//! - **Bearer authority** ([`can_grant`]): a token may mint (and revoke) a scope only under one
//!   of three rules: any requestable scope with `parachute:host:auth`; `vault:<n>:admin` with
//!   `parachute:host:admin`; any `vault:<n>:<verb>` with `vault:<n>:admin`.
//! - **User authority** ([`HubDb::cap_scopes_to_user`]): at the single point where an
//!   authorization code is issued, a user other than the owner keeps only the named vault verbs
//!   their assignments grant; other named vault scopes are dropped. A request that loses every
//!   scope this way is refused rather than minted empty.
//!
//! Before consent, [`bind_request_scopes`] applies the RFC 8707 resource binding and refuses
//! operator-only scopes.

use crate::db::HubDb;
use crate::error::AuthError;
use crate::oauth_error::OAuthError;
use crate::resource::{narrow_to_resource_vault, resolve_resource_vault};
use crate::scopes::{is_non_requestable_scope, is_vault_admin_scope, named_vault_scope};

/// The bearer scope that may mint any requestable scope.
pub const MINT_HOST_AUTH_SCOPE: &str = "parachute:host:auth";
/// The bearer scope that may mint any `vault:<n>:admin`.
pub const MINT_HOST_ADMIN_SCOPE: &str = "parachute:host:admin";

/// Whether a bearer holding `bearer_scopes` may mint (or revoke) a token carrying `scope`.
pub fn can_grant<S: AsRef<str>>(bearer_scopes: &[S], scope: &str) -> bool {
    let holds = |wanted: &str| bearer_scopes.iter().any(|s| s.as_ref() == wanted);
    if !is_non_requestable_scope(scope) && holds(MINT_HOST_AUTH_SCOPE) {
        return true;
    }
    if is_vault_admin_scope(scope) && holds(MINT_HOST_ADMIN_SCOPE) {
        return true;
    }
    named_vault_scope(scope).is_some_and(|(vault, _)| holds(&format!("vault:{vault}:admin")))
}

/// Whether a bearer holds any minting authority at all (the cheap gate before [`can_grant`]).
pub fn has_minting_authority<S: AsRef<str>>(bearer_scopes: &[S]) -> bool {
    bearer_scopes
        .iter()
        .map(AsRef::as_ref)
        .any(|s| s == MINT_HOST_AUTH_SCOPE || s == MINT_HOST_ADMIN_SCOPE || is_vault_admin_scope(s))
}

/// An authorization request's scopes after resource binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundRequest {
    /// The scopes to show on the consent page and, once approved, to issue.
    pub scopes: Vec<String>,
    /// The vault the RFC 8707 `resource` named, if it named one of ours (the consent page
    /// locks its vault picker to it).
    pub vault: Option<String>,
}

/// Applies the `resource` binding (see [`crate::resource`]) to the requested scopes and refuses
/// operator-only scopes. `bound_origins` are the hub's own origins.
pub fn bind_request_scopes<S: AsRef<str>, O: AsRef<str>>(
    requested: &[S],
    resource: Option<&str>,
    bound_origins: &[O],
) -> Result<BoundRequest, OAuthError> {
    let vault = resolve_resource_vault(resource, bound_origins);
    let scopes = match &vault {
        Some(vault) => narrow_to_resource_vault(requested, vault, resource.unwrap_or_default())?,
        None => requested.iter().map(|s| s.as_ref().to_owned()).collect(),
    };
    let blocked: Vec<String> = scopes
        .iter()
        .filter(|s| is_non_requestable_scope(s))
        .cloned()
        .collect();
    if !blocked.is_empty() {
        return Err(OAuthError::NonRequestableScopes { scopes: blocked });
    }
    Ok(BoundRequest { scopes, vault })
}

impl HubDb {
    /// `scopes` narrowed to what `user_id` may delegate: everything for the owner; for anyone
    /// else, named vault verbs only where their assignment grants that verb (other scopes pass).
    /// Refuses with [`OAuthError::NothingToGrant`] when a non-empty request loses every scope.
    pub fn cap_scopes_to_user<S: AsRef<str>>(
        &self,
        user_id: &str,
        scopes: &[S],
    ) -> Result<Vec<String>, AuthError> {
        let requested: Vec<String> = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
        if self.is_first_admin(user_id)? {
            return Ok(requested);
        }
        let mut kept = Vec::new();
        for scope in &requested {
            let allowed = match named_vault_scope(scope) {
                Some((vault, verb)) => self
                    .vault_verbs_for_user(user_id, vault)?
                    .is_some_and(|held| held.contains(&verb)),
                None => true,
            };
            if allowed {
                kept.push(scope.clone());
            }
        }
        if kept.is_empty() && !requested.is_empty() {
            return Err(OAuthError::NothingToGrant { scopes: requested }.into());
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::FixedClock;
    use crate::test_support::db_with_users;

    #[test]
    fn bearer_rules() {
        let host_auth = ["parachute:host:auth"];
        assert!(can_grant(&host_auth, "vault:work:admin"));
        assert!(can_grant(&host_auth, "hub:admin"));
        assert!(!can_grant(&host_auth, "parachute:host:admin"));
        let host_admin = ["parachute:host:admin"];
        assert!(can_grant(&host_admin, "vault:work:admin"));
        assert!(!can_grant(&host_admin, "vault:work:read"));
        let vault_admin = ["vault:work:admin"];
        assert!(can_grant(&vault_admin, "vault:work:read"));
        assert!(can_grant(&vault_admin, "vault:work:admin"));
        assert!(!can_grant(&vault_admin, "vault:home:read"));
        assert!(!can_grant(&vault_admin, "hub:admin"));
        assert!(has_minting_authority(&vault_admin));
        assert!(has_minting_authority(&host_auth));
        assert!(!has_minting_authority(&["vault:work:read", "hub:admin"]));
    }

    #[test]
    fn binding_narrows_and_refuses_operator_scopes() {
        let bound = ["http://127.0.0.1:1939"];
        let got = bind_request_scopes(
            &["vault:read", "scribe:transcribe"],
            Some("http://127.0.0.1:1939/vault/default/mcp"),
            &bound,
        )
        .unwrap();
        assert_eq!(got.scopes, vec!["vault:default:read"]);
        assert_eq!(got.vault.as_deref(), Some("default"));

        let unbound = bind_request_scopes(&["vault:read", "hub:admin"], None, &bound).unwrap();
        assert_eq!(unbound.scopes, vec!["vault:read", "hub:admin"]);
        assert_eq!(unbound.vault, None);

        let err =
            bind_request_scopes(&["vault:read", "parachute:host:admin"], None, &bound).unwrap_err();
        assert_eq!(
            err,
            OAuthError::NonRequestableScopes {
                scopes: vec!["parachute:host:admin".into()]
            }
        );
    }

    #[test]
    fn users_delegate_only_what_they_hold() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, owner, friend) = db_with_users(clock);
        let wants = ["vault:work:admin", "vault:home:read", "hub:admin"];
        assert_eq!(db.cap_scopes_to_user(&owner, &wants).unwrap(), wants);

        db.set_user_vaults(&friend, &["work"]).unwrap();
        assert_eq!(
            db.cap_scopes_to_user(&friend, &wants).unwrap(),
            vec!["vault:work:admin", "hub:admin"],
            "assigned vault kept, unassigned dropped, non-vault passes"
        );
        db.lock()
            .execute("UPDATE user_vaults SET role = 'read'", [])
            .unwrap();
        assert_eq!(
            db.cap_scopes_to_user(&friend, &["vault:work:read", "vault:work:admin"])
                .unwrap(),
            vec!["vault:work:read"]
        );
        let err = db
            .cap_scopes_to_user(&friend, &["vault:work:admin"])
            .unwrap_err();
        assert!(
            matches!(err, AuthError::OAuth(OAuthError::NothingToGrant { .. })),
            "{err:?}"
        );
        assert!(
            db.cap_scopes_to_user::<&str>(&friend, &[])
                .unwrap()
                .is_empty()
        );
    }
}

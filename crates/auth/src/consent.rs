//! When `/oauth/authorize` may skip the consent page, as the original decides it.
//!
//! Consent is skipped, and a code issued at once through
//! [`HubDb::issue_authorization_code`], only when none of the guards below holds and either
//! the user's remembered grant for this client covers every requested scope, or the client was
//! registered by the hub's own operator (`same_hub`) and asks for no admin scope. The guards:
//! an unnamed `vault:<verb>` is requested (the person must pick a vault); the user is not the
//! owner and has no vault (their empty `vault_scope` would mean "unrestricted"); the user's
//! vaults all disappeared from `services.json` (the page explains that instead of minting for a
//! missing vault).
//!
//! Apps that register a fresh client id per session keep their trust by name:
//! [`HubDb::carry_client_name_trust`] copies a covering grant of a same-named client onto the
//! new id (never for admin scopes), after which the ordinary grant rule applies.

use crate::clients::OAuthClient;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::scopes::{scope_is_admin, unnamed_vault_verb};

/// Why consent may be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The remembered grant covers the request.
    Grant,
    /// An operator-registered client asking for no admin scope.
    SameHub,
}

/// What `/oauth/authorize` should do with a signed-in request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    /// Issue the code without showing the consent page.
    Skip(SkipReason),
    /// Show the consent page.
    Ask,
}

impl HubDb {
    /// Decides whether `user_id` must see the consent page for `client` asking `requested`
    /// (after resource binding). `live_vaults` are the vault names `services.json` lists now.
    pub fn consent_decision<S: AsRef<str>, V: AsRef<str>>(
        &self,
        user_id: &str,
        client: &OAuthClient,
        requested: &[S],
        live_vaults: &[V],
    ) -> Result<ConsentDecision, AuthError> {
        let owner = self.is_first_admin(user_id)?;
        let assigned = if owner {
            Vec::new()
        } else {
            self.user_vaults(user_id)?
        };
        let stale = !assigned.is_empty()
            && !assigned
                .iter()
                .any(|v| live_vaults.iter().any(|live| live.as_ref() == v));
        let unnamed = requested
            .iter()
            .any(|s| unnamed_vault_verb(s.as_ref()).is_some());
        let has_posture = owner || !assigned.is_empty();
        if stale || unnamed || !has_posture {
            return Ok(ConsentDecision::Ask);
        }
        if self.is_covered_by_grant(user_id, &client.client_id, requested)? {
            return Ok(ConsentDecision::Skip(SkipReason::Grant));
        }
        if client.same_hub && !requested.iter().any(|s| scope_is_admin(s.as_ref())) {
            return Ok(ConsentDecision::Skip(SkipReason::SameHub));
        }
        Ok(ConsentDecision::Ask)
    }

    /// Copies the trust `user_id` gave an earlier client of the same name onto `client`, when
    /// that grant covers `requested` and nothing requested is admin-level. Returns whether it
    /// did. The caller applies this only on a same-origin, signed-in request, as the original.
    pub fn carry_client_name_trust<S: AsRef<str>>(
        &self,
        user_id: &str,
        client: &OAuthClient,
        requested: &[S],
    ) -> Result<bool, AuthError> {
        let Some(name) = client.client_name.as_deref().filter(|n| !n.is_empty()) else {
            return Ok(false);
        };
        if requested.is_empty() || requested.iter().any(|s| scope_is_admin(s.as_ref())) {
            return Ok(false);
        }
        if !self.is_covered_by_client_name_grant(user_id, name, requested)? {
            return Ok(false);
        }
        self.record_grant(user_id, &client.client_id, requested)?;
        tracing::info!(user_id, client_id = %client.client_id, client_name = name, "carried a same-named client's consent onto a new client id");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::FixedClock;
    use crate::test_support::{approved_client, db_with_users, external_client};

    const LIVE: &[&str] = &["default", "work"];

    #[test]
    fn grants_skip_consent_unless_a_guard_holds() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, owner, friend) = db_with_users(clock);
        let id = external_client(&db, "app", "http://127.0.0.1:1/cb");
        let client = db.require_client(&id).unwrap();
        assert!(!client.same_hub);
        let wants = ["vault:default:read"];
        assert_eq!(
            db.consent_decision(&owner, &client, &wants, LIVE).unwrap(),
            ConsentDecision::Ask
        );
        db.record_grant(&owner, &id, &wants).unwrap();
        assert_eq!(
            db.consent_decision(&owner, &client, &wants, LIVE).unwrap(),
            ConsentDecision::Skip(SkipReason::Grant)
        );
        assert_eq!(
            db.consent_decision(&owner, &client, &["vault:read"], LIVE)
                .unwrap(),
            ConsentDecision::Ask,
            "an unnamed vault verb needs the picker"
        );

        // A friend without vaults never skips, even with a grant.
        db.record_grant(&friend, &id, &["vault:work:read"]).unwrap();
        assert_eq!(
            db.consent_decision(&friend, &client, &["vault:work:read"], LIVE)
                .unwrap(),
            ConsentDecision::Ask
        );
        db.set_user_vaults(&friend, &["work"]).unwrap();
        assert_eq!(
            db.consent_decision(&friend, &client, &["vault:work:read"], LIVE)
                .unwrap(),
            ConsentDecision::Skip(SkipReason::Grant)
        );
        assert_eq!(
            db.consent_decision(&friend, &client, &["vault:work:read"], &["default"])
                .unwrap(),
            ConsentDecision::Ask,
            "every assigned vault vanished"
        );
    }

    #[test]
    fn same_hub_clients_skip_for_non_admin_scopes_and_names_carry_trust() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, owner, _) = db_with_users(clock);
        let id = approved_client(&db, "Notes", "http://127.0.0.1:1/cb");
        let client = db.require_client(&id).unwrap();
        assert!(client.same_hub, "operator registration");
        assert_eq!(
            db.consent_decision(&owner, &client, &["vault:default:write"], LIVE)
                .unwrap(),
            ConsentDecision::Skip(SkipReason::SameHub)
        );
        assert_eq!(
            db.consent_decision(&owner, &client, &["vault:default:admin"], LIVE)
                .unwrap(),
            ConsentDecision::Ask
        );

        db.record_grant(&owner, &id, &["vault:default:read", "vault:default:admin"])
            .unwrap();
        let fresh_id = external_client(&db, "Notes", "http://127.0.0.1:2/cb");
        let fresh = db.require_client(&fresh_id).unwrap();
        assert!(
            !db.carry_client_name_trust(&owner, &fresh, &["vault:default:admin"])
                .unwrap()
        );
        assert!(
            !db.carry_client_name_trust(&owner, &fresh, &["vault:work:read"])
                .unwrap()
        );
        assert!(
            db.carry_client_name_trust(&owner, &fresh, &["vault:default:read"])
                .unwrap()
        );
        assert!(
            db.is_covered_by_grant(&owner, &fresh_id, &["vault:default:read"])
                .unwrap()
        );
    }
}

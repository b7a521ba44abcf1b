//! Remembered consent (`grants` table): "this user approved these scopes for this client".
//!
//! One row per (user, client). Recording is a union: the stored set is every scope ever
//! approved for that pair, sorted and space-joined, and `granted_at` moves to the latest
//! approval. An authorization may skip the consent page when every requested scope is already
//! in the set ([`HubDb::is_covered_by_grant`]); an empty request never skips. Apps that register
//! a fresh client id per session are matched by name instead
//! ([`HubDb::is_covered_by_client_name_grant`]), with the caller keeping admin scopes
//! consent-gated. Revoking a grant only forces consent next time: as in the original, it leaves
//! issued tokens alone ([`HubDb::revoke_grant`]); [`HubDb::revoke_grant_and_tokens`] also
//! revokes that user's tokens for that client.

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::clock::format_timestamp;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::oauth_error::OAuthError;

/// One `grants` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user who consented.
    pub user_id: String,
    /// The client consented to.
    pub client_id: String,
    /// Every scope approved so far, sorted.
    pub scopes: Vec<String>,
    /// The latest approval (stored text).
    pub granted_at: String,
}

/// A grant with its client's display name, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantListing {
    /// The grant.
    pub grant: Grant,
    /// `clients.client_name`, when the client still exists and has one.
    pub client_name: Option<String>,
}

/// What [`HubDb::revoke_grant_and_tokens`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedGrant {
    /// Whether a grant row existed and was deleted.
    pub grant_removed: bool,
    /// How many live token rows of that user and client were revoked.
    pub tokens_revoked: usize,
}

fn grant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    let scopes: String = row.get(2)?;
    Ok(Grant {
        user_id: row.get(0)?,
        client_id: row.get(1)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        granted_at: row.get(3)?,
    })
}

/// Whether every one of `requested` (non-empty) is in `grant`.
fn covers<S: AsRef<str>>(grant: Option<&Grant>, requested: &[S]) -> bool {
    !requested.is_empty()
        && grant.is_some_and(|g| {
            requested
                .iter()
                .all(|s| g.scopes.iter().any(|have| have == s.as_ref()))
        })
}

/// Whether any of `scopes` is a `vault:<vault>:…` scope (the dashboard's per-vault filter).
pub fn grant_touches_vault<S: AsRef<str>>(scopes: &[S], vault: &str) -> bool {
    scopes.iter().any(|s| {
        s.as_ref()
            .strip_prefix("vault:")
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(name, _)| name == vault)
    })
}

impl HubDb {
    /// The grant of `user_id` to `client_id`, if any.
    pub fn grant(&self, user_id: &str, client_id: &str) -> Result<Option<Grant>, AuthError> {
        self.lock()
            .query_row(
                "SELECT user_id, client_id, scopes, granted_at FROM grants
                 WHERE user_id = ?1 AND client_id = ?2",
                [user_id, client_id],
                grant_from_row,
            )
            .optional()
            .map_err(AuthError::sql("reading a grant"))
    }

    /// Records approval of `scopes` (merged into any existing grant). Approving nothing writes
    /// nothing and returns the existing grant, if any.
    pub fn record_grant<S: AsRef<str>>(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[S],
    ) -> Result<Option<Grant>, AuthError> {
        let new: Vec<&str> = scopes
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !s.is_empty())
            .collect();
        if new.is_empty() {
            return self.grant(user_id, client_id);
        }
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("recording a grant"))?;
        require_user_and_client(&tx, user_id, client_id)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT scopes FROM grants WHERE user_id = ?1 AND client_id = ?2",
                [user_id, client_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("reading a grant"))?;
        let mut merged: Vec<String> = existing
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .chain(new)
            .map(str::to_owned)
            .collect();
        merged.sort();
        merged.dedup();
        tx.execute(
            "INSERT INTO grants (user_id, client_id, scopes, granted_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
                                                          granted_at = excluded.granted_at",
            rusqlite::params![user_id, client_id, merged.join(" "), stamp],
        )
        .map_err(AuthError::sql("recording a grant"))?;
        tx.commit().map_err(AuthError::sql("recording a grant"))?;
        Ok(Some(Grant {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scopes: merged,
            granted_at: stamp,
        }))
    }

    /// Whether the grant of `user_id` to `client_id` covers every requested scope (false for an
    /// empty request or no grant): the skip-consent rule.
    pub fn is_covered_by_grant<S: AsRef<str>>(
        &self,
        user_id: &str,
        client_id: &str,
        requested: &[S],
    ) -> Result<bool, AuthError> {
        Ok(covers(self.grant(user_id, client_id)?.as_ref(), requested))
    }

    /// The most recent grant of `user_id` to any client named `client_name`.
    pub fn grant_by_client_name(
        &self,
        user_id: &str,
        client_name: &str,
    ) -> Result<Option<Grant>, AuthError> {
        if client_name.is_empty() {
            return Ok(None);
        }
        self.lock()
            .query_row(
                "SELECT g.user_id, g.client_id, g.scopes, g.granted_at
                 FROM grants g JOIN clients c ON g.client_id = c.client_id
                 WHERE g.user_id = ?1 AND c.client_name = ?2
                 ORDER BY g.granted_at DESC LIMIT 1",
                [user_id, client_name],
                grant_from_row,
            )
            .optional()
            .map_err(AuthError::sql("reading a grant by client name"))
    }

    /// Like [`HubDb::is_covered_by_grant`], for the latest grant to a client of this name.
    /// The caller must still show consent for admin scopes.
    pub fn is_covered_by_client_name_grant<S: AsRef<str>>(
        &self,
        user_id: &str,
        client_name: &str,
        requested: &[S],
    ) -> Result<bool, AuthError> {
        Ok(covers(
            self.grant_by_client_name(user_id, client_name)?.as_ref(),
            requested,
        ))
    }

    /// Every grant of `user_id`, newest first, with client names (`auth list-grants`).
    pub fn list_grants(&self, user_id: &str) -> Result<Vec<GrantListing>, AuthError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT g.user_id, g.client_id, g.scopes, g.granted_at, c.client_name
                 FROM grants g LEFT JOIN clients c ON g.client_id = c.client_id
                 WHERE g.user_id = ?1 ORDER BY g.granted_at DESC",
            )
            .map_err(AuthError::sql("listing grants"))?;
        stmt.query_map([user_id], |r| {
            Ok(GrantListing {
                grant: grant_from_row(r)?,
                client_name: r.get(4)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(AuthError::sql("listing grants"))
    }

    /// Forgets the grant of `user_id` to `client_id` so the next authorization asks again.
    /// Issued tokens stay valid (as in the original). Returns whether a grant existed.
    pub fn revoke_grant(&self, user_id: &str, client_id: &str) -> Result<bool, AuthError> {
        let n = self
            .lock()
            .execute(
                "DELETE FROM grants WHERE user_id = ?1 AND client_id = ?2",
                [user_id, client_id],
            )
            .map_err(AuthError::sql("revoking a grant"))?;
        if n > 0 {
            tracing::info!(user_id, client_id, "revoked a grant");
        }
        Ok(n > 0)
    }

    /// Forgets the grant and revokes every live token `user_id` holds for `client_id`, in one
    /// transaction (the "disconnect this app" action).
    pub fn revoke_grant_and_tokens(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<RevokedGrant, AuthError> {
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("disconnecting a client"))?;
        let removed = tx
            .execute(
                "DELETE FROM grants WHERE user_id = ?1 AND client_id = ?2",
                [user_id, client_id],
            )
            .map_err(AuthError::sql("revoking a grant"))?;
        let revoked = tx
            .execute(
                "UPDATE tokens SET revoked_at = ?1
                 WHERE user_id = ?2 AND client_id = ?3 AND revoked_at IS NULL",
                rusqlite::params![stamp, user_id, client_id],
            )
            .map_err(AuthError::sql("revoking a client's tokens"))?;
        tx.commit()
            .map_err(AuthError::sql("disconnecting a client"))?;
        tracing::info!(
            user_id,
            client_id,
            tokens_revoked = revoked,
            "disconnected a client"
        );
        Ok(RevokedGrant {
            grant_removed: removed > 0,
            tokens_revoked: revoked,
        })
    }
}

/// Inside a transaction: the user and client exist (so the foreign keys hold and the error
/// names the missing one).
pub(crate) fn require_user_and_client(
    tx: &rusqlite::Transaction<'_>,
    user_id: &str,
    client_id: &str,
) -> Result<(), AuthError> {
    let exists = |sql: &str, key: &str| -> Result<bool, AuthError> {
        tx.query_row(sql, [key], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(AuthError::sql("checking a user and client"))
    };
    if !exists("SELECT 1 FROM users WHERE id = ?1", user_id)? {
        return Err(AuthError::UnknownUser {
            user: user_id.to_owned(),
        });
    }
    if !exists("SELECT 1 FROM clients WHERE client_id = ?1", client_id)? {
        return Err(OAuthError::UnknownClient {
            client_id: client_id.to_owned(),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "grants_tests.rs"]
mod tests;

//! Which vaults each user may use (`user_vaults` table), and what that means for their tokens.
//!
//! The first user is the hub's owner: unrestricted, holds every verb on every vault, and gets
//! an empty `vault_scope` claim (the "no restriction" sentinel). Every other user works only in
//! the vaults assigned to them; their tokens carry those names in `vault_scope`. An assignment's
//! `role` decides the verbs: `write` (what every assignment is created with) grants read, write
//! and admin on that vault, `read` only read, anything else nothing (fail closed). Vault names
//! are not checked against `services.json` here; the caller does that.

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::clock::format_timestamp;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::scopes::is_valid_vault_name;

/// The role new assignments get.
pub const DEFAULT_VAULT_ROLE: &str = "write";

/// One `user_vaults` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultAssignment {
    /// The user.
    pub user_id: String,
    /// The vault instance name (`default`, `work`, …).
    pub vault_name: String,
    /// `write` or `read` (see the module docs).
    pub role: String,
    /// When it was assigned (stored text).
    pub created_at: String,
}

/// The vault verbs a stored role grants.
pub fn vault_verbs_for_role(role: &str) -> &'static [&'static str] {
    match role {
        "write" => &["read", "write", "admin"],
        "read" => &["read"],
        _ => &[],
    }
}

impl HubDb {
    /// Whether `user_id` is the hub's owner (the first user).
    pub fn is_first_admin(&self, user_id: &str) -> Result<bool, AuthError> {
        Ok(self.first_user_id()?.as_deref() == Some(user_id))
    }

    /// `user_id`'s assignments, oldest first (then by name).
    pub fn vault_assignments(&self, user_id: &str) -> Result<Vec<VaultAssignment>, AuthError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT user_id, vault_name, role, created_at FROM user_vaults
                 WHERE user_id = ?1 ORDER BY created_at ASC, vault_name ASC",
            )
            .map_err(AuthError::sql("listing vault assignments"))?;
        stmt.query_map([user_id], |r| {
            Ok(VaultAssignment {
                user_id: r.get(0)?,
                vault_name: r.get(1)?,
                role: r.get(2)?,
                created_at: r.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(AuthError::sql("listing vault assignments"))
    }

    /// The names of `user_id`'s vaults, oldest assignment first.
    pub fn user_vaults(&self, user_id: &str) -> Result<Vec<String>, AuthError> {
        Ok(self
            .vault_assignments(user_id)?
            .into_iter()
            .map(|a| a.vault_name)
            .collect())
    }

    /// Replaces `user_id`'s assignments with `vault_names` (duplicates collapsed, role
    /// [`DEFAULT_VAULT_ROLE`]) in one transaction, and stamps the user's `updated_at`. An empty
    /// list removes every assignment. The owner needs no assignments; callers should not set
    /// them for the owner (the original's API refuses to).
    pub fn set_user_vaults<S: AsRef<str>>(
        &self,
        user_id: &str,
        vault_names: &[S],
    ) -> Result<(), AuthError> {
        let mut unique: Vec<&str> = Vec::new();
        for name in vault_names.iter().map(AsRef::as_ref) {
            if !is_valid_vault_name(name) {
                return Err(AuthError::InvalidVaultName {
                    name: name.to_owned(),
                });
            }
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("assigning vaults"))?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM users WHERE id = ?1", [user_id], |r| r.get(0))
            .optional()
            .map_err(AuthError::sql("looking up a user"))?;
        if exists.is_none() {
            return Err(AuthError::UnknownUser {
                user: user_id.to_owned(),
            });
        }
        tx.execute("DELETE FROM user_vaults WHERE user_id = ?1", [user_id])
            .map_err(AuthError::sql("clearing vault assignments"))?;
        for name in &unique {
            tx.execute(
                "INSERT INTO user_vaults (user_id, vault_name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![user_id, name, DEFAULT_VAULT_ROLE, stamp],
            )
            .map_err(AuthError::sql("assigning a vault"))?;
        }
        tx.execute(
            "UPDATE users SET updated_at = ?1 WHERE id = ?2",
            rusqlite::params![stamp, user_id],
        )
        .map_err(AuthError::sql("stamping the user"))?;
        tx.commit().map_err(AuthError::sql("assigning vaults"))?;
        tracing::info!(user_id, vaults = ?unique, "set a user's vaults");
        Ok(())
    }

    /// The verbs `user_id` holds on `vault_name` through an assignment, or `None` when the
    /// vault is not assigned to them. (The owner holds everything without assignments; see
    /// [`HubDb::is_first_admin`].)
    pub fn vault_verbs_for_user(
        &self,
        user_id: &str,
        vault_name: &str,
    ) -> Result<Option<&'static [&'static str]>, AuthError> {
        let role: Option<String> = self
            .lock()
            .query_row(
                "SELECT role FROM user_vaults WHERE user_id = ?1 AND vault_name = ?2",
                [user_id, vault_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("reading a vault assignment"))?;
        Ok(role.map(|r| vault_verbs_for_role(&r)))
    }

    /// The `vault_scope` claim for `user_id`'s tokens: empty for the owner (unrestricted) and for
    /// an unknown user, else their vault names.
    pub fn vault_scope_for_user(&self, user_id: &str) -> Result<Vec<String>, AuthError> {
        if self.is_first_admin(user_id)? || self.user_by_id(user_id)?.is_none() {
            return Ok(Vec::new());
        }
        self.user_vaults(user_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::FixedClock;
    use crate::test_support::{db_with_users, row_strings};

    #[test]
    fn assignments_replace_and_shape_rows_like_the_original() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, owner, friend) = db_with_users(clock.clone());
        assert!(db.is_first_admin(&owner).unwrap());
        assert!(!db.is_first_admin(&friend).unwrap());
        assert!(db.user_vaults(&friend).unwrap().is_empty());

        db.set_user_vaults(&friend, &["work", "default", "work"])
            .unwrap();
        assert_eq!(
            row_strings(
                &db,
                "SELECT user_id, vault_name, role, created_at FROM user_vaults ORDER BY vault_name"
            ),
            vec![
                vec![
                    friend.clone(),
                    "default".into(),
                    "write".into(),
                    "2026-12-02T02:30:00.000Z".into()
                ],
                vec![
                    friend.clone(),
                    "work".into(),
                    "write".into(),
                    "2026-12-02T02:30:00.000Z".into()
                ],
            ]
        );
        assert_eq!(db.user_vaults(&friend).unwrap(), vec!["default", "work"]);
        let updated: Vec<Vec<String>> = row_strings(
            &db,
            &format!("SELECT updated_at FROM users WHERE id = '{friend}'"),
        );
        assert_eq!(updated, vec![vec!["2026-12-02T02:30:00.000Z".to_owned()]]);

        clock.advance(std::time::Duration::from_secs(5));
        db.set_user_vaults(&friend, &["work"]).unwrap();
        assert_eq!(db.user_vaults(&friend).unwrap(), vec!["work"]);
        db.set_user_vaults::<&str>(&friend, &[]).unwrap();
        assert!(db.user_vaults(&friend).unwrap().is_empty());
    }

    #[test]
    fn verbs_and_vault_scope_follow_roles_and_ownership() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, owner, friend) = db_with_users(clock);
        db.set_user_vaults(&friend, &["work"]).unwrap();
        assert_eq!(
            db.vault_verbs_for_user(&friend, "work").unwrap(),
            Some(&["read", "write", "admin"][..])
        );
        assert_eq!(db.vault_verbs_for_user(&friend, "default").unwrap(), None);
        db.lock()
            .execute("UPDATE user_vaults SET role = 'read'", [])
            .unwrap();
        assert_eq!(
            db.vault_verbs_for_user(&friend, "work").unwrap(),
            Some(&["read"][..])
        );
        db.lock()
            .execute("UPDATE user_vaults SET role = 'owner?'", [])
            .unwrap();
        assert_eq!(
            db.vault_verbs_for_user(&friend, "work").unwrap(),
            Some(&[][..])
        );

        assert!(db.vault_scope_for_user(&owner).unwrap().is_empty());
        assert_eq!(db.vault_scope_for_user(&friend).unwrap(), vec!["work"]);
        assert!(db.vault_scope_for_user("ghost").unwrap().is_empty());
    }

    #[test]
    fn bad_input_is_refused_and_nothing_changes() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:30:00Z"));
        let (_dir, db, _, friend) = db_with_users(clock);
        db.set_user_vaults(&friend, &["work"]).unwrap();
        let err = db.set_user_vaults(&friend, &["ok", "../etc"]).unwrap_err();
        assert!(matches!(&err, AuthError::InvalidVaultName { name } if name == "../etc"));
        assert_eq!(db.user_vaults(&friend).unwrap(), vec!["work"]);
        let err = db.set_user_vaults("ghost", &["work"]).unwrap_err();
        assert!(matches!(err, AuthError::UnknownUser { .. }));
    }
}

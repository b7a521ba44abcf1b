//! Hub users with argon2id password hashes in PHC format.
//!
//! The first user is the owner (the `sub` of operator tokens). More accounts exist only when
//! asked for explicitly ([`HubDb::create_user`], `set-password --allow-multi`), in the same
//! `users` rows the original writes (UUID id, PHC hash, `password_changed = 1` for a password
//! the person chose, no vault assignment). Hashes use argon2id v19 with m=19456 KiB, t=2, p=1 and a 16-byte
//! salt, the same parameters the original's hashes carry, so either implementation verifies
//! the other's hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::OptionalExtension;

use crate::clock::format_timestamp;
use crate::db::HubDb;
use crate::error::AuthError;

/// One row of `users` (without the secret columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Random UUID; the `sub` of tokens minted for this user.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Creation time (stored text).
    pub created_at: String,
    /// Last change (stored text).
    pub updated_at: String,
}

/// What [`HubDb::create_or_reset_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminChange {
    /// A new admin was created.
    Created(User),
    /// The existing admin's password was replaced.
    PasswordReset(User),
}

/// What [`HubDb::seed_initial_admin`] found or did at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    /// A user already exists; nothing changed.
    Exists,
    /// The admin was created from the environment values.
    Seeded(User),
    /// No user and no (complete) seed values: the setup wizard must run.
    NeedsSetup,
}

fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params =
        Params::new(19_456, 2, 1, Some(32)).map_err(|e| AuthError::PasswordHash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::PasswordHash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (false for an unreadable hash).
pub fn password_matches(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        // Verification uses the parameters recorded in the hash itself.
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "a stored password hash is not a readable PHC string");
            false
        }
    }
}

const USER_COLUMNS: &str = "id, username, created_at, updated_at";

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
    })
}

impl HubDb {
    /// Number of users.
    pub fn user_count(&self) -> Result<u64, AuthError> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .map_err(AuthError::sql("counting users"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The oldest user's id (the admin; the `sub` of operator tokens), if any.
    pub fn first_user_id(&self) -> Result<Option<String>, AuthError> {
        Ok(self.first_user()?.map(|u| u.id))
    }

    /// The oldest user, if any.
    pub fn first_user(&self) -> Result<Option<User>, AuthError> {
        self.lock()
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY created_at ASC, rowid ASC LIMIT 1"
                ),
                [],
                user_from_row,
            )
            .optional()
            .map_err(AuthError::sql("reading the first user"))
    }

    /// Every user, oldest first.
    pub fn list_users(&self) -> Result<Vec<User>, AuthError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY created_at ASC, rowid ASC"
            ))
            .map_err(AuthError::sql("listing users"))?;
        stmt.query_map([], user_from_row)
            .and_then(Iterator::collect)
            .map_err(AuthError::sql("listing users"))
    }

    /// The user with id `id`, if any.
    pub fn user_by_id(&self, id: &str) -> Result<Option<User>, AuthError> {
        self.lock()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a user"))
    }

    /// The user called `username`, if any.
    pub fn user_by_username(&self, username: &str) -> Result<Option<User>, AuthError> {
        self.lock()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a user"))
    }

    /// Creates the admin `username` when there is no user, or resets its password when it is
    /// the existing admin. Refuses when a user with another name exists (single-admin hub).
    pub fn create_or_reset_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AdminChange, AuthError> {
        if username.trim().is_empty() {
            return Err(AuthError::EmptyCredential { what: "username" });
        }
        if password.is_empty() {
            return Err(AuthError::EmptyCredential { what: "password" });
        }
        if let Some(existing) = self.first_user()?
            && existing.username != username
        {
            return Err(AuthError::UserExists {
                existing: existing.username,
            });
        }
        // Hash before taking the lock: it is deliberately slow.
        let hash = hash_password(password)?;
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(AuthError::sql("saving the admin"))?;
        let existing = tx
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY created_at ASC, rowid ASC LIMIT 1"
                ),
                [],
                user_from_row,
            )
            .optional()
            .map_err(AuthError::sql("reading the first user"))?;
        let change = match existing {
            Some(user) if user.username == username => {
                tx.execute(
                    "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                    rusqlite::params![hash, stamp, user.id],
                )
                .map_err(AuthError::sql("resetting the admin password"))?;
                AdminChange::PasswordReset(User {
                    updated_at: stamp,
                    ..user
                })
            }
            Some(user) => {
                return Err(AuthError::UserExists {
                    existing: user.username,
                });
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                // password_changed = 1: the admin chose this password themselves.
                tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at, updated_at, password_changed)
                     VALUES (?1, ?2, ?3, ?4, ?4, 1)",
                    rusqlite::params![id, username, hash, stamp],
                )
                .map_err(AuthError::sql("creating the admin"))?;
                AdminChange::Created(User {
                    id,
                    username: username.to_owned(),
                    created_at: stamp.clone(),
                    updated_at: stamp,
                })
            }
        };
        tx.commit().map_err(AuthError::sql("saving the admin"))?;
        tracing::info!(username, "saved the hub admin");
        Ok(change)
    }

    /// Replaces the password of the existing user `username` (any account, not only the
    /// first). [`AuthError::UnknownUser`] when there is none.
    pub fn reset_password(&self, username: &str, password: &str) -> Result<User, AuthError> {
        if password.is_empty() {
            return Err(AuthError::EmptyCredential { what: "password" });
        }
        let Some(user) = self.user_by_username(username)? else {
            return Err(AuthError::UnknownUser {
                user: username.to_owned(),
            });
        };
        let hash = hash_password(password)?;
        let stamp = format_timestamp(self.now());
        let changed = self
            .lock()
            .execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                rusqlite::params![hash, stamp, user.id],
            )
            .map_err(AuthError::sql("changing a password"))?;
        if changed == 0 {
            return Err(AuthError::UnknownUser {
                user: username.to_owned(),
            });
        }
        tracing::info!(username, "changed a hub user's password");
        Ok(User {
            updated_at: stamp,
            ..user
        })
    }

    /// Adds the account `username` beside the existing ones (the original's multi-user rows).
    /// Refuses a name already in use ([`AuthError::UsernameTaken`]).
    pub fn create_user(&self, username: &str, password: &str) -> Result<User, AuthError> {
        if username.trim().is_empty() {
            return Err(AuthError::EmptyCredential { what: "username" });
        }
        if password.is_empty() {
            return Err(AuthError::EmptyCredential { what: "password" });
        }
        let hash = hash_password(password)?;
        let stamp = format_timestamp(self.now());
        let id = uuid::Uuid::new_v4().to_string();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(AuthError::sql("creating a user"))?;
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)",
                [username],
                |r| r.get(0),
            )
            .map_err(AuthError::sql("looking up a user"))?;
        if taken {
            return Err(AuthError::UsernameTaken {
                username: username.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO users (id, username, password_hash, created_at, updated_at, password_changed)
             VALUES (?1, ?2, ?3, ?4, ?4, 1)",
            rusqlite::params![id, username, hash, stamp],
        )
        .map_err(AuthError::sql("creating a user"))?;
        tx.commit().map_err(AuthError::sql("creating a user"))?;
        tracing::info!(username, "created a hub user");
        Ok(User {
            id,
            username: username.to_owned(),
            created_at: stamp.clone(),
            updated_at: stamp,
        })
    }

    /// Whether `user_id` chose their own password (`users.password_changed`; false for an
    /// account an admin made with a password the person has not changed yet).
    pub fn password_changed(&self, user_id: &str) -> Result<bool, AuthError> {
        let flag: Option<i64> = self
            .lock()
            .query_row(
                "SELECT password_changed FROM users WHERE id = ?1",
                [user_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("looking up a user"))?;
        Ok(flag == Some(1))
    }

    /// Whether `password` is `username`'s password (false for an unknown user).
    pub fn verify_password(&self, username: &str, password: &str) -> Result<bool, AuthError> {
        let hash: Option<String> = self
            .lock()
            .query_row(
                "SELECT password_hash FROM users WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("looking up a user"))?;
        Ok(hash.is_some_and(|h| password_matches(&h, password)))
    }

    /// First-start seeding from `PARACHUTE_INITIAL_ADMIN_USERNAME` / `_PASSWORD` (pass their
    /// values; empty counts as unset): creates the admin only when there is no user yet.
    pub fn seed_initial_admin(
        &self,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<SeedOutcome, AuthError> {
        if self.user_count()? > 0 {
            return Ok(SeedOutcome::Exists);
        }
        let username = username.map(str::trim).filter(|u| !u.is_empty());
        let password = password.filter(|p| !p.is_empty());
        match (username, password) {
            (Some(u), Some(p)) => match self.create_or_reset_admin(u, p)? {
                AdminChange::Created(user) | AdminChange::PasswordReset(user) => {
                    Ok(SeedOutcome::Seeded(user))
                }
            },
            _ => Ok(SeedOutcome::NeedsSetup),
        }
    }
}

//! Browser sessions (`sessions` table): who is signed in to the hub's own pages.
//!
//! Flow: a correct password (and second factor, when enrolled) ends in
//! [`HubDb::create_session`]; the response sets [`crate::cookies::session_cookie`] with the
//! session id as the cookie value, exactly as the original does (32 random bytes, base64url;
//! no signature: the value is opaque and only ever looked up). Every later request turns the
//! cookie back into a user with [`HubDb::find_session`] or [`HubDb::session_from_cookie`], which
//! ignore expired rows. Sign-out deletes the row; deleting a user or resetting a password
//! deletes all of that user's rows. Sessions last [`SESSION_TTL`] from creation (no sliding
//! renewal, as in the original).

use std::time::{Duration, SystemTime};

use rusqlite::OptionalExtension;

use crate::clock::{format_timestamp, parse_timestamp};
use crate::cookies::{SESSION_COOKIE_NAME, cookie_value};
use crate::db::HubDb;
use crate::error::AuthError;
use crate::secret_tokens::random_token;

/// How long a session (and its cookie) lives: 24 hours.
pub const SESSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// One `sessions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id, which is also the cookie value. A secret: never log it.
    pub id: String,
    /// The signed-in user.
    pub user_id: String,
    /// When the session stops being valid (stored text).
    pub expires_at: String,
    /// When it was created (stored text).
    pub created_at: String,
}

fn session_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        expires_at: row.get(2)?,
        created_at: row.get(3)?,
    })
}

/// Whether a row expiring at `expires_at` is still valid at `now`. Valid up to and including
/// the expiry instant, as the original judges it; an unreadable stamp counts as expired.
fn still_valid(expires_at: &str, now: SystemTime) -> bool {
    parse_timestamp(expires_at).is_some_and(|expiry| now <= expiry)
}

impl HubDb {
    /// Signs `user_id` in: stores a new session and returns it (its id is the cookie value).
    pub fn create_session(&self, user_id: &str) -> Result<Session, AuthError> {
        let now = self.now();
        let session = Session {
            id: random_token(),
            user_id: user_id.to_owned(),
            expires_at: format_timestamp(now + SESSION_TTL),
            created_at: format_timestamp(now),
        };
        self.lock()
            .execute(
                "INSERT INTO sessions (id, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    session.id,
                    session.user_id,
                    session.expires_at,
                    session.created_at
                ],
            )
            .map_err(|source| match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => AuthError::UnknownUser {
                    user: user_id.to_owned(),
                },
                _ => AuthError::Sql {
                    context: "creating a session",
                    source,
                },
            })?;
        tracing::info!(user_id, "created a browser session");
        Ok(session)
    }

    /// The session `id`, if it exists and has not expired.
    pub fn find_session(&self, id: &str) -> Result<Option<Session>, AuthError> {
        if id.is_empty() {
            return Ok(None);
        }
        let row = self
            .lock()
            .query_row(
                "SELECT id, user_id, expires_at, created_at FROM sessions WHERE id = ?1",
                [id],
                session_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a session"))?;
        let now = self.now();
        Ok(row.filter(|s| still_valid(&s.expires_at, now)))
    }

    /// The live session named by the `parachute_hub_session` cookie in a `Cookie` header.
    pub fn session_from_cookie(
        &self,
        cookie_header: Option<&str>,
    ) -> Result<Option<Session>, AuthError> {
        match cookie_value(cookie_header, SESSION_COOKIE_NAME) {
            Some(id) => self.find_session(id),
            None => Ok(None),
        }
    }

    /// Signs one session out. Returns whether a row was deleted.
    pub fn delete_session(&self, id: &str) -> Result<bool, AuthError> {
        let n = self
            .lock()
            .execute("DELETE FROM sessions WHERE id = ?1", [id])
            .map_err(AuthError::sql("deleting a session"))?;
        Ok(n > 0)
    }

    /// Signs `user_id` out everywhere. Returns how many sessions were deleted.
    pub fn delete_user_sessions(&self, user_id: &str) -> Result<usize, AuthError> {
        let n = self
            .lock()
            .execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
            .map_err(AuthError::sql("deleting a user's sessions"))?;
        if n > 0 {
            tracing::info!(user_id, count = n, "signed a user out of every session");
        }
        Ok(n)
    }

    /// Deletes sessions that expired before now (housekeeping; lookups already ignore them).
    pub fn delete_expired_sessions(&self) -> Result<usize, AuthError> {
        let now = format_timestamp(self.now());
        // Text comparison is exact here: every stamp has the same fixed-width UTC shape.
        self.lock()
            .execute("DELETE FROM sessions WHERE expires_at < ?1", [now])
            .map_err(AuthError::sql("deleting expired sessions"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::FixedClock;
    use crate::test_support::{db_with_users, row_strings};

    #[test]
    fn a_session_is_found_until_its_expiry_then_not() {
        let clock = Arc::new(FixedClock::at("2026-12-02T02:25:24.799Z"));
        let (_dir, db, owner, _) = db_with_users(clock.clone());
        let session = db.create_session(&owner).unwrap();
        assert_eq!(session.id.len(), 43);
        assert_eq!(session.created_at, "2026-12-02T02:25:24.799Z");
        assert_eq!(session.expires_at, "2026-12-03T02:25:24.799Z");
        assert_eq!(
            row_strings(
                &db,
                "SELECT id, user_id, expires_at, created_at FROM sessions"
            ),
            vec![vec![
                session.id.clone(),
                owner.clone(),
                session.expires_at.clone(),
                session.created_at.clone()
            ]]
        );

        assert_eq!(db.find_session(&session.id).unwrap(), Some(session.clone()));
        let header = format!("a=b; parachute_hub_session={}", session.id);
        assert_eq!(
            db.session_from_cookie(Some(&header)).unwrap(),
            Some(session.clone())
        );
        assert_eq!(db.session_from_cookie(None).unwrap(), None);
        assert_eq!(db.find_session("").unwrap(), None);
        assert_eq!(db.find_session("nope").unwrap(), None);

        clock.advance(SESSION_TTL);
        assert!(
            db.find_session(&session.id).unwrap().is_some(),
            "valid at expiry"
        );
        clock.advance(Duration::from_millis(1));
        assert_eq!(db.find_session(&session.id).unwrap(), None);
        assert_eq!(db.delete_expired_sessions().unwrap(), 1);
    }

    #[test]
    fn sign_out_one_or_everywhere() {
        let clock = Arc::new(FixedClock::at("2026-12-02T00:00:00Z"));
        let (_dir, db, owner, friend) = db_with_users(clock);
        let a = db.create_session(&owner).unwrap();
        let b = db.create_session(&owner).unwrap();
        let c = db.create_session(&friend).unwrap();
        assert!(db.delete_session(&a.id).unwrap());
        assert!(!db.delete_session(&a.id).unwrap());
        assert_eq!(db.find_session(&a.id).unwrap(), None);
        assert!(db.find_session(&b.id).unwrap().is_some());
        assert_eq!(db.delete_user_sessions(&owner).unwrap(), 1);
        assert_eq!(db.find_session(&b.id).unwrap(), None);
        assert!(db.find_session(&c.id).unwrap().is_some());
    }

    #[test]
    fn a_session_for_an_unknown_user_is_refused() {
        let clock = Arc::new(FixedClock::at("2026-12-02T00:00:00Z"));
        let (_dir, db, _, _) = db_with_users(clock);
        let err = db.create_session("no-such-user").unwrap_err();
        assert!(
            matches!(&err, AuthError::UnknownUser { user } if user == "no-such-user"),
            "{err:?}"
        );
    }
}

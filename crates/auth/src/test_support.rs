//! Helpers for this crate's unit tests: a temp `hub.db` with users and raw row reads.

use std::sync::Arc;

use crate::clock::{Clock, format_timestamp};
use crate::db::HubDb;
use crate::users::AdminChange;

/// A fresh database in a temp dir with the owner (first user, `owner`) and a second user
/// (`friend`, created one second later, no vaults). Returns the dir guard, the handle and the
/// two user ids.
pub(crate) fn db_with_users(clock: Arc<dyn Clock>) -> (tempfile::TempDir, HubDb, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = HubDb::open_with_clock(&dir.path().join("hub.db"), clock).expect("open");
    let owner = match db
        .create_or_reset_admin("owner", "owner-password-123")
        .expect("owner")
    {
        AdminChange::Created(user) | AdminChange::PasswordReset(user) => user.id,
    };
    let friend = insert_user(&db, "friend", 1);
    (dir, db, owner, friend)
}

/// Inserts a user row directly (no password anyone knows), created `offset_secs` after now so
/// it is never the first user. Returns its id.
pub(crate) fn insert_user(db: &HubDb, username: &str, offset_secs: u64) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let stamp = format_timestamp(db.now() + std::time::Duration::from_secs(offset_secs));
    db.lock()
        .execute(
            "INSERT INTO users (id, username, password_hash, created_at, updated_at, password_changed)
             VALUES (?1, ?2, 'x', ?3, ?3, 1)",
            rusqlite::params![id, username, stamp],
        )
        .expect("insert user");
    id
}

/// Every row of `sql` with each column rendered as text (`NULL` for null), for shape checks.
pub(crate) fn row_strings(db: &HubDb, sql: &str) -> Vec<Vec<String>> {
    let conn = db.lock();
    let mut stmt = conn.prepare(sql).expect("prepare");
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "<blob>".to_owned(),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .expect("query")
    .collect::<rusqlite::Result<Vec<_>>>()
    .expect("rows")
}

/// Registers an approved public client named `name` with one redirect URI; returns its id.
pub(crate) fn approved_client(db: &HubDb, name: &str, redirect_uri: &str) -> String {
    let reg = db
        .register_client(
            &crate::clients::ClientRegistration {
                redirect_uris: vec![redirect_uri.to_owned()],
                scopes: vec![],
                client_name: Some(name.to_owned()),
                confidential: false,
                registrant: crate::clients::Registrant::Operator,
            },
            &[] as &[&str],
        )
        .expect("register client");
    reg.client.client_id
}

/// Registers a public client (not same-hub) and approves it; returns its id.
pub(crate) fn external_client(db: &HubDb, name: &str, redirect_uri: &str) -> String {
    let reg = db
        .register_client(
            &crate::clients::ClientRegistration {
                redirect_uris: vec![redirect_uri.to_owned()],
                scopes: vec![],
                client_name: Some(name.to_owned()),
                confidential: false,
                registrant: crate::clients::Registrant::Public,
            },
            &[] as &[&str],
        )
        .expect("register client");
    db.approve_client(&reg.client.client_id).expect("approve");
    reg.client.client_id
}

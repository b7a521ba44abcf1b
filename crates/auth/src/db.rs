//! Opening `hub.db`: connection settings, the schema-version guard and migrations.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::clock::{Clock, SystemClock, format_timestamp};
use crate::error::AuthError;
use crate::keys::LoadedKey;
use crate::migrations::{MIGRATIONS, SCHEMA_VERSION};

/// How long a statement waits for another connection (the hub, a CLI verb) to release the
/// database before failing. Generous: writes are tiny but the machine may be loaded.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// An open `hub.db`: signing keys, the token registry, users and hub settings.
///
/// Cheap to share behind an `Arc`: every method takes `&self` and serialises access to the one
/// SQLite connection. Several `HubDb`s (in one process or several) may open the same file;
/// SQLite's WAL mode and busy timeout coordinate them.
pub struct HubDb {
    /// The SQLite connection; a mutex because `rusqlite::Connection` is not `Sync`.
    conn: Mutex<Connection>,
    /// Where the database lives, for messages.
    path: PathBuf,
    /// Source of "now" for timestamps, token lifetimes and key retention.
    clock: Arc<dyn Clock>,
    /// Parsed keys by `kid`. Keys are content-addressed and never change, so entries never go
    /// stale; this only saves re-parsing PEM on every request.
    pub(crate) key_cache: Mutex<HashMap<String, Arc<LoadedKey>>>,
}

impl std::fmt::Debug for HubDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HubDb {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A database written by a newer release (higher `schema_version`) is refused untouched.
    pub fn open(path: &Path) -> Result<Self, AuthError> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Like [`HubDb::open`], with an explicit clock (tests pin time with
    /// [`crate::FixedClock`]).
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, AuthError> {
        // Several processes opening a fresh file at once (the hub starting while `init` or
        // another verb opens it) race for the switch to WAL and the first migration. SQLite
        // answers some of those races with SQLITE_BUSY at once instead of waiting in its busy
        // handler, so a busy open is simply tried again until the busy timeout has passed.
        let started = std::time::Instant::now();
        loop {
            match Self::open_once(path, clock.clone()) {
                Err(err) if is_busy(&err) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, AuthError> {
        let open_err = |source| AuthError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_dir_all(parent).map_err(|source| AuthError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;

        let applied = applied_versions(&conn).map_err(open_err)?;
        if let Some(&found) = applied.iter().max()
            && found > SCHEMA_VERSION
        {
            return Err(AuthError::SchemaTooNew {
                path: path.to_path_buf(),
                found,
                known: SCHEMA_VERSION,
            });
        }

        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "hub.db did not switch to WAL mode");
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        restrict_mode(path);
        for side in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(side);
            restrict_mode(Path::new(&p));
        }

        let db = Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            clock,
            key_cache: Mutex::new(HashMap::new()),
        };
        if MIGRATIONS.iter().any(|m| !applied.contains(&m.version)) {
            db.migrate()?;
        }
        Ok(db)
    }

    /// The database file this handle opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current time according to this handle's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The clock this handle uses, to hand to callers that need the same notion of "now".
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// Highest schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64, AuthError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(AuthError::sql("reading the schema version"))
    }

    /// Locks the connection (a poisoned lock is still usable: SQLite state is transactional).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies every known migration not yet recorded, in one write transaction so concurrent
    /// openers of a fresh file cannot apply a step twice.
    fn migrate(&self) -> Result<(), AuthError> {
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("starting the schema migration"))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
               version INTEGER PRIMARY KEY,
               applied_at TEXT NOT NULL
             );",
        )
        .map_err(AuthError::sql("creating schema_version"))?;
        let applied = applied_versions(&tx).map_err(AuthError::sql("reading schema_version"))?;
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            tx.execute_batch(m.sql)
                .map_err(AuthError::sql("applying a schema migration"))?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                rusqlite::params![m.version, format_timestamp(now)],
            )
            .map_err(AuthError::sql("recording a schema migration"))?;
            tracing::debug!(version = m.version, path = %self.path.display(), "applied hub.db migration");
        }
        tx.commit()
            .map_err(AuthError::sql("committing the schema migration"))
    }
}

/// True when `err` is SQLite saying another connection holds the lock.
fn is_busy(err: &AuthError) -> bool {
    let source = match err {
        AuthError::Open { source, .. } | AuthError::Sql { source, .. } => source,
        _ => return false,
    };
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Versions recorded in `schema_version` (empty when the table does not exist yet).
fn applied_versions(conn: &Connection) -> Result<HashSet<i64>, rusqlite::Error> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(HashSet::new());
    }
    let mut stmt = conn.prepare("SELECT version FROM schema_version")?;
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
    rows.collect()
}

/// `hub.db` holds private keys and password hashes: keep it (and its WAL side files) 0600.
fn restrict_mode(path: &Path) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.permissions().mode() & 0o077 != 0
        && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    {
        tracing::warn!(path = %path.display(), error = %e, "could not restrict hub.db to mode 0600");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directories_it_creates_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new/home/hub.db");
        HubDb::open(&path).expect("open");
        for d in [dir.path().join("new"), dir.path().join("new/home")] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// A database the original left at version 9 (with data in the tables later steps
    /// rebuild) is brought to version 11 without losing rows.
    #[test]
    fn older_database_is_migrated_forward_keeping_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);",
            )
            .expect("schema_version");
            for m in MIGRATIONS.iter().filter(|m| m.version <= 5) {
                conn.execute_batch(m.sql).expect("old migration");
                conn.execute(
                    "INSERT INTO schema_version VALUES (?1, '2025-01-01T00:00:00.000Z')",
                    [m.version],
                )
                .expect("record");
            }
            conn.execute_batch(
                "INSERT INTO users VALUES ('u1', 'admin', 'hash', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
                 INSERT INTO tokens (jti, user_id, client_id, scopes, expires_at, created_at, family_id)
                   VALUES ('j1', 'u1', 'c1', 'vault:read', '2025-02-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', 'j1');",
            )
            .expect("rows");
            for m in MIGRATIONS.iter().filter(|m| (6..=9).contains(&m.version)) {
                conn.execute_batch(m.sql).expect("old migration");
                conn.execute(
                    "INSERT INTO schema_version VALUES (?1, '2025-01-01T00:00:00.000Z')",
                    [m.version],
                )
                .expect("record");
            }
            conn.execute(
                "UPDATE users SET assigned_vault = 'work' WHERE id = 'u1'",
                [],
            )
            .expect("pin");
        }

        let db = HubDb::open(&path).expect("migrates");
        assert_eq!(db.schema_version().expect("version"), SCHEMA_VERSION);
        let conn = db.lock();
        let (via, subject, user): (String, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT created_via, subject, user_id FROM tokens WHERE jti = 'j1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("token row kept");
        assert_eq!(
            (via.as_str(), subject, user.as_deref()),
            ("oauth_refresh", None, Some("u1"))
        );
        let changed: i64 = conn
            .query_row(
                "SELECT password_changed FROM users WHERE id = 'u1'",
                [],
                |r| r.get(0),
            )
            .expect("user row kept");
        assert_eq!(changed, 1);
        let vault: String = conn
            .query_row(
                "SELECT vault_name FROM user_vaults WHERE user_id = 'u1'",
                [],
                |r| r.get(0),
            )
            .expect("pin moved to user_vaults");
        assert_eq!(vault, "work");
        let old: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM schema_version WHERE applied_at LIKE '2025-%'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(old, 9, "earlier records untouched");
    }
}

//! The schema of `hub.db`, as the ordered list of migrations the original applies.
//!
//! Replaying the same steps in the same order gives a fresh database exactly the tables,
//! columns (in the same order) and indexes of one the original created, and lets a database
//! the original left at an older version be brought forward the same way. Append only: never
//! change a step that has shipped.

/// One schema step: recorded in `schema_version` once applied.
pub(crate) struct Migration {
    /// The number stored in `schema_version.version`.
    pub version: i64,
    /// The statements, run inside the migration transaction.
    pub sql: &'static str,
}

/// Highest schema version this build understands.
pub const SCHEMA_VERSION: i64 = 11;

/// Every step, lowest version first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    // 1: RSA signing keys; the partial index finds the active (unretired) key.
    Migration {
        version: 1,
        sql: "
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  public_key_pem TEXT NOT NULL,
  private_key_pem TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT
);
CREATE INDEX signing_keys_active ON signing_keys (retired_at) WHERE retired_at IS NULL;
",
    },
    // 2: users and the first (refresh-token only) token registry.
    Migration {
        version: 2,
        sql: "
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT UNIQUE NOT NULL,
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE tokens (
  jti TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  refresh_token_hash TEXT,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_active_refresh ON tokens (refresh_token_hash)
  WHERE refresh_token_hash IS NOT NULL AND revoked_at IS NULL;
",
    },
    // 3: OAuth clients, authorization codes, grants and browser sessions.
    Migration {
        version: 3,
        sql: "
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  client_secret_hash TEXT,
  redirect_uris TEXT NOT NULL,
  scopes TEXT NOT NULL,
  client_name TEXT,
  registered_at TEXT NOT NULL
);
CREATE TABLE auth_codes (
  code TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients(client_id),
  user_id TEXT NOT NULL REFERENCES users(id),
  redirect_uri TEXT NOT NULL,
  scopes TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  code_challenge_method TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE grants (
  user_id TEXT NOT NULL REFERENCES users(id),
  client_id TEXT NOT NULL REFERENCES clients(client_id),
  scopes TEXT NOT NULL,
  granted_at TEXT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
",
    },
    // 4: client approval status; clients that existed before are treated as approved.
    Migration {
        version: 4,
        sql: "
ALTER TABLE clients ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
UPDATE clients SET status = 'approved';
CREATE INDEX clients_status ON clients (status);
",
    },
    // 5: refresh-token families; existing rows become their own family.
    Migration {
        version: 5,
        sql: "
ALTER TABLE tokens ADD COLUMN family_id TEXT;
UPDATE tokens SET family_id = jti WHERE family_id IS NULL;
CREATE INDEX tokens_family ON tokens (family_id) WHERE family_id IS NOT NULL;
",
    },
    // 6: the registry covers every issued JWT: nullable user_id plus permissions, created_via
    // and subject. SQLite cannot relax NOT NULL in place, so the table is rebuilt.
    Migration {
        version: 6,
        sql: "
CREATE TABLE tokens_new (
  jti TEXT PRIMARY KEY,
  user_id TEXT REFERENCES users(id),
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  refresh_token_hash TEXT,
  family_id TEXT,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  created_at TEXT NOT NULL,
  permissions TEXT,
  created_via TEXT NOT NULL DEFAULT 'oauth_refresh',
  subject TEXT
);
INSERT INTO tokens_new (jti, user_id, client_id, scopes, refresh_token_hash, family_id,
                        expires_at, revoked_at, created_at, permissions, created_via, subject)
  SELECT jti, user_id, client_id, scopes, refresh_token_hash, family_id,
         expires_at, revoked_at, created_at, NULL, 'oauth_refresh', NULL
  FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX tokens_active_refresh ON tokens (refresh_token_hash)
  WHERE refresh_token_hash IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX tokens_family ON tokens (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX tokens_subject ON tokens (subject) WHERE subject IS NOT NULL;
",
    },
    // 7: hub-level key/value settings.
    Migration {
        version: 7,
        sql: "
CREATE TABLE hub_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
",
    },
    // 8: password_changed (existing users chose their own password) and a per-user vault pin
    // (moved into user_vaults by step 10).
    Migration {
        version: 8,
        sql: "
ALTER TABLE users ADD COLUMN password_changed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN assigned_vault TEXT;
UPDATE users SET password_changed = 1;
",
    },
    // 9: clients registered by the hub's own operator.
    Migration {
        version: 9,
        sql: "
ALTER TABLE clients ADD COLUMN same_hub INTEGER NOT NULL DEFAULT 0;
UPDATE clients SET same_hub = 0;
",
    },
    // 10: many vaults per user; the single pin column is migrated and dropped.
    Migration {
        version: 10,
        sql: "
CREATE TABLE user_vaults (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  vault_name TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT 'write',
  created_at TEXT NOT NULL,
  PRIMARY KEY (user_id, vault_name)
);
CREATE INDEX user_vaults_vault ON user_vaults (vault_name);
INSERT INTO user_vaults (user_id, vault_name, role, created_at)
  SELECT id, assigned_vault, 'write', created_at FROM users WHERE assigned_vault IS NOT NULL;
ALTER TABLE users DROP COLUMN assigned_vault;
",
    },
    // 11: TOTP second factor on the users row (all NULL = not enrolled).
    Migration {
        version: 11,
        sql: "
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_backup_codes TEXT;
ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT;
",
    },
];

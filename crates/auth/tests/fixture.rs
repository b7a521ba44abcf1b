//! Compatibility with a hub.db, JWKS and tokens written by the original hub 0.6.3-rc.2.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::*;
use parachute_auth::{
    AuthError, AuthFailure, FixedClock, HubDb, SCHEMA_VERSION, ValidationRequest, compute_kid,
};
use rusqlite::Connection;

/// Table name → (columns as `name type notnull default pk`, index descriptions).
type Schema = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn schema_of(path: &Path) -> Schema {
    let conn = Connection::open(path).expect("open for inspection");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    let mut schema = Schema::new();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{} {} notnull={} default={:?} pk={}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut indexes: Vec<String> = conn
            .prepare(&format!("PRAGMA index_list({table})"))
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{} unique={} origin={} partial={}",
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for index in &mut indexes {
            let name = index.split(' ').next().unwrap().to_owned();
            let cols: Vec<String> = conn
                .prepare(&format!("PRAGMA index_info({name})"))
                .unwrap()
                .query_map([], |r| {
                    r.get::<_, Option<String>>(2).map(|c| c.unwrap_or_default())
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            index.push_str(&format!(" cols={}", cols.join(",")));
        }
        indexes.sort();
        schema.insert(table, (columns, indexes));
    }
    schema
}

fn schema_version_rows(path: &Path) -> Vec<(i64, String)> {
    let conn = Connection::open(path).unwrap();
    conn.prepare("SELECT version, applied_at FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn fixture_db_opens_and_applies_no_migration() {
    let fx = FixtureDb::copy();
    let versions_before = schema_version_rows(&fx.path);
    let schema_before = schema_of(&fx.path);
    assert_eq!(versions_before.len(), 11);

    let db = fx.open();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(db.user_count().unwrap(), 1);
    assert_eq!(
        db.first_user_id().unwrap().as_deref(),
        Some(FIXTURE_ADMIN_ID)
    );
    drop(db);

    assert_eq!(
        schema_version_rows(&fx.path),
        versions_before,
        "no migration recorded"
    );
    assert_eq!(schema_of(&fx.path), schema_before, "schema unchanged");

    // Reopening is just as quiet.
    let db = fx.open();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    drop(db);
    assert_eq!(schema_version_rows(&fx.path), versions_before);
}

#[test]
fn fresh_db_has_the_fixture_schema() {
    let fx = FixtureDb::copy();
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("nested").join("hub.db");
    let db = HubDb::open(&fresh).expect("fresh db");
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    drop(db);

    let ours = schema_of(&fresh);
    let theirs = schema_of(&fx.path);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        vec![
            "auth_codes",
            "clients",
            "grants",
            "hub_settings",
            "schema_version",
            "sessions",
            "signing_keys",
            "tokens",
            "user_vaults",
            "users"
        ]
    );
    for (table, (columns, indexes)) in &theirs {
        let (our_columns, our_indexes) = &ours[table];
        assert_eq!(our_columns, columns, "columns of {table}");
        assert_eq!(our_indexes, indexes, "indexes of {table}");
    }
    assert_eq!(ours, theirs);

    let versions = schema_version_rows(&fresh);
    assert_eq!(
        versions.iter().map(|v| v.0).collect::<Vec<_>>(),
        (1..=11).collect::<Vec<_>>()
    );
    for (_, applied_at) in versions {
        assert!(
            parachute_auth::parse_timestamp(&applied_at).is_some(),
            "{applied_at}"
        );
        assert!(
            applied_at.ends_with('Z') && applied_at.len() == 24,
            "{applied_at}"
        );
    }

    // WAL, 0600.
    use std::os::unix::fs::PermissionsExt as _;
    let conn = Connection::open(&fresh).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let perms = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(perms, 0o600);
}

#[test]
fn newer_schema_is_refused_untouched() {
    let fx = FixtureDb::copy();
    {
        let conn = Connection::open(&fx.path).unwrap();
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (12, '2027-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
        // Leave no WAL behind so the file bytes are the whole database.
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let before = std::fs::read(&fx.path).unwrap();
    let err = HubDb::open(&fx.path).expect_err("newer schema refused");
    match &err {
        AuthError::SchemaTooNew { found, known, .. } => {
            assert_eq!((*found, *known), (12, SCHEMA_VERSION));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("schema version 12") && message.contains("Upgrade parachute"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&fx.path).unwrap(),
        before,
        "database bytes unchanged"
    );
}

#[test]
fn kid_rule_matches_the_fixture_key() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let keys = db.published_keys(db.now()).unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.kid, FIXTURE_KID);
    assert!(key.public_key_pem.ends_with("-----END PUBLIC KEY-----\n"));
    assert_eq!(compute_kid(&key.public_key_pem), FIXTURE_KID);
    assert_eq!(db.active_key().unwrap().kid, FIXTURE_KID);
}

#[test]
fn jwks_equals_the_fixture_jwks() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let theirs: serde_json::Value = serde_json::from_str(&fixture_text("jwks.json")).unwrap();
    let ours = db.jwks().unwrap();
    assert_eq!(ours, theirs);
    // Same member order too, so the documents are byte-identical.
    assert_eq!(
        serde_json::to_string(&ours).unwrap(),
        fixture_text("jwks.json").trim()
    );
}

#[test]
fn fixture_tokens_verify_with_our_validator() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let operator = fixture_text("operator.token");
    let claims = db
        .validate(operator.trim(), &request(&db, Some("parachute:host:admin")))
        .expect("fixture operator token valid");
    assert_eq!(claims.sub.as_deref(), Some(FIXTURE_ADMIN_ID));
    assert_eq!(claims.iss.as_deref(), Some(FIXTURE_ISSUER));
    assert_eq!(claims.pa_scope_set.as_deref(), Some("admin"));
    assert!(claims.aud.as_ref().unwrap().contains("operator"));

    let minted = fixture_text("minted-vault-default-read.jwt");
    let req = ValidationRequest {
        expected_audience: Some("vault.default".to_owned()),
        ..request(&db, Some("vault:default:read"))
    };
    let claims = db
        .validate(minted.trim(), &req)
        .expect("fixture minted token valid");
    assert_eq!(claims.scope, "vault:default:read");
    assert_eq!(claims.client_id.as_deref(), Some("parachute-hub"));
    assert!(claims.vault_scope.is_empty());
}

#[test]
fn fixture_tokens_expire() {
    let fx = FixtureDb::copy();
    let db =
        HubDb::open_with_clock(&fx.path, Arc::new(FixedClock::at("2027-03-01T00:00:00Z"))).unwrap();
    for name in ["operator.token", "minted-vault-default-read.jwt"] {
        let token = fixture_text(name);
        let failure = db
            .validate(token.trim(), &request(&db, None))
            .expect_err("expired");
        assert!(
            matches!(failure, AuthFailure::Expired { .. }),
            "{name}: {failure:?}"
        );
        assert_eq!(failure.status(), 401);
        assert_eq!(failure.error_code(), "unauthenticated");
    }
}

#[test]
fn fixture_admin_signs_in() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    assert!(db.verify_password("admin", "fixture-password-1").unwrap());
    assert!(!db.verify_password("admin", "fixture-password-2").unwrap());
    assert!(!db.verify_password("nobody", "fixture-password-1").unwrap());
    let user = db.user_by_username("admin").unwrap().expect("admin exists");
    assert_eq!(user.id, FIXTURE_ADMIN_ID);
}

#[test]
fn our_tokens_have_the_originals_shape() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let dir = tempfile::tempdir().unwrap();
    let issued = parachute_auth::mint_operator(
        &db,
        parachute_auth::OperatorScopeSet::Admin,
        FIXTURE_ISSUER,
        &dir.path().join("operator.token"),
    )
    .unwrap();
    let theirs = fixture_text("operator.token");
    assert_eq!(
        segment(&issued.minted.token, 0),
        segment(theirs.trim(), 0),
        "same header"
    );
    assert_eq!(
        segment_keys(&issued.minted.token, 1),
        segment_keys(theirs.trim(), 1)
    );
    let (ours, theirs) = (segment(&issued.minted.token, 1), segment(theirs.trim(), 1));
    for claim in [
        "pa_scope_set",
        "scope",
        "client_id",
        "vault_scope",
        "sub",
        "iss",
        "aud",
    ] {
        assert_eq!(ours[claim], theirs[claim], "{claim}");
    }
    let life = ours["exp"].as_i64().unwrap() - ours["iat"].as_i64().unwrap();
    assert_eq!(life, 90 * 24 * 3600);
    assert_eq!(ours["jti"].as_str().unwrap().len(), 22);

    let cli = db
        .mint(&parachute_auth::MintRequest::cli(
            FIXTURE_ADMIN_ID,
            vec!["vault:default:read".to_owned()],
            "vault.default",
            FIXTURE_ISSUER,
            parachute_auth::tokens::MINT_DEFAULT_TTL,
        ))
        .unwrap();
    let theirs = fixture_text("minted-vault-default-read.jwt");
    assert_eq!(segment_keys(&cli.token, 1), segment_keys(theirs.trim(), 1));

    // Registry rows look like the original's.
    let row = db.token_record(&cli.jti).unwrap().unwrap();
    assert_eq!(row.created_via, "cli_mint");
    assert_eq!(row.subject.as_deref(), Some(FIXTURE_ADMIN_ID));
    assert_eq!(row.user_id, None);
    assert!(row.expires_at.ends_with(".000Z"), "{}", row.expires_at);
    let op = db.token_record(&issued.minted.jti).unwrap().unwrap();
    assert_eq!(
        (op.created_via.as_str(), op.subject.as_deref()),
        ("operator_mint", Some("operator"))
    );
    assert_eq!(op.scopes, parachute_auth::OperatorScopeSet::Admin.scopes());
}

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::FixedClock;
use crate::test_support::{approved_client, db_with_users, row_strings};

fn setup() -> (
    Arc<FixedClock>,
    tempfile::TempDir,
    HubDb,
    String,
    String,
    String,
) {
    let clock = Arc::new(FixedClock::at("2026-12-02T02:25:30.059Z"));
    let (dir, db, owner, friend) = db_with_users(clock.clone());
    let client = approved_client(&db, "bar mcp client", "http://127.0.0.1:33418/callback");
    (clock, dir, db, owner, friend, client)
}

#[test]
fn recording_unions_sorts_and_matches_the_original_row() {
    let (clock, _dir, db, owner, _, client) = setup();
    let g = db
        .record_grant(
            &owner,
            &client,
            &[
                "vault:default:write",
                "hub:admin",
                "vault:default:read",
                "vault:default:admin",
            ],
        )
        .unwrap()
        .expect("grant written");
    assert_eq!(
        row_strings(&db, "SELECT * FROM grants"),
        vec![vec![
            owner.clone(),
            client.clone(),
            "hub:admin vault:default:admin vault:default:read vault:default:write".into(),
            "2026-12-02T02:25:30.059Z".into(),
        ]]
    );
    assert_eq!(db.grant(&owner, &client).unwrap(), Some(g));

    clock.advance(Duration::from_secs(60));
    let merged = db
        .record_grant(&owner, &client, &["vault:default:read", "vault:work:read"])
        .unwrap()
        .unwrap();
    assert_eq!(
        merged.scopes,
        vec![
            "hub:admin",
            "vault:default:admin",
            "vault:default:read",
            "vault:default:write",
            "vault:work:read"
        ]
    );
    assert_eq!(merged.granted_at, "2026-12-02T02:26:30.059Z");

    // Approving nothing writes nothing.
    clock.advance(Duration::from_secs(60));
    let same = db
        .record_grant::<&str>(&owner, &client, &[])
        .unwrap()
        .unwrap();
    assert_eq!(same.granted_at, "2026-12-02T02:26:30.059Z");
}

#[test]
fn coverage_skips_consent_only_for_subsets() {
    let (_clock, _dir, db, owner, friend, client) = setup();
    db.record_grant(
        &owner,
        &client,
        &["vault:default:read", "vault:default:write"],
    )
    .unwrap();
    assert!(
        db.is_covered_by_grant(&owner, &client, &["vault:default:read"])
            .unwrap()
    );
    assert!(
        db.is_covered_by_grant(
            &owner,
            &client,
            &["vault:default:write", "vault:default:read"]
        )
        .unwrap()
    );
    assert!(
        !db.is_covered_by_grant(
            &owner,
            &client,
            &["vault:default:read", "vault:default:admin"]
        )
        .unwrap()
    );
    assert!(
        !db.is_covered_by_grant::<&str>(&owner, &client, &[])
            .unwrap()
    );
    assert!(
        !db.is_covered_by_grant(&friend, &client, &["vault:default:read"])
            .unwrap()
    );
}

#[test]
fn coverage_by_client_name_uses_the_latest_grant_of_that_name() {
    let (clock, _dir, db, owner, _, first) = setup();
    db.record_grant(&owner, &first, &["vault:default:read"])
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let second = approved_client(&db, "bar mcp client", "http://127.0.0.1:1/cb");
    assert!(
        db.is_covered_by_client_name_grant(&owner, "bar mcp client", &["vault:default:read"])
            .unwrap()
    );
    assert!(
        !db.is_covered_by_client_name_grant(&owner, "other app", &["vault:default:read"])
            .unwrap()
    );
    assert!(
        !db.is_covered_by_client_name_grant(&owner, "", &["vault:default:read"])
            .unwrap()
    );
    db.record_grant(&owner, &second, &["vault:work:read"])
        .unwrap();
    let latest = db
        .grant_by_client_name(&owner, "bar mcp client")
        .unwrap()
        .unwrap();
    assert_eq!(latest.client_id, second);
    assert!(
        !db.is_covered_by_client_name_grant(&owner, "bar mcp client", &["vault:default:read"])
            .unwrap()
    );
}

#[test]
fn listing_and_revoking() {
    let (clock, _dir, db, owner, _, client) = setup();
    let other = approved_client(&db, "notes", "https://notes.example/cb");
    db.record_grant(&owner, &client, &["vault:default:read"])
        .unwrap();
    clock.advance(Duration::from_secs(5));
    db.record_grant(&owner, &other, &["vault:work:write"])
        .unwrap();
    let listed = db.list_grants(&owner).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].grant.client_id, other, "newest first");
    assert_eq!(listed[0].client_name.as_deref(), Some("notes"));
    assert!(grant_touches_vault(&listed[0].grant.scopes, "work"));
    assert!(!grant_touches_vault(&listed[0].grant.scopes, "default"));
    assert!(!grant_touches_vault(&["vault:read"], "read"));

    assert!(db.revoke_grant(&owner, &client).unwrap());
    assert!(!db.revoke_grant(&owner, &client).unwrap());
    assert_eq!(db.grant(&owner, &client).unwrap(), None);
}

#[test]
fn disconnecting_also_revokes_that_clients_tokens() {
    let (_clock, _dir, db, owner, friend, client) = setup();
    db.record_grant(&owner, &client, &["vault:default:read"])
        .unwrap();
    let stamp = "2027-01-01T00:00:00.000Z";
    for (jti, user, c) in [
        ("a", &owner, &client),
        ("b", &owner, &client),
        ("c", &friend, &client),
    ] {
        db.lock()
            .execute(
                "INSERT INTO tokens (jti, user_id, client_id, scopes, expires_at, created_at, family_id)
                 VALUES (?1, ?2, ?3, 'vault:default:read', ?4, ?4, ?1)",
                rusqlite::params![jti, user, c, stamp],
            )
            .unwrap();
    }
    let out = db.revoke_grant_and_tokens(&owner, &client).unwrap();
    assert_eq!(
        out,
        RevokedGrant {
            grant_removed: true,
            tokens_revoked: 2
        }
    );
    assert!(db.token_record("c").unwrap().unwrap().revoked_at.is_none());
    assert!(db.token_record("a").unwrap().unwrap().revoked_at.is_some());
}

#[test]
fn unknown_user_or_client_is_named() {
    let (_clock, _dir, db, owner, _, client) = setup();
    let err = db
        .record_grant("ghost", &client, &["vault:read"])
        .unwrap_err();
    assert!(matches!(err, AuthError::UnknownUser { .. }), "{err:?}");
    let err = db
        .record_grant(&owner, "ghost", &["vault:read"])
        .unwrap_err();
    assert!(
        matches!(err, AuthError::OAuth(OAuthError::UnknownClient { .. })),
        "{err:?}"
    );
}

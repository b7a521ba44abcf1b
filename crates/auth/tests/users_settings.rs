//! Users (argon2id admin) and hub settings.

mod common;

use common::*;
use parachute_auth::{AdminChange, AuthError, HubDb, SeedOutcome};

#[test]
fn admin_is_created_then_reset_and_stays_single() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::open(&dir.path().join("hub.db")).unwrap();
    assert_eq!(db.user_count().unwrap(), 0);
    assert_eq!(db.first_user_id().unwrap(), None);

    let AdminChange::Created(user) = db.create_or_reset_admin("owner", "first-password").unwrap()
    else {
        panic!("expected creation")
    };
    assert_eq!(
        db.first_user_id().unwrap().as_deref(),
        Some(user.id.as_str())
    );
    assert!(db.verify_password("owner", "first-password").unwrap());
    assert!(!db.verify_password("owner", "wrong").unwrap());

    let hash: String = rusqlite::Connection::open(dir.path().join("hub.db"))
        .unwrap()
        .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    let AdminChange::PasswordReset(reset) = db
        .create_or_reset_admin("owner", "second-password")
        .unwrap()
    else {
        panic!("expected reset")
    };
    assert_eq!(reset.id, user.id);
    assert!(db.verify_password("owner", "second-password").unwrap());
    assert!(!db.verify_password("owner", "first-password").unwrap());

    let err = db.create_or_reset_admin("someone-else", "pw").unwrap_err();
    assert!(
        matches!(&err, AuthError::UserExists { existing } if existing == "owner"),
        "{err:?}"
    );
    assert!(matches!(
        db.create_or_reset_admin("owner", ""),
        Err(AuthError::EmptyCredential { what: "password" })
    ));
    assert!(matches!(
        db.create_or_reset_admin(" ", "pw"),
        Err(AuthError::EmptyCredential { what: "username" })
    ));
    assert_eq!(db.user_count().unwrap(), 1);
    assert_eq!(db.list_users().unwrap().len(), 1);
}

#[test]
fn initial_admin_seeding() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::open(&dir.path().join("hub.db")).unwrap();
    assert_eq!(
        db.seed_initial_admin(None, None).unwrap(),
        SeedOutcome::NeedsSetup
    );
    assert_eq!(
        db.seed_initial_admin(Some("admin"), Some("")).unwrap(),
        SeedOutcome::NeedsSetup
    );
    let SeedOutcome::Seeded(user) = db
        .seed_initial_admin(Some("admin"), Some("seed-pw"))
        .unwrap()
    else {
        panic!("expected seeding")
    };
    assert_eq!(user.username, "admin");
    assert!(db.verify_password("admin", "seed-pw").unwrap());
    // Once a user exists the environment is ignored (no password reset).
    assert_eq!(
        db.seed_initial_admin(Some("admin"), Some("other")).unwrap(),
        SeedOutcome::Exists
    );
    assert!(db.verify_password("admin", "seed-pw").unwrap());
}

#[test]
fn fixture_admin_password_can_be_reset() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    assert!(matches!(
        db.create_or_reset_admin("admin", "new-pw").unwrap(),
        AdminChange::PasswordReset(_)
    ));
    assert!(db.verify_password("admin", "new-pw").unwrap());
    assert!(!db.verify_password("admin", "fixture-password-1").unwrap());
    assert_eq!(
        db.seed_initial_admin(Some("x"), Some("y")).unwrap(),
        SeedOutcome::Exists
    );
}

#[test]
fn hub_settings_get_set_delete() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    assert_eq!(
        db.setting(parachute_auth::SETTING_HUB_ORIGIN).unwrap(),
        None
    );
    db.set_setting(
        parachute_auth::SETTING_HUB_ORIGIN,
        "https://hub.example.net",
    )
    .unwrap();
    assert_eq!(
        db.setting("hub_origin").unwrap().as_deref(),
        Some("https://hub.example.net")
    );
    fx.clock.advance(std::time::Duration::from_secs(60));
    db.set_setting("hub_origin", "https://other.example.net")
        .unwrap();
    assert_eq!(
        db.setting("hub_origin").unwrap().as_deref(),
        Some("https://other.example.net")
    );
    let updated_at: String = rusqlite::Connection::open(&fx.path)
        .unwrap()
        .query_row(
            "SELECT updated_at FROM hub_settings WHERE key = 'hub_origin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(updated_at, "2026-11-28T00:01:00.000Z");
    assert!(db.delete_setting("hub_origin").unwrap());
    assert!(!db.delete_setting("hub_origin").unwrap());
    assert_eq!(db.setting("hub_origin").unwrap(), None);
}

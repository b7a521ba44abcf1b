use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::FixedClock;
use crate::test_support::{db_with_users, row_strings};
use crate::totp::{BACKUP_CODE_COUNT, TOTP_STEP_SECS, totp_code};

fn setup() -> (Arc<FixedClock>, tempfile::TempDir, HubDb, String) {
    let clock = Arc::new(FixedClock::at("2026-12-02T02:26:02.865Z"));
    let (dir, db, _owner, friend) = db_with_users(clock.clone());
    (clock, dir, db, friend)
}

fn enrol(db: &HubDb, user: &str) -> (String, Enrolment) {
    let pending = db.begin_two_factor_enrolment(user).unwrap();
    let code = totp_code(&pending.secret, db.now()).unwrap();
    let enrolment = db
        .confirm_two_factor_enrolment(user, &pending.secret, &code)
        .unwrap();
    (pending.secret, enrolment)
}

#[test]
fn enrolment_stores_the_original_columns_only_after_confirmation() {
    let (_clock, _dir, db, user) = setup();
    let status = db.two_factor_status(&user).unwrap();
    assert_eq!(
        status,
        TwoFactorStatus {
            enrolled: false,
            enrolled_at: None,
            backup_codes_remaining: 0
        }
    );
    let pending = db.begin_two_factor_enrolment(&user).unwrap();
    assert!(
        pending
            .otpauth_uri
            .starts_with("otpauth://totp/Parachute%20Hub:friend?")
    );
    assert!(
        !db.two_factor_status(&user).unwrap().enrolled,
        "begin stores nothing"
    );

    let err = db
        .confirm_two_factor_enrolment(&user, &pending.secret, "000000")
        .unwrap_err();
    assert!(matches!(err, AuthError::TotpConfirmationFailed), "{err:?}");
    assert!(!db.two_factor_status(&user).unwrap().enrolled);

    let code = totp_code(&pending.secret, db.now()).unwrap();
    let enrolment = db
        .confirm_two_factor_enrolment(&user, &pending.secret.to_lowercase(), &code)
        .unwrap();
    assert_eq!(enrolment.backup_codes.len(), BACKUP_CODE_COUNT);
    assert_eq!(enrolment.enrolled_at, "2026-12-02T02:26:02.865Z");
    let row = &row_strings(
        &db,
        &format!(
            "SELECT totp_secret, totp_backup_codes, totp_enrolled_at, updated_at FROM users WHERE id = '{user}'"
        ),
    )[0];
    assert_eq!(row[0], pending.secret, "stored upper-case base32");
    let hashes: Vec<String> = serde_json::from_str(&row[1]).unwrap();
    assert_eq!(hashes.len(), BACKUP_CODE_COUNT);
    assert!(
        hashes
            .iter()
            .all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"))
    );
    assert!(!row[1].contains(' '), "compact JSON like JSON.stringify");
    assert_eq!(row[2], "2026-12-02T02:26:02.865Z");
    assert_eq!(row[3], "2026-12-02T02:26:02.865Z");

    assert!(matches!(
        db.begin_two_factor_enrolment(&user),
        Err(AuthError::TwoFactorAlreadyEnrolled { .. })
    ));
    assert!(matches!(
        db.confirm_two_factor_enrolment(&user, &pending.secret, &code),
        Err(AuthError::TwoFactorAlreadyEnrolled { .. })
    ));
}

#[test]
fn totp_codes_work_once_per_step_and_drift_one_step() {
    let (clock, _dir, db, user) = setup();
    let (secret, _) = enrol(&db, &user);
    // The confirmation code's step is spent already.
    let same = totp_code(&secret, db.now()).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &same).unwrap(),
        SecondFactorCheck::Replayed
    );

    clock.advance(Duration::from_secs(TOTP_STEP_SECS));
    let next = totp_code(&secret, db.now()).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &next).unwrap(),
        SecondFactorCheck::AcceptedTotp
    );
    assert_eq!(
        db.verify_second_factor(&user, &next).unwrap(),
        SecondFactorCheck::Replayed
    );

    // A code from the step after next, typed early (clock drift), is accepted once.
    let ahead = totp_code(&secret, db.now() + Duration::from_secs(TOTP_STEP_SECS)).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &ahead).unwrap(),
        SecondFactorCheck::AcceptedTotp
    );
    // An older (still in-window) code after a newer one was used is refused.
    clock.advance(Duration::from_secs(TOTP_STEP_SECS));
    let behind = totp_code(&secret, db.now() - Duration::from_secs(TOTP_STEP_SECS)).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &behind).unwrap(),
        SecondFactorCheck::Replayed
    );

    let far = totp_code(&secret, db.now() + Duration::from_secs(5 * TOTP_STEP_SECS)).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &far).unwrap(),
        SecondFactorCheck::Rejected
    );
    assert_eq!(
        db.verify_second_factor(&user, "").unwrap(),
        SecondFactorCheck::Rejected
    );
    assert_eq!(
        db.verify_second_factor(&user, "12345").unwrap(),
        SecondFactorCheck::Rejected
    );
}

#[test]
fn backup_codes_are_spent_one_by_one() {
    let (_clock, _dir, db, user) = setup();
    let (_, enrolment) = enrol(&db, &user);
    let code = &enrolment.backup_codes[4];
    assert_eq!(
        db.verify_second_factor(&user, &code.to_uppercase())
            .unwrap(),
        SecondFactorCheck::AcceptedBackupCode { remaining: 9 }
    );
    assert_eq!(
        db.verify_second_factor(&user, code).unwrap(),
        SecondFactorCheck::Rejected
    );
    assert_eq!(
        db.two_factor_status(&user).unwrap().backup_codes_remaining,
        9
    );
    assert_eq!(
        db.verify_second_factor(&user, &enrolment.backup_codes[0].replace('-', ""))
            .unwrap(),
        SecondFactorCheck::AcceptedBackupCode { remaining: 8 }
    );
    assert!(SecondFactorCheck::AcceptedBackupCode { remaining: 8 }.accepted());
    assert!(!SecondFactorCheck::Replayed.accepted());
}

#[test]
fn disenrolment_clears_everything_and_allows_a_fresh_start() {
    let (_clock, _dir, db, user) = setup();
    let (secret, _) = enrol(&db, &user);
    assert!(db.disenrol_two_factor(&user).unwrap());
    assert!(!db.disenrol_two_factor(&user).unwrap(), "idempotent");
    assert_eq!(
        row_strings(
            &db,
            &format!(
                "SELECT totp_secret, totp_backup_codes, totp_enrolled_at FROM users WHERE id = '{user}'"
            )
        ),
        vec![vec![
            "NULL".to_owned(),
            "NULL".to_owned(),
            "NULL".to_owned()
        ]]
    );
    let code = totp_code(&secret, db.now()).unwrap();
    assert_eq!(
        db.verify_second_factor(&user, &code).unwrap(),
        SecondFactorCheck::NotEnrolled
    );
    // Re-enrolling within the same 30 s step works: the old step record was cleared.
    let (_, again) = enrol(&db, &user);
    assert_eq!(again.backup_codes.len(), BACKUP_CODE_COUNT);
}

#[test]
fn unknown_users_and_bad_secrets() {
    let (_clock, _dir, db, user) = setup();
    assert!(matches!(
        db.two_factor_status("ghost"),
        Err(AuthError::UnknownUser { .. })
    ));
    assert!(matches!(
        db.begin_two_factor_enrolment("ghost"),
        Err(AuthError::UnknownUser { .. })
    ));
    assert!(matches!(
        db.confirm_two_factor_enrolment(&user, "SHORT", "123456"),
        Err(AuthError::InvalidTotpSecret(_))
    ));
    // A stored secret that no longer decodes: backup codes still work, otherwise a clear error.
    let (_, enrolment) = enrol(&db, &user);
    db.lock()
        .execute(
            "UPDATE users SET totp_secret = '!!!!' WHERE id = ?1",
            [&user],
        )
        .unwrap();
    assert!(matches!(
        db.verify_second_factor(&user, "123456"),
        Err(AuthError::CorruptTwoFactor { .. })
    ));
    assert!(
        db.verify_second_factor(&user, &enrolment.backup_codes[1])
            .unwrap()
            .accepted()
    );
}

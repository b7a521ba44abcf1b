//! The operator token file: mode 0600, atomic replacement, renewal in the last 7 days,
//! expiry, issuer self-heal after exposure, and the loose-mode warning.

mod common;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use parachute_auth::{
    AuthError, Freshness, HubDb, MintRequest, OperatorScopeSet, OperatorToken, ensure_fresh,
    mint_operator, reissue_for_issuer, self_heal_issuer,
};

const DAY: u64 = 24 * 3600;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn minted_operator_token_file_is_0600_and_written_atomically() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");

    // A pre-existing world-readable file is replaced, not rewritten in place.
    std::fs::write(&path, "old\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let issued = mint_operator(&db, OperatorScopeSet::Install, FIXTURE_ISSUER, &path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", issued.minted.token)
    );
    assert_eq!(
        dir_entries(home.path()),
        vec!["operator.token"],
        "no temporary file left"
    );

    let claims = db
        .validate(
            &issued.minted.token,
            &request(&db, Some("parachute:host:install")),
        )
        .unwrap();
    assert_eq!(claims.pa_scope_set.as_deref(), Some("install"));
    assert_eq!(claims.scope, "parachute:host:install vault:read");
    assert_eq!(claims.sub.as_deref(), Some(FIXTURE_ADMIN_ID));
    assert!(claims.aud.unwrap().contains("operator"));

    let loaded = OperatorToken::load(&path).unwrap().expect("present");
    assert_eq!(loaded.token, issued.minted.token);
    assert_eq!(
        loaded.unverified_claims().unwrap().iss.as_deref(),
        Some(FIXTURE_ISSUER)
    );
}

#[test]
fn missing_or_empty_file_is_absent() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    assert!(OperatorToken::load(&path).unwrap().is_none());
    std::fs::write(&path, "  \n").unwrap();
    assert!(OperatorToken::load(&path).unwrap().is_none());

    let fx = FixtureDb::copy();
    let db = fx.open();
    let err = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap_err();
    assert!(
        matches!(err, AuthError::OperatorTokenMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("parachute auth rotate-operator"));
}

#[test]
fn minting_needs_a_user() {
    let home = tempfile::tempdir().unwrap();
    let db = HubDb::open(&home.path().join("hub.db")).unwrap();
    let path = home.path().join("operator.token");
    let err =
        mint_operator(&db, OperatorScopeSet::Admin, "http://127.0.0.1:1939", &path).unwrap_err();
    assert!(matches!(err, AuthError::NoUsers), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn fresh_token_is_kept_and_renewed_in_its_last_week() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    let first = mint_operator(&db, OperatorScopeSet::Auth, FIXTURE_ISSUER, &path).unwrap();

    // 80 days in: 10 days left, kept byte-for-byte.
    fx.clock.advance(Duration::from_secs(80 * DAY));
    let used = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap();
    assert!(matches!(used.freshness, Freshness::Fresh));
    assert_eq!(used.token, first.minted.token);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", first.minted.token)
    );

    // 84 days in: 6 days left, re-minted with the same set and issuer, for 90 more days.
    fx.clock.advance(Duration::from_secs(4 * DAY));
    let used = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap();
    let Freshness::Renewed(renewed) = &used.freshness else {
        panic!("expected renewal, got {:?}", used.freshness)
    };
    assert_eq!(renewed.scope_set, OperatorScopeSet::Auth);
    assert_ne!(used.token, first.minted.token);
    assert_eq!(used.claims.iss.as_deref(), Some(FIXTURE_ISSUER));
    assert_eq!(used.claims.pa_scope_set.as_deref(), Some("auth"));
    assert_eq!(used.claims.sub.as_deref(), Some(FIXTURE_ADMIN_ID));
    let now = parachute_auth::clock::unix_seconds(db.now());
    assert_eq!(used.claims.exp, Some(now + 90 * DAY as i64));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", used.token)
    );
    assert_eq!(mode(&path), 0o600);
    let row = db.token_record(&renewed.minted.jti).unwrap().unwrap();
    assert_eq!(row.created_via, "operator_mint");

    // Past expiry: refused with the rotate-operator hint, file untouched.
    fx.clock.advance(Duration::from_secs(91 * DAY));
    let err = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap_err();
    assert!(
        matches!(err, AuthError::OperatorTokenExpired { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("parachute auth rotate-operator"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", used.token)
    );
}

#[test]
fn non_operator_token_in_the_file_is_never_widened() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    let narrow = db
        .mint(&MintRequest::cli(
            FIXTURE_ADMIN_ID,
            vec!["vault:default:read".into()],
            "vault.default",
            FIXTURE_ISSUER,
            Duration::from_secs(3 * DAY),
        ))
        .unwrap();
    parachute_auth::operator::write_token_file(&path, &narrow.token).unwrap();
    let used = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap();
    assert!(
        matches!(used.freshness, Freshness::NotRenewable(_)),
        "{:?}",
        used.freshness
    );
    assert_eq!(used.token, narrow.token);
    assert!(!self_heal_issuer(&db, &path, "https://new.example.net").unwrap());
    assert_eq!(
        OperatorToken::load(&path).unwrap().unwrap().token,
        narrow.token
    );
}

#[test]
fn other_issuers_and_invalid_tokens() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    mint_operator(&db, OperatorScopeSet::Admin, FIXTURE_ISSUER, &path).unwrap();
    let loopback = parachute_auth::known_issuers(1939, None, None, None);
    let err = ensure_fresh(&db, &path, &loopback, db.now()).unwrap_err();
    assert!(
        matches!(
            &err,
            AuthError::OperatorTokenInvalid {
                failure: parachute_auth::AuthFailure::UnknownIssuer { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn fixture_operator_token_loads() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    std::fs::copy(fixture_dir().join("operator.token"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let used = ensure_fresh(&db, &path, &fixture_issuers(), db.now()).unwrap();
    assert!(matches!(used.freshness, Freshness::Fresh));
    assert_eq!(used.claims.pa_scope_set.as_deref(), Some("admin"));
}

#[test]
fn self_heal_reissues_under_the_new_issuer() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    let first = mint_operator(
        &db,
        OperatorScopeSet::Expose,
        "http://127.0.0.1:1939",
        &path,
    )
    .unwrap();

    // Never downgrade to a loopback issuer.
    assert!(!self_heal_issuer(&db, &path, "http://localhost:1939").unwrap());
    assert_eq!(
        OperatorToken::load(&path).unwrap().unwrap().token,
        first.minted.token
    );

    assert!(self_heal_issuer(&db, &path, FIXTURE_ISSUER).unwrap());
    let healed = OperatorToken::load(&path).unwrap().unwrap();
    let claims = db
        .validate(&healed.token, &request(&db, Some("parachute:host:expose")))
        .unwrap();
    assert_eq!(claims.iss.as_deref(), Some(FIXTURE_ISSUER));
    assert_eq!(claims.pa_scope_set.as_deref(), Some("expose"));
    assert_eq!(mode(&path), 0o600);

    // Same issuer again: nothing to do, file byte-identical.
    let bytes = std::fs::read(&path).unwrap();
    assert!(!self_heal_issuer(&db, &path, FIXTURE_ISSUER).unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // A revoked token is not resurrected.
    db.revoke_token(claims.jti.as_deref().unwrap()).unwrap();
    assert!(!self_heal_issuer(&db, &path, "https://other.example.net").unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Absent file: nothing to heal.
    assert!(!self_heal_issuer(&db, &home.path().join("none"), FIXTURE_ISSUER).unwrap());
}

#[test]
fn reissue_follows_the_chosen_origin_back_to_loopback_too() {
    let fx = FixtureDb::copy();
    let db = fx.open();
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    mint_operator(&db, OperatorScopeSet::Auth, FIXTURE_ISSUER, &path).unwrap();

    // The setting was cleared on a hub that is not exposed: back to loopback.
    assert!(reissue_for_issuer(&db, &path, "http://127.0.0.1:1939").unwrap());
    let token = OperatorToken::load(&path).unwrap().unwrap().token;
    let claims = db.validate_ignoring_issuer(&token, db.now()).unwrap();
    assert_eq!(claims.iss.as_deref(), Some("http://127.0.0.1:1939"));
    assert_eq!(claims.pa_scope_set.as_deref(), Some("auth"));
    assert_eq!(mode(&path), 0o600);

    // Same issuer: untouched. Absent file: nothing to do.
    let bytes = std::fs::read(&path).unwrap();
    assert!(!reissue_for_issuer(&db, &path, "http://127.0.0.1:1939").unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(!reissue_for_issuer(&db, &home.path().join("none"), FIXTURE_ISSUER).unwrap());

    // A token that is not an operator token (a module token someone put there) is left alone.
    let sub = db.first_user_id().unwrap().unwrap();
    let module = db
        .mint(&MintRequest::cli(
            &sub,
            vec!["vault:default:read".into()],
            "vault.default",
            FIXTURE_ISSUER,
            std::time::Duration::from_secs(600),
        ))
        .unwrap();
    parachute_auth::operator::write_token_file(&path, &module.token).unwrap();
    assert!(!reissue_for_issuer(&db, &path, "https://new.example").unwrap());
}

/// Collects formatted log output of the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn load_capturing_logs(path: &Path) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        OperatorToken::load(path).unwrap().expect("present");
    });
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn loose_mode_warns_but_still_reads() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("operator.token");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"header.payload.signature\n").unwrap();
    drop(f);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(load_capturing_logs(&path), "", "no warning at 0600");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let logs = load_capturing_logs(&path);
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("0644") && logs.contains("chmod 600"),
        "{logs}"
    );
    assert!(
        !logs.contains("header.payload.signature"),
        "the token itself is never logged"
    );
}

#[test]
fn scope_sets_parse_and_list_their_scopes() {
    for set in OperatorScopeSet::ALL {
        assert_eq!(set.name().parse::<OperatorScopeSet>().unwrap(), set);
    }
    assert!(matches!(
        "root".parse::<OperatorScopeSet>(),
        Err(AuthError::UnknownScopeSet(_))
    ));
    assert_eq!(OperatorScopeSet::default(), OperatorScopeSet::Admin);
    assert_eq!(OperatorScopeSet::Admin.scopes().len(), 10);
    assert_eq!(OperatorScopeSet::Vault.scopes(), ["parachute:host:vault"]);
}

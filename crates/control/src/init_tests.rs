use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use parachute_auth::HubDb;
use parachute_home::Home;
use parachute_migrate::{MigrateEnv, Timing};
use parachute_os::SystemRunner;
use parachute_unit::{HubUnitConfig, ManagedUnit, ManagerKind, UnitEnv};

use super::*;

/// A machine with no service manager and no hub on the (unusable) port 1.
fn env(dir: &Path) -> MigrateEnv {
    let unit_env = UnitEnv {
        uid: 1000,
        user_name: "tester".into(),
        home_dir: dir.into(),
        unit_dir_override: Some(dir.join("units")),
        scope_override: None,
        manager_override: Some(ManagerKind::None),
    };
    let runner = Arc::new(SystemRunner::with_search_path(dir.join("no-tools")));
    MigrateEnv {
        home: Home::at(dir.join("home")),
        units: ManagedUnit::new(runner, ManagerKind::None, unit_env),
        hub: HubUnitConfig {
            exe: "/bin/true".into(),
            parachute_home: dir.join("home"),
            port: 1,
            user_home: dir.into(),
        },
        timing: Timing::default(),
    }
}

#[test]
fn without_a_service_manager_the_hub_step_fails_and_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let mut progress = Vec::new();
    let err = ensure_hub(&env, &mut |p| progress.push(p)).unwrap_err();
    assert!(matches!(err, InitError::NoManager(_)), "{err:?}");
    assert!(err.next_steps().is_empty());
    assert!(progress.is_empty());
    assert!(!dir.path().join("units").exists(), "no unit file written");
}

#[test]
fn the_token_waits_for_an_admin_then_is_written_private_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    std::fs::create_dir_all(env.home.root()).unwrap();
    assert_eq!(ensure_operator_token(&env), TokenStep::NoAdminYet);
    assert!(!env.home.operator_token().exists());

    let db = HubDb::open(&env.home.hub_db()).unwrap();
    db.create_or_reset_admin("owner", "correct horse").unwrap();
    let step = ensure_operator_token(&env);
    assert_eq!(step, TokenStep::Written(env.home.operator_token()));
    assert!(step.changed());
    let mode = std::fs::metadata(env.home.operator_token())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let again = ensure_operator_token(&env);
    assert_eq!(again, TokenStep::AlreadyInPlace(env.home.operator_token()));
    assert!(!again.changed());
}

#[test]
fn readiness_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    std::fs::create_dir_all(env.home.root()).unwrap();
    assert_eq!(
        readiness(&env.home),
        Readiness {
            has_admin: false,
            has_vault: false
        }
    );
    HubDb::open(&env.home.hub_db())
        .unwrap()
        .create_or_reset_admin("owner", "pw")
        .unwrap();
    assert!(readiness(&env.home).has_admin);
}

#[test]
fn steps_say_whether_they_changed_anything() {
    assert!(HubStep::StartedUnit { port: 1939 }.changed());
    let by_hand = HubStep::AlreadyRunning {
        port: 1939,
        attention: Some(HubAttention::NotUnderManager),
    };
    assert!(!by_hand.changed());
    assert!(by_hand.needs_attention());
    assert_eq!(
        HubAttention::NotUnderManager.next_step(),
        NextStep::InstallHubUnit
    );
    assert!(HubStep::LegacyHubRunning { pid: 7 }.needs_attention());
    assert_eq!(dashboard_url(1940, None), "http://127.0.0.1:1940/admin/");
}

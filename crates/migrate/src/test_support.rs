//! Test fixtures: a temp home with a `MigrateEnv` around it.

use std::sync::Arc;

use parachute_home::Home;
use parachute_os::SystemRunner;
use parachute_unit::{HubUnitConfig, ManagedUnit, ManagerKind, UnitEnv};

use crate::env::{MigrateEnv, Timing};

/// A temp directory holding the home (`home/`) and a unit directory (`units/`).
pub struct Fixture {
    /// Owns the directories.
    pub dir: tempfile::TempDir,
    /// The environment under test.
    pub env: MigrateEnv,
}

/// A fixture whose manager is `manager` (no tool is ever found on its search path, so a test
/// that would call one fails loudly instead of touching the machine).
pub fn fixture_with(manager: ManagerKind) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("home");
    std::fs::create_dir_all(&root).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unit_env = UnitEnv {
        uid: 1000,
        user_name: "tester".into(),
        home_dir: dir.path().into(),
        unit_dir_override: Some(dir.path().join("units")),
        scope_override: None,
        manager_override: Some(manager),
    };
    let runner = Arc::new(SystemRunner::with_search_path(dir.path().join("no-tools")));
    let env = MigrateEnv {
        home: Home::at(&root),
        units: ManagedUnit::new(runner, manager, unit_env),
        hub: HubUnitConfig {
            exe: "/bin/true".into(),
            parachute_home: root,
            port,
            user_home: dir.path().into(),
        },
        timing: Timing::default(),
    };
    Fixture { dir, env }
}

/// A fixture without a service manager.
pub fn fixture() -> Fixture {
    fixture_with(ManagerKind::None)
}

impl Fixture {
    /// Writes `text` to `rel` under the home.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.env.home.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// True when `rel` exists under the home.
    pub fn exists(&self, rel: &str) -> bool {
        self.env.home.root().join(rel).exists()
    }
}

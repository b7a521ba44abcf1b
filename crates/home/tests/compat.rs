//! Compatibility with files written by the original hub (release 0.6.3-rc.2): they read, and
//! read + write reproduces them byte for byte. The fixtures are read in place, never copied;
//! writes go to a temp home.

use std::path::{Path, PathBuf};

use parachute_home::{EnvFile, Home, Layer, Mode, expose_state, services};

/// The fixture home written by the original.
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/original-0.6.3-rc.2"
);

fn fixture(rel: &str) -> PathBuf {
    Path::new(FIXTURES).join(rel)
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn services_json_round_trips_byte_identical() {
    let original = bytes(&fixture("services.json"));
    let fixtures = Home::at(FIXTURES);
    let manifest = services::read_strict(&fixtures).unwrap();
    assert_eq!(
        bytes(&fixture("services.json")),
        original,
        "reading never rewrites a clean file"
    );
    let vault = &manifest.services[0];
    assert_eq!(manifest.services.len(), 1);
    assert_eq!(vault.name, "parachute-vault");
    assert_eq!(vault.short(), "vault");
    assert_eq!(vault.port, 1940);
    assert_eq!(vault.paths, vec!["/vault/default"]);
    assert_eq!(vault.health, "/health");
    assert_eq!(vault.version, "0.3.6-rc.30");
    assert_eq!(
        vault.install_dir.as_deref(),
        Some(Path::new(
            "/home/user/.bun/install/global/node_modules/@openparachute/vault"
        ))
    );
    assert!(vault.extra.is_empty());
    let lenient = services::read_lenient(&fixtures);
    assert!(lenient.warnings.is_empty(), "{:?}", lenient.warnings);
    assert_eq!(lenient.manifest, manifest);

    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    services::write(&home, &manifest).unwrap();
    assert_eq!(bytes(&home.services_json()), original);
    // A no-op upsert of the same row keeps the bytes too.
    services::upsert_row(&home, vault).unwrap();
    assert_eq!(bytes(&home.services_json()), original);
}

#[test]
fn expose_state_round_trips_byte_identical() {
    let original = bytes(&fixture("expose-state.json"));
    let state = expose_state::read(&Home::at(FIXTURES)).unwrap().unwrap();
    assert_eq!(state.layer, Layer::Tailnet);
    assert_eq!(state.mode, Mode::Path);
    assert_eq!(state.canonical_fqdn, "box.tail1234.ts.net");
    assert_eq!(state.port, 443);
    assert!(!state.funnel);
    assert_eq!(state.entries.len(), 1);
    assert_eq!(state.entries[0].target, "http://127.0.0.1:1939/");
    assert_eq!(
        state.hub_origin.as_deref(),
        Some("https://box.tail1234.ts.net")
    );

    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    expose_state::write(&home, &state).unwrap();
    assert_eq!(bytes(&home.expose_state()), original);
}

#[test]
fn vault_env_round_trips_byte_identical() {
    let original = bytes(&fixture("vault/.env"));
    let env = EnvFile::read(&fixture("vault/.env")).unwrap();
    assert_eq!(
        env.get("PARACHUTE_HUB_ORIGIN").as_deref(),
        Some("https://box.tail1234.ts.net")
    );
    assert_eq!(env.vars().len(), 1);

    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    env.write(&home.module_env("vault")).unwrap();
    assert_eq!(bytes(&home.module_env("vault")), original);
    // Setting the same value again changes nothing.
    let mut again = EnvFile::read(&home.module_env("vault")).unwrap();
    again.set("PARACHUTE_HUB_ORIGIN", "https://box.tail1234.ts.net");
    again.write(&home.module_env("vault")).unwrap();
    assert_eq!(bytes(&home.module_env("vault")), original);
}

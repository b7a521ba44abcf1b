//! Under umask 000 every file and directory this crate creates is still private.
//!
//! The umask is process-wide, so this binary holds exactly one test: nothing else runs while
//! it is cleared.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use parachute_home::services::{self, ServiceRow};
use parachute_home::{
    EntryKind, EnvFile, ExposeEntry, ExposeState, Home, Layer, Mode, expose_state, hub_port,
    write_atomic,
};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn everything_created_under_umask_000_is_private() {
    // Made first: a directory created under umask 000 by someone else would be wide open.
    let tmp = tempfile::tempdir().unwrap();
    // SAFETY: umask(2) has no memory effects; this binary runs no other test.
    let previous = unsafe { libc::umask(0) };
    let home = Home::at(tmp.path().join("new-home"));

    let row = ServiceRow::new("third", 2100, vec!["/third".into()], "/health", "1.0.0");
    services::upsert_row(&home, &row).unwrap();
    hub_port::write(&home, 4242).unwrap();
    let mut env = EnvFile::default();
    env.set("PARACHUTE_HUB_ORIGIN", "https://box.example");
    env.write(&home.module_env("third")).unwrap();
    let state = ExposeState {
        version: 1,
        layer: Layer::Tailnet,
        mode: Mode::Path,
        canonical_fqdn: "box.example".into(),
        port: 443,
        funnel: false,
        entries: vec![ExposeEntry {
            kind: EntryKind::Proxy,
            mount: "/".into(),
            target: "http://127.0.0.1:4242/".into(),
            service: "hub".into(),
        }],
        hub_origin: None,
    };
    expose_state::write(&home, &state).unwrap();
    write_atomic(&home.well_known_hub_html(), b"<html></html>\n", None).unwrap();

    for dir in [
        home.root().to_path_buf(),
        home.hub_dir(),
        home.hub_dir().join("run"),
        home.module_dir("third"),
        home.well_known_dir(),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in [
        home.services_json(),
        home.root().join(".services.json.lock"),
        home.hub_port_file(),
        home.module_env("third"),
        home.expose_state(),
        home.well_known_hub_html(),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    home.check_not_writable_by_others().unwrap();
    home.check_module_not_writable_by_others("third").unwrap();
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
}

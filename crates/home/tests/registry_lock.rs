//! Writers in separate processes (the CLI and the hub, say) never lose each other's rows.
//!
//! The test re-runs its own binary as the writer processes: with `REGISTRY_WRITER_HOME` set, it
//! only appends its rows and exits.

use std::process::Command;

use parachute_home::services::{read_strict, upsert_row};
use parachute_home::{Home, ServiceRow};

const WRITERS: u16 = 4;
const ROWS_EACH: u16 = 15;
const TEST_NAME: &str = "concurrent_writers_in_separate_processes_lose_no_row";

fn write_rows(home: &Home, writer: u16) {
    for i in 0..ROWS_EACH {
        let name = format!("w{writer}-m{i}");
        let row = ServiceRow::new(
            name.clone(),
            20_000 + writer * 100 + i,
            vec![format!("/{name}")],
            "/health",
            "1.0.0",
        );
        upsert_row(home, &row).expect("upsert");
    }
}

#[test]
fn concurrent_writers_in_separate_processes_lose_no_row() {
    if let Ok(root) = std::env::var("REGISTRY_WRITER_HOME") {
        let writer: u16 = std::env::var("REGISTRY_WRITER_ID")
            .unwrap()
            .parse()
            .unwrap();
        write_rows(&Home::at(root), writer);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", TEST_NAME, "--test-threads", "1"])
                .env("REGISTRY_WRITER_HOME", dir.path())
                .env("REGISTRY_WRITER_ID", id.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let manifest = read_strict(&Home::at(dir.path())).unwrap();
    assert_eq!(
        manifest.services.len(),
        usize::from(WRITERS * ROWS_EACH),
        "rows were lost: {:?}",
        manifest
            .services
            .iter()
            .map(|r| &r.name)
            .collect::<Vec<_>>()
    );
}

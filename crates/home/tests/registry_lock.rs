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

const CLEANUP_TEST: &str = "read_time_cleanups_in_other_processes_lose_no_row";

/// A row name the read-time cleanup drops (a retired module), so every read that sees it
/// saves the file.
const RETIRED: &str = "agent";

fn write_rows_and_retired(home: &Home, writer: u16) {
    for i in 0..ROWS_EACH {
        let name = format!("c{writer}-m{i}");
        let row = ServiceRow::new(
            name.clone(),
            30_000 + writer * 100 + i,
            vec![format!("/{name}")],
            "/health",
            "1.0.0",
        );
        upsert_row(home, &row).expect("upsert");
        let retired = ServiceRow::new(
            RETIRED,
            39_000 + writer,
            vec!["/agent".into()],
            "/health",
            "1",
        );
        upsert_row(home, &retired).expect("upsert the retired row");
    }
}

/// Readers whose cleanup saves race writers in other processes: every row a writer added is
/// still there at the end (a cleanup save is a locked read-modify-write of the fresh file).
#[test]
fn read_time_cleanups_in_other_processes_lose_no_row() {
    if let Ok(root) = std::env::var("REGISTRY_CLEANUP_HOME") {
        let home = Home::at(root);
        match std::env::var("REGISTRY_CLEANUP_ROLE").unwrap().as_str() {
            "reader" => {
                for _ in 0..200 {
                    let _ = read_strict(&home);
                    let _ = parachute_home::services::read_lenient(&home);
                }
            }
            writer => write_rows_and_retired(&home, writer.parse().unwrap()),
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let roles = ["0", "1", "reader", "reader"];
    let children: Vec<_> = roles
        .iter()
        .map(|role| {
            Command::new(&exe)
                .args(["--exact", CLEANUP_TEST, "--test-threads", "1"])
                .env("REGISTRY_CLEANUP_HOME", dir.path())
                .env("REGISTRY_CLEANUP_ROLE", role)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let manifest = read_strict(&Home::at(dir.path())).unwrap();
    let names: Vec<&str> = manifest.services.iter().map(|r| r.name.as_str()).collect();
    for writer in 0..2 {
        for i in 0..ROWS_EACH {
            let name = format!("c{writer}-m{i}");
            assert!(names.contains(&name.as_str()), "{name} was lost: {names:?}");
        }
    }
}

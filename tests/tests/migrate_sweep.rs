//! `parachute migrate [--list|--dry-run] [--yes]` end to end: the real binary against a temp
//! home, without a terminal (stdin closed), as a script or CI job would run it.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;

use migrate_support::{Daemon, Stand, snapshot};
use parachute_tests::free_port;

/// The archive directory names a run started now may use (the UTC date can roll over mid-run).
fn archive_dirs_around(run: impl FnOnce()) -> Vec<String> {
    let name = || format!(".archive-{}", chrono::Utc::now().format("%Y-%m-%d"));
    let before = name();
    run();
    let after = name();
    let mut names = vec![before];
    if !names.contains(&after) {
        names.push(after);
    }
    names
}

/// A home with current files, known leftovers and things of unknown origin.
fn stage(stand: &Stand) {
    stand.write("services.json", "{\"services\":[]}\n");
    stand.write("hub.db", "database");
    stand.write("operator.token", "token\n");
    stand.write("vault/.env", "A=1\n");
    stand.write(".env", "MINE=1\n");
    stand.write("server.yaml", "port: 1939\n");
    stand.write("daily.db", "daily");
    stand.write("logs/old.log", "old\n");
    stand.write("lens/state.json", "{}");
    stand.write("my-stuff/notes.md", "keep me\n");
}

#[test]
fn list_and_dry_run_change_nothing() {
    let stand = Stand::new();
    stage(&stand);
    let before = snapshot(&stand.home());
    for flag in ["--list", "--dry-run"] {
        let run = stand.cli(&["migrate", flag]);
        assert_eq!(run.code, 0, "{}", run.text);
        assert!(run.text.contains("[safe] server.yaml"), "{}", run.text);
        assert!(run.text.contains("[live-db] daily.db"), "{}", run.text);
        assert!(run.text.contains("[safe] lens/"), "{}", run.text);
        assert!(
            run.text.contains("[unknown — skipping] my-stuff/"),
            "{}",
            run.text
        );
        assert!(!run.text.contains("operator.token"), "{}", run.text);
        assert!(!run.text.contains("vault"), "{}", run.text);
        assert!(run.text.contains("nothing was changed"), "{}", run.text);
        assert_eq!(snapshot(&stand.home()), before, "{flag} changed files");
    }
}

#[test]
fn without_a_terminal_the_sweep_needs_yes() {
    let stand = Stand::new();
    stage(&stand);
    let before = snapshot(&stand.home());
    let run = stand.cli(&["migrate"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("--yes"), "{}", run.text);
    assert_eq!(snapshot(&stand.home()), before);

    let mut run = None;
    let dirs = archive_dirs_around(|| run = Some(stand.cli(&["migrate", "--yes"])));
    let run = run.unwrap();
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("✓ Archived 4 items"), "{}", run.text);
    let archive = dirs
        .iter()
        .map(|d| stand.home().join(d))
        .find(|p| p.exists())
        .expect("an archive directory");
    for moved in ["server.yaml", "daily.db", "logs/old.log", "lens/state.json"] {
        assert!(archive.join(moved).exists(), "{moved} archived");
        assert!(!stand.home().join(moved).exists(), "{moved} moved away");
    }
    for kept in [
        "services.json",
        "hub.db",
        "operator.token",
        "vault/.env",
        ".env",
        "my-stuff/notes.md",
    ] {
        assert!(stand.exists(kept), "{kept} kept");
    }
    // Same content, just moved.
    assert_eq!(
        std::fs::read_to_string(archive.join("server.yaml")).unwrap(),
        "port: 1939\n"
    );

    let again = stand.cli(&["migrate", "--yes"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(
        again.text.contains("Nothing this command recognises"),
        "{}",
        again.text
    );
}

#[test]
fn a_second_sweep_the_same_day_never_overwrites() {
    let stand = Stand::new();
    stand.write("server.yaml", "first\n");
    let mut first = None;
    let dirs = archive_dirs_around(|| first = Some(stand.cli(&["migrate", "--yes"])));
    assert_eq!(first.unwrap().code, 0);
    stand.write("server.yaml", "second\n");
    // Make the clash certain even if the date rolled over between the runs.
    for d in &dirs {
        if !stand.home().join(d).join("server.yaml").exists() {
            stand.write(&format!("{d}/server.yaml"), "first\n");
        }
    }
    let run = stand.cli(&["migrate", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.text);
    let dup = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(stand.home().join(d)).unwrap().flatten())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("server.yaml.dup-")
        })
        .expect("a .dup- copy");
    let suffix = dup.file_name().unwrap().to_string_lossy().into_owned();
    let ms: u128 = suffix["server.yaml.dup-".len()..]
        .parse()
        .expect("epoch ms");
    assert!(ms > 1_600_000_000_000, "{suffix}");
    assert_eq!(std::fs::read_to_string(&dup).unwrap(), "second\n");
    assert!(dup.parent().unwrap().join("server.yaml").exists());
}

#[test]
fn the_sweep_refuses_while_a_legacy_module_runs() {
    let stand = Stand::new();
    let port = free_port();
    stand.write(
        "services.json",
        &serde_json::json!({"services": [{
            "name": "alpha", "port": port, "paths": ["/alpha"], "health": "/health",
            "version": "1.0.0"
        }]})
        .to_string(),
    );
    stand.write("server.yaml", "x\n");
    let daemon = Daemon::start(port, &[], None);
    stand.write("alpha/run/alpha.pid", &format!("{}\n", daemon.pid()));
    let run = stand.cli(&["migrate", "--yes"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("  - alpha"), "{}", run.text);
    assert!(stand.exists("server.yaml"));
    // The preview still works.
    let run = stand.cli(&["migrate", "--list"]);
    assert_eq!(run.code, 0, "{}", run.text);
    drop(daemon);
    let run = stand.cli(&["migrate", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(!stand.exists("server.yaml"));
}

#[test]
fn a_clean_home_has_nothing_to_archive() {
    let stand = Stand::new();
    stand.write("services.json", "{\"services\":[]}\n");
    let run = stand.cli(&["migrate"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("Nothing to archive"), "{}", run.text);
}

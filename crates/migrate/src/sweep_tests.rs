use std::time::{Duration, SystemTime};

use super::*;
use crate::console::Scripted;
use crate::test_support::fixture;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2026-03-04T05:06:07Z
const T: u64 = 1_772_600_767;

const APPLY: SweepRequest = SweepRequest {
    mode: SweepMode::Apply,
    yes: false,
};

#[test]
fn archive_names_use_the_utc_date() {
    assert_eq!(archive_dir_name(at(T)), ".archive-2026-03-04");
    assert_eq!(archive_dir_name(at(0)), ".archive-1970-01-01");
}

#[test]
fn the_plan_moves_only_listed_cruft_and_tags_it() {
    let f = fixture();
    for rel in [
        "services.json",
        "hub.db",
        "hub.db-wal",
        "operator.token",
        "expose-state.json",
        "vault/.env",
        "hub/run/hub.port",
        "well-known/hub.html",
        ".env",
        ".archive-2020-01-01/old",
    ] {
        f.write(rel, "keep");
    }
    f.write("daily.db", "1234");
    f.write("daily.db-wal", "56");
    f.write("server.yaml", "a: b\n");
    f.write("channel.log", "x");
    f.write("channel.err", "x");
    f.write("channel.start.sh", "#!/bin/sh\n");
    f.write("logs/old.log", "0123456789");
    f.write("tokens.db", "t");
    f.write("lens/state.json", "{}");
    f.write("my-notes.txt", "mine");
    f.write("strange/thing", "?");
    std::os::unix::fs::symlink("/etc", f.env.home.root().join("etc-link")).unwrap();

    let plan = plan_archive(&f.env.home, at(T)).unwrap();
    let names: Vec<(&str, &str)> = plan
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.tag()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("channel.err", "[safe]"),
            ("channel.log", "[safe]"),
            ("channel.start.sh", "[safe]"),
            ("daily.db", "[live-db]"),
            ("daily.db-wal", "[live-db]"),
            ("lens", "[safe]"),
            ("logs", "[safe]"),
            ("server.yaml", "[safe]"),
            ("tokens.db", "[live-db]"),
            ("etc-link", "[unknown — skipping]"),
            ("my-notes.txt", "[unknown — skipping]"),
            ("strange", "[unknown — skipping]"),
        ]
    );
    assert!(plan.has_live_db);
    let logs = plan.items.iter().find(|i| i.name == "logs").unwrap();
    assert!(logs.is_dir);
    assert_eq!(logs.bytes, 10);
    let link = plan.items.iter().find(|i| i.name == "etc-link").unwrap();
    assert!(!link.is_dir, "a symlink is never walked");
    assert_eq!(plan.archive_dir_name, ".archive-2026-03-04");
    let text = format_plan(&plan).join("\n");
    assert!(text.contains("To archive: 9 items"), "{text}");
    assert!(text.contains("  [safe] logs/ (10 B)"), "{text}");
    assert!(text.contains("Staying put: 3 entries"), "{text}");
}

#[test]
fn services_json_modules_and_known_modules_are_never_listed() {
    let f = fixture();
    f.write(
        "services.json",
        r#"{"services":[{"name":"mine","port":5000,"paths":["/mine"],"health":"/health","version":"1"}]}"#,
    );
    f.write("mine/data", "x");
    f.write("scribe/config", "x");
    f.write("surface/x", "x");
    let plan = plan_archive(&f.env.home, at(T)).unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);
}

#[test]
fn empty_and_unknown_only_homes_change_nothing() {
    let f = fixture();
    f.write("services.json", "{\"services\":[]}\n");
    let mut io = Scripted::non_interactive();
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 0);
    assert!(io.text().starts_with("Nothing to archive"), "{}", io.text());

    f.write("mystery", "x");
    let mut io = Scripted::non_interactive();
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 0);
    assert!(
        io.text().contains("Nothing this command recognises"),
        "{}",
        io.text()
    );
    assert!(f.exists("mystery"));
    assert!(!f.exists(".archive-2026-03-04"));
}

#[test]
fn without_a_terminal_it_needs_yes() {
    let f = fixture();
    f.write("server.yaml", "x");
    let mut io = Scripted::non_interactive();
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 1);
    assert!(io.text().contains("--yes"), "{}", io.text());
    assert!(io.questions.is_empty());
    assert!(f.exists("server.yaml"));

    let mut io = Scripted::non_interactive();
    let yes = SweepRequest {
        mode: SweepMode::Apply,
        yes: true,
    };
    assert_eq!(run_sweep(&f.env, yes, at(T), &mut io).exit_code(), 0);
    assert!(!f.exists("server.yaml"));
    assert!(f.exists(".archive-2026-03-04/server.yaml"));
    assert!(
        io.text()
            .contains("✓ Archived 1 item into .archive-2026-03-04/")
    );
}

#[test]
fn the_terminal_questions_guard_each_step() {
    let f = fixture();
    f.write("server.yaml", "x");
    f.write("tokens.db", "x");

    let mut io = Scripted::answering(&["n"]);
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 1);
    assert_eq!(io.questions, ["Move these into the archive? [y/N] "]);
    assert!(f.exists("server.yaml") && f.exists("tokens.db"));

    // Yes to the plan, no to the SQLite files: still nothing moves.
    let mut io = Scripted::answering(&["y", ""]);
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 1);
    assert_eq!(io.questions.len(), 2);
    assert!(io.questions[1].contains("SQLite"));
    assert!(f.exists("server.yaml") && f.exists("tokens.db"));

    let mut io = Scripted::answering(&["y", "yes"]);
    assert_eq!(run_sweep(&f.env, APPLY, at(T), &mut io).exit_code(), 0);
    assert!(!f.exists("server.yaml") && !f.exists("tokens.db"));
    assert!(f.exists(".archive-2026-03-04/tokens.db"));
}

#[test]
fn list_and_dry_run_change_nothing() {
    let f = fixture();
    f.write("server.yaml", "x");
    for (mode, marker) in [
        (SweepMode::List, "(--list: nothing was changed)"),
        (SweepMode::DryRun, "(--dry-run: nothing was changed)"),
    ] {
        let mut io = Scripted::answering(&["y", "y"]);
        let req = SweepRequest { mode, yes: true };
        assert_eq!(run_sweep(&f.env, req, at(T), &mut io).exit_code(), 0);
        assert!(io.text().ends_with(marker), "{}", io.text());
        assert!(io.questions.is_empty());
        assert!(f.exists("server.yaml"));
        assert!(!f.exists(".archive-2026-03-04"));
    }
}

#[test]
fn a_same_day_clash_gets_a_dup_suffix() {
    let f = fixture();
    f.write(".archive-2026-03-04/server.yaml", "earlier");
    f.write("server.yaml", "later");
    let now = at(T) + Duration::from_millis(123);
    let plan = plan_archive(&f.env.home, now).unwrap();
    assert_eq!(apply(&plan, now).unwrap(), 1);
    let root = f.env.home.root().join(".archive-2026-03-04");
    assert_eq!(
        std::fs::read_to_string(root.join("server.yaml")).unwrap(),
        "earlier"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(format!("server.yaml.dup-{}123", T))).unwrap(),
        "later"
    );
}

#[test]
fn a_running_legacy_module_blocks_the_sweep_but_not_the_preview() {
    let f = fixture();
    f.write(
        "services.json",
        r#"{"services":[{"name":"mine","port":5000,"paths":["/mine"],"health":"/health","version":"1"}]}"#,
    );
    f.write("server.yaml", "x");
    let mut child = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    f.write("mine/run/mine.pid", &format!("{}\n", child.id()));
    let mut io = Scripted::non_interactive();
    let yes = SweepRequest {
        mode: SweepMode::Apply,
        yes: true,
    };
    assert_eq!(run_sweep(&f.env, yes, at(T), &mut io).exit_code(), 1);
    assert!(io.text().contains("  - mine"), "{}", io.text());
    assert!(f.exists("server.yaml"));
    let mut io = Scripted::non_interactive();
    let list = SweepRequest {
        mode: SweepMode::List,
        yes: false,
    };
    assert_eq!(run_sweep(&f.env, list, at(T), &mut io).exit_code(), 0);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut io = Scripted::non_interactive();
    assert_eq!(
        run_sweep(&f.env, yes, at(T), &mut io).exit_code(),
        0,
        "{}",
        io.text()
    );
    drop(f.dir);
}

#[test]
fn a_hub_answering_health_blocks_the_sweep() {
    let f = fixture();
    f.write("server.yaml", "x");
    let listener = std::net::TcpListener::bind(("127.0.0.1", f.env.port())).unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    let mut io = Scripted::non_interactive();
    let yes = SweepRequest {
        mode: SweepMode::Apply,
        yes: true,
    };
    assert_eq!(run_sweep(&f.env, yes, at(T), &mut io).exit_code(), 1);
    assert!(io.text().contains("  - hub"), "{}", io.text());
    server.join().unwrap();
    assert!(f.exists("server.yaml"));
}

#[test]
fn sizes_read_like_a_person_would_write_them() {
    assert_eq!(format_bytes(0), "0 B");
    assert_eq!(format_bytes(1023), "1023 B");
    assert_eq!(format_bytes(1536), "1.5 KB");
    assert_eq!(format_bytes(5 * 1024 * 1024), "5.0 MB");
}

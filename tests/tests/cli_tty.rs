//! Prompts at a real terminal: the CLI run inside a pseudo-terminal (util-linux `script`,
//! always present on Debian/Ubuntu), answered like a person would, after each prompt appears.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parachute_tests::{TestHome, bin, wait_for};

/// `parachute <args>` running in a pseudo-terminal, its screen captured.
struct Tty {
    child: Child,
    screen: Arc<Mutex<String>>,
}

impl Tty {
    fn start(home: &TestHome, args: &str) -> Self {
        let command = format!("{} {args}", bin("parachute").display());
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("PARACHUTE_HOME", home.path())
            // Hermetic: no real service manager, no real home directory.
            .env("PARACHUTE_UNIT_MANAGER", "none")
            .env("HOME", home.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = screen.clone();
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, screen }
    }

    fn screen(&self) -> String {
        self.screen.lock().unwrap().clone()
    }

    /// Waits for `prompt` to be on screen (its `nth` occurrence), then types `line` + Enter.
    fn answer(&mut self, prompt: &str, nth: usize, line: &str) {
        let shown = wait_for(Duration::from_secs(20), || {
            (self.screen().matches(prompt).count() > nth).then_some(())
        });
        assert!(shown.is_some(), "no prompt {prompt:?}:\n{}", self.screen());
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        let status = wait_for(Duration::from_secs(30), || {
            self.child.try_wait().ok().flatten()
        });
        let Some(status) = status else {
            let _ = self.child.kill();
            panic!("still running:\n{}", self.screen());
        };
        // Let the reader thread drain the last bytes.
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.screen())
    }
}

#[test]
fn set_password_prompts_twice_without_echo_and_creates_the_admin() {
    let home = TestHome::new();
    let mut tty = Tty::start(&home, "auth set-password");
    tty.answer("New password for \"owner\": ", 0, "tty-secret-1");
    tty.answer("Type it again: ", 0, "tty-secret-1");
    let (code, screen) = tty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Created the hub admin \"owner\""),
        "{screen}"
    );
    assert!(
        !screen.contains("tty-secret-1"),
        "the password was echoed:\n{screen}"
    );
    let db = parachute_tests::auth::db(home.path());
    assert!(db.verify_password("owner", "tty-secret-1").unwrap());
}

#[test]
fn mismatched_passwords_change_nothing() {
    let home = TestHome::new();
    let mut tty = Tty::start(&home, "auth set-password");
    tty.answer("New password for \"owner\": ", 0, "first-one");
    tty.answer("Type it again: ", 0, "second-one");
    let (code, screen) = tty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("differ"), "{screen}");
    let db = parachute_tests::auth::db(home.path());
    assert_eq!(db.user_count().unwrap(), 0);
}

#[test]
fn the_archive_sweep_asks_at_a_terminal_and_honours_the_answer() {
    let home = TestHome::new();
    home.write("server.yaml", "legacy: true\n");

    let mut tty = Tty::start(&home, "migrate");
    tty.answer("Move these into the archive? [y/N] ", 0, "n");
    let (code, screen) = tty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Aborted; nothing was moved."), "{screen}");
    assert!(home.path().join("server.yaml").exists());

    let mut tty = Tty::start(&home, "migrate");
    tty.answer("Move these into the archive? [y/N] ", 0, "y");
    let (code, screen) = tty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("✓ Archived"), "{screen}");
    assert!(!home.path().join("server.yaml").exists());
    let archived = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(".archive-"))
        .expect("an .archive-<date> folder");
    assert_eq!(
        std::fs::read_to_string(archived.path().join("server.yaml")).unwrap(),
        "legacy: true\n"
    );
}

#[test]
fn a_legacy_install_is_offered_the_migration_at_a_terminal_and_declining_changes_nothing() {
    let home = TestHome::new();
    parachute_tests::hub::add_row(
        home.path(),
        serde_json::json!({"name": "parachute-vault", "port": parachute_tests::free_port(),
                           "paths": ["/vault/default"], "health": "/health", "version": "0.3.0"}),
    );
    // Evidence of the old detached model: a module pid file (its process long gone).
    home.write("vault/run/vault.pid", "999999\n");
    let before = home.read("services.json");

    let mut tty = Tty::start(&home, "start");
    tty.answer("Migrate to the supervised hub now? [y/N] ", 0, "");
    let (code, screen) = tty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Skipped."), "{screen}");
    assert!(
        screen.contains("parachute migrate --to-supervised"),
        "{screen}"
    );
    assert_eq!(home.read("services.json"), before);
    assert_eq!(home.read("vault/run/vault.pid"), "999999\n");
}

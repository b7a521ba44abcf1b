//! `parachute auth pending-clients|approve-client|list-grants|revoke-grant|2fa` against the
//! `hub.db` the original hub wrote (its pending client, its grants, alice's TOTP), and a 2FA
//! enrolment confirmed with a code computed here from the secret the CLI printed.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use parachute_tests::cli::{Output, run_bounded};
use parachute_tests::{TestHome, bin, totp};

fn fixture_home() -> TestHome {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/auth/tests/data/original-0.6.3-rc.2-oauth");
    let home = TestHome::new();
    std::fs::copy(dir.join("hub.db"), home.path().join("hub.db")).unwrap();
    home
}

fn parachute(home: &TestHome, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin("parachute"));
    cmd.args(args)
        .env_clear()
        .env("PARACHUTE_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(home: &TestHome, args: &[&str]) -> Output {
    run_bounded(parachute(home, args), args)
}

const PENDING: &str = "bd7422ae-f12a-4d2d-8a96-f9a7b7db27d0";

#[test]
fn pending_clients_are_listed_and_approved() {
    let home = fixture_home();
    let listed = run(&home, &["auth", "pending-clients"]);
    assert_eq!(listed.code, 0, "{}", listed.all());
    assert!(listed.stdout.contains(PENDING), "{}", listed.all());
    assert!(listed.stdout.contains("pending fixture client"));
    assert!(
        !listed.stdout.contains("a1fd4d71"),
        "approved clients are not listed"
    );

    let approved = run(&home, &["auth", "approve-client", PENDING]);
    assert_eq!(approved.code, 0, "{}", approved.all());
    assert!(
        approved.stdout.contains("Approved OAuth client"),
        "{}",
        approved.all()
    );
    let db = parachute_tests::auth::db(home.path());
    assert_eq!(
        db.client(PENDING).unwrap().unwrap().status.as_str(),
        "approved"
    );
    let again = run(&home, &["auth", "approve-client", PENDING]);
    assert!(again.stdout.contains("already approved"), "{}", again.all());
    let none = run(&home, &["auth", "pending-clients"]);
    assert!(
        none.stdout.contains("No OAuth clients are waiting"),
        "{}",
        none.all()
    );
    let unknown = run(&home, &["auth", "approve-client", "no-such-client"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no-such-client"),
        "{}",
        unknown.all()
    );
}

#[test]
fn grants_are_listed_and_forgotten() {
    let home = fixture_home();
    let listed = run(&home, &["auth", "list-grants"]);
    assert_eq!(listed.code, 0, "{}", listed.all());
    assert!(
        listed.stdout.contains("Apps admin approved"),
        "{}",
        listed.all()
    );
    assert!(
        listed
            .stdout
            .contains("a1fd4d71-7f1a-4bf7-9a8b-3d88d9e396d1")
    );
    assert!(listed.stdout.contains("bar mcp client"));
    let gone = run(
        &home,
        &[
            "auth",
            "revoke-grant",
            "a1fd4d71-7f1a-4bf7-9a8b-3d88d9e396d1",
        ],
    );
    assert_eq!(gone.code, 0, "{}", gone.all());
    let db = parachute_tests::auth::db(home.path());
    let admin = db.first_user_id().unwrap().unwrap();
    assert!(
        db.grant(&admin, "a1fd4d71-7f1a-4bf7-9a8b-3d88d9e396d1")
            .unwrap()
            .is_none()
    );
    let twice = run(
        &home,
        &[
            "auth",
            "revoke-grant",
            "a1fd4d71-7f1a-4bf7-9a8b-3d88d9e396d1",
        ],
    );
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains("has no approval"), "{}", twice.all());
    let alice = run(&home, &["auth", "list-grants", "--username", "alice"]);
    assert!(
        alice.stdout.contains("alice has approved no apps"),
        "{}",
        alice.all()
    );
    let nobody = run(&home, &["auth", "list-grants", "--username", "nobody"]);
    assert_eq!(nobody.code, 1);
    assert!(
        nobody.stderr.contains("no account \"nobody\""),
        "{}",
        nobody.all()
    );
}

#[test]
fn two_factor_status_enroll_with_a_real_code_and_disenroll() {
    let home = fixture_home();
    let alice = run(&home, &["auth", "2fa", "status", "--username", "alice"]);
    assert_eq!(alice.code, 0, "{}", alice.all());
    assert!(alice.stdout.contains("on for alice"), "{}", alice.all());
    assert!(
        alice.stdout.contains("10 backup codes left"),
        "{}",
        alice.all()
    );
    let admin = run(&home, &["auth", "2fa"]);
    assert!(admin.stdout.contains("off for admin"), "{}", admin.all());
    let twice = run(&home, &["auth", "2fa", "enroll", "--username", "alice"]);
    assert_eq!(twice.code, 1, "already enrolled: {}", twice.all());

    // Enrol the admin: read the secret the CLI prints, answer with the current code.
    let mut child = parachute(&home, &["auth", "2fa", "enroll"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let secret = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the CLI printed the secret");
        printed.push(line.clone());
        if let Some(secret) = line.trim().strip_prefix("secret: ") {
            break secret.to_string();
        }
    };
    writeln!(child.stdin.take().unwrap(), "{}", totp::code_now(&secret)).unwrap();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        printed.push(line);
    }
    assert!(child.wait().unwrap().success(), "{printed:#?}");
    let codes: Vec<&String> = printed
        .iter()
        .skip_while(|l| !l.starts_with("Backup codes"))
        .skip(1)
        .collect();
    assert_eq!(codes.len(), 10, "{printed:#?}");
    assert!(
        printed.iter().any(|l| l.contains("otpauth://totp/")),
        "{printed:#?}"
    );
    let on = run(&home, &["auth", "2fa", "status"]);
    assert!(on.stdout.contains("on for admin"), "{}", on.all());

    // Turning it off, then a wrong confirmation that stores nothing.
    let off = run(&home, &["auth", "2fa", "disenroll", "--username", "alice"]);
    assert_eq!(off.code, 0, "{}", off.all());
    assert!(off.stdout.contains("off for alice"), "{}", off.all());
    let mut child = parachute(&home, &["auth", "2fa", "enroll", "--username", "alice"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "000000").unwrap();
    let failed = parachute_tests::cli::finish(child, &["auth", "2fa", "enroll"]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(
        failed.stderr.contains("nothing was stored"),
        "{}",
        failed.all()
    );
    let still_off = run(&home, &["auth", "2fa", "status", "--username", "alice"]);
    assert!(
        still_off.stdout.contains("off for alice"),
        "{}",
        still_off.all()
    );
}

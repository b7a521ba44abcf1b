//! The `parachute` binary's flag handling: version, help, per-verb help, unknown verbs.
//!
//! Living in this package also makes `cargo test --workspace` build the `parachute` binary
//! that the black-box suites in `tests/` run.

use std::process::Command;

fn parachute(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parachute"))
        .args(args)
        .output()
        .expect("run parachute");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_flags_print_the_version() {
    for flag in ["--version", "-v"] {
        let (code, out, _) = parachute(&[flag]);
        assert_eq!(code, 0, "{flag}");
        assert_eq!(
            out.trim(),
            format!("parachute {}", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

#[test]
fn help_lists_every_verb() {
    let (code, out, _) = parachute(&["help"]);
    assert_eq!(code, 0);
    for verb in [
        "serve", "status", "start", "stop", "restart", "logs", "auth", "init", "migrate", "expose",
        "upgrade",
    ] {
        assert!(out.contains(verb), "help lacks {verb}:\n{out}");
    }
    // No verb at all is a request for help, like `help`: the same text on stdout, exit 0.
    let (code, no_args_out, err) = parachute(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(no_args_out, out);
    assert!(err.is_empty(), "{err}");
    // A verb group without its verb shows the group's help.
    let (code, auth_out, _) = parachute(&["auth"]);
    assert_eq!(code, 0);
    assert!(auth_out.contains("rotate-operator"), "{auth_out}");
}

#[test]
fn every_verb_has_its_own_help() {
    for verb in [
        "serve", "status", "start", "stop", "restart", "logs", "auth", "init", "migrate", "expose",
        "upgrade",
    ] {
        let (code, out, _) = parachute(&[verb, "--help"]);
        assert_eq!(code, 0, "{verb} --help");
        assert!(out.contains("Usage: parachute"), "{verb}: {out}");
    }
    let (code, out, _) = parachute(&["help", "expose"]);
    assert_eq!(code, 0);
    assert!(out.contains("--domain"), "{out}");
}

#[test]
fn unknown_verbs_and_bad_flags_fail_with_a_message() {
    let (code, _, err) = parachute(&["frobnicate"]);
    assert_eq!(code, 1);
    assert!(err.contains("frobnicate"), "{err}");
    let (code, _, err) = parachute(&["status", "--no-such-flag"]);
    assert_eq!(code, 1);
    assert!(err.contains("--no-such-flag"), "{err}");
    let (code, _, err) = parachute(&["init", "--expose", "moon"]);
    assert_eq!(code, 1);
    assert!(err.contains("moon"), "{err}");
}

#[test]
fn upgrade_flags_are_a_closed_set() {
    // The channel becomes part of a URL: only the two known ones parse.
    let (code, _, err) = parachute(&["upgrade", "--channel", "nightly"]);
    assert_eq!(code, 1);
    assert!(err.contains("nightly"), "{err}");
    let (code, _, err) = parachute(&["upgrade", "--check", "--detach"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot be used with"), "{err}");
    // The helper's own flag is not advertised.
    let (code, out, _) = parachute(&["upgrade", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--allow-downgrade"), "{out}");
    assert!(!out.contains("--apply"), "{out}");
}

//! Black-box: `parachute install <svc|all> [--channel]` through a real hub's install API (its
//! package manager a fake `bun` that records its argv and lays packages out as Bun does), and
//! `parachute vault <args…>` forwarding to `parachute-vault` with its exit code.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use std::time::Duration;

use cli_support::{CliEnv, Output};
use parachute_tests::auth::{ensure_admin, operator_token};
use parachute_tests::hub::{HubOptions, HubProcess, add_row};
use parachute_tests::{FakeTools, free_port, http, wait_for};
use serde_json::{Value, json};

/// The first-party modules `install all` installs, with their rows' names and paths.
const RUNNABLE: &[(&str, &str, &str)] = &[
    ("vault", "parachute-vault", "/vault/default"),
    ("scribe", "parachute-scribe", "/scribe"),
    ("runner", "parachute-runner", "/runner"),
    ("surface", "parachute-surface", "/surface"),
    ("channel", "parachute-channel", "/channel"),
];

/// A CLI environment plus a hub (fake `bun`/`npm` first on its PATH) for the same home.
struct Stand {
    hub: HubProcess,
    hub_fakes: FakeTools,
    _bun: tempfile::TempDir,
    env: CliEnv,
}

impl Stand {
    /// `rows`: first-party modules to give a row on a free port before the hub starts (so
    /// installs never bind the canonical ports other suites may be using).
    fn start(rows: &[&str]) -> Self {
        let env = CliEnv::new();
        for (short, name, path) in RUNNABLE {
            if rows.contains(short) {
                add_row(
                    env.root(),
                    json!({"name": name, "port": free_port(), "paths": [path],
                           "health": format!("{path}/health"), "version": "0.0.1"}),
                );
            }
        }
        ensure_admin(env.root());
        let hub_fakes = FakeTools::new(&["bun", "npm"]);
        let bun = tempfile::Builder::new()
            .prefix("parachute-bun-")
            .tempdir()
            .unwrap();
        let hub = HubProcess::start_with(
            env.root(),
            HubOptions {
                env: vec![
                    (
                        "PATH".into(),
                        format!(
                            "{}:{}",
                            bun.path().join("bin").display(),
                            hub_fakes.path_env()
                        ),
                    ),
                    (
                        parachute_tests::fake::STATE_ENV.into(),
                        hub_fakes.state_dir().display().to_string(),
                    ),
                    ("BUN_INSTALL".into(), bun.path().display().to_string()),
                    ("PARACHUTE_INSTALL_CHANNEL".into(), String::new()),
                    ("PARACHUTE_MODULE_CHANNEL".into(), String::new()),
                ],
                ..Default::default()
            },
        );
        operator_token(env.root(), hub.port);
        Self {
            hub,
            hub_fakes,
            _bun: bun,
            env,
        }
    }

    fn install(&self, args: &[&str]) -> Output {
        let mut all = vec!["install"];
        all.extend_from_slice(args);
        self.env.run(&all)
    }

    /// `supervisor_status` of `short` in `GET /api/modules` (admin token).
    fn status_of(&self, short: &str) -> Option<String> {
        let token = self.env.home.read("operator.token");
        let auth = format!("Bearer {}", token.trim());
        let r = http::request(
            self.hub.port,
            "GET",
            "/api/modules?latest=0",
            &[("authorization", &auth)],
            None,
        )
        .ok()?;
        let list: Value = r.json();
        list["modules"]
            .as_array()?
            .iter()
            .find(|m| m["short"] == short)?["supervisor_status"]
            .as_str()
            .map(str::to_string)
    }
}

#[test]
fn install_goes_through_the_hub_and_reports_the_module_started() {
    let stand = Stand::start(&["vault"]);
    let out = stand.install(&["vault"]);
    assert_eq!(out.code, 0, "{}\n{}", out.all(), stand.hub.output_text());
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "✓ vault installed and started."),
        "{}",
        out.all()
    );
    // The operation's progress is shown as it happens.
    assert!(
        out.stdout
            .contains("  running bun add -g @openparachute/vault@latest"),
        "{}",
        out.all()
    );
    assert_eq!(
        stand.hub_fakes.calls("bun"),
        vec![vec!["add", "-g", "@openparachute/vault@latest"]]
    );
    let running = wait_for(Duration::from_secs(30), || {
        (stand.status_of("vault").as_deref() == Some("running")).then_some(())
    });
    assert!(running.is_some(), "{}", stand.hub.output_text());

    // Already installed and running: the hub says so at once, without bun.
    let out = stand.install(&["parachute-vault"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("✓ vault installed and started."));
    assert_eq!(stand.hub_fakes.calls("bun").len(), 1);
}

#[test]
fn install_all_with_a_channel_installs_every_runnable_module_in_turn() {
    let shorts: Vec<&str> = RUNNABLE.iter().map(|(s, _, _)| *s).collect();
    let stand = Stand::start(&shorts);
    let out = stand.install(&["all", "--channel", "rc"]);
    assert_eq!(out.code, 0, "{}\n{}", out.all(), stand.hub.output_text());
    let done: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('✓')).collect();
    let expected: Vec<String> = shorts
        .iter()
        .map(|s| format!("✓ {s} installed and started."))
        .collect();
    assert_eq!(done, expected, "{}", out.all());
    let calls = stand.hub_fakes.calls("bun");
    let wanted: Vec<Vec<String>> = shorts
        .iter()
        .map(|s| {
            vec![
                "add".to_string(),
                "-g".to_string(),
                format!("@openparachute/{s}@rc"),
            ]
        })
        .collect();
    assert_eq!(calls, wanted);
}

#[test]
fn failed_and_refused_installs_say_why_and_exit_1() {
    let stand = Stand::start(&["vault"]);
    std::fs::write(
        stand.hub_fakes.state_dir().join("bun.fail"),
        "add 7 error: registry unreachable\n",
    )
    .unwrap();
    let out = stand.install(&["vault", "--channel", "latest"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.starts_with("✗ vault: "), "{}", out.all());
    assert!(
        out.stderr.contains("exited with code 7") && out.stderr.contains("registry unreachable"),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains('✓'), "{}", out.all());

    // A module the hub cannot install: its refusal, with what it can install.
    let out = stand.install(&["ghost"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.starts_with("✗ ghost: "), "{}", out.all());
    assert!(
        out.stderr
            .contains("The hub installs these modules: vault, scribe"),
        "{}",
        out.all()
    );

    // Flags are checked before anything runs.
    let out = stand.install(&["vault", "--channel", "beta"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("beta"), "{}", out.all());
    let out = stand.env.run(&["install"]);
    assert_eq!(out.code, 1, "{}", out.all());
}

#[test]
fn install_without_a_hub_or_a_unit_says_how_to_get_one() {
    let env = CliEnv::new();
    env.hub_port_down();
    let out = env.run(&["install", "vault"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("vault cannot be installed")
            && out.stderr.contains("parachute init")
            && out.stderr.contains("parachute serve"),
        "{}",
        out.all()
    );
}

#[test]
fn vault_forwards_everything_to_parachute_vault_and_passes_its_exit_code() {
    let env = CliEnv::new();
    // Not installed: named with the command that installs it, and the shell's 127.
    let out = env.run(&["vault", "tokens", "list"]);
    assert_eq!(out.code, 127, "{}", out.all());
    assert!(
        out.stderr.contains("parachute-vault") && out.stderr.contains("parachute install vault"),
        "{}",
        out.all()
    );

    env.fakes.add_script(
        "parachute-vault",
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\necho \"home=$PARACHUTE_HOME\"\necho to-stderr >&2\nexit 3\n",
    );
    let out = env.run(&[
        "vault",
        "tokens",
        "create",
        "--scope",
        "vault:default:read",
        "two words",
        "--help",
    ]);
    assert_eq!(out.code, 3, "{}", out.all());
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("[tokens][create][--scope][vault:default:read][two words][--help]"),
        "{}",
        out.all()
    );
    assert_eq!(
        lines.next(),
        Some(format!("home={}", env.root().display()).as_str())
    );
    assert_eq!(out.stderr.trim(), "to-stderr");

    env.fakes
        .add_script("parachute-vault", "#!/bin/sh\nexit 0\n");
    let out = env.run(&["vault"]);
    assert_eq!(out.code, 0, "{}", out.all());
}

//! `parachute expose tailnet|public --tailnet [off]` against a real hub and the fake
//! `tailscale`: exact command sequences, state and discovery files, the vault's origin (in its
//! `.env` and in the respawned process), the operator token, layer switches, failures that
//! leave things retryable, and `off` never touching the hub.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod expose_support;

use expose_support::{FQDN, Stand, argv, vault_origin_line};
use serde_json::json;

const ORIGIN: &str = "https://mybox.tail1a2b3c.ts.net";

fn tailscale_stand() -> Stand {
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    stand.start_hub();
    stand
}

#[test]
fn tailnet_up_then_off_round_trip() {
    let stand = tailscale_stand();
    let port = stand.hub().port;
    let hub_pid = stand.hub().pid();
    let empty = vault_origin_line("");
    let before_empty = stand.count_lines(&empty);

    let run = stand.cli(&["expose", "tailnet"]);
    run.ok();
    let target = format!("http://127.0.0.1:{port}/");
    assert_eq!(
        stand.calls("tailscale"),
        vec![
            argv(&["version"]),
            argv(&["status", "--json"]),
            argv(&["serve", "--bg", "--https=443", "--set-path=/", &target]),
        ]
    );
    assert!(
        run.stdout.contains(&format!(
            "  $ tailscale serve --bg --https=443 --set-path=/ {target}"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("✓ Tailnet exposure is up. Open {ORIGIN}/")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Who can reach what now:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("devices on your tailnet"),
        "{}",
        run.stdout
    );

    // The fake daemon now serves exactly one handler.
    let serve = stand.fakes.state_dir().join("tailscale/serve.json");
    let serve: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(serve).unwrap()).unwrap();
    assert_eq!(
        serve,
        json!({"TCP": {"443": {"HTTPS": true}},
               "Web": {format!("{FQDN}:443"): {"Handlers": {"/": {"Proxy": target}}}}})
    );
    assert_eq!(
        stand.json("expose-state.json").unwrap(),
        json!({"version": 1, "layer": "tailnet", "mode": "path", "canonicalFqdn": FQDN,
               "port": 443, "funnel": false,
               "entries": [{"kind": "proxy", "mount": "/", "target": target, "service": "hub"}],
               "hubOrigin": ORIGIN})
    );
    let doc = stand.json("well-known/parachute.json").unwrap();
    assert_eq!(doc["vaults"][0]["url"], format!("{ORIGIN}/vault/default"));
    assert!(stand.root().join("well-known/hub.html").is_file());
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));
    assert_eq!(
        stand.operator_iss(),
        ORIGIN,
        "the CLI token follows the origin"
    );
    // The supervisor respawned the vault with the new origin.
    stand.wait_count(&vault_origin_line(ORIGIN), 1);
    assert!(
        run.stdout
            .contains(&format!("✓ vault restarted; it now uses {ORIGIN}.")),
        "{}",
        run.stdout
    );

    // Off: one teardown command, records gone, origin withdrawn, hub untouched.
    stand.clear_calls();
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.ok();
    assert_eq!(
        stand.calls("tailscale"),
        vec![argv(&["serve", "--https=443", "--set-path=/", "off"])]
    );
    assert!(stand.json("expose-state.json").is_none());
    assert!(!stand.root().join("well-known/parachute.json").exists());
    assert!(!stand.root().join("well-known/hub.html").exists());
    assert_eq!(stand.vault_env_origin(), None);
    assert_eq!(stand.operator_iss(), format!("http://127.0.0.1:{port}"));
    stand.wait_count(&empty, before_empty + 1);
    let serve =
        std::fs::read_to_string(stand.fakes.state_dir().join("tailscale/serve.json")).unwrap();
    assert_eq!(serve.trim(), "{}");
    let health = parachute_tests::http::get(port, "/health").unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(stand.hub().pid(), hub_pid);
    assert!(
        !parachute_tests::pid_gone(hub_pid),
        "off never stops the hub"
    );

    // Off again: nothing recorded, nothing run.
    stand.clear_calls();
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.ok();
    assert!(
        run.stdout.contains("No Tailnet exposure is recorded"),
        "{}",
        run.stdout
    );
    assert!(stand.calls("tailscale").is_empty());
}

#[test]
fn funnel_replaces_tailnet_and_the_other_layers_off_is_a_harmless_no_op() {
    let stand = tailscale_stand();
    let port = stand.hub().port;
    let target = format!("http://127.0.0.1:{port}/");
    stand.cli(&["expose", "tailnet"]).ok();
    stand.clear_calls();

    let run = stand.cli(&["expose", "public", "--tailnet"]);
    run.ok();
    assert_eq!(
        stand.calls("tailscale"),
        vec![
            argv(&["version"]),
            argv(&["status", "--json"]),
            argv(&["serve", "--https=443", "--set-path=/", "off"]),
            argv(&["funnel", "--bg", "--https=443", "--set-path=/", &target]),
        ]
    );
    let state = stand.json("expose-state.json").unwrap();
    assert_eq!(state["layer"], "public");
    assert_eq!(state["funnel"], true);
    assert!(
        run.stdout.contains("anyone on the internet"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("/login"),
        "the sign-in warning: {}",
        run.stdout
    );

    // `tailnet off` while Funnel is up: nothing happens, the hint names the right command.
    stand.clear_calls();
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.ok();
    assert!(
        run.stdout.contains("parachute expose public --tailnet off"),
        "{}",
        run.stdout
    );
    assert!(stand.calls("tailscale").is_empty());
    assert_eq!(stand.json("expose-state.json").unwrap(), state);

    // `public off` finds the Funnel and takes it down, origin included.
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));
    let run = stand.cli(&["expose", "public", "off"]);
    run.ok();
    assert_eq!(
        stand.calls("tailscale"),
        vec![argv(&["funnel", "--https=443", "--set-path=/", "off"])]
    );
    assert!(stand.json("expose-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);
    assert_eq!(stand.operator_iss(), format!("http://127.0.0.1:{port}"));
    let run = stand.cli(&["expose", "public", "off"]);
    run.ok();
    assert!(
        run.stdout.contains("No public exposure is active"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failed_bringup_records_nothing_and_a_rerun_succeeds() {
    let stand = tailscale_stand();
    stand.inject(
        "tailscale",
        &["serve-up 1 sending serve config: Access denied: serve config denied"],
    );
    let run = stand.cli(&["expose", "tailnet"]);
    run.failed();
    assert!(
        run.stderr.contains("Access denied: serve config denied"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("Nothing is exposed right now"),
        "{run:#?}"
    );
    assert!(stand.json("expose-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);

    stand.clear_injection("tailscale");
    stand.cli(&["expose", "tailnet"]).ok();
    assert_eq!(stand.json("expose-state.json").unwrap()["layer"], "tailnet");
}

#[test]
fn a_failed_switch_withdraws_the_origin_of_the_layer_it_took_down() {
    let stand = tailscale_stand();
    let port = stand.hub().port;
    stand.cli(&["expose", "tailnet"]).ok();
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));
    let empty = vault_origin_line("");
    let before_empty = stand.count_lines(&empty);

    // Switching to Funnel takes the tailnet handler down first, then Funnel is refused.
    stand.inject(
        "tailscale",
        &["funnel-up 1 Funnel not available; \"funnel\" node attribute not set."],
    );
    let run = stand.cli(&["expose", "public", "--tailnet"]);
    run.failed();
    assert!(
        run.stderr.contains("Nothing is exposed right now"),
        "{run:#?}"
    );
    assert!(stand.json("expose-state.json").is_none());
    // Nothing serves the tailnet origin any more, so nothing may keep pointing at it: the
    // vault is back on loopback and the CLI's token too (CLI verbs keep working).
    assert_eq!(stand.vault_env_origin(), None);
    assert_eq!(stand.operator_iss(), format!("http://127.0.0.1:{port}"));
    stand.wait_count(&empty, before_empty + 1);
    let status = stand.cli(&["status"]);
    assert!(
        !status.stdout.contains("live module state unavailable"),
        "{status:#?}"
    );

    stand.clear_injection("tailscale");
    stand.cli(&["expose", "public", "--tailnet"]).ok();
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));
    assert_eq!(stand.operator_iss(), ORIGIN);
}

#[test]
fn a_failed_teardown_keeps_the_state_and_an_already_gone_handler_counts_as_done() {
    let stand = tailscale_stand();
    stand.cli(&["expose", "tailnet"]).ok();
    let state = stand.json("expose-state.json").unwrap();

    stand.inject(
        "tailscale",
        &["serve-off 1 Another client is changing the serve config; please try again."],
    );
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.failed();
    assert!(
        run.stderr.contains("Another client is changing"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("re-run the same command"), "{run:#?}");
    assert_eq!(
        stand.json("expose-state.json").unwrap(),
        state,
        "kept for the retry"
    );
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));

    // Someone removed the handler behind our back: the retry treats it as done.
    stand.clear_injection("tailscale");
    std::fs::write(stand.fakes.state_dir().join("tailscale/serve.json"), "{}\n").unwrap();
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.ok();
    assert!(
        run.stdout
            .contains("(already gone: error: failed to remove web serve: handler does not exist)"),
        "{}",
        run.stdout
    );
    assert!(stand.json("expose-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);
}

#[test]
fn hub_origin_override_is_advertised_and_validated() {
    let stand = tailscale_stand();
    let run = stand.cli(&[
        "expose",
        "tailnet",
        "--hub-origin",
        "https://hub.example.com/x",
    ]);
    run.failed();
    assert!(run.stderr.contains("not a usable hub origin"), "{run:#?}");
    assert!(
        stand.calls("tailscale").is_empty(),
        "validated before any tool runs"
    );

    stand
        .cli(&[
            "expose",
            "tailnet",
            "--hub-origin",
            "https://hub.example.com",
        ])
        .ok();
    let state = stand.json("expose-state.json").unwrap();
    assert_eq!(state["hubOrigin"], "https://hub.example.com");
    assert_eq!(state["canonicalFqdn"], FQDN);
    assert_eq!(
        stand.vault_env_origin().as_deref(),
        Some("https://hub.example.com")
    );
    stand.wait_count(&vault_origin_line("https://hub.example.com"), 1);
}

#[test]
fn missing_prerequisites_change_nothing() {
    // No tailscale at all.
    let stand = Stand::new(&[]);
    stand.with_vault();
    let run = stand.cli(&["expose", "tailnet"]);
    run.failed();
    assert!(
        run.stderr.contains("tailscale is not installed"),
        "{run:#?}"
    );

    // Logged out.
    let stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    stand.tailscale_node(json!({"loggedIn": false}));
    let run = stand.cli(&["expose", "tailnet"]);
    run.failed();
    assert!(run.stderr.contains("not logged in"), "{run:#?}");
    assert_eq!(stand.calls("tailscale").len(), 2, "version and status only");

    // No modules.
    let stand = Stand::new(&["tailscale"]);
    let run = stand.cli(&["expose", "tailnet"]);
    run.failed();
    assert!(run.stderr.contains("no modules are installed"), "{run:#?}");

    // The hub is down and there is no service manager to start it.
    let stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    std::fs::create_dir_all(stand.root().join("hub/run")).unwrap();
    std::fs::write(
        stand.root().join("hub/run/hub.port"),
        format!("{}\n", parachute_tests::free_port()),
    )
    .unwrap();
    let run = stand.cli_with(
        &["expose", "tailnet"],
        &[("PARACHUTE_UNIT_MANAGER", "none")],
    );
    run.failed();
    assert!(run.stderr.contains("the hub is not up"), "{run:#?}");
    assert!(
        !stand.calls("tailscale").iter().any(|c| c[0] == "serve"),
        "nothing served while the hub is down"
    );
    assert!(stand.json("expose-state.json").is_none());
}

#[test]
fn public_without_a_flag_picks_the_only_ready_provider() {
    let stand = tailscale_stand();
    let port = stand.hub().port;
    let run = stand.cli(&["expose", "public"]);
    run.ok();
    assert!(
        run.stdout.contains("Using Tailscale Funnel"),
        "{}",
        run.stdout
    );
    assert!(stand.calls("tailscale").contains(&argv(&[
        "funnel",
        "--bg",
        "--https=443",
        "--set-path=/",
        &format!("http://127.0.0.1:{port}/"),
    ])));
    stand.cli(&["expose", "public", "--tailnet", "off"]).ok();
    assert!(stand.json("expose-state.json").is_none());
}

#[test]
fn going_public_says_whether_two_step_sign_in_protects_the_admin() {
    let stand = tailscale_stand();
    let db = parachute_tests::auth::db(stand.home.path());
    let admin = db.first_user().unwrap().expect("the stand has an admin");
    let run = stand.cli(&["expose", "public", "--tailnet"]);
    run.ok();
    assert!(
        run.stdout.contains(&format!("{ORIGIN}/login is now reachable from the internet, and {} signs in with a password alone", admin.username)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("parachute auth 2fa enroll"),
        "{}",
        run.stdout
    );
    stand.cli(&["expose", "public", "off"]).ok();

    // With two-step sign-in on, the line says so instead.
    let pending = db.begin_two_factor_enrolment(&admin.id).unwrap();
    db.confirm_two_factor_enrolment(
        &admin.id,
        &pending.secret,
        &parachute_tests::totp::code_now(&pending.secret),
    )
    .unwrap();
    let run = stand.cli(&["expose", "public", "--tailnet"]);
    run.ok();
    assert!(
        run.stdout.contains(&format!(
            "two-step sign-in protects {} (10 backup codes left)",
            admin.username
        )),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("password alone"), "{}", run.stdout);
}

//! `parachute init` end to end: the real binary installs the hub unit through the fake
//! `systemctl`, which really runs our `parachute serve`; health goes green; a second run changes
//! nothing and says so.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;

use std::os::unix::fs::PermissionsExt;

use migrate_support::{Stand, UNIT, argv, wait_health};
use parachute_tests::{bin, pid_gone, wait_for};

/// The claims of the operator token at `path`, decoded without verification (signatures are
/// tested with the auth crate).
fn claims(path: &std::path::Path) -> serde_json::Value {
    let token = parachute_auth::OperatorToken::load(path)
        .unwrap()
        .expect("an operator token");
    serde_json::to_value(token.unverified_claims().expect("readable claims")).unwrap()
}

#[test]
fn init_installs_and_starts_our_serve_then_a_second_run_changes_nothing() {
    let stand = Stand::new();
    parachute_tests::auth::ensure_admin(&stand.home());

    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 0, "{}", run.text);

    // The manager saw exactly: reload, then enable + start.
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "daemon-reload"]),
            argv(&["--user", "enable", "--now", UNIT]),
        ]
    );
    assert_eq!(
        stand.calls("loginctl"),
        vec![argv(&["enable-linger", "tester"])]
    );
    // The unit runs this very binary's serve, and the fake manager really started it.
    let unit = std::fs::read_to_string(stand.unit_file()).unwrap();
    let exe = bin("parachute").display().to_string();
    assert!(unit.contains(&format!("ExecStart={exe} serve")), "{unit}");
    assert!(unit.contains(&format!("PORT={}", stand.port)), "{unit}");
    let body = wait_health(stand.port).expect("health goes green");
    assert!(body.contains("parachute-hub"), "{body}");
    let pid = stand.hub_job_pid().expect("the manager runs the hub");
    let cmd = parachute_os::process::command_line(pid).unwrap();
    assert_eq!(cmd, format!("{exe} serve"));

    // An admin exists, so the operator token was minted for the loopback origin, mode 0600.
    let token_path = stand.home().join("operator.token");
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let c = claims(&token_path);
    assert_eq!(c["aud"], "operator");
    assert_eq!(c["iss"], format!("http://127.0.0.1:{}", stand.port));
    assert_eq!(c["pa_scope_set"], "admin");
    assert!(
        run.text
            .contains(&format!("http://127.0.0.1:{}/admin/", stand.port)),
        "{}",
        run.text
    );

    // Second run: no manager call at all, nothing rewritten, and it says so.
    stand.clear_calls("systemctl");
    stand.clear_calls("loginctl");
    let unit_before = std::fs::read(stand.unit_file()).unwrap();
    let token_before = std::fs::read(&token_path).unwrap();
    let again = stand.cli(&["init", "--no-browser"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(
        stand.calls("systemctl").is_empty(),
        "{:?}",
        stand.calls("systemctl")
    );
    assert!(stand.calls("loginctl").is_empty());
    assert!(again.text.contains("Nothing changed"), "{}", again.text);
    assert!(again.text.contains("already running"), "{}", again.text);
    assert_eq!(std::fs::read(stand.unit_file()).unwrap(), unit_before);
    assert_eq!(std::fs::read(&token_path).unwrap(), token_before);
    assert_eq!(stand.hub_job_pid(), Some(pid), "the same hub keeps running");
}

#[test]
fn init_starts_a_stopped_unit_without_reinstalling_it() {
    let stand = Stand::new();
    assert_eq!(stand.cli(&["init", "--no-browser"]).code, 0);
    wait_health(stand.port).expect("up");
    let pid = stand.hub_job_pid().unwrap();
    assert!(stand.systemctl(&["--user", "stop", UNIT]).status.success());
    assert!(
        wait_for(std::time::Duration::from_secs(30), || pid_gone(pid)
            .then_some(()))
        .is_some()
    );

    stand.clear_calls("systemctl");
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(
        stand.calls("systemctl"),
        vec![argv(&["--user", "start", UNIT])]
    );
    assert!(run.text.contains("Started the hub unit"), "{}", run.text);
    assert!(!run.text.contains("Nothing changed"), "{}", run.text);
    wait_health(stand.port).expect("up again");
}

#[test]
fn without_an_admin_init_leaves_the_token_to_the_wizard() {
    let stand = Stand::new();
    let run = stand.cli(&["init", "--no-browser", "--expose", "none"]);
    assert_eq!(run.code, 0, "{}", run.text);
    wait_health(stand.port).expect("up");
    assert!(!stand.exists("operator.token"));
    assert!(run.text.contains("No admin account yet"), "{}", run.text);
    assert!(run.text.contains("this machine only"), "{}", run.text);
    assert!(
        run.text.contains("Next: open the dashboard"),
        "{}",
        run.text
    );

    // Once an admin exists, the next init mints the token and changes only that.
    parachute_tests::auth::ensure_admin(&stand.home());
    stand.clear_calls("systemctl");
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(stand.calls("systemctl").is_empty());
    assert!(stand.exists("operator.token"));
    assert!(!run.text.contains("Nothing changed"), "{}", run.text);
}

#[test]
fn an_exposed_home_gets_its_public_url_and_issuer() {
    let stand = Stand::new();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/original-0.6.3-rc.2/expose-state.json");
    std::fs::copy(fixture, stand.home().join("expose-state.json")).unwrap();
    parachute_tests::auth::ensure_admin(&stand.home());
    let run = stand.cli(&["init", "--no-browser", "--expose", "tailnet"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(
        run.text
            .contains("already exposed at https://box.tail1234.ts.net"),
        "{}",
        run.text
    );
    assert!(
        run.text.contains("https://box.tail1234.ts.net/admin/"),
        "{}",
        run.text
    );
    assert_eq!(
        claims(&stand.home().join("operator.token"))["iss"],
        "https://box.tail1234.ts.net"
    );
}

#[test]
fn a_hub_started_by_hand_is_left_alone_and_the_run_says_what_is_missing() {
    let stand = Stand::new();
    let _hub = parachute_tests::hub::HubProcess::start_with(
        &stand.home(),
        parachute_tests::hub::HubOptions {
            env: vec![("PORT".into(), stand.port.to_string())],
            no_wait: true,
            ..Default::default()
        },
    );
    wait_health(stand.port).expect("the hand-started hub answers");

    let run = stand.cli(&["init", "--no-browser", "--expose", "none"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(
        run.text.contains("not under the service manager"),
        "{}",
        run.text
    );
    // Something still needs doing (the unit), so the run must not say nothing did.
    assert!(!run.text.contains("Nothing changed"), "{}", run.text);
    assert!(!stand.unit_file().exists());
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn init_without_a_service_manager_fails_and_writes_nothing() {
    let mut stand = Stand::new();
    stand
        .extra_env
        .push(("PARACHUTE_UNIT_MANAGER".into(), "none".into()));
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("parachute serve"), "{}", run.text);
    assert!(!stand.unit_file().exists());
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn a_refused_install_is_reported_and_rolled_back() {
    let stand = Stand::new();
    stand.inject("enable 1 Failed to enable unit: Access denied");
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("Access denied"), "{}", run.text);
    assert!(!stand.unit_file().exists(), "no half-installed unit");
    stand.clear_injection();
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 0, "{}", run.text);
    wait_health(stand.port).expect("up after the retry");
}

#[test]
fn a_bad_port_is_refused_before_anything_happens() {
    let mut stand = Stand::new();
    stand.extra_env.push(("PORT".into(), "99999".into()));
    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("PORT"), "{}", run.text);
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn init_expose_tailnet_puts_the_hub_on_the_tailnet_once() {
    let stand = Stand::new();
    stand.fakes.add("tailscale");
    stand.write(
        "services.json",
        &serde_json::json!({"services": [{
            "name": "alpha", "port": parachute_tests::free_port(), "paths": ["/alpha"],
            "health": "/health", "version": "1.0.0"
        }]})
        .to_string(),
    );
    parachute_tests::auth::ensure_admin(&stand.home());
    let run = stand.cli(&["init", "--no-browser", "--expose", "tailnet"]);
    assert_eq!(run.code, 0, "{}", run.text);
    let target = format!("http://127.0.0.1:{}/", stand.port);
    assert!(
        stand.calls("tailscale").contains(&argv(&[
            "serve",
            "--bg",
            "--https=443",
            "--set-path=/",
            &target
        ])),
        "{:?}",
        stand.calls("tailscale")
    );
    assert!(stand.exists("expose-state.json"));
    assert!(
        run.text
            .contains("Dashboard: https://mybox.tail1a2b3c.ts.net/admin/"),
        "{}",
        run.text
    );

    stand.clear_calls("tailscale");
    stand.clear_calls("systemctl");
    let again = stand.cli(&["init", "--no-browser", "--expose", "tailnet"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(again.text.contains("already exposed"), "{}", again.text);
    assert!(again.text.contains("Nothing changed"), "{}", again.text);
    assert!(stand.calls("tailscale").is_empty());
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn init_expose_cloudflare_without_a_terminal_asks_for_the_expose_command() {
    let stand = Stand::new();
    let run = stand.cli(&["init", "--no-browser", "--expose", "cloudflare"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text
            .contains("parachute expose cloudflare --domain <host>"),
        "{}",
        run.text
    );
    wait_health(stand.port).expect("the hub itself was set up");
}

#[test]
fn under_launchd_init_bootstraps_the_agent_once() {
    let mut stand = Stand::new();
    stand.use_launchd();
    let uid = nix::unistd::getuid().as_raw();
    let label = "computer.parachute.hub";
    let target = format!("gui/{uid}/{label}");
    let plist = stand.unit_dir().join(format!("{label}.plist"));

    let run = stand.cli(&["init", "--no-browser"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["bootout", &target]),
            argv(&[
                "bootstrap",
                &format!("gui/{uid}"),
                &plist.display().to_string()
            ]),
            argv(&["kickstart", "-k", &target]),
        ]
    );
    let text = std::fs::read_to_string(&plist).unwrap();
    assert!(
        text.contains(&format!("<string>{}</string>", bin("parachute").display())),
        "{text}"
    );
    wait_health(stand.port).expect("up");
    assert!(stand.launchd_job_pid(label).is_some());

    stand.clear_calls("launchctl");
    let again = stand.cli(&["init", "--no-browser"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(stand.calls("launchctl").is_empty());
    assert!(again.text.contains("Nothing changed"), "{}", again.text);
}

//! `parachute expose cloudflare …` (= `public --cloudflare`) against a real hub, the fake
//! `cloudflared` (tunnels, DNS routes, connectors) and the fake `systemctl` (which really runs
//! the connector unit): command sequences, `config.yml`, both state files, the connector's
//! life, the vault's origin, layer switches and `off`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod expose_support;

use std::time::Duration;

use expose_support::{FQDN, Stand, argv, vault_origin_line};
use parachute_tests::{pid_gone, wait_for};
use serde_json::json;

const HOST: &str = "hub.example.com";
const TUNNEL: &str = "parachute-hub-example-com";
const ORIGIN: &str = "https://hub.example.com";
const UNIT: &str = "parachute-cloudflared-parachute-hub-example-com.service";

fn cloudflare_stand(tools: &[&str]) -> Stand {
    let mut stand = Stand::new(tools);
    stand.with_vault();
    stand.login_cloudflared();
    stand.start_hub();
    stand
}

fn managed_stand() -> Stand {
    cloudflare_stand(&[
        "cloudflared",
        "tailscale",
        "systemctl",
        "loginctl",
        "journalctl",
    ])
}

/// The tunnel id the fake account holds for `name`.
fn tunnel_id(stand: &Stand, name: &str) -> String {
    let list =
        std::fs::read_to_string(stand.fakes.state_dir().join("cloudflared/tunnels.json")).unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .expect("tunnel exists")
}

fn wait_gone(pid: u32) -> bool {
    wait_for(Duration::from_secs(30), || pid_gone(pid).then_some(())).is_some()
}

#[test]
fn up_reuse_and_off_with_a_managed_connector() {
    let stand = managed_stand();
    let port = stand.hub().port;
    let hub_pid = stand.hub().pid();
    let empty = vault_origin_line("");
    let before_empty = stand.count_lines(&empty);

    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.ok();
    let calls = stand.calls("cloudflared");
    assert_eq!(
        calls[..4].to_vec(),
        vec![
            argv(&["--version"]),
            argv(&["tunnel", "list", "--output", "json"]),
            argv(&["tunnel", "create", TUNNEL]),
            argv(&["tunnel", "route", "dns", "--overwrite-dns", TUNNEL, HOST]),
        ]
    );
    let id = tunnel_id(&stand, TUNNEL);
    let config = stand
        .root()
        .join(format!("cloudflared/{TUNNEL}/config.yml"));
    assert_eq!(
        calls[4],
        argv(&["tunnel", "--config", &config.display().to_string(), "run"])
    );
    let creds = stand.cloudflared_home().join(format!("{id}.json"));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!(
            "\ntunnel: {id}\ncredentials-file: \"{}\"\n",
            creds.display()
        )),
        "{text}"
    );
    assert!(text.ends_with(&format!(
        "ingress:\n  - hostname: {HOST}\n    service: http://127.0.0.1:{port}\n  - service: http_status:404\n"
    )), "{text}");
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "daemon-reload"]),
            argv(&["--user", "enable", "--now", UNIT])
        ]
    );
    let unit = std::fs::read_to_string(stand.unit_dir().join(UNIT)).unwrap();
    assert!(
        unit.contains(&format!("tunnel --config {} run", config.display())),
        "{unit}"
    );

    let dns =
        std::fs::read_to_string(stand.fakes.state_dir().join("cloudflared/dns.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&dns).unwrap(),
        json!({HOST: id})
    );

    let state = stand.json("cloudflared-state.json").unwrap();
    let record = &state["tunnels"][TUNNEL];
    assert_eq!(state["version"], 2);
    assert_eq!(record["tunnelUuid"], id.as_str());
    assert_eq!(record["tunnelName"], TUNNEL);
    assert_eq!(record["hostname"], HOST);
    assert_eq!(record["configPath"], config.display().to_string());
    assert_eq!(record["serviceManaged"], true);
    let pid = record["pid"].as_u64().unwrap() as u32;
    assert_eq!(
        stand.connectors(),
        vec![pid],
        "exactly one connector, the recorded one"
    );

    assert_eq!(
        stand.json("expose-state.json").unwrap(),
        json!({"version": 1, "layer": "public", "mode": "subdomain", "canonicalFqdn": HOST,
               "port": port, "funnel": false,
               "entries": [{"kind": "proxy", "mount": "/", "target": format!("http://127.0.0.1:{port}"), "service": "hub"}],
               "hubOrigin": ORIGIN})
    );
    assert_eq!(stand.vault_env_origin().as_deref(), Some(ORIGIN));
    stand.wait_count(&vault_origin_line(ORIGIN), 1);
    assert_eq!(stand.operator_iss(), ORIGIN);
    assert!(
        run.stdout
            .contains(&format!("✓ Cloudflare tunnel is up. Open {ORIGIN}/")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{ORIGIN}/vault/default")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("anyone on the internet"),
        "{}",
        run.stdout
    );
    assert_eq!(
        stand.get_as(HOST, "/health").status,
        200,
        "the tunnel's host is served"
    );

    // The same command again reuses the tunnel and replaces the connector.
    stand.clear_calls();
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("✓ Reusing Cloudflare tunnel {TUNNEL} ({id}).")),
        "{}",
        run.stdout
    );
    assert!(
        !stand
            .calls("cloudflared")
            .iter()
            .any(|c| c.get(1).map(String::as_str) == Some("create"))
    );
    assert!(wait_gone(pid), "the previous connector was stopped");
    let state = stand.json("cloudflared-state.json").unwrap();
    let pid2 = state["tunnels"][TUNNEL]["pid"].as_u64().unwrap() as u32;
    assert_ne!(pid2, pid);
    assert_eq!(stand.connectors(), vec![pid2]);

    // Off: unit removed, connector stopped, records gone, origin withdrawn, hub untouched.
    stand.clear_calls();
    let run = stand.cli(&["expose", "cloudflare", "off"]);
    run.ok();
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "disable", "--now", UNIT]),
            argv(&["--user", "daemon-reload"])
        ]
    );
    assert!(!stand.unit_dir().join(UNIT).exists());
    assert!(wait_gone(pid2));
    assert!(stand.connectors().is_empty());
    assert!(stand.json("cloudflared-state.json").is_none());
    assert!(stand.json("expose-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);
    stand.wait_count(&empty, before_empty + 1);
    assert_eq!(stand.operator_iss(), format!("http://127.0.0.1:{port}"));
    assert!(run.stdout.contains("reuses it"), "{}", run.stdout);
    assert_eq!(
        stand.get_as(HOST, "/health").status,
        421,
        "the host is refused again"
    );
    assert_eq!(
        parachute_tests::http::get(port, "/health").unwrap().status,
        200
    );
    assert!(!pid_gone(hub_pid), "off never stops the hub");

    let run = stand.cli(&["expose", "cloudflare", "off"]);
    run.ok();
    assert!(
        run.stdout.contains("No Cloudflare exposure is recorded"),
        "{}",
        run.stdout
    );
}

#[test]
fn without_a_service_manager_the_connector_runs_in_the_background() {
    let stand = cloudflare_stand(&["cloudflared"]);
    let run = stand.cli_with(
        &[
            "expose",
            "public",
            "--cloudflare",
            "--domain",
            HOST,
            "--tunnel-name",
            "mine",
        ],
        &[("PARACHUTE_UNIT_MANAGER", "none")],
    );
    run.ok();
    assert!(
        run.stdout.contains("does not survive a reboot"),
        "{}",
        run.stdout
    );
    let state = stand.json("cloudflared-state.json").unwrap();
    let record = &state["tunnels"]["mine"];
    assert!(record.get("serviceManaged").is_none(), "{record}");
    let pid = record["pid"].as_u64().unwrap() as u32;
    assert!(
        wait_for(Duration::from_secs(30), || stand
            .connectors()
            .contains(&pid)
            .then_some(()))
        .is_some()
    );
    assert!(
        stand
            .root()
            .join("cloudflared/mine/cloudflared.log")
            .exists()
    );

    let run = stand.cli_with(
        &[
            "expose",
            "public",
            "--cloudflare",
            "off",
            "--tunnel-name",
            "other",
        ],
        &[("PARACHUTE_UNIT_MANAGER", "none")],
    );
    run.ok();
    assert!(
        run.stdout
            .contains("No Cloudflare tunnel named other is recorded (recorded: mine)"),
        "{}",
        run.stdout
    );
    assert!(!pid_gone(pid));

    let run = stand.cli_with(
        &[
            "expose",
            "public",
            "--cloudflare",
            "off",
            "--tunnel-name",
            "mine",
        ],
        &[("PARACHUTE_UNIT_MANAGER", "none")],
    );
    run.ok();
    assert!(wait_gone(pid));
    assert!(stand.json("cloudflared-state.json").is_none());
    assert!(
        run.stdout.contains("--tunnel-name mine` reuses it"),
        "{}",
        run.stdout
    );
}

#[test]
fn cloudflare_off_keeps_a_tailscale_record_and_cloudflare_up_replaces_one() {
    let stand = managed_stand();
    let port = stand.hub().port;
    let ts_origin = format!("https://{FQDN}");

    // Tunnel first, then the tailnet: the tunnel stays (with a warning), the record is the tailnet's.
    stand.cli(&["expose", "cloudflare", "--domain", HOST]).ok();
    let run = stand.cli(&["expose", "tailnet"]);
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("A Cloudflare tunnel still serves {ORIGIN}")),
        "{}",
        run.stdout
    );
    assert_eq!(stand.json("expose-state.json").unwrap()["layer"], "tailnet");
    assert_eq!(
        stand.get_as(HOST, "/health").status,
        200,
        "the live tunnel's host still works"
    );
    assert_eq!(stand.get_as(FQDN, "/health").status, 200);

    // Taking the tunnel down leaves the tailnet's record and origin alone (SPEC Part A item 12).
    let run = stand.cli(&["expose", "cloudflare", "off"]);
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("The Tailnet exposure (https://{FQDN}) stays up.")),
        "{}",
        run.stdout
    );
    assert_eq!(stand.json("expose-state.json").unwrap()["layer"], "tailnet");
    assert_eq!(
        stand.vault_env_origin().as_deref(),
        Some(ts_origin.as_str())
    );
    assert_eq!(stand.get_as(HOST, "/health").status, 421);
    assert_eq!(stand.get_as(FQDN, "/health").status, 200);

    // A tunnel brought up over the tailnet replaces its record and takes its handler down.
    stand.clear_calls();
    stand.cli(&["expose", "cloudflare", "--domain", HOST]).ok();
    assert!(stand.calls("tailscale").contains(&argv(&[
        "serve",
        "--https=443",
        "--set-path=/",
        "off"
    ])));
    let state = stand.json("expose-state.json").unwrap();
    assert_eq!(state["mode"], "subdomain");
    assert_eq!(state["canonicalFqdn"], HOST);
    assert_eq!(stand.get_as(FQDN, "/health").status, 421);
    let serve =
        std::fs::read_to_string(stand.fakes.state_dir().join("tailscale/serve.json")).unwrap();
    assert_eq!(serve.trim(), "{}");

    // `tailnet off` now has nothing to do; `public off` finds the tunnel.
    let run = stand.cli(&["expose", "tailnet", "off"]);
    run.ok();
    assert!(
        run.stdout.contains("parachute expose cloudflare off"),
        "{}",
        run.stdout
    );
    stand.cli(&["expose", "public", "off"]).ok();
    assert!(stand.json("expose-state.json").is_none());
    assert!(stand.json("cloudflared-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);
    assert_eq!(
        parachute_tests::http::get(port, "/health").unwrap().status,
        200
    );
}

#[test]
fn failures_before_and_during_bringup_leave_a_retryable_state() {
    let stand = managed_stand();
    // Invalid flags: refused before any tool runs.
    for (args, needle) in [
        (
            vec!["expose", "cloudflare", "--domain", "localhost"],
            "not a valid hostname",
        ),
        (
            vec![
                "expose",
                "cloudflare",
                "--domain",
                HOST,
                "--tunnel-name",
                "bad name",
            ],
            "not a valid tunnel name",
        ),
        (vec!["expose", "cloudflare"], "--domain <hostname>"),
    ] {
        let run = stand.cli(&args);
        run.failed();
        assert!(run.stderr.contains(needle), "{run:#?}");
    }
    assert!(stand.calls("cloudflared").is_empty());

    // The DNS route fails: nothing written, the tunnel exists for the retry.
    stand.inject(
        "cloudflared",
        &["route 1 Failed to add route: code: 1003, reason: An A, AAAA, or CNAME record with that host already exists."],
    );
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.failed();
    assert!(run.stderr.contains("code: 1003"), "{run:#?}");
    assert!(run.stderr.contains("example.com is a zone"), "{run:#?}");
    assert!(
        !stand
            .root()
            .join(format!("cloudflared/{TUNNEL}/config.yml"))
            .exists()
    );
    assert!(stand.json("cloudflared-state.json").is_none());
    assert!(stand.json("expose-state.json").is_none());
    assert_eq!(stand.vault_env_origin(), None);
    assert!(stand.connectors().is_empty());

    stand.clear_injection("cloudflared");
    stand.clear_calls();
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.ok();
    assert!(
        run.stdout.contains("Reusing Cloudflare tunnel"),
        "{}",
        run.stdout
    );
    assert_eq!(
        stand.json("expose-state.json").unwrap()["canonicalFqdn"],
        HOST
    );
    stand.cli(&["expose", "cloudflare", "off"]).ok();
}

#[test]
fn not_logged_in_or_no_vault_stops_before_any_tunnel_call() {
    let stand = Stand::new(&["cloudflared"]);
    stand.with_vault();
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.failed();
    assert!(
        run.stderr.contains("cloudflared is not logged in"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("cloudflared tunnel login"), "{run:#?}");
    assert_eq!(stand.calls("cloudflared"), vec![argv(&["--version"])]);

    let stand = Stand::new(&["cloudflared"]);
    stand.login_cloudflared();
    parachute_tests::hub::add_row(
        stand.root(),
        json!({"name": "other", "port": 4000, "paths": ["/other"], "health": "/health", "version": "1"}),
    );
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.failed();
    assert!(
        run.stderr.contains("the vault is not installed"),
        "{run:#?}"
    );

    let stand = Stand::new(&[]);
    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.failed();
    assert!(
        run.stderr.contains("cloudflared is not installed"),
        "{run:#?}"
    );
}

#[test]
fn a_version_1_state_is_read_and_torn_down() {
    let stand = Stand::new(&["cloudflared"]);
    let dead = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    stand.home.write(
        "cloudflared-state.json",
        &json!({"version": 1, "pid": dead, "tunnelUuid": "2b58e7e5-2fd2-4def-b495-0cea1ff34361",
                "tunnelName": "parachute", "hostname": HOST,
                "startedAt": "2026-01-01T00:00:00.000Z",
                "configPath": stand.root().join("cloudflared/parachute/config.yml")})
        .to_string(),
    );
    let run = stand.cli_with(
        &["expose", "cloudflare", "off"],
        &[("PARACHUTE_UNIT_MANAGER", "none")],
    );
    run.ok();
    assert!(
        run.stdout
            .contains(&format!("{HOST} is no longer reachable")),
        "{}",
        run.stdout
    );
    assert!(stand.json("cloudflared-state.json").is_none());
}

#[test]
fn public_without_a_flag_explains_what_to_set_up() {
    // Both ready: refuse to guess.
    let stand = Stand::new(&["cloudflared", "tailscale"]);
    stand.with_vault();
    stand.login_cloudflared();
    let run = stand.cli(&["expose", "public"]);
    run.failed();
    assert!(run.stderr.contains("--tailnet"), "{run:#?}");
    assert!(run.stderr.contains("--cloudflare --domain"), "{run:#?}");

    // Only Cloudflare, no hostname.
    let stand = Stand::new(&["cloudflared"]);
    stand.login_cloudflared();
    let run = stand.cli(&["expose", "public"]);
    run.failed();
    assert!(run.stderr.contains("needs the public hostname"), "{run:#?}");

    // Nothing ready: pointers for both.
    let stand = Stand::new(&["tailscale"]);
    stand.tailscale_node(json!({"loggedIn": false}));
    let run = stand.cli(&["expose", "public"]);
    run.failed();
    assert!(run.stderr.contains("✓ install tailscale"), "{run:#?}");
    assert!(run.stderr.contains("- log in: `tailscale up`"), "{run:#?}");
    assert!(run.stderr.contains("- install cloudflared"), "{run:#?}");
}

#[test]
fn public_without_a_flag_uses_cloudflare_when_it_is_the_only_provider() {
    let stand = cloudflare_stand(&["cloudflared", "systemctl", "loginctl", "journalctl"]);
    let run = stand.cli(&["expose", "public", "--domain", HOST]);
    run.ok();
    assert!(
        run.stdout.contains("Using a Cloudflare tunnel"),
        "{}",
        run.stdout
    );
    assert_eq!(
        stand.json("expose-state.json").unwrap()["canonicalFqdn"],
        HOST
    );
    stand.cli(&["expose", "public", "off"]).ok();
    assert!(stand.json("cloudflared-state.json").is_none());
}

#[test]
fn a_tunnel_created_on_another_machine_is_refused_before_anything_changes() {
    let stand = managed_stand();
    // The account already has a tunnel of the default name, but its credentials file lives on
    // the machine that created it.
    let name = TUNNEL;
    let elsewhere = json!([{
        "id": "9d1c6a52-0000-4000-8000-00000000beef",
        "name": name,
        "created_at": "2026-01-01T00:00:00Z",
        "deleted_at": "0001-01-01T00:00:00Z",
        "connections": [],
    }]);
    let account = stand.fakes.state_dir().join("cloudflared");
    std::fs::create_dir_all(&account).unwrap();
    std::fs::write(account.join("tunnels.json"), elsewhere.to_string()).unwrap();

    let run = stand.cli(&["expose", "cloudflare", "--domain", HOST]);
    run.failed();
    assert!(
        run.stderr.contains("already exists")
            && run
                .stderr
                .contains("9d1c6a52-0000-4000-8000-00000000beef.json")
            && run.stderr.contains("--tunnel-name"),
        "{run:#?}"
    );
    // Only the read-only checks ran: no DNS route, no tunnel creation, nothing recorded.
    let calls = stand.calls("cloudflared");
    assert!(
        calls
            .iter()
            .all(|c| !c.contains(&"route".to_string()) && !c.contains(&"create".to_string())),
        "{calls:?}"
    );
    assert!(stand.json("cloudflared-state.json").is_none());
    assert!(stand.json("expose-state.json").is_none());
    assert!(
        !stand
            .root()
            .join(format!("cloudflared/{name}/config.yml"))
            .exists()
    );
}

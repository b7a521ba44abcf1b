//! `parachute migrate --to-supervised` and `--teardown` end to end: real legacy daemons (detached
//! process groups recorded in pid files) holding the hub and module ports, the fake service
//! manager really running our `parachute serve`, and every file of the home accounted for.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use migrate_support::{Daemon, Stand, UNIT, argv, snapshot, wait_health};
use parachute_tests::{bin, free_port, wait_for};

/// A legacy install: the fixture home the original hub wrote, plus two third-party modules
/// whose daemons (and a detached hub) run from pid files.
struct Legacy {
    /// The detached hub, on the stand's hub port.
    hub: Daemon,
    /// Module `alpha`, on its own port.
    alpha: Daemon,
    /// Module `beta`, whose recorded pid is a wrapper; a grandchild in its group holds the port.
    beta: Daemon,
    /// `alpha`'s port.
    alpha_port: u16,
    /// `beta`'s port.
    beta_port: u16,
}

fn copy_fixture(stand: &Stand, rel: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/original-0.6.3-rc.2")
        .join(rel);
    let to = stand.home().join(rel);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// A module row whose start command runs `test-module`, so the supervised hub can start it.
fn module_row(stand: &Stand, name: &str, port: u16) -> serde_json::Value {
    let install_dir = stand.home().join("mods").join(name);
    std::fs::create_dir_all(install_dir.join(".parachute")).unwrap();
    let module_json = serde_json::json!({
        "name": name,
        "startCmd": [bin("test-module").display().to_string()],
    });
    std::fs::write(
        install_dir.join(".parachute/module.json"),
        serde_json::to_string_pretty(&module_json).unwrap(),
    )
    .unwrap();
    serde_json::json!({
        "name": name,
        "port": port,
        "paths": [format!("/{name}")],
        "health": "/health",
        "version": "1.0.0",
        "installDir": install_dir,
    })
}

fn stage_legacy(stand: &Stand) -> Legacy {
    for rel in [
        "hub.db",
        "operator.token",
        "vault/.env",
        "well-known/parachute.json",
        "expose-state.json",
    ] {
        copy_fixture(stand, rel);
    }
    let alpha_port = free_port();
    let beta_port = free_port();
    let services = serde_json::json!({
        "services": [module_row(stand, "alpha", alpha_port), module_row(stand, "beta", beta_port)]
    });
    stand.write(
        "services.json",
        &(serde_json::to_string_pretty(&services).unwrap() + "\n"),
    );
    stand.write("alpha/.env", "GREETING=hello\n");
    stand.write("alpha/logs/alpha.log", "alpha said things before\n");
    stand.write("beta/logs/beta.log", "beta said things before\n");
    stand.write("hub/logs/hub.log", "the detached hub logged here\n");
    stand.write("notes.txt", "a file of my own\n");

    let hub = Daemon::start(stand.port, &[], None);
    let alpha = Daemon::start(alpha_port, &[], None);
    let beta = Daemon::start(beta_port, &["--grandchild"], None);
    stand.write("hub/run/hub.pid", &format!("{}\n", hub.pid()));
    stand.write("hub/run/hub.port", &format!("{}\n", stand.port));
    stand.write("alpha/run/alpha.pid", &format!("{}\n", alpha.pid()));
    stand.write("beta/run/beta.pid", &format!("{}\n", beta.pid()));
    Legacy {
        hub,
        alpha,
        beta,
        alpha_port,
        beta_port,
    }
}

/// Files the cutover removes on purpose.
const PID_FILES: [&str; 3] = [
    "hub/run/hub.pid",
    "alpha/run/alpha.pid",
    "beta/run/beta.pid",
];

/// Every file of `before` is still there with the same bytes, except: the pid files (removed),
/// `hub.db` (the new hub opens it; WAL files may appear next to it), and the log files the new
/// hub and its modules append to (the old text must still be their beginning). `hub.port` is
/// rewritten by the new hub with the same port. New files may only be the SQLite side files,
/// `well-known/hub.html`, and log files.
fn assert_every_file_kept(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    port: u16,
) {
    let appended = [
        "hub/logs/hub.log",
        "alpha/logs/alpha.log",
        "beta/logs/beta.log",
    ];
    for (rel, old) in before {
        if PID_FILES.contains(&rel.as_str()) {
            assert!(!after.contains_key(rel), "{rel} should be removed");
            continue;
        }
        let new = after
            .get(rel)
            .unwrap_or_else(|| panic!("{rel} disappeared"));
        match rel.as_str() {
            "hub.db" => {}
            "hub/run/hub.port" => assert_eq!(new, format!("{port}\n").as_bytes()),
            r if appended.contains(&r) => assert!(
                new.starts_with(old),
                "{rel} lost its old content:\n{}",
                String::from_utf8_lossy(new)
            ),
            _ => assert_eq!(new, old, "{rel} changed"),
        }
    }
    for rel in after.keys() {
        if before.contains_key(rel) {
            continue;
        }
        let allowed = ["hub.db-wal", "hub.db-shm", "well-known/hub.html"].contains(&rel.as_str())
            || rel.ends_with(".log");
        assert!(allowed, "unexpected new file {rel}");
    }
}

/// `is-enabled` probes for every stale per-module unit the cutover looks for.
fn stale_probes(shorts: &[&str]) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for s in shorts {
        let unit = format!("parachute-{s}.service");
        calls.push(argv(&["--user", "is-enabled", &unit]));
        calls.push(argv(&["is-enabled", &unit]));
    }
    calls
}

const KNOWN: [&str; 6] = ["vault", "channel", "notes", "scribe", "runner", "surface"];

#[test]
fn a_legacy_layout_moves_over_with_every_file_kept() {
    let stand = Stand::new();
    let mut legacy = stage_legacy(&stand);
    let grandchild = parachute_os::port::listeners(legacy.beta_port)[0].pid;
    assert_ne!(
        grandchild,
        legacy.beta.pid(),
        "beta's port is held by the grandchild"
    );
    let before = snapshot(&stand.home());

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("✓ Migrated"), "{}", run.text);

    // The legacy daemons are gone, the grandchild of beta's wrapper included.
    assert!(legacy.hub.gone() && legacy.alpha.gone() && legacy.beta.gone());
    assert!(
        wait_for(Duration::from_secs(30), || parachute_tests::pid_gone(
            grandchild
        )
        .then_some(()))
        .is_some(),
        "beta's grandchild is stopped with its group"
    );
    for rel in PID_FILES {
        assert!(!stand.exists(rel), "{rel}");
    }

    // Our hub runs under the manager and supervises both modules on their ports.
    let body = wait_health(stand.port).expect("hub healthy");
    assert!(body.contains("parachute-hub"), "{body}");
    let hub_pid = stand.hub_job_pid().expect("manager runs the hub");
    assert_eq!(
        parachute_os::process::command_line(hub_pid).unwrap(),
        format!("{} serve", bin("parachute").display())
    );
    for port in [legacy.alpha_port, legacy.beta_port] {
        let holder = wait_for(Duration::from_secs(60), || {
            parachute_os::port::listeners(port)
                .into_iter()
                .find(|h| parachute_os::process::parent_pid(h.pid) == Some(hub_pid))
        });
        assert!(holder.is_some(), "port {port} is served by the hub's child");
    }

    // The manager saw: write (no start), stale-unit probes, then enable + start.
    let mut expected = vec![argv(&["--user", "daemon-reload"])];
    let mut shorts: Vec<&str> = KNOWN.to_vec();
    shorts.extend(["alpha", "beta"]);
    expected.extend(stale_probes(&shorts));
    expected.push(argv(&["--user", "daemon-reload"]));
    expected.push(argv(&["--user", "enable", "--now", UNIT]));
    assert_eq!(stand.calls("systemctl"), expected);

    let after = snapshot(&stand.home());
    assert_every_file_kept(&before, &after, stand.port);
    assert!(!legacy.hub.alive());

    // A second run is a no-op that touches nothing.
    stand.clear_calls("systemctl");
    let again = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(again.text.contains("Already migrated"), "{}", again.text);
    assert!(stand.calls("systemctl").is_empty());
    assert_eq!(stand.hub_job_pid(), Some(hub_pid));
}

#[test]
fn a_port_held_by_an_unrelated_process_is_never_killed() {
    let stand = Stand::new();
    let alpha_port = free_port();
    let services = serde_json::json!({"services": [module_row(&stand, "alpha", alpha_port)]});
    stand.write("services.json", &services.to_string());
    let mut hub = Daemon::start(stand.port, &[], None);
    stand.write("hub/run/hub.pid", &format!("{}\n", hub.pid()));
    // Something that is not Parachute (its command line never says so) on alpha's port.
    let mut stranger = Daemon::start(alpha_port, &[], Some("port-holder"));

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 1, "{}", run.text);
    let pid = stranger.pid();
    assert!(
        run.text
            .contains(&format!("held by pid {pid} (port-holder)")),
        "{}",
        run.text
    );
    assert!(
        run.text.contains(&format!("Port {alpha_port} (alpha)")),
        "{}",
        run.text
    );
    assert!(stranger.alive(), "the unrelated process must survive");
    assert!(hub.gone(), "the recorded legacy hub is stopped");
    // The unit is written but was never started or enabled.
    assert!(stand.unit_file().exists());
    assert!(
        !stand
            .calls("systemctl")
            .iter()
            .any(|c| c.contains(&"enable".to_string()) || c.contains(&"start".to_string())),
        "{:?}",
        stand.calls("systemctl")
    );

    // Once its owner stops it, a re-run finishes the job.
    drop(stranger);
    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    wait_health(stand.port).expect("hub healthy");
}

#[test]
fn a_stale_pid_file_naming_a_reused_pid_does_not_make_its_process_ours() {
    let stand = Stand::new();
    let alpha_port = free_port();
    let services = serde_json::json!({"services": [module_row(&stand, "alpha", alpha_port)]});
    stand.write("services.json", &services.to_string());
    // An unrelated program on alpha's port whose pid happens to be the one an old pid file of
    // alpha records: the file was written long before this process started.
    let mut stranger = Daemon::start(alpha_port, &[], Some("port-holder"));
    let pid_file = stand.write("alpha/run/alpha.pid", &format!("{}\n", stranger.pid()));
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&pid_file)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 1, "{}", run.text);
    let pid = stranger.pid();
    assert!(
        run.text.contains("started after the file was written"),
        "{}",
        run.text
    );
    assert!(
        run.text
            .contains(&format!("held by pid {pid} (port-holder)")),
        "{}",
        run.text
    );
    assert!(
        run.text.contains(&format!("Port {alpha_port} (alpha)")),
        "{}",
        run.text
    );
    assert!(stranger.alive(), "a reused pid must never be signalled");
}

#[test]
fn a_failed_start_is_resumed_by_running_again() {
    let stand = Stand::new();
    let mut legacy = stage_legacy(&stand);
    stand.inject("enable 1 Failed to enable unit: Interactive authentication required.");

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("did not start"), "{}", run.text);
    assert!(
        run.text.contains("Interactive authentication required"),
        "{}",
        run.text
    );
    assert!(legacy.hub.gone() && legacy.alpha.gone() && legacy.beta.gone());

    stand.clear_injection();
    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("✓ Migrated"), "{}", run.text);
    wait_health(stand.port).expect("hub healthy");
    assert!(stand.hub_job_pid().is_some());
}

#[test]
fn the_original_hubs_unit_is_replaced_and_its_data_stays() {
    let stand = Stand::new();
    copy_fixture(&stand, "hub.db");
    copy_fixture(&stand, "operator.token");
    copy_fixture(&stand, "services.json");
    copy_fixture(&stand, "vault/.env");
    // The original hub ran `bun …/cli.ts serve`; a stand-in `bun` serves /health on $PORT.
    let bun = stand.fakes.add_script(
        "bun",
        &format!(
            "#!/bin/sh\nexec {} --say original-hub\n",
            bin("test-module").display()
        ),
    );
    std::fs::create_dir_all(stand.unit_dir()).unwrap();
    std::fs::write(
        stand.unit_file(),
        format!(
            "[Unit]\nDescription=Parachute hub (serve + supervisor)\n\n[Service]\nType=simple\n\
             Environment=PARACHUTE_HOME={}\nEnvironment=PORT={}\n\
             ExecStart={} /home/tester/.bun/install/global/node_modules/@openparachute/hub/src/cli.ts serve\n\
             Restart=always\n\n[Install]\nWantedBy=default.target\n",
            stand.home().display(),
            stand.port,
            bun.display()
        ),
    )
    .unwrap();
    assert!(
        stand
            .systemctl(&["--user", "enable", "--now", UNIT])
            .status
            .success()
    );
    let old_pid = wait_for(Duration::from_secs(30), || stand.hub_job_pid()).unwrap();
    let body = wait_health(stand.port).expect("the original hub answers");
    assert!(!body.contains("parachute-hub"), "{body}");
    stand.clear_calls("systemctl");
    let before = snapshot(&stand.home());

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("cli.ts serve"), "{}", run.text);
    let calls = stand.calls("systemctl");
    assert_eq!(calls[0], argv(&["--user", "stop", UNIT]), "{calls:?}");
    assert_eq!(calls[1], argv(&["--user", "daemon-reload"]));
    assert_eq!(
        calls.last().unwrap(),
        &argv(&["--user", "enable", "--now", UNIT])
    );
    assert!(
        wait_for(Duration::from_secs(30), || parachute_tests::pid_gone(
            old_pid
        )
        .then_some(()))
        .is_some()
    );

    let unit = std::fs::read_to_string(stand.unit_file()).unwrap();
    assert!(
        unit.contains(&format!("ExecStart={} serve", bin("parachute").display())),
        "{unit}"
    );
    let body = wait_health(stand.port).expect("our hub answers");
    assert!(body.contains("parachute-hub"), "{body}");
    let after = snapshot(&stand.home());
    for (rel, old) in &before {
        if rel == "hub.db" {
            assert!(after.contains_key(rel));
        } else if rel.ends_with(".log") {
            assert!(after[rel].starts_with(old), "{rel}");
        } else {
            assert_eq!(after.get(rel), Some(old), "{rel} changed");
        }
    }
}

#[test]
fn teardown_removes_the_unit_and_keeps_the_data() {
    let stand = Stand::new();
    copy_fixture(&stand, "hub.db");
    copy_fixture(&stand, "operator.token");
    stand.write("notes.txt", "mine\n");
    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    wait_health(stand.port).expect("up");
    let pid = stand.hub_job_pid().unwrap();

    stand.clear_calls("systemctl");
    let run = stand.cli(&["migrate", "--teardown"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("untouched"), "{}", run.text);
    let mut expected = vec![
        argv(&["--user", "disable", "--now", UNIT]),
        argv(&["--user", "daemon-reload"]),
    ];
    expected.extend(stale_probes(&KNOWN));
    assert_eq!(stand.calls("systemctl"), expected);
    assert!(!stand.unit_file().exists());
    assert!(
        wait_for(Duration::from_secs(30), || parachute_tests::pid_gone(pid)
            .then_some(()))
        .is_some()
    );
    for rel in ["hub.db", "operator.token", "notes.txt"] {
        assert!(stand.exists(rel), "{rel}");
    }

    let again = stand.cli(&["migrate", "--teardown"]);
    assert_eq!(again.code, 0, "{}", again.text);
    assert!(
        again.text.contains("nothing to tear down"),
        "{}",
        again.text
    );
}

#[test]
fn without_a_service_manager_nothing_is_touched() {
    let mut stand = Stand::new();
    stand
        .extra_env
        .push(("PARACHUTE_UNIT_MANAGER".into(), "none".into()));
    let alpha_port = free_port();
    let services = serde_json::json!({"services": [module_row(&stand, "alpha", alpha_port)]});
    stand.write("services.json", &services.to_string());
    let mut alpha = Daemon::start(alpha_port, &[], None);
    stand.write("alpha/run/alpha.pid", &format!("{}\n", alpha.pid()));
    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("No service manager"), "{}", run.text);
    assert!(alpha.alive());
    assert!(stand.exists("alpha/run/alpha.pid"));
}

#[test]
fn an_old_per_module_unit_is_disabled_so_it_cannot_take_the_port_back() {
    let stand = Stand::new();
    let vault_port = free_port();
    stand.write(
        "services.json",
        &serde_json::json!({"services": [{
            "name": "parachute-vault", "port": vault_port, "paths": ["/vault/default"],
            "health": "/health", "version": "0.3.6"
        }]})
        .to_string(),
    );
    std::fs::create_dir_all(stand.unit_dir()).unwrap();
    let stale = "parachute-vault.service";
    std::fs::write(
        stand.unit_dir().join(stale),
        format!(
            "[Unit]\nDescription=old vault\n\n[Service]\nEnvironment=PORT={vault_port}\n\
             ExecStart={}\nRestart=always\n\n[Install]\nWantedBy=default.target\n",
            bin("test-module").display()
        ),
    )
    .unwrap();
    assert!(
        stand
            .systemctl(&["--user", "enable", "--now", stale])
            .status
            .success()
    );
    assert!(
        wait_for(Duration::from_secs(30), || {
            parachute_os::port::is_listening(vault_port, Duration::from_millis(500)).then_some(())
        })
        .is_some()
    );
    stand.clear_calls("systemctl");

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(
        run.text
            .contains("disabled the old per-module unit parachute-vault.service"),
        "{}",
        run.text
    );
    assert!(
        stand
            .calls("systemctl")
            .contains(&argv(&["--user", "disable", "--now", stale])),
        "{:?}",
        stand.calls("systemctl")
    );
    let out = stand.systemctl(&["--user", "is-enabled", stale]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "disabled");
    wait_health(stand.port).expect("hub healthy");
}

#[test]
fn under_launchd_the_cutover_bootstraps_our_agent() {
    let mut stand = Stand::new();
    stand.use_launchd();
    let mut legacy = stage_legacy(&stand);
    let uid = nix::unistd::getuid().as_raw();
    let domain = format!("gui/{uid}");
    let label = "computer.parachute.hub";

    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(legacy.hub.gone() && legacy.alpha.gone() && legacy.beta.gone());
    let plist = stand.unit_dir().join(format!("{label}.plist"));
    assert!(plist.exists());

    let mut expected: Vec<Vec<String>> = Vec::new();
    for short in KNOWN.iter().chain(["alpha", "beta"].iter()) {
        expected.push(argv(&[
            "print",
            &format!("{domain}/computer.parachute.{short}"),
        ]));
    }
    let target = format!("{domain}/{label}");
    expected.push(argv(&["bootout", &target]));
    expected.push(argv(&["bootstrap", &domain, &plist.display().to_string()]));
    expected.push(argv(&["kickstart", "-k", &target]));
    assert_eq!(stand.calls("launchctl"), expected);
    assert!(stand.calls("systemctl").is_empty());

    wait_health(stand.port).expect("hub healthy");
    assert!(stand.launchd_job_pid(label).is_some());
}

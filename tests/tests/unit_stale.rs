//! Disabling per-module units left by older installs (they would fight the supervised hub for
//! the modules' ports).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod unit_support;

use std::time::Duration;

use parachute_tests::{pid_gone, wait_for};
use parachute_unit::{ManagerKind, StaleUnitReport};
use unit_support::{Stand, argv, s};

/// Writes a legacy per-module unit that runs `sleep`.
fn stage_unit(stand: &Stand, short: &str) {
    std::fs::create_dir_all(stand.unit_dir()).unwrap();
    std::fs::write(
        stand.unit_dir().join(format!("parachute-{short}.service")),
        format!(
            "[Unit]\nDescription=old {short}\n\n[Service]\nExecStart=/bin/sleep 60\n\n[Install]\nWantedBy=default.target\n"
        ),
    )
    .unwrap();
}

/// Runs the fake systemctl directly to set up state.
fn systemctl(stand: &Stand, args: &[&str]) {
    use parachute_os::CommandRunner;
    let out = stand.runner().run("systemctl", args).unwrap();
    assert!(out.success(), "systemctl {args:?}: {out:?}");
}

#[test]
fn enabled_user_units_are_disabled_and_system_units_get_a_sudo_hint() {
    let stand = Stand::new(&["systemctl"]);
    stage_unit(&stand, "vault");
    stage_unit(&stand, "scribe");
    systemctl(
        &stand,
        &["--user", "enable", "--now", "parachute-vault.service"],
    );
    systemctl(&stand, &["enable", "parachute-scribe.service"]);
    let vault_pid = stand
        .job_pid("systemd/user/jobs/parachute-vault.service")
        .expect("the old vault unit runs");
    stand.fakes.clear_calls("systemctl");

    let units = stand.manager(ManagerKind::Systemd, 1000);
    let report = units.disable_stale_module_units(&["vault", "scribe", "channel"]);
    assert_eq!(report.disabled, vec!["parachute-vault.service".to_string()]);
    assert_eq!(report.warnings.len(), 1, "{report:?}");
    assert!(
        report.warnings[0].contains("sudo systemctl disable --now parachute-scribe.service"),
        "{report:?}"
    );
    assert_eq!(
        stand.calls("systemctl"),
        vec![
            argv(&["--user", "is-enabled", "parachute-vault.service"]),
            argv(&["--user", "disable", "--now", "parachute-vault.service"]),
            argv(&["is-enabled", "parachute-vault.service"]),
            argv(&["--user", "is-enabled", "parachute-scribe.service"]),
            argv(&["is-enabled", "parachute-scribe.service"]),
            argv(&["--user", "is-enabled", "parachute-channel.service"]),
            argv(&["is-enabled", "parachute-channel.service"]),
        ]
    );
    // The old vault process was stopped by its manager.
    assert!(
        wait_for(Duration::from_secs(30), || pid_gone(vault_pid)
            .then_some(()))
        .is_some()
    );
    // A second pass finds nothing to do.
    let again = units.disable_stale_module_units(&["vault"]);
    assert_eq!(again, StaleUnitReport::default());
}

#[test]
fn root_disables_enabled_system_units_itself() {
    let stand = Stand::new(&["systemctl"]);
    stage_unit(&stand, "scribe");
    systemctl(&stand, &["enable", "parachute-scribe.service"]);
    stand.fakes.clear_calls("systemctl");
    let units = stand.manager(ManagerKind::Systemd, 0);
    let report = units.disable_stale_module_units(&["scribe"]);
    assert_eq!(
        report.disabled,
        vec!["parachute-scribe.service".to_string()]
    );
    assert!(report.warnings.is_empty(), "{report:?}");
    assert!(stand.calls("systemctl").contains(&argv(&[
        "disable",
        "--now",
        "parachute-scribe.service"
    ])));
}

#[test]
fn only_the_printed_word_counts() {
    let stand = Stand::new(&["systemctl"]);
    // `not-found` with exit 1 (seen on some distros) and a bus error are both "not enabled".
    stand.inject(
        "systemctl",
        &[
            "is-enabled 1 stdout:not-found",
            "disable 1 should not be called",
        ],
    );
    let units = stand.manager(ManagerKind::Systemd, 1000);
    let report = units.disable_stale_module_units(&["vault"]);
    assert_eq!(report, StaleUnitReport::default());
    // `static` with exit 0 is enabled-like; a refused disable becomes a warning.
    stand.inject(
        "systemctl",
        &["is-enabled 0 stdout:static", "disable 1 Access denied"],
    );
    let report = units.disable_stale_module_units(&["vault"]);
    assert!(report.disabled.is_empty(), "{report:?}");
    assert_eq!(report.warnings.len(), 2, "{report:?}");
    assert!(report.warnings[0].contains("Access denied"), "{report:?}");
    assert!(
        report.warnings[0].contains("systemctl --user disable --now parachute-vault.service"),
        "{report:?}"
    );
}

#[test]
fn loaded_launchd_agents_are_booted_out() {
    let stand = Stand::new(&["launchctl"]);
    std::fs::create_dir_all(stand.unit_dir()).unwrap();
    let plist = stand.unit_dir().join("computer.parachute.vault.plist");
    std::fs::write(
        &plist,
        "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>Label</key><string>computer.parachute.vault</string><key>ProgramArguments</key><array><string>/bin/sleep</string><string>60</string></array><key>RunAtLoad</key><true/></dict></plist>\n",
    )
    .unwrap();
    {
        use parachute_os::CommandRunner;
        let out = stand
            .runner()
            .run("launchctl", &["bootstrap", "gui/501", &s(&plist)])
            .unwrap();
        assert!(out.success(), "{out:?}");
    }
    let pid = stand
        .job_pid("launchd/jobs/computer.parachute.vault")
        .expect("the old vault agent runs");
    stand.fakes.clear_calls("launchctl");

    let units = stand.manager(ManagerKind::Launchd, 501);
    let report = units.disable_stale_module_units(&["vault", "scribe"]);
    assert_eq!(
        report.disabled,
        vec!["computer.parachute.vault".to_string()]
    );
    assert!(report.warnings.is_empty());
    assert_eq!(
        stand.calls("launchctl"),
        vec![
            argv(&["print", "gui/501/computer.parachute.vault"]),
            argv(&["bootout", "gui/501/computer.parachute.vault"]),
            argv(&["print", "gui/501/computer.parachute.scribe"]),
        ]
    );
    assert!(wait_for(Duration::from_secs(30), || pid_gone(pid).then_some(())).is_some());
}

//! The `parachute-expose` API as the desktop tray uses it: called in-process (even from inside
//! an async runtime), lines streamed to a progress sink, structured reports, `current()`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod expose_support;

use std::sync::{Arc, Mutex};

use expose_support::{FQDN, Stand};
use parachute_expose::{
    Active, ExposeConfig, ExposeError, Exposure, Line, OffTarget, RestartOutcome, Target, UpOptions,
};
use parachute_home::Home;
use parachute_os::SystemRunner;
use parachute_unit::{ManagedUnit, ManagerKind, UnitEnv};

/// An `Exposure` wired to the stand's fakes (no service manager), plus the lines it streamed.
fn exposure(stand: &Stand) -> (Exposure, Arc<Mutex<Vec<Line>>>) {
    let runner = Arc::new(
        SystemRunner::with_search_path(stand.fakes.path_env())
            .env(parachute_tests::fake::STATE_ENV, stand.fakes.state_dir())
            .env("HOME", stand.user.path()),
    );
    let env = UnitEnv {
        uid: 1000,
        user_name: "tester".into(),
        home_dir: stand.user.path().to_path_buf(),
        unit_dir_override: Some(stand.unit_dir()),
        scope_override: None,
        manager_override: None,
    };
    let units = ManagedUnit::new(runner.clone(), ManagerKind::None, env);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut config = ExposeConfig::for_user_home(stand.user.path());
    config.progress = Some(Arc::new(move |line: &Line| {
        sink.lock().unwrap().push(line.clone())
    }));
    (
        Exposure::new(Home::at(stand.root()), runner, units, config),
        seen,
    )
}

#[test]
fn up_current_and_off_from_inside_an_async_runtime() {
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    stand.start_hub();
    let (exposure, seen) = exposure(&stand);
    assert_eq!(exposure.current().unwrap().active, None);

    // The tray calls from its async runtime; the restart client must not nest runtimes.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime
        .block_on(async { exposure.up(&Target::Tailnet, &UpOptions::default()) })
        .unwrap();
    let origin = format!("https://{FQDN}");
    assert_eq!(report.url, origin);
    assert_eq!(report.hub_origin, origin);
    assert_eq!(
        report.discovery_url,
        format!("{origin}/.well-known/parachute.json")
    );
    assert_eq!(report.active, Active::Tailnet { fqdn: FQDN.into() });
    assert_eq!(
        report.restarts,
        vec![RestartOutcome::Restarted {
            short: "vault".into()
        }]
    );
    assert!(
        report
            .reach
            .iter()
            .any(|r| r.what.starts_with("vault (/vault/default)"))
    );
    assert_eq!(
        *seen.lock().unwrap(),
        report.lines,
        "every line was streamed, in order"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let status = exposure.current().unwrap();
    assert_eq!(status.active, Some(Active::Tailnet { fqdn: FQDN.into() }));
    assert_eq!(status.hub_origin.as_deref(), Some(origin.as_str()));
    assert!(status.tunnels.is_empty());

    // A layer that is not up: a no-op report, nothing changed.
    let report = exposure.off(&OffTarget::Funnel).unwrap();
    assert!(report.nothing_to_do);
    assert!(report.restarts.is_empty());
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.text.contains("parachute expose tailnet off"))
    );
    assert!(exposure.current().unwrap().active.is_some());

    let report = exposure.off(&OffTarget::Tailnet).unwrap();
    assert!(!report.nothing_to_do);
    assert_eq!(report.removed, vec![Active::Tailnet { fqdn: FQDN.into() }]);
    assert_eq!(exposure.current().unwrap().active, None);
}

#[test]
fn errors_are_typed_for_the_tray() {
    let stand = Stand::new(&["tailscale"]);
    let (exposure, _) = exposure(&stand);
    assert!(matches!(
        exposure.up(&Target::Tailnet, &UpOptions::default()),
        Err(ExposeError::NoServices { install }) if install == "parachute install vault"
    ));
    assert!(matches!(
        exposure.up(
            &Target::Tailnet,
            &UpOptions {
                hub_origin: Some("not an origin".into())
            }
        ),
        Err(ExposeError::InvalidHubOrigin { .. })
    ));
    stand.with_vault();
    // No hub and no service manager: nothing is served.
    std::fs::create_dir_all(stand.root().join("hub/run")).unwrap();
    std::fs::write(
        stand.root().join("hub/run/hub.port"),
        format!("{}\n", parachute_tests::free_port()),
    )
    .unwrap();
    let err = exposure
        .up(&Target::Funnel, &UpOptions::default())
        .unwrap_err();
    assert!(matches!(err, ExposeError::HubDown { .. }), "{err}");
    assert!(!stand.calls("tailscale").iter().any(|c| c[0] == "funnel"));
    let providers = exposure.providers();
    assert!(providers.funnel_ready());
    assert!(!providers.cloudflare_ready());
}

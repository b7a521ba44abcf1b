//! The hub as a library, in this test process: bind through `Hub::bind`, watch through
//! `HubHandle::subscribe`, steer through the module service, stop through `HubHandle::shutdown`
//! — no `parachute serve` child, and no signal sent to anyone.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::time::{Duration, Instant};

use parachute_home::Home;
use parachute_hub::{Hub, HubConfig, Subscription};
use parachute_protocol::{HubEvent, ModuleStatus};
use parachute_tests::hub::{add_test_module, pids_matching};
use parachute_tests::{TestHome, free_port};

/// A hub config for `home` on a free port, as an embedding front end builds it: nothing from
/// this process's environment but `PATH`, no subreaper, no stdout copy of module output, and a
/// crash policy short enough for a test.
fn config(home: &TestHome) -> HubConfig {
    let vars = vec![(
        "PATH".to_string(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
    )];
    let mut config = HubConfig::from_vars(vars, Home::at(home.path())).unwrap();
    config.port = 0;
    config.runtime.subreaper = false;
    config.runtime.stdout_lines = false;
    let policy = &mut config.runtime.supervisor.crash_policy;
    policy.first_delay = Duration::from_millis(50);
    policy.max_delay = Duration::from_millis(200);
    policy.give_up_after = 3;
    config
}

/// Receives events until `pick` returns `Some`, failing after `within`.
async fn until<T>(
    events: &mut Subscription,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&HubEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let envelope = tokio::time::timeout(left, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {within:?}; saw {seen:?}"))
            .unwrap_or_else(|| panic!("the hub went away before {what}; saw {seen:?}"));
        if let Some(found) = pick(&envelope.event) {
            return found;
        }
        seen.push(envelope.event.kind());
    }
}

/// The pid of `short` once the hub reports it running and answering on its port.
fn ready_pid(event: &HubEvent, short: &str) -> Option<u32> {
    match event {
        HubEvent::ModuleState { state }
            if state.short == short && state.status == ModuleStatus::Running && state.ready =>
        {
            state.pid
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_in_process_reports_modules_crash_loops_restarts_and_stops_clean() {
    let home = TestHome::new();
    // The steady module's command line carries this marker, to find leftovers by.
    let marker = format!("handle-{}", std::process::id());
    add_test_module(home.path(), "steady", free_port(), &["--say", &marker]);
    add_test_module(
        home.path(),
        "flaky",
        free_port(),
        &["--exit-after-ms", "150", "--exit-code", "3"],
    );

    let hub = Hub::bind(config(&home)).await.unwrap();
    let port = hub.local_addr().port();
    let handle = hub.handle();
    let mut events = handle.subscribe();
    let running = tokio::spawn(hub.run(std::future::pending()));

    let listening = until(
        &mut events,
        Duration::from_secs(10),
        "listening",
        |e| match e {
            HubEvent::Listening { port, .. } => Some(*port),
            _ => None,
        },
    )
    .await;
    assert_eq!(listening, port);

    // The steady module comes up; the flaky one crashes into its loop, with a reason.
    let first_pid = until(&mut events, Duration::from_secs(20), "steady ready", |e| {
        ready_pid(e, "steady")
    })
    .await;
    let reason = until(
        &mut events,
        Duration::from_secs(20),
        "flaky's crash loop",
        |e| match e {
            HubEvent::CrashLoop {
                short,
                reason,
                exit,
            } if short == "flaky" => Some((reason.clone(), exit.clone())),
            _ => None,
        },
    )
    .await;
    assert!(reason.0.contains("crashed 3 times"), "{reason:?}");
    assert_eq!(
        reason.1.as_ref().and_then(|e| e.code),
        Some(3),
        "{reason:?}"
    );
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.hub.port, Some(port));
    let flaky = snapshot
        .modules
        .iter()
        .find(|m| m.short == "flaky")
        .unwrap();
    assert_eq!(flaky.status, ModuleStatus::Crashed);

    // A restart through the module service gives a new process, announced as it happens.
    let restarted = handle.modules().restart("steady").await.unwrap();
    let new_pid = restarted.pid.expect("restarted module has a pid");
    assert_ne!(new_pid, first_pid);
    let announced = until(
        &mut events,
        Duration::from_secs(20),
        "steady ready again",
        |e| ready_pid(e, "steady").filter(|pid| *pid == new_pid),
    )
    .await;
    assert_eq!(announced, new_pid);

    // Shutting down through the handle stops every module and ends `run`.
    handle.shutdown();
    until(&mut events, Duration::from_secs(10), "stopping", |e| {
        matches!(e, HubEvent::Stopping).then_some(())
    })
    .await;
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("run returns after shutdown")
        .unwrap()
        .unwrap();
    assert!(
        pids_matching(&marker).is_empty(),
        "a module outlived the hub: {:?}",
        pids_matching(&marker)
    );
    assert!(
        !parachute_os::process::is_alive(new_pid),
        "the restarted module is still running"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port still accepts connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_window_signs_in_once_through_a_minted_ticket() {
    let home = TestHome::new();
    let hub = Hub::bind(config(&home)).await.unwrap();
    let handle = hub.handle();
    assert!(
        matches!(
            handle.mint_window_login(),
            Err(parachute_hub::WindowLoginError::NoAdmin)
        ),
        "nobody to sign in as before setup"
    );
    parachute_tests::auth::ensure_admin(home.path());
    let running = tokio::spawn(hub.run(std::future::pending()));
    let login = handle.mint_window_login().unwrap();
    assert!(login.url.ends_with(&login.path), "{login:?}");
    assert!(
        !format!("{login:?}").contains(&login.path),
        "Debug hides the ticket"
    );
    let port = handle.port();
    let path = format!("{}&next=/admin/modules", login.path);
    tokio::task::spawn_blocking(move || {
        let mut window = parachute_tests::web::WebClient::new(port);
        let first = window.get(&path);
        assert_eq!(first.status, 302, "{}", first.body);
        assert_eq!(first.header("location"), Some("/admin/modules"));
        assert!(window.cookies.contains_key("parachute_hub_session"));
        let me = window.get("/api/me").json();
        assert_eq!(me["hasSession"], true, "{me}");
        assert_eq!(me["admin"], true);
        let mut other = parachute_tests::web::WebClient::new(port);
        let again = other.get(&path);
        assert_eq!(again.status, 401, "one use");
        assert!(!other.cookies.contains_key("parachute_hub_session"));
        assert_eq!(other.get("/login/ticket?t=guess").status, 401);
    })
    .await
    .unwrap();
    handle.shutdown();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("run returns after shutdown")
        .unwrap()
        .unwrap();
}

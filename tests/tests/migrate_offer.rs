//! The legacy-install offer of `start|stop|restart`: on a box that ran the detached daemons (pid
//! files, no hub unit), a verb without a terminal prints the migrate command and fails, touching
//! nothing; a clean box or a box with a unit gets no offer.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;

use migrate_support::{Daemon, Stand};
use parachute_tests::free_port;

#[test]
fn without_a_terminal_the_offer_prints_the_command_and_touches_nothing() {
    let stand = Stand::new();
    let port = free_port();
    stand.write(
        "services.json",
        &serde_json::json!({"services": [{
            "name": "alpha", "port": port, "paths": ["/alpha"], "health": "/health",
            "version": "1.0.0"
        }]})
        .to_string(),
    );
    let mut alpha = Daemon::start(port, &[], None);
    stand.write("alpha/run/alpha.pid", &format!("{}\n", alpha.pid()));
    for verb in ["start", "stop", "restart"] {
        let run = stand.cli(&[verb]);
        assert_eq!(run.code, 1, "{verb}: {}", run.text);
        assert!(
            run.text.contains("parachute migrate --to-supervised"),
            "{verb}: {}",
            run.text
        );
        assert!(run.text.contains("legacy way"), "{verb}: {}", run.text);
    }
    assert!(alpha.alive(), "the legacy daemon keeps running");
    assert!(stand.exists("alpha/run/alpha.pid"));
    assert!(!stand.unit_file().exists());
    assert!(stand.calls("systemctl").is_empty());
}

#[test]
fn a_clean_box_gets_no_offer() {
    let stand = Stand::new();
    stand.write("services.json", "{\"services\":[]}\n");
    let run = stand.cli(&["stop"]);
    assert!(!run.text.contains("legacy way"), "{}", run.text);
    assert!(!run.text.contains("--to-supervised"), "{}", run.text);
}

#[test]
fn after_the_cutover_there_is_no_offer() {
    let stand = Stand::new();
    let mut hub = Daemon::start(stand.port, &[], None);
    stand.write("hub/run/hub.pid", &format!("{}\n", hub.pid()));
    let run = stand.cli(&["migrate", "--to-supervised"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(hub.gone());
    let run = stand.cli(&["start"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(!run.text.contains("legacy way"), "{}", run.text);
}

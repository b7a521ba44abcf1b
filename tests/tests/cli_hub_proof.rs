//! The operator token never reaches a process that has not proved it is this home's hub:
//! `status`, `stop <svc>` and `logs <svc>` against a stand-in on the recorded hub port (a stale
//! `hub.port` after the hub died) and against a relay to the real hub on another port. The
//! stand-in records every `Authorization` header it receives.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use cli_support::{CliEnv, StandInHub, notes_of};
use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{auth, free_port};

/// The note `status` printed about the live module state, from any row.
fn live_state_note(stdout: &str, service: &str) -> String {
    notes_of(stdout, service)
        .into_iter()
        .find(|n| n.contains("live module state unavailable"))
        .unwrap_or_default()
}

#[test]
fn status_never_hands_the_operator_token_to_a_listener_that_is_not_this_hub() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    let stand_in = StandInHub::start(&env, None);
    // A stale hub.port: the hub is gone and something else took its port.
    env.set_hub_port(stand_in.port);
    auth::operator_token(env.root(), stand_in.port);
    let out = env.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let note = live_state_note(&out.stdout, "alpha");
    assert!(
        note.contains(&format!(
            "something on 127.0.0.1:{} answered but is not this home's hub (",
            stand_in.port
        )),
        "{}",
        out.all()
    );
    assert!(note.contains("holds no proof"), "{}", out.all());
    assert!(
        note.contains(&format!(
            "stop it, or check {}",
            env.root().join("hub/run/hub.port").display()
        )),
        "{}",
        out.all()
    );
    let requests = stand_in.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /.well-known/parachute-hub-proof?nonce=")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("GET /api/")),
        "{requests:?}"
    );
    assert_eq!(stand_in.authorizations(), Vec::<String>::new());
}

#[test]
fn a_relay_to_the_real_hub_on_another_port_gets_no_token_either() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    let hub = HubProcess::start(env.root());
    let relay = StandInHub::start(&env, Some(hub.port));
    env.set_hub_port(relay.port);
    auth::operator_token(env.root(), relay.port);
    let out = env.run(&["status"]);
    let note = live_state_note(&out.stdout, "alpha");
    assert!(
        note.contains(&format!(
            "the proof comes from a hub on port {}, not from port {}: something relays to it",
            hub.port, relay.port
        )),
        "{}",
        out.all()
    );
    assert!(
        relay
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /.well-known/parachute-hub-proof")),
        "the relay passed the challenge on: {:?}",
        relay.requests()
    );
    assert_eq!(relay.authorizations(), Vec::<String>::new());

    // Pointed at the hub itself, status reads the live state with the token.
    env.set_hub_port(hub.port);
    auth::operator_token(env.root(), hub.port);
    let out = env.run(&["status"]);
    assert!(
        live_state_note(&out.stdout, "alpha").is_empty(),
        "{}",
        out.all()
    );
}

#[test]
fn stop_and_logs_never_hand_the_operator_token_to_a_listener_that_is_not_this_hub() {
    let env = CliEnv::new();
    add_test_module(env.root(), "alpha", free_port(), &[]);
    env.home.write("alpha/logs/alpha.log", "from the file\n");
    let stand_in = StandInHub::start(&env, None);
    env.set_hub_port(stand_in.port);
    auth::operator_token(env.root(), stand_in.port);
    let why = format!(
        "something on 127.0.0.1:{} answered but is not this home's hub (",
        stand_in.port
    );

    let out = env.run(&["stop", "alpha"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains(&format!("✗ alpha: {why}")),
        "{}",
        out.all()
    );
    assert!(out.stderr.contains("stop it, or check"), "{}", out.all());

    // `logs` says why it falls back to the file instead of asking that listener.
    let out = env.run(&["logs", "alpha"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("from the file"), "{}", out.all());
    assert!(out.stderr.contains(&why), "{}", out.all());

    let requests = stand_in.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /.well-known/parachute-hub-proof?nonce=")),
        "{requests:?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("POST ") || r.starts_with("GET /api/")),
        "no module operation reached it: {requests:?}"
    );
    assert_eq!(stand_in.authorizations(), Vec::<String>::new());
}

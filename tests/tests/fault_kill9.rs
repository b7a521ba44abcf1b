//! Seeded fault drill: kill -9 of the hub and of CLI writers (`expose tailnet [off]`, `status`,
//! `restart`) at random points, bounded in rounds and time. After every round: every JSON file
//! under the home parses; after every hub kill the next `serve` sweeps what the dead hub left
//! (no marked process of an earlier hub survives) and brings every module up; at the end a
//! clean stop leaves no process of this home.
//!
//! `PARACHUTE_FAULT_SEED` (default fixed), `PARACHUTE_FAULT_ROUNDS` (default 6, the short CI
//! run) and `PARACHUTE_FAULT_SECS` (time budget, default 120) reproduce or lengthen a run; the
//! seed is printed.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

mod expose_support;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use expose_support::Stand;
use parachute_tests::hub::add_test_module;
use parachute_tests::{free_port, http, wait_for};

/// xorshift64*: enough randomness for fault timing, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| {
            let v = v.trim();
            v.strip_prefix("0x")
                .map_or_else(|| v.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok())
        })
        .unwrap_or(default)
}

/// Every `*.json` under `dir` parses (temp files of interrupted writes are not `*.json`).
fn every_json_parses(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            every_json_parses(&path);
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let parsed = serde_json::from_str::<serde_json::Value>(&text);
            assert!(
                parsed.is_ok(),
                "{} does not parse: {text:?}",
                path.display()
            );
        }
    }
}

/// Live processes marked by one of `hubs` other than `current`, with the hub that marked them.
fn strays(hubs: &[u32], current: Option<u32>) -> Vec<(u32, u32)> {
    parachute_os::process::all_pids()
        .into_iter()
        .filter_map(|pid| {
            let mark = parachute_os::process::environ_var(pid, "PARACHUTE_SUPERVISOR_MARK")?;
            let hub: u32 = mark.split(':').nth(1)?.parse().ok()?;
            (hubs.contains(&hub) && Some(hub) != current && parachute_os::process::is_alive(pid))
                .then_some((pid, hub))
        })
        .collect()
}

fn every_module_up(stand: &Stand) {
    let port = stand.hub().port;
    let ready = wait_for(Duration::from_secs(60), || {
        let r = http::get(port, "/api/ready").ok()?.json();
        (r["ready"] == true).then_some(())
    });
    assert!(
        ready.is_some(),
        "not every module came up: {}",
        http::get(port, "/api/ready")
            .map(|r| r.body)
            .unwrap_or_default()
    );
}

/// Starts one CLI writer, not waiting for it.
fn writer(stand: &Stand, rng: &mut Rng) -> Child {
    const VERBS: [&[&str]; 4] = [
        &["expose", "tailnet"],
        &["expose", "tailnet", "off"],
        &["status"],
        &["restart", "plain"],
    ];
    let args = VERBS[rng.below(VERBS.len() as u64) as usize];
    parachute_tests::cli::private_command(
        args,
        stand.root(),
        stand.user.path(),
        &stand.fakes,
        &stand.unit_dir(),
    )
    .spawn()
    .expect("spawn a CLI writer")
}

/// Waits for `child` up to `limit`, then kills it.
fn reap(mut child: Child, limit: Duration) {
    if wait_for(limit, || child.try_wait().ok().flatten()).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn kill_9_of_hub_and_writers_leaves_whole_files_no_strays_and_a_clean_restart() {
    let seed = env_u64("PARACHUTE_FAULT_SEED", 0x5eed_2026_1402);
    let rounds = env_u64("PARACHUTE_FAULT_ROUNDS", 6);
    let budget = Duration::from_secs(env_u64("PARACHUTE_FAULT_SECS", 120));
    println!(
        "fault drill: seed {seed:#x}, {rounds} rounds (PARACHUTE_FAULT_SEED/_ROUNDS reproduce it)"
    );
    let mut rng = Rng(seed | 1);
    let mut stand = Stand::new(&["tailscale"]);
    stand.with_vault();
    add_test_module(stand.root(), "plain", free_port(), &[]);
    add_test_module(stand.root(), "forky", free_port(), &["--grandchild"]);
    stand.start_hub();
    every_module_up(&stand);
    let mut hubs = vec![stand.hub().pid()];
    // The drill's check must see the marks it looks for.
    assert!(
        !strays(&hubs, None).is_empty(),
        "no marked module process found: the stray check would see nothing"
    );
    let started = Instant::now();
    for round in 0..rounds {
        if started.elapsed() > budget {
            println!("time budget spent after {round} rounds");
            break;
        }
        let writers: Vec<Child> = (0..1 + rng.below(3))
            .map(|_| writer(&stand, &mut rng))
            .collect();
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        for w in &writers {
            if rng.below(2) == 0 {
                // SAFETY: plain kill(2) on our own child.
                unsafe { libc::kill(w.id() as i32, libc::SIGKILL) };
            }
        }
        let kill_hub = rng.below(4) != 0;
        println!(
            "round {round}: {} writer(s), hub {}",
            writers.len(),
            if kill_hub { "killed" } else { "kept" }
        );
        if kill_hub {
            std::thread::sleep(Duration::from_millis(rng.below(150)));
            let hub = stand.hub.as_mut().unwrap();
            hub.signal(libc::SIGKILL);
            assert!(
                hub.wait_exit(Duration::from_secs(10)).is_some(),
                "the hub outlived SIGKILL"
            );
        }
        for w in writers {
            reap(w, Duration::from_secs(30));
        }
        every_json_parses(stand.root());
        if kill_hub {
            stand.hub = None;
            stand.start_hub();
            hubs.push(stand.hub().pid());
        }
        every_module_up(&stand);
        let left = strays(&hubs, Some(stand.hub().pid()));
        assert!(
            left.is_empty(),
            "round {round}: processes outlived their hub (pid, hub): {left:?}"
        );
    }
    assert_eq!(stand.hub.as_mut().unwrap().stop(), Some(0), "a clean stop");
    let gone = wait_for(Duration::from_secs(10), || {
        strays(&hubs, None).is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "left after a clean stop: {:?}",
        strays(&hubs, None)
    );
    every_json_parses(stand.root());
}

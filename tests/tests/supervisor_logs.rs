//! Black-box: module output through a real `parachute serve` — a stdout nobody reads never
//! stalls the hub and costs only the terminal copy, and module output cannot forge lines on
//! the hub's terminal.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_tests::hub::{HubProcess, add_test_module};
use parachute_tests::{TestHome, bin, free_port, http, wait_for};

/// The `flood <n> xxx…` numbers in `text`, in order, and whether `flood done` follows them.
fn flood_numbers(text: &str) -> (Vec<u64>, bool) {
    let numbers = text
        .lines()
        .filter_map(|l| l.strip_prefix("flood ")?.split(' ').next()?.parse().ok())
        .collect();
    (numbers, text.ends_with("flood done\n"))
}

#[test]
fn a_hub_whose_stdout_nobody_reads_keeps_answering_and_logging_every_line() {
    let home = TestHome::new();
    let trigger = home.path().join("go");
    let lines: u64 = 70_000; // 64 bytes each: 4.5 MB, under the 5 MiB rotation size.
    add_test_module(
        home.path(),
        "loud",
        free_port(),
        &[
            "--flood",
            &lines.to_string(),
            "--flood-after",
            &trigger.display().to_string(),
        ],
    );
    let port = free_port();
    let mut hub = Command::new(bin("parachute"))
        .arg("serve")
        .env("PARACHUTE_HOME", home.path())
        .env("PORT", port.to_string())
        .env_remove("PARACHUTE_HUB_ORIGIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Nobody reads this pipe until the end of the test.
    let mut stdout = hub.stdout.take().unwrap();
    let log = home.path().join("loud/logs/loud.log");
    let up = wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("test-module up").then_some(())
    });
    assert!(up.is_some(), "the module never came up");

    std::fs::write(&trigger, "").unwrap();
    // /health keeps answering all through the flood and after it, each time within a
    // generous bound, while the hub's stdout is full.
    let mut answered = 0;
    let flood_over = Instant::now() + Duration::from_secs(120);
    let logged = loop {
        let asked = Instant::now();
        let health = http::get(port, "/health").expect("/health did not answer");
        assert_eq!(health.status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "/health stalled for {:?}",
            asked.elapsed()
        );
        answered += 1;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.ends_with("flood done\n") {
            break text;
        }
        assert!(Instant::now() < flood_over, "the flood never finished");
        std::thread::sleep(Duration::from_millis(20));
    };
    for _ in 0..3 {
        assert_eq!(http::get(port, "/health").unwrap().status, 200);
    }
    assert!(answered > 1);
    // The log file has every line, in order.
    let (numbers, done) = flood_numbers(&logged);
    assert!(done);
    assert!(
        numbers.iter().copied().eq(1..=lines),
        "{} lines",
        numbers.len()
    );

    // Read stdout at last: what was shown, then how many lines were dropped.
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let shown = shown.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let report = wait_for(Duration::from_secs(30), || {
        let text = shown.lock().unwrap();
        text.lines()
            .find(|l| l.contains("line(s) of module output dropped"))
            .map(str::to_string)
    })
    .expect("no report of the dropped lines");
    let dropped: u64 = report
        .strip_prefix("[supervisor] ")
        .and_then(|r| r.strip_suffix(" line(s) of module output dropped: stdout is not being read"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{report:?}"));
    assert!(dropped > 0);
    // SIGTERM, then every module line is either on stdout or counted as dropped.
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(hub.id() as i32, libc::SIGTERM);
    }
    let status = hub.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(status.code(), Some(0));
    let text = shown.lock().unwrap().clone();
    let module_lines = text.lines().filter(|l| l.starts_with("[loud] ")).count() as u64;
    let dropped: u64 = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("[supervisor] ")?
                .strip_suffix(" line(s) of module output dropped: stdout is not being read")?
                .parse::<u64>()
                .ok()
        })
        .sum();
    // The flood, `flood done`, `test-module up`, the stderr hello and `got SIGTERM`.
    assert_eq!(module_lines + dropped, lines + 4, "{dropped} dropped");
    assert!(text.contains("[loud] test-module got SIGTERM, exiting"));
    assert!(
        text.contains("parachute serve: stopped"),
        "the hub's own lines get through"
    );
}

#[test]
fn module_output_cannot_forge_lines_on_the_hubs_terminal() {
    let home = TestHome::new();
    let forged = "done\r[supervisor] forged line\u{1b}[2J\u{9b}0m\u{7}";
    add_test_module(home.path(), "sly", free_port(), &["--say", forged]);
    let hub = HubProcess::start(home.path());
    let shown = hub.wait_for_line("[sly] done", Duration::from_secs(20));
    assert_eq!(
        shown,
        "[sly] done\\r[supervisor] forged line\\x1b[2J\\u{9b}0m\\x07"
    );
    let output = hub.output();
    assert!(
        !output.iter().any(|l| l.starts_with("[supervisor] forged")),
        "{output:?}"
    );
    assert!(
        output
            .iter()
            .all(|l| !l.contains(['\r', '\u{1b}', '\u{9b}', '\u{7}'])),
        "a control character reached the terminal: {output:?}"
    );
    // The log file keeps what the module printed.
    let log = wait_for(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(home.path().join("sly/logs/sly.log")).ok()?;
        text.contains(forged).then_some(text)
    });
    assert!(log.is_some(), "the raw line is not in the log file");
}

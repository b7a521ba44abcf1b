//! Benchmark (prints figures, asserts nothing about time): module output through the hub, and
//! what an idle hub costs.
//!
//! - **Log throughput**: one module prints `PARACHUTE_BENCH_LINES` lines (default 2 000 000) of
//!   `PARACHUTE_BENCH_LINE_BYTES` bytes (default 64, newline included) as fast as a buffered
//!   writer can. Timed from the moment the bench lets it start to the moment its last line
//!   (`flood done`) is in the module's log file. The hub's stdout is read by this bench as fast
//!   as it can (a slow reader makes the hub drop lines from that copy only).
//!   Prints lines/s and the hub's CPU time per line (utime + stime of the hub process, all its
//!   threads, from `/proc/<pid>/stat`), plus how many lines reached stdout and how many of the
//!   last lines the (rotated) log files hold, checked to be contiguous and in order.
//! - **Idle**: the hub with 0 and with 50 modules, once everything is up and settled: CPU %,
//!   context switches per second (all hub threads, from `/proc/<pid>/task/*/status`) and, when
//!   `strace` is on the PATH and allowed to attach, system calls per second.
//!
//! Steps of one throughput run: make a home with the flooding module (it waits for a trigger
//! file), start `parachute serve` with stdout piped to a reader thread, wait for the module's
//! `test-module up` line, settle, read the hub's CPU ticks, create the trigger, wait for
//! `flood done` in the log file, read the CPU ticks again, then count the stdout lines and check
//! the log files' last lines.
//!
//! Run with `scripts/bench log_throughput` (release binaries). `PARACHUTE_BENCH_RUNS` sets the
//! number of throughput runs (default 5; the medians are printed).

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_tests::hub::add_test_module;
use parachute_tests::{TestHome, bin, free_port, http, wait_for};

/// A `parachute serve` whose stdout is read in big chunks by a counting thread.
struct Serve {
    /// The hub process.
    child: Child,
    /// Its HTTP port.
    port: u16,
    /// What the reader thread has seen.
    seen: Arc<Seen>,
}

/// Counters kept by the stdout reader.
#[derive(Default)]
struct Seen {
    /// Newlines read so far.
    lines: AtomicU64,
    /// Set once `[flood] flood done` was read.
    flood_done: AtomicBool,
    /// Everything that is not a flood line (startup lines, `[supervisor]` lines), for waits.
    other: Mutex<String>,
}

impl Serve {
    fn start(home: &TestHome) -> Self {
        let port = free_port();
        let mut child = Command::new(bin("parachute"))
            .arg("serve")
            .env("PARACHUTE_HOME", home.path())
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let seen = Arc::new(Seen::default());
        let out = child.stdout.take().expect("stdout");
        let counter = seen.clone();
        std::thread::spawn(move || read_counting(out, &counter));
        let up = wait_for(Duration::from_secs(30), || {
            http::get(port, "/health").ok().filter(|r| r.status == 200)
        });
        assert!(up.is_some(), "the hub never answered /health");
        Self { child, port, seen }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_other(&self, needle: &str, count: usize) {
        let found = wait_for(Duration::from_secs(120), || {
            let text = self.seen.other.lock().unwrap();
            (text.matches(needle).count() >= count).then_some(())
        });
        assert!(
            found.is_some(),
            "never saw {count} × {needle:?} on the hub's stdout"
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// Reads the hub's stdout in 256 KiB chunks, counting lines and watching for `flood done`.
fn read_counting(mut out: impl Read, seen: &Seen) {
    const DONE: &[u8] = b"[flood] flood done\n";
    let mut buf = vec![0u8; 256 * 1024];
    let mut line_start: Vec<u8> = Vec::new();
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let newlines = chunk.iter().filter(|b| **b == b'\n').count();
        seen.lines.fetch_add(newlines as u64, Ordering::Relaxed);
        // Keep every line that is not a flood line, and look for the end marker, without
        // copying the flood itself.
        for piece in chunk.split_inclusive(|b| *b == b'\n') {
            line_start.extend_from_slice(piece);
            if !line_start.ends_with(b"\n") {
                continue;
            }
            if line_start == DONE {
                seen.flood_done.store(true, Ordering::SeqCst);
            } else if !line_start.starts_with(b"[flood] flood ") {
                seen.other
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&line_start));
            }
            line_start.clear();
        }
    }
}

/// utime + stime of `pid` (all threads), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("hub stat");
    let after = &stat[stat.rfind(')').expect("stat comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state letter (field 3).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Context switches (voluntary + involuntary) of each thread of `pid`, by thread id.
fn context_switches(pid: u32) -> std::collections::HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Default::default();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            let switches = status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
            Some((t.file_name().to_string_lossy().into_owned(), switches))
        })
        .collect()
}

/// Context switches between two samples: threads that exited in between are not counted,
/// threads that started count whole.
fn switches_between(
    before: &std::collections::HashMap<String, u64>,
    after: &std::collections::HashMap<String, u64>,
) -> u64 {
    after
        .iter()
        .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

fn env_number(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one throughput run measured.
struct Run {
    /// Lines through the hub per second, to the log file.
    lines_per_second: f64,
    /// The hub's CPU time per line, in microseconds.
    cpu_us_per_line: f64,
    /// Lines that reached the hub's stdout (this bench's reader).
    stdout_lines: u64,
    /// The flood's last lines found in order in the log files.
    file_lines: u64,
}

fn throughput_run(lines: u64, width: u64) -> Run {
    let home = TestHome::new();
    let trigger = home.path().join("go");
    add_test_module(
        home.path(),
        "flood",
        free_port(),
        &[
            "--flood",
            &lines.to_string(),
            "--flood-width",
            &width.to_string(),
            "--flood-after",
            &trigger.display().to_string(),
        ],
    );
    let serve = Serve::start(&home);
    serve.wait_other("[flood] test-module up", 1);
    std::thread::sleep(Duration::from_millis(500));
    let before = serve.seen.lines.load(Ordering::SeqCst);
    let cpu_before = cpu_ticks(serve.pid());
    let started = Instant::now();
    std::fs::write(&trigger, "").unwrap();
    // Done when `flood done` is at the end of the live log file, which gets every line (the
    // stdout copy may drop some when this bench reads too slowly).
    let log = home.path().join("flood/logs/flood.log");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !ends_with(&log, b"flood done\n") {
        assert!(Instant::now() < deadline, "the flood never finished");
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    let cpu = cpu_ticks(serve.pid()) - cpu_before;
    // The stdout copy: its last line, or the report of what it dropped.
    wait_for(Duration::from_secs(10), || {
        let reported = serve
            .seen
            .other
            .lock()
            .unwrap()
            .contains("module output dropped");
        (serve.seen.flood_done.load(Ordering::SeqCst) || reported).then_some(())
    });
    // The log rotates at 5 MiB: the live file and the kept generations hold the newest lines,
    // which must be the flood's last lines, contiguous and in order.
    let logs = home.path().join("flood/logs");
    let file_lines = wait_for(Duration::from_secs(30), || {
        let live = std::fs::read(logs.join("flood.log")).ok()?;
        live.ends_with(b"flood done\n").then_some(())?;
        Some(contiguous_tail(&logs, lines))
    })
    .unwrap_or(0);
    Run {
        lines_per_second: lines as f64 / elapsed.as_secs_f64(),
        cpu_us_per_line: cpu as f64 / ticks_per_second() * 1e6 / lines as f64,
        stdout_lines: serve.seen.lines.load(Ordering::SeqCst) - before,
        file_lines,
    }
}

/// True when the file at `path` ends with `tail`.
fn ends_with(path: &std::path::Path, tail: &[u8]) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return false;
    };
    let from = len.saturating_sub(tail.len() as u64);
    let mut end = Vec::new();
    file.seek(SeekFrom::Start(from)).is_ok() && file.read_to_end(&mut end).is_ok() && end == tail
}

/// How many of the flood's last lines the log files hold, contiguous and in order (oldest
/// generation first); 0 when they are not its last lines or not in order.
fn contiguous_tail(logs: &std::path::Path, lines: u64) -> u64 {
    let mut numbers = Vec::new();
    for name in ["flood.log.3", "flood.log.2", "flood.log.1", "flood.log"] {
        let Ok(text) = std::fs::read_to_string(logs.join(name)) else {
            continue;
        };
        numbers.extend(text.lines().filter_map(|l| {
            l.strip_prefix("flood ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        }));
    }
    let in_order = numbers.windows(2).all(|w| w[1] == w[0] + 1);
    if in_order && numbers.last() == Some(&lines) {
        numbers.len() as u64
    } else {
        0
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn throughput() {
    let lines = env_number("PARACHUTE_BENCH_LINES", 2_000_000);
    let width = env_number("PARACHUTE_BENCH_LINE_BYTES", 64);
    let runs = env_number("PARACHUTE_BENCH_RUNS", 5).max(1);
    let results: Vec<Run> = (0..runs).map(|_| throughput_run(lines, width)).collect();
    for (i, r) in results.iter().enumerate() {
        println!(
            "  run {}: {:.0} lines/s, {:.2} µs hub CPU/line, {} line(s) on stdout, the last {} in order in the log files",
            i + 1,
            r.lines_per_second,
            r.cpu_us_per_line,
            r.stdout_lines,
            r.file_lines
        );
    }
    println!(
        "log throughput ({lines} lines of {width} bytes, median of {runs}): {:.0} lines/s, {:.2} µs hub CPU per line",
        median(results.iter().map(|r| r.lines_per_second).collect()),
        median(results.iter().map(|r| r.cpu_us_per_line).collect()),
    );
}

/// System calls per second of `pid` (all threads) over `window`, when strace can attach.
fn syscalls_per_second(pid: u32, window: Duration) -> Option<f64> {
    let out = tempfile::NamedTempFile::new().ok()?;
    let mut strace = Command::new("strace")
        .args(["-c", "-f", "-q", "-o"])
        .arg(out.path())
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(window);
    // SAFETY: SIGINT to our own strace child makes it detach and write its summary.
    unsafe {
        libc::kill(strace.id() as i32, libc::SIGINT);
    }
    let status = strace.wait().ok()?;
    // Interrupted, strace reports 130; 1 means it could not attach.
    if status.code() == Some(1) {
        return None;
    }
    let text = std::fs::read_to_string(out.path()).ok()?;
    // `% time  seconds  usecs/call  calls  [errors]  total`: calls is the fourth column. No
    // table at all means not a single call was made.
    let calls: f64 = match text.lines().find(|l| l.trim_end().ends_with("total")) {
        Some(total) => total.split_whitespace().nth(3)?.parse().ok()?,
        None => 0.0,
    };
    Some(calls / window.as_secs_f64())
}

fn idle(modules: usize) {
    let home = TestHome::new();
    for i in 0..modules {
        add_test_module(home.path(), &format!("idle{i}"), free_port(), &[]);
    }
    let serve = Serve::start(&home);
    serve.wait_other("test-module up", modules);
    let ready = wait_for(Duration::from_secs(120), || {
        let r = http::get(serve.port, "/api/ready").ok()?;
        (r.json()["ready"] == true).then_some(())
    });
    assert!(ready.is_some(), "the modules never became ready");
    std::thread::sleep(Duration::from_secs(3));
    let window = Duration::from_secs(10);
    let (cpu0, ctx0) = (cpu_ticks(serve.pid()), context_switches(serve.pid()));
    std::thread::sleep(window);
    let (cpu1, ctx1) = (cpu_ticks(serve.pid()), context_switches(serve.pid()));
    let cpu_percent = (cpu1 - cpu0) as f64 / ticks_per_second() / window.as_secs_f64() * 100.0;
    let switches = switches_between(&ctx0, &ctx1) as f64 / window.as_secs_f64();
    let syscalls = syscalls_per_second(serve.pid(), Duration::from_secs(5))
        .map(|s| format!("{s:.1} syscalls/s"))
        .unwrap_or_else(|| "syscalls/s n/a (strace missing or not allowed)".into());
    println!(
        "idle hub, {modules} module(s): {cpu_percent:.2} % CPU, {switches:.1} context switches/s, {syscalls}"
    );
}

fn main() {
    println!(
        "== log throughput and idle benchmark (binary: {}) ==",
        bin("parachute").display()
    );
    throughput();
    idle(0);
    idle(50);
}

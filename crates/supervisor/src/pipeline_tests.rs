//! The output pipeline end to end: real module processes (`sh`, `seq`, `printf`) under a real
//! supervisor, their lines checked in the ring, the log files, the terminal copy and followers.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use super::*;
use crate::config::CrashPolicy;
use crate::events::SupervisorEvent;
use crate::spawn::SpawnSpec;

/// A supervisor over a temp dir whose terminal copy goes to a pipe read by a thread.
struct Rig {
    dir: tempfile::TempDir,
    supervisor: Supervisor,
    terminal: Arc<Mutex<Vec<u8>>>,
}

impl Rig {
    fn new(config: SupervisorConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (mut reader, writer) = std::io::pipe().unwrap();
        let terminal = Arc::new(Mutex::new(Vec::new()));
        let copy = terminal.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                copy.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let logs = dir.path().to_path_buf();
        let supervisor = Supervisor::new(
            config,
            OutputSink::buffered(writer, 256 * 1024 * 1024),
            Arc::new(move |short: &str| logs.join(format!("{short}/logs/{short}.log"))),
        );
        Self {
            dir,
            supervisor,
            terminal,
        }
    }

    /// Starts `short` running `sh -c script` in the rig's directory.
    fn start(&self, short: &str, script: &str) {
        let script = script.to_string();
        let cwd = self.dir.path().to_path_buf();
        self.supervisor.start(StartRequest {
            short: short.into(),
            resolver: Arc::new(move || {
                Ok(SpawnSpec {
                    argv: vec!["sh".into(), "-c".into(), script.clone()],
                    cwd: Some(cwd.clone()),
                    env: vec![("PATH".into(), "/usr/bin:/bin".into())],
                    port: None,
                })
            }),
        });
    }

    fn log_path(&self, short: &str) -> PathBuf {
        self.dir.path().join(format!("{short}/logs/{short}.log"))
    }

    fn terminal_text(&self) -> String {
        String::from_utf8(self.terminal.lock().unwrap().clone()).unwrap()
    }

    /// Waits until `short` has given up (its process exited and was not respawned).
    async fn wait_crashed(&self, short: &str) -> ModuleState {
        self.wait(|s| s.status == ModuleStatus::Crashed, short)
            .await
    }

    async fn wait(&self, done: impl Fn(&ModuleState) -> bool, short: &str) -> ModuleState {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self.supervisor.snapshot(short).expect("supervised");
            if done(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{short} never got there: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the newest buffered line of `short` is `last`.
    async fn wait_last_line(&self, short: &str, last: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.supervisor.logs(short, Some(1)) != Some(vec![last.to_string()]) {
            assert!(Instant::now() < deadline, "{short} never printed {last:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the terminal copy holds `needle`.
    async fn wait_terminal(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.terminal_text();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {needle:?} on the terminal");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Give up after the first exit: these modules run once.
fn run_once() -> SupervisorConfig {
    SupervisorConfig {
        crash_policy: CrashPolicy {
            give_up_after: 1,
            ..CrashPolicy::default()
        },
        ..SupervisorConfig::default()
    }
}

/// The numbers of `seq` output in the rotated log files of `log` and the live one, oldest first.
fn numbers_in_log_files(log: &Path) -> Vec<u64> {
    let mut generations: Vec<(u64, PathBuf)> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let rest = name.strip_prefix(log.file_name()?.to_str()?)?;
            let n = if rest.is_empty() {
                0
            } else {
                rest.strip_prefix('.')?.parse().ok()?
            };
            Some((n, p))
        })
        .collect();
    generations.sort_by_key(|g| std::cmp::Reverse(g.0));
    generations
        .iter()
        .flat_map(|(_, p)| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| {
                    l.parse::<u64>()
                        .unwrap_or_else(|_| panic!("{l:?} in {p:?}"))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_last_line_is_flushed_with_a_newline_at_exit() {
    let rig = Rig::new(run_once());
    rig.start("m", "printf 'first\\r\\nsecond\\npartial'");
    rig.wait_crashed("m").await;
    assert_eq!(
        rig.supervisor.logs("m", None).unwrap(),
        vec!["first", "second", "partial"]
    );
    assert_eq!(
        std::fs::read_to_string(rig.log_path("m")).unwrap(),
        "first\nsecond\npartial\n"
    );
    let text = rig.wait_terminal("[m] partial\n").await;
    assert!(
        text.contains("[m] first\n[m] second\n[m] partial\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_longer_than_the_limit_is_split_and_nothing_is_lost() {
    let rig = Rig::new(run_once());
    rig.start(
        "m",
        "head -c 40000 /dev/zero | tr '\\0' x; printf '\\nafter\\n'",
    );
    rig.wait_crashed("m").await;
    let lines = rig.supervisor.logs("m", None).unwrap();
    let lengths: Vec<usize> = lines.iter().map(String::len).collect();
    assert_eq!(lengths, vec![16384, 16384, 40000 - 2 * 16384, 5]);
    assert!(lines[..3].iter().all(|l| l.bytes().all(|b| b == b'x')));
    assert_eq!(lines[3], "after");
    let file = std::fs::read_to_string(rig.log_path("m")).unwrap();
    assert_eq!(file.matches('x').count(), 40000);
    assert_eq!(file.lines().map(str::len).collect::<Vec<_>>(), lengths);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_modules_keep_their_lines_whole_and_in_order() {
    let rig = Rig::new(run_once());
    let lines = 30_000;
    rig.start("a", &format!("seq -f 'a-%.0f' 1 {lines}"));
    rig.start("b", &format!("seq -f 'b-%.0f' 1 {lines} >&2"));
    rig.wait_crashed("a").await;
    rig.wait_crashed("b").await;
    rig.wait_terminal(&format!("[b] b-{lines}\n")).await;
    let text = rig.wait_terminal(&format!("[a] a-{lines}\n")).await;
    let mut next = [1u64, 1u64];
    for line in text.lines().filter(|l| !l.starts_with("[supervisor] ")) {
        let (module, number) = if let Some(n) = line.strip_prefix("[a] a-") {
            (0, n)
        } else if let Some(n) = line.strip_prefix("[b] b-") {
            (1, n)
        } else {
            panic!("a mixed or foreign line: {line:?}");
        };
        assert_eq!(number.parse::<u64>().ok(), Some(next[module]), "{line:?}");
        next[module] += 1;
    }
    assert_eq!(next, [lines + 1, lines + 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_stay_in_order_across_log_rotations() {
    let rig = Rig::new(SupervisorConfig {
        log_file_max_bytes: 64 * 1024,
        log_files_kept: 100,
        ..run_once()
    });
    rig.start("m", "seq 1 200000");
    rig.wait_crashed("m").await;
    let numbers = numbers_in_log_files(&rig.log_path("m"));
    assert!(rig.dir.path().join("m/logs/m.log.10").exists());
    assert_eq!(numbers.len(), 200_000);
    assert!(numbers.iter().copied().eq(1..=200_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_fell_far_behind_catches_up_from_the_log_files() {
    let rig = Rig::new(SupervisorConfig {
        log_file_max_bytes: 256 * 1024,
        log_files_kept: 10,
        ..SupervisorConfig::default()
    });
    rig.start(
        "m",
        "while [ ! -e go ]; do sleep 0.01; done; seq 1 100000; sleep 60",
    );
    let (replay, mut follower) = rig.supervisor.follow("m", None).unwrap();
    assert!(replay.is_empty());
    std::fs::write(rig.dir.path().join("go"), "").unwrap();
    // The follower reads nothing until all 100 000 lines (600 KiB, ten times the ring) are out.
    rig.wait_last_line("m", "100000").await;
    for expected in 1..=100_000u64 {
        let line = tokio::time::timeout(Duration::from_secs(30), follower.recv())
            .await
            .expect("the follower stalled");
        assert_eq!(line, Ok(expected.to_string()));
    }
    assert!(matches!(
        follower.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Empty)
    ));
    rig.supervisor.remove("m").await;
    assert_eq!(follower.recv().await, Err(RecvError::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_hears_exactly_how_many_lines_are_gone() {
    let rig = Rig::new(SupervisorConfig {
        log_file_max_bytes: 16 * 1024,
        log_files_kept: 1,
        ..SupervisorConfig::default()
    });
    rig.start(
        "m",
        "while [ ! -e go ]; do sleep 0.01; done; seq 1 100000; sleep 60",
    );
    let (_, mut follower) = rig.supervisor.follow("m", None).unwrap();
    std::fs::write(rig.dir.path().join("go"), "").unwrap();
    rig.wait_last_line("m", "100000").await;
    let (mut received, mut missed, mut last) = (0u64, 0u64, 0u64);
    while last != 100_000 {
        match tokio::time::timeout(Duration::from_secs(30), follower.recv())
            .await
            .expect("the follower stalled")
        {
            Ok(line) => {
                let n: u64 = line.parse().unwrap();
                // In order, right after the last line or the last gap.
                assert_eq!(n, last + 1);
                last = n;
                received += 1;
            }
            Err(RecvError::Lagged(n)) => {
                missed += n;
                last += n;
            }
            Err(RecvError::Closed) => panic!("closed"),
        }
    }
    assert!(missed > 0, "the files could not have held every line");
    assert_eq!(received + missed, 100_000);
    rig.supervisor.remove("m").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_follow_start_from_the_last_n_lines() {
    let rig = Rig::new(SupervisorConfig::default());
    rig.start(
        "m",
        "seq 1 10; while [ ! -e go ]; do sleep 0.01; done; echo 11; echo 12; sleep 60",
    );
    rig.wait_last_line("m", "10").await;
    assert_eq!(
        rig.supervisor.logs("m", Some(3)).unwrap(),
        vec!["8", "9", "10"]
    );
    assert_eq!(rig.supervisor.logs("m", None).unwrap().len(), 10);
    assert_eq!(rig.supervisor.logs("m", Some(50)).unwrap().len(), 10);
    let (replay, mut follower) = rig.supervisor.follow("m", Some(2)).unwrap();
    assert_eq!(replay, vec!["9", "10"]);
    std::fs::write(rig.dir.path().join("go"), "").unwrap();
    for expected in ["11", "12"] {
        let line = tokio::time::timeout(Duration::from_secs(30), follower.recv()).await;
        assert_eq!(line.expect("no line"), Ok(expected.to_string()));
    }
    assert!(rig.supervisor.logs("nobody", Some(1)).is_none());
    assert!(rig.supervisor.follow("nobody", None).is_none());
    rig.supervisor.remove("m").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_copy_is_escaped_but_the_log_keeps_the_raw_line() {
    let rig = Rig::new(run_once());
    rig.start("m", "printf 'ok\\r[supervisor] forged\\033[2J\\n'");
    rig.wait_crashed("m").await;
    let raw = "ok\r[supervisor] forged\x1b[2J";
    assert_eq!(rig.supervisor.logs("m", None).unwrap(), vec![raw]);
    assert_eq!(
        std::fs::read_to_string(rig.log_path("m")).unwrap(),
        format!("{raw}\n")
    );
    let text = rig.wait_terminal("[m] ok").await;
    assert!(
        text.contains("[m] ok\\r[supervisor] forged\\x1b[2J\n"),
        "{text}"
    );
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
}

/// Two StateChanged events in a row never carry the same status, pid, readiness and error.
fn assert_no_repeats(states: &[ModuleState]) {
    for pair in states.windows(2) {
        let key = |s: &ModuleState| (s.status, s.pid, s.ready, s.start_error.clone());
        assert_ne!(key(&pair[0]), key(&pair[1]), "a no-op update was announced");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_announce_changes_crashes_and_giving_up() {
    let rig = Rig::new(SupervisorConfig {
        crash_policy: CrashPolicy {
            first_delay: Duration::from_millis(10),
            jitter: 0.0,
            give_up_after: 3,
            ..CrashPolicy::default()
        },
        ..SupervisorConfig::default()
    });
    let mut events = rig.supervisor.subscribe();
    rig.start("m", "echo bye; exit 3");
    let mut states = Vec::new();
    let mut crashes = Vec::new();
    let gave_up = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("no event")
            .expect("lagged");
        match event {
            SupervisorEvent::StateChanged(state) => states.push(state),
            SupervisorEvent::Crashed {
                short,
                exit,
                consecutive,
                respawn_in,
            } => {
                assert_eq!((short.as_str(), exit.code), ("m", Some(3)));
                assert_eq!(respawn_in, Duration::from_millis(10 << (consecutive - 1)));
                crashes.push(consecutive);
            }
            SupervisorEvent::GaveUp { short, error } => break (short, error),
            SupervisorEvent::OutputDropped { .. } => panic!("nothing is dropped here"),
        }
    };
    assert_eq!(gave_up.0, "m");
    assert_eq!(gave_up.1.error_type, "crash_loop");
    assert!(
        gave_up.1.error_description.contains("bye"),
        "{:?}",
        gave_up.1
    );
    assert_eq!(crashes, vec![1, 2]);
    assert_eq!(
        states.first().map(|s| s.status),
        Some(ModuleStatus::Starting)
    );
    let runs: Vec<u32> = states
        .iter()
        .filter(|s| s.status == ModuleStatus::Running)
        .filter_map(|s| s.pid)
        .collect();
    assert_eq!(runs.len(), 3, "{states:?}");
    assert!(states.iter().any(|s| s.status == ModuleStatus::Restarting));
    assert_eq!(states.last().map(|s| s.status), Some(ModuleStatus::Crashed));
    assert_no_repeats(&states);
}

/// Waits for a `daemon=<pid>` line of `short` and returns the pid.
async fn daemon_pid(rig: &Rig, short: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = rig.supervisor.logs(short, None).unwrap_or_default();
        if let Some(pid) = lines
            .iter()
            .find_map(|l| l.strip_prefix("daemon="))
            .and_then(|p| p.parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{short} never started its daemon"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn gone_soon(pid: u32) -> bool {
    parachute_os::process::wait_gone(pid, Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_takes_the_daemons_that_left_its_group_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new(SupervisorConfig {
        home_mark: Some(crate::mark::HomeMark::for_home(dir.path())),
        stop_grace: Duration::from_secs(2),
        ..run_once()
    });
    // Stopped by an operator: the daemon in a session of its own goes too.
    rig.start("stopped", "setsid sleep 1000 & echo daemon=$!; wait");
    let daemon = daemon_pid(&rig, "stopped").await;
    let group = parachute_os::process::stat(daemon).unwrap().pgrp;
    let leader = rig.supervisor.snapshot("stopped").unwrap().pid.unwrap();
    assert_ne!(group, leader, "the daemon left the module's group");
    rig.supervisor.stop("stopped").await;
    assert!(gone_soon(daemon), "the daemon survived its module's stop");
    // Exited on its own: the daemon it left behind goes at once.
    rig.start("exited", "setsid sleep 1000 & echo daemon=$!; exit 1");
    let daemon = daemon_pid(&rig, "exited").await;
    rig.wait_crashed("exited").await;
    assert!(gone_soon(daemon), "the daemon survived its module's exit");
}

use std::sync::{Arc, Mutex};

use super::*;

/// Collects what `tracing` prints while `f` runs.
fn warnings_during(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
}

fn read_back(log: &LogFile, seq: u64) -> Option<String> {
    match log.locate(seq) {
        Located::InFile {
            file, offset, skip, ..
        } => read_lines(file, offset, skip, 1, 1 << 20).0.pop(),
        Located::Gone { .. } => None,
    }
}

#[test]
fn log_file_rotates_by_size_and_keeps_generations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/m.log");
    let mut log = LogFile::open(&path, 20, 2);
    for i in 0..10 {
        log.write_line(&format!("line number {i}"));
    }
    assert!(path.exists());
    assert!(dir.path().join("logs/m.log.1").exists());
    assert!(dir.path().join("logs/m.log.2").exists());
    assert!(!dir.path().join("logs/m.log.3").exists());
    let live = std::fs::read_to_string(&path).unwrap();
    assert!(live.ends_with("line number 9\n"), "{live}");
}

#[test]
fn unwritable_log_path_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let path = blocker.join("sub/m.log");
    let mut log = None;
    let warnings = warnings_during(|| {
        let mut opened = LogFile::open(&path, 100, 1);
        opened.write_line("goes nowhere");
        log = Some(opened);
    });
    let mut log = log.unwrap();
    // A warning names the file, the state says why, and nothing was written anywhere.
    assert!(warnings.contains("WARN"), "{warnings}");
    assert!(warnings.contains(&path.display().to_string()), "{warnings}");
    assert!(
        log.failure().is_some_and(|f| f.contains("cannot open")),
        "{:?}",
        log.failure()
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
    assert!(matches!(log.locate(0), Located::Gone { until: 1 }));
    // Once the obstacle is gone, the next spawn's `ensure_open` brings the file back.
    std::fs::remove_file(&blocker).unwrap();
    log.ensure_open();
    assert!(log.failure().is_none());
    log.write_line("kept");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
}

#[test]
fn a_log_file_that_failed_is_reopened_on_the_next_spawn() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::write(&logs, "a file where the directory belongs").unwrap();
    let path = logs.join("m.log");
    let mut log = LogFile::open(&path, 1024, 1);
    log.write_line("lost");
    log.ensure_open();
    log.write_line("still lost");
    std::fs::remove_file(&logs).unwrap();
    log.ensure_open();
    log.write_line("kept");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    // The two lost lines are known to be in no file; the kept one is read back.
    assert!(matches!(log.locate(0), Located::Gone { until: 2 }));
    assert!(matches!(log.locate(1), Located::Gone { until: 2 }));
    assert_eq!(read_back(&log, 2).as_deref(), Some("kept"));
}

#[test]
fn files_and_directories_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mod/logs/mod.log");
    // SAFETY: umask only swaps the process file-mode mask; the most permissive one here.
    let previous = unsafe { libc::umask(0) };
    let log = LogFile::open(&path, 1024, 1);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(previous) };
    assert!(log.failure().is_none());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("mod/logs")), 0o700);
    assert_eq!(mode(&dir.path().join("mod")), 0o700);
    // An existing file others could read (written by an older hub) is made private too.
    let old = dir.path().join("old.log");
    std::fs::write(&old, "before\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut log = LogFile::open(&old, 1024, 1);
    log.write_line("after");
    assert_eq!(mode(&old), 0o600);
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "before\nafter\n");
    // Rotated generations keep the mode, and the new live file is private again.
    let mut small = LogFile::open(&dir.path().join("r.log"), 10, 2);
    for i in 0..5 {
        small.write_line(&format!("rotating line {i}"));
    }
    assert_eq!(mode(&dir.path().join("r.log")), 0o600);
    assert_eq!(mode(&dir.path().join("r.log.1")), 0o600);
}

#[test]
fn lines_are_found_again_across_rotations_until_they_are_rotated_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.log");
    std::fs::write(&path, "written by an earlier hub\n").unwrap();
    // Small files (about 3 batches each) and two kept generations.
    let mut log = LogFile::open(&path, 100, 2);
    let mut seq = 0;
    for batch in 0..30 {
        let lines: Vec<String> = (0..3).map(|i| format!("batch {batch} line {i}")).collect();
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        assert_eq!(log.write_batch(&text, 3), seq);
        seq += 3;
    }
    // The newest lines are in the live file and the two kept generations…
    assert_eq!(read_back(&log, 89).as_deref(), Some("batch 29 line 2"));
    let mut readable = 0;
    let mut first_readable = None;
    for s in 0..90 {
        match read_back(&log, s) {
            Some(line) => {
                assert_eq!(line, format!("batch {} line {}", s / 3, s % 3));
                readable += 1;
                first_readable.get_or_insert(s);
            }
            None => {
                // …older ones are gone, and the index says up to where.
                assert!(
                    first_readable.is_none(),
                    "line {s} gone after readable ones"
                );
                let Located::Gone { until } = log.locate(s) else {
                    panic!("line {s}");
                };
                assert!(until > s);
            }
        }
    }
    let first = first_readable.unwrap();
    assert_eq!(readable, 90 - first);
    assert!(
        readable >= 6,
        "at least two generations of lines: {readable}"
    );
    // Reading a stretch returns consecutive lines and stops at the limit.
    let Located::InFile {
        file,
        offset,
        skip,
        end,
    } = log.locate(first)
    else {
        panic!("first readable line not located");
    };
    let (lines, ended) = read_lines(file, offset, skip, end - first, 1 << 20);
    assert!(!ended);
    assert_eq!(lines.len() as u64, end - first);
    assert_eq!(lines[0], format!("batch {} line {}", first / 3, first % 3));
}

#[test]
fn a_file_cut_short_behind_our_back_reads_as_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.log");
    let mut log = LogFile::open(&path, 1 << 20, 1);
    log.write_batch("one\ntwo\nthree\n", 3);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4)
        .unwrap();
    let Located::InFile {
        file, offset, skip, ..
    } = log.locate(0)
    else {
        panic!("not located");
    };
    assert_eq!(
        read_lines(file, offset, skip, 3, 1 << 20),
        (vec!["one".to_string()], true)
    );
}

use std::io::Read;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn control_characters_become_visible_escapes() {
    assert_eq!(
        escape_for_terminal("done\r[supervisor] forged"),
        "done\\r[supervisor] forged"
    );
    assert_eq!(
        escape_for_terminal("\x1b[2J\x1b]0;title\x07gone"),
        "\\x1b[2J\\x1b]0;title\\x07gone"
    );
    assert_eq!(escape_for_terminal("a\nb\x7f\x00"), "a\\nb\\x7f\\x00");
    // C1 controls (CSI is U+009B) are escaped; printable text of any script is not.
    assert_eq!(escape_for_terminal("\u{9b}2J \u{85}"), "\\u{9b}2J \\u{85}");
    assert_eq!(
        escape_for_terminal("tab\there é € 日本 \u{a0}"),
        "tab\there é € 日本 \u{a0}"
    );
    assert!(matches!(
        escape_for_terminal("plain line"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn several_lines_keep_their_breaks_and_nothing_else() {
    assert_eq!(
        escape_lines_for_terminal("one\r\ntwo\x1b[2J\n\u{9b}\n"),
        "one\\r\ntwo\\x1b[2J\n\\u{9b}\n"
    );
    assert!(matches!(
        escape_lines_for_terminal("a\nb\tc\n"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn terminal_lines_are_prefixed_and_escaped_line_by_line() {
    let mut out = Vec::new();
    push_terminal_lines(&mut out, "[m] ", "one\n\r\x1b[Kforged\n\ntab\there\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[m] one\n[m] \\r\\x1b[Kforged\n[m] \n[m] tab\there\n"
    );
}

#[test]
fn a_line_callback_gets_every_line() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        OutputSink::from(Arc::new(move |line: &str| {
            seen.lock().unwrap().push(line.to_string())
        }))
    };
    sink.offer(Some("m"), b"[m] a\n[m] b\n", 2);
    sink.say("m is down: \x1b[31mred");
    sink.print_line("parachute serve: stopped");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "[m] a",
            "[m] b",
            "[supervisor] m is down: \\x1b[31mred",
            "parachute serve: stopped"
        ]
    );
}

/// Reads `reader` to the end on a thread.
fn read_all_later(mut reader: std::io::PipeReader) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        text
    })
}

#[test]
fn a_stalled_reader_never_blocks_and_hears_how_many_lines_it_missed() {
    let (reader, writer) = std::io::pipe().unwrap();
    let sink = OutputSink::buffered(writer, 4096);
    let (events, mut heard) = broadcast::channel(16);
    sink.attach_events(events);
    // Far more than the pipe (64 KiB) and the buffer (4 KiB) hold, with nobody reading.
    let line = format!("[m] {}\n", "x".repeat(59));
    let chunk = line.repeat(100);
    let started = Instant::now();
    for _ in 0..100 {
        sink.offer(Some("m"), chunk.as_bytes(), 100);
    }
    sink.offer(Some("other"), b"[other] one\n[other] two\n", 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "offering output blocked on the stalled reader"
    );
    // Now read everything: the accepted lines, then the report of the gap, then nothing lost
    // after it.
    let all = read_all_later(reader);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sink.is_drained() {
        assert!(
            Instant::now() < deadline,
            "the writer thread never caught up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    sink.offer(Some("m"), b"[m] after the gap\n", 1);
    drop(sink);
    let text = all.join().unwrap();
    let shown = text.lines().filter(|l| l.starts_with("[m] x")).count() as u64;
    let mut dropped = 0;
    for report in text.lines().filter(|l| l.starts_with("[supervisor] ")) {
        let count: u64 = report
            .strip_prefix("[supervisor] ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{report}"));
        assert_eq!(
            report,
            format!(
                "[supervisor] {count} line(s) of module output dropped: stdout is not being read"
            )
        );
        dropped += count;
    }
    // Every line offered is either shown or counted.
    let other_shown = text.lines().filter(|l| l.starts_with("[other] ")).count() as u64;
    assert_eq!(shown + other_shown + dropped, 100 * 100 + 2);
    assert!(dropped > 0 && shown > 0, "{shown} shown, {dropped} dropped");
    assert!(
        text.ends_with("[m] after the gap\n"),
        "{}",
        &text[text.len() - 200..]
    );
    // Whole lines only: nothing is cut in the middle.
    assert!(
        text.lines()
            .all(|l| l == line.trim_end() || !l.starts_with("[m] x"))
    );
    let mut by_module = std::collections::HashMap::new();
    while let Ok(SupervisorEvent::OutputDropped { short, lines }) = heard.try_recv() {
        *by_module.entry(short).or_insert(0) += lines;
    }
    let from_events: u64 = by_module.values().sum();
    assert_eq!(from_events, dropped, "{by_module:?}");
}

#[test]
fn flush_waits_for_the_writer_and_gives_up_on_a_stalled_reader() {
    let (reader, writer) = std::io::pipe().unwrap();
    let sink = OutputSink::buffered(writer, 1 << 20);
    // More than the pipe holds: the writer thread is stuck until someone reads.
    let chunk = "[m] line\n".repeat(20_000);
    sink.offer(Some("m"), chunk.as_bytes(), 20_000);
    assert!(
        !sink.flush(Duration::from_millis(200)),
        "nothing was read yet"
    );
    let all = read_all_later(reader);
    assert!(sink.flush(Duration::from_secs(30)));
    sink.print_line("last");
    assert!(sink.flush(Duration::from_secs(30)));
    drop(sink);
    let text = all.join().unwrap();
    assert_eq!(text, chunk + "last\n");
}

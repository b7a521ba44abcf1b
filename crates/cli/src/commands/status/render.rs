//! The status table: padded columns joined by two spaces, then `  → url` and `  ! note` lines
//! under each row.

use parachute_control::status::Row;
use parachute_control::status::uptime::{format_latency, format_uptime};

const HEADER: [&str; 8] = [
    "SERVICE", "PORT", "VERSION", "STATE", "PID", "UPTIME", "LATENCY", "SOURCE",
];

fn cells(row: &Row) -> [String; 8] {
    let dash = || "-".to_string();
    [
        row.service.clone(),
        row.port.to_string(),
        row.version.clone(),
        row.state.as_str().to_string(),
        row.pid.map_or_else(dash, |p| p.to_string()),
        row.uptime.map_or_else(dash, format_uptime),
        row.latency.map_or_else(dash, format_latency),
        row.source.clone(),
    ]
}

fn line(cells: &[String], widths: &[usize]) -> String {
    let padded: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    padded.join("  ").trim_end().to_string()
}

/// The table as lines (no trailing newlines).
pub fn table(rows: &[Row]) -> Vec<String> {
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let body: Vec<[String; 8]> = rows.iter().map(cells).collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| {
            body.iter()
                .map(|c| c[i].chars().count())
                .chain([HEADER[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = vec![line(&header, &widths)];
    for (row, cells) in rows.iter().zip(&body) {
        out.push(line(cells, &widths));
        out.push(format!("  → {}", row.url));
        for note in &row.notes {
            // Continuation lines (a crash loop's last output) sit under the note's text, and
            // module output is shown escaped.
            for (i, text) in note.lines().enumerate() {
                let text = parachute_supervisor::escape_for_terminal(text);
                out.push(if i == 0 {
                    format!("  ! {text}")
                } else {
                    format!("      {text}")
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use parachute_control::status::State;
    use std::time::Duration;

    fn row(service: &str, state: State, notes: &[&str]) -> Row {
        Row {
            service: service.into(),
            short: service.into(),
            port: 1940,
            version: "1.0.0".into(),
            state,
            pid: Some(4242),
            uptime: Some(Duration::from_secs(75)),
            latency: Some(Duration::from_micros(1500)),
            source: "unknown".into(),
            url: "http://127.0.0.1:1940/x".into(),
            notes: notes.iter().map(|n| n.to_string()).collect(),
            unhealthy: false,
            supervisor_status: None,
        }
    }

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut idle = row("parachute-vault", State::Inactive, &["a note"]);
        idle.pid = None;
        idle.uptime = None;
        idle.latency = None;
        let lines = table(&[row("thing", State::Active, &[]), idle]);
        assert_eq!(
            lines,
            vec![
                "SERVICE          PORT  VERSION  STATE     PID   UPTIME  LATENCY  SOURCE",
                "thing            1940  1.0.0    active    4242  1m15s   1.5ms    unknown",
                "  → http://127.0.0.1:1940/x",
                "parachute-vault  1940  1.0.0    inactive  -     -       -        unknown",
                "  → http://127.0.0.1:1940/x",
                "  ! a note",
            ]
        );
    }

    #[test]
    fn multi_line_notes_continue_indented_and_escaped() {
        let lines = table(&[row(
            "thing",
            State::Failing,
            &["failed to start: crashed. Last output:\nboom\n\u{1b}[2Jgone"],
        )]);
        assert_eq!(
            &lines[3..],
            &[
                "  ! failed to start: crashed. Last output:",
                "      boom",
                "      \\x1b[2Jgone",
            ]
        );
    }
}

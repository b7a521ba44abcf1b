//! Drawing an upgrade's progress: a line per phase, a progress bar for the download (on a
//! terminal; nothing when stderr is redirected), and plain lines for the background helper's
//! log.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use parachute_upgrade::{Progress, ProgressSink};

/// Progress for a person at a terminal.
pub struct CliProgress {
    /// The download bar, while one is shown.
    bar: Mutex<Option<ProgressBar>>,
}

impl CliProgress {
    /// No bar yet.
    pub fn new() -> Self {
        Self {
            bar: Mutex::new(None),
        }
    }

    /// Clears a bar still on screen.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }

    fn say(&self, line: &str) {
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}

impl ProgressSink for CliProgress {
    fn report(&self, event: &Progress) {
        match event {
            Progress::Phase { phase, message } => {
                self.finish();
                // The end of the run is printed by the verb from the final status.
                if !phase.is_terminal() {
                    self.say(&format!("→ {phase}: {message}"));
                }
            }
            Progress::Bytes { done, total } => {
                let mut slot = self.bar.lock().expect("progress lock");
                let bar = slot.get_or_insert_with(|| {
                    let bar = ProgressBar::new(*total);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "  {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                        )
                        .expect("static template"),
                    );
                    bar
                });
                bar.set_position(*done);
            }
            Progress::Log(line) => self.say(&format!("  {line}")),
        }
    }
}

/// Progress as plain log lines on stderr (the background helper; its stderr is
/// `hub/logs/upgrade.log`).
pub struct LogProgress;

impl ProgressSink for LogProgress {
    fn report(&self, event: &Progress) {
        match event {
            Progress::Phase { phase, message } => eprintln!("upgrade: {phase}: {message}"),
            Progress::Log(line) => eprintln!("upgrade: {line}"),
            Progress::Bytes { .. } => {}
        }
    }
}

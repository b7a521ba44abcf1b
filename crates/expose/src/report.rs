//! What an exposure operation tells the person: lines to print (the CLI renders them, the tray
//! shows them), plus the structured facts a UI needs.

use std::sync::Arc;

use parachute_home::TunnelRecord;

use crate::state::Active;

/// How a line should be presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Plain information.
    Info,
    /// A step that succeeded (the CLI prefixes `✓ `).
    Success,
    /// Something the person should look at; the operation still went on (`⚠ `).
    Warning,
    /// An external command about to run (the CLI prints `  $ <command>`).
    Command,
}

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Presentation.
    pub level: Level,
    /// The text, without any prefix.
    pub text: String,
}

impl Line {
    /// The line as the CLI prints it.
    pub fn render(&self) -> String {
        match self.level {
            Level::Info => self.text.clone(),
            Level::Success => format!("✓ {}", self.text),
            Level::Warning => format!("⚠ {}", self.text),
            Level::Command => format!("  $ {}", self.text),
        }
    }
}

/// Receives each line as soon as it is produced (the CLI prints it at once, so a slow step
/// never leaves the terminal silent).
pub type Progress = Arc<dyn Fn(&Line) + Send + Sync>;

/// Collects the lines of one operation and forwards each to the progress sink.
#[derive(Clone, Default)]
pub(crate) struct Log {
    /// Every line so far.
    lines: Vec<Line>,
    /// Where lines go as they are produced.
    progress: Option<Progress>,
}

impl Log {
    /// A log forwarding to `progress`.
    pub(crate) fn new(progress: Option<Progress>) -> Self {
        Self {
            lines: Vec::new(),
            progress,
        }
    }

    /// Adds a line.
    pub(crate) fn push(&mut self, level: Level, text: impl Into<String>) {
        let line = Line {
            level,
            text: text.into(),
        };
        if let Some(progress) = &self.progress {
            progress(&line);
        }
        self.lines.push(line);
    }

    /// Adds an informational line.
    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.push(Level::Info, text);
    }

    /// Adds a success line.
    pub(crate) fn ok(&mut self, text: impl Into<String>) {
        self.push(Level::Success, text);
    }

    /// Adds a warning line.
    pub(crate) fn warn(&mut self, text: impl Into<String>) {
        self.push(Level::Warning, text);
    }

    /// Adds a command line.
    pub(crate) fn command(&mut self, argv: &[&str]) {
        self.push(Level::Command, argv.join(" "));
    }

    /// The warnings so far.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.level == Level::Warning)
            .map(|l| l.text.clone())
            .collect()
    }

    /// Every line.
    pub(crate) fn into_lines(self) -> Vec<Line> {
        self.lines
    }
}

/// Who can reach one part of the hub once a layer is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// What (e.g. `the hub page and sign-in`, `vault (/vault/default)`).
    pub what: String,
    /// The URL, when there is one.
    pub url: Option<String>,
    /// Who can reach it (e.g. `anyone on the internet`, `nobody from outside`).
    pub who: String,
}

/// What happened to one module after the hub origin changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartOutcome {
    /// The supervisor restarted it; it runs with the new origin.
    Restarted {
        /// The module's short name.
        short: String,
    },
    /// It is not running under the hub; it will read the new origin when it starts.
    NotRunning {
        /// The module's short name.
        short: String,
    },
    /// The restart failed; the module still has the old origin until restarted by hand.
    Failed {
        /// The module's short name.
        short: String,
        /// Why.
        detail: String,
    },
}

/// The result of bringing a layer up.
#[derive(Debug, Clone)]
pub struct UpReport {
    /// The layer now active.
    pub active: Active,
    /// Where the hub can be opened (`https://<host>`), without a trailing slash.
    pub url: String,
    /// The OAuth issuer / hub origin now advertised (usually `url`; `--hub-origin` overrides).
    pub hub_origin: String,
    /// The discovery document's URL.
    pub discovery_url: String,
    /// Who can now reach what.
    pub reach: Vec<Reach>,
    /// What happened to modules that depend on the hub origin.
    pub restarts: Vec<RestartOutcome>,
    /// The warnings among `lines`.
    pub warnings: Vec<String>,
    /// Everything to show, in order.
    pub lines: Vec<Line>,
}

/// The result of taking a layer down.
#[derive(Debug, Clone)]
pub struct OffReport {
    /// What was taken down (empty when there was nothing to do).
    pub removed: Vec<Active>,
    /// True when nothing matched and nothing changed (a harmless no-op).
    pub nothing_to_do: bool,
    /// What happened to modules that depend on the hub origin.
    pub restarts: Vec<RestartOutcome>,
    /// The warnings among `lines`.
    pub warnings: Vec<String>,
    /// Everything to show, in order.
    pub lines: Vec<Line>,
}

/// The end every bring-up shares once its layer is live: the discovery and issuer lines, who
/// can reach what, the sign-in warning on a public layer, and the report (restarts, warnings
/// and lines are filled in by [`crate::Exposure::up`] after origin propagation).
pub(crate) fn finish_up(
    log: &mut Log,
    manifest: &parachute_home::Manifest,
    active: Active,
    url: String,
    hub_origin: String,
) -> UpReport {
    log.info(format!(
        "  Discovery:    {url}{}",
        crate::discovery::DISCOVERY_PATH
    ));
    log.info(format!("  OAuth issuer: {hub_origin}"));
    let reach = crate::reach::reach(manifest, &url, &active);
    log.info("");
    crate::reach::print(log, &reach);
    if !matches!(active, Active::Tailnet { .. }) {
        crate::reach::public_login_warning(log, &url);
    }
    UpReport {
        active,
        discovery_url: format!("{url}{}", crate::discovery::DISCOVERY_PATH),
        url,
        hub_origin,
        reach,
        restarts: Vec::new(),
        warnings: Vec::new(),
        lines: Vec::new(),
    }
}

/// What is exposed right now, from the state files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureStatus {
    /// The layer `expose-state.json` describes, if any.
    pub active: Option<Active>,
    /// The advertised hub origin of that layer.
    pub hub_origin: Option<String>,
    /// Cloudflare tunnels we run (some may not be the layer `active` describes).
    pub tunnels: Vec<TunnelRecord>,
}

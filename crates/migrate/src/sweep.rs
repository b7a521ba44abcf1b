//! `parachute migrate [--list|--dry-run] [--yes]`: move known leftovers of older installs out of
//! the config home into `.archive-YYYY-MM-DD/`.
//!
//! Only names on an explicit list are ever moved (`daily.db*`, `server.yaml`, `channel.log`,
//! `channel.err`, `channel.start.sh`, `logs`, `tokens.db*`, the `lens` directory); everything
//! else that is not on the safelist is shown as unknown and left alone. Dotfiles are never
//! touched. Nothing is deleted: a same-day clash gets a `.dup-<epoch ms>` suffix.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use parachute_home::Home;
use parachute_unit::{UnitId, UnitState};

use crate::console::{Prompt, is_yes};
use crate::env::MigrateEnv;
use crate::error::MigrateError;
use crate::legacy::{self, RecordState};

/// Prefix of archive directories.
pub const ARCHIVE_PREFIX: &str = ".archive-";

/// Top-level names that belong to a current install and are never listed.
const SAFE_NAMES: &[&str] = &[
    "hub",
    "services.json",
    "expose-state.json",
    "cloudflared-state.json",
    "expose-last-provider.json",
    "hub-upgrade-status.json",
    "operator.token",
    "cloudflared.log",
    "hub.db",
    "hub.db-wal",
    "hub.db-shm",
    "well-known",
    "cloudflared",
];

/// How risky moving an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// A known leftover nothing reads any more.
    Safe,
    /// An SQLite file (`*.db`, `*.db-wal`, `*.db-shm`): the three are consistent only as a set,
    /// so moving them asks once more.
    LiveDb,
    /// Not recognised: never moved.
    Unknown,
}

/// One top-level entry of the home and what the sweep does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// Its name under the home.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// A directory (symlinks count as files: the link moves, never its target).
    pub is_dir: bool,
    /// Size in bytes (0 for entries that stay, and for symlinks).
    pub bytes: u64,
    /// What it is, for archivable entries.
    pub note: Option<&'static str>,
    /// How risky moving it is.
    pub risk: Risk,
    /// Whether the sweep moves it.
    pub archive: bool,
}

impl PlanItem {
    /// The tag printed before the name.
    pub fn tag(&self) -> &'static str {
        match (self.archive, self.risk) {
            (false, _) | (_, Risk::Unknown) => "[unknown — skipping]",
            (true, Risk::LiveDb) => "[live-db]",
            (true, Risk::Safe) => "[safe]",
        }
    }
}

/// Everything the sweep would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePlan {
    /// `.archive-YYYY-MM-DD` (UTC date).
    pub archive_dir_name: String,
    /// Its path under the home.
    pub archive_dir: PathBuf,
    /// Archivable entries first, then unknown ones; each group by name.
    pub items: Vec<PlanItem>,
    /// Bytes of the archivable entries.
    pub total_bytes: u64,
    /// Whether an archivable entry is an SQLite file.
    pub has_live_db: bool,
}

impl ArchivePlan {
    /// The entries that will move.
    pub fn archivable(&self) -> Vec<&PlanItem> {
        self.items.iter().filter(|i| i.archive).collect()
    }
}

fn cruft_note(name: &str) -> Option<&'static str> {
    if name == "daily.db" || name.starts_with("daily.db-") {
        Some("state of the retired parachute-daily")
    } else if name == "server.yaml" {
        Some("old server configuration")
    } else if name == "channel.log" || name == "channel.err" {
        Some("old channel logs")
    } else if name == "channel.start.sh" {
        Some("old channel launcher")
    } else if name == "logs" {
        Some("unused top-level logs directory")
    } else if name == "tokens.db" || name.starts_with("tokens.db-") {
        Some("old top-level token database")
    } else if name == "lens" {
        Some("directory of the short-lived Lens rename")
    } else {
        None
    }
}

fn is_sqlite_name(name: &str) -> bool {
    name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-shm")
}

/// Names never listed: the current install's files, first-party module directories and every
/// `services.json` module's directory.
pub fn safelist(home: &Home) -> Vec<String> {
    let mut names: Vec<String> = SAFE_NAMES.iter().map(|s| s.to_string()).collect();
    for (short, _) in parachute_home::CANONICAL_PORTS {
        names.push(short.to_string());
    }
    names.extend(legacy::module_targets(home).into_iter().map(|t| t.short));
    names
}

fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.file_type().is_symlink() {
        return 0;
    }
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum())
        .unwrap_or(0)
}

/// The `.archive-YYYY-MM-DD` name for `now` (UTC).
pub fn archive_dir_name(now: SystemTime) -> String {
    let date = chrono::DateTime::<chrono::Utc>::from(now).format("%Y-%m-%d");
    format!("{ARCHIVE_PREFIX}{date}")
}

/// Looks at the home's top level and decides what moves. Reads only.
pub fn plan_archive(home: &Home, now: SystemTime) -> Result<ArchivePlan, MigrateError> {
    let archive_dir_name = archive_dir_name(now);
    let mut plan = ArchivePlan {
        archive_dir: home.root().join(&archive_dir_name),
        archive_dir_name,
        items: Vec::new(),
        total_bytes: 0,
        has_live_db: false,
    };
    let entries = match std::fs::read_dir(home.root()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(plan),
        Err(e) => return Err(MigrateError::io("read", home.root(), e)),
    };
    let safe = safelist(home);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || safe.contains(&name) {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().ok();
        let is_link = file_type.is_some_and(|t| t.is_symlink());
        let is_dir = !is_link && file_type.is_some_and(|t| t.is_dir());
        let note = cruft_note(&name);
        let archive = note.is_some();
        let risk = match (archive, is_sqlite_name(&name)) {
            (false, _) => Risk::Unknown,
            (true, true) => Risk::LiveDb,
            (true, false) => Risk::Safe,
        };
        let bytes = if archive { size_of(&path) } else { 0 };
        plan.total_bytes += bytes;
        plan.has_live_db |= risk == Risk::LiveDb;
        plan.items.push(PlanItem {
            name,
            path,
            is_dir,
            bytes,
            note,
            risk,
            archive,
        });
    }
    plan.items
        .sort_by(|a, b| b.archive.cmp(&a.archive).then_with(|| a.name.cmp(&b.name)));
    Ok(plan)
}

/// `1.5 KB`-style sizes.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The plan as printed lines.
pub fn format_plan(plan: &ArchivePlan) -> Vec<String> {
    let archivable = plan.archivable();
    let unknown: Vec<&PlanItem> = plan.items.iter().filter(|i| !i.archive).collect();
    let mut lines = vec![format!(
        "To archive: {} ({}) into {}/",
        plural(archivable.len(), "item", "items"),
        format_bytes(plan.total_bytes),
        plan.archive_dir_name
    )];
    for item in &archivable {
        let slash = if item.is_dir { "/" } else { "" };
        let note = item.note.map(|n| format!(" — {n}")).unwrap_or_default();
        lines.push(format!(
            "  {} {}{slash} ({}){note}",
            item.tag(),
            item.name,
            format_bytes(item.bytes)
        ));
    }
    if !unknown.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Staying put: {} this command does not recognise (a module it does not know, or your own files; remove them yourself if you no longer need them):",
            plural(unknown.len(), "entry", "entries")
        ));
        for item in unknown {
            let slash = if item.is_dir { "/" } else { "" };
            lines.push(format!("  {} {}{slash}", item.tag(), item.name));
        }
    }
    lines
}

/// Which flavour of sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// Move the entries (after confirmation).
    Apply,
    /// `--list`: show the plan only.
    List,
    /// `--dry-run`: show the plan only.
    DryRun,
}

/// A parsed `migrate` sweep request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepRequest {
    /// Move or only show.
    pub mode: SweepMode,
    /// `--yes`: skip the questions (and allow running without a terminal).
    pub yes: bool,
}

/// What is running out of this home right now: the hub (legacy pid, an active unit, or a hub
/// answering `/health`) and every module whose legacy pid file names a live process.
pub fn running_services(env: &MigrateEnv) -> Vec<String> {
    let mut running = Vec::new();
    let hub_by_pid =
        legacy::hub_record(&env.home).is_some_and(|r| r.state() == RecordState::Running);
    let hub_by_unit = matches!(
        env.units.query_state(&UnitId::hub()),
        UnitState::Active | UnitState::Activating
    );
    if hub_by_pid || hub_by_unit || env.hub_healthy() {
        running.push("hub".to_string());
    }
    for target in legacy::module_targets(&env.home) {
        if running.contains(&target.short) {
            continue;
        }
        if legacy::module_record(&env.home, &target.short)
            .is_some_and(|r| r.state() == RecordState::Running)
        {
            running.push(target.short);
        }
    }
    running
}

/// Where `name` lands in the archive: `<dir>/<name>`, or `<name>.dup-<epoch ms>` when a sweep
/// earlier the same day already put something there.
pub fn destination(archive_dir: &Path, name: &str, now: SystemTime) -> PathBuf {
    let target = archive_dir.join(name);
    if std::fs::symlink_metadata(&target).is_err() {
        return target;
    }
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    archive_dir.join(format!("{name}.dup-{ms}"))
}

/// Moves every archivable entry of `plan`; returns how many moved.
pub fn apply(plan: &ArchivePlan, now: SystemTime) -> Result<usize, MigrateError> {
    parachute_home::create_private_dir_all(&plan.archive_dir)
        .map_err(|e| MigrateError::io("create", &plan.archive_dir, e))?;
    let mut moved = 0;
    for item in plan.archivable() {
        let dest = destination(&plan.archive_dir, &item.name, now);
        std::fs::rename(&item.path, &dest).map_err(|e| MigrateError::io("move", &item.path, e))?;
        tracing::info!(from = %item.path.display(), to = %dest.display(), "archived");
        moved += 1;
    }
    Ok(moved)
}

/// What the sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepOutcome {
    /// Modules or the hub run from this home; nothing was moved.
    RefusedWhileRunning {
        /// What runs.
        running: Vec<String>,
    },
    /// The home could not be read.
    Failed {
        /// Why.
        detail: String,
    },
    /// The home holds only what a current install uses.
    NothingToArchive,
    /// Nothing listed is something the sweep recognises.
    NothingRecognised,
    /// `--list` or `--dry-run`: the plan was shown, nothing changed.
    Shown,
    /// No terminal to confirm on and no `--yes`.
    NeedsConfirmation,
    /// The person said no.
    Aborted,
    /// Moved this many items into the archive directory.
    Archived {
        /// How many.
        count: usize,
        /// `.archive-YYYY-MM-DD`.
        dir: String,
    },
}

impl SweepOutcome {
    /// 0 when done or nothing needed doing, 1 when refused, aborted or failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::NothingToArchive
            | Self::NothingRecognised
            | Self::Shown
            | Self::Archived { .. } => 0,
            Self::RefusedWhileRunning { .. }
            | Self::Failed { .. }
            | Self::NeedsConfirmation
            | Self::Aborted => 1,
        }
    }
}

/// Runs the sweep, saying each step on `io`; returns what it did.
pub fn run_sweep(
    env: &MigrateEnv,
    request: SweepRequest,
    now: SystemTime,
    io: &mut dyn Prompt,
) -> SweepOutcome {
    let read_only = request.mode != SweepMode::Apply;
    if !read_only {
        let running = running_services(env);
        if !running.is_empty() {
            io.say(
                "parachute migrate: nothing was moved, because these are running from this home:",
            );
            for short in &running {
                io.say(&format!("  - {short}"));
            }
            io.say("");
            io.say("Stop them first (`parachute stop`), then run `parachute migrate` again.");
            io.say("To only look at what would move: `parachute migrate --list`.");
            return SweepOutcome::RefusedWhileRunning { running };
        }
    }
    let plan = match plan_archive(&env.home, now) {
        Ok(plan) => plan,
        Err(e) => {
            io.say(&format!("parachute migrate: {e}"));
            return SweepOutcome::Failed {
                detail: e.to_string(),
            };
        }
    };
    if plan.items.is_empty() {
        io.say(&format!(
            "Nothing to archive: {} holds only what a current install uses.",
            env.home.root().display()
        ));
        return SweepOutcome::NothingToArchive;
    }
    for line in format_plan(&plan) {
        io.say(&line);
    }
    if plan.archivable().is_empty() {
        io.say("");
        io.say("Nothing this command recognises needs archiving.");
        return SweepOutcome::NothingRecognised;
    }
    match request.mode {
        SweepMode::List => {
            io.say("");
            io.say("(--list: nothing was changed)");
            return SweepOutcome::Shown;
        }
        SweepMode::DryRun => {
            io.say("");
            io.say("(--dry-run: nothing was changed)");
            return SweepOutcome::Shown;
        }
        SweepMode::Apply => {}
    }
    if !request.yes {
        if !io.is_interactive() {
            io.say("");
            io.say("parachute migrate: not moving anything without a terminal to confirm on.");
            io.say("Run it in a terminal, or add `--yes` if you are sure. `parachute migrate --list` shows the plan.");
            return SweepOutcome::NeedsConfirmation;
        }
        if !is_yes(&io.ask("Move these into the archive? [y/N] ")) {
            io.say("Aborted; nothing was moved.");
            return SweepOutcome::Aborted;
        }
        if plan.has_live_db {
            io.say("");
            io.say("⚠ Some of these are SQLite files (*.db, *.db-wal, *.db-shm). They move together and");
            io.say(
                "  stay consistent, but any tool outside Parachute that reads them (a backup job,",
            );
            io.say("  say) will find them gone.");
            if !is_yes(&io.ask("Archive the SQLite files as well? [y/N] ")) {
                io.say("Aborted; nothing was moved.");
                return SweepOutcome::Aborted;
            }
        }
    }
    match apply(&plan, now) {
        Ok(n) => {
            io.say(&format!(
                "✓ Archived {} into {}/",
                plural(n, "item", "items"),
                plan.archive_dir_name
            ));
            SweepOutcome::Archived {
                count: n,
                dir: plan.archive_dir_name.clone(),
            }
        }
        Err(e) => {
            io.say(&format!("parachute migrate: {e}"));
            SweepOutcome::Failed {
                detail: e.to_string(),
            }
        }
    }
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;

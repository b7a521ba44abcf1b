//! Marking every process tree the hub starts, so none outlives its hub unnoticed.
//!
//! A module's own process group and its parent-death signal end the module with the hub, but
//! not a grandchild that the hub's SIGKILL left behind, nor a daemon that called `setsid`: such
//! a process keeps the module's port, and the next hub could not start the module. So every
//! spawn carries, in an inherited environment variable (which survives `setsid` and double
//! forks),
//!
//! ```text
//! PARACHUTE_SUPERVISOR_MARK=<home>:<hub pid>:<hub start time>:<spawn number>
//! ```
//!
//! where `<home>` names the `PARACHUTE_HOME` ([`HomeMark`]), the hub is identified by its pid
//! and start time (so a recycled pid is never taken for it), and the spawn number tells the
//! trees of one hub apart. Two uses:
//!
//! - at start, [`sweep_orphans`] stops the marked processes of **this** home whose hub is dead
//!   — never another home's, never a live hub's;
//! - when a module stops or exits, its marked processes that left its process group are
//!   stopped with it ([`stragglers`]).
//!
//! Reading other processes' environments needs `/proc` (Linux); elsewhere nothing is found.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use parachute_os::process;
use sha2::{Digest, Sha256};

/// The environment variable carrying the mark.
pub const MARK_VAR: &str = "PARACHUTE_SUPERVISOR_MARK";

/// How long marked orphans get between SIGTERM and SIGKILL in [`sweep_orphans`].
pub const SWEEP_GRACE: Duration = Duration::from_secs(5);

/// How often a stop checks whether the processes it signalled are gone.
const GONE_POLL: Duration = Duration::from_millis(25);

/// Names one `PARACHUTE_HOME` in marks: the first 16 hex digits of the SHA-256 of its
/// canonical path (the path as given when it cannot be canonicalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeMark(String);

impl HomeMark {
    /// The mark of the home at `home`.
    pub fn for_home(home: &Path) -> Self {
        let canonical = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self(hex)
    }

    /// The hash, as it appears in marks.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One hub process: its pid and start time (clock ticks after boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HubId {
    /// Its pid.
    pid: u32,
    /// When it started, so a recycled pid is told apart.
    start_ticks: u64,
}

impl HubId {
    /// This process.
    fn current() -> Self {
        static CURRENT: OnceLock<HubId> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            let pid = std::process::id();
            let start_ticks = process::stat(pid).map_or(0, |s| s.start_ticks);
            HubId { pid, start_ticks }
        })
    }

    fn is_alive(self) -> bool {
        process::is_same_alive(self.pid, self.start_ticks)
    }
}

/// A mark, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    /// The home's hash.
    home: String,
    /// The hub that spawned the tree.
    hub: HubId,
    /// Which of that hub's spawns.
    spawn: u64,
}

impl Mark {
    fn render(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.home, self.hub.pid, self.hub.start_ticks, self.spawn
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let home = parts.next()?.to_string();
        let pid = parts.next()?.parse().ok()?;
        let start_ticks = parts.next()?.parse().ok()?;
        let spawn = parts.next()?.parse().ok()?;
        if home.is_empty() || parts.next().is_some() {
            return None;
        }
        Some(Self {
            home,
            hub: HubId { pid, start_ticks },
            spawn,
        })
    }
}

/// The mark value for spawn number `spawn` of this hub in `home`.
pub(crate) fn spawn_mark(home: &HomeMark, spawn: u64) -> String {
    Mark {
        home: home.0.clone(),
        hub: HubId::current(),
        spawn,
    }
    .render()
}

/// A process found carrying a mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedProcess {
    /// Its pid.
    pub pid: u32,
    /// Its start time, so it is never confused with a later process on the same pid.
    pub start_ticks: u64,
    /// Its process group.
    pub pgrp: u32,
    /// Its command line, for reports.
    pub command: Option<String>,
}

/// The marked processes among `pids` whose mark satisfies `wanted`.
fn marked_among(pids: Vec<u32>, wanted: impl Fn(&Mark) -> bool) -> Vec<MarkedProcess> {
    let me = std::process::id();
    pids.into_iter()
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let stat = process::stat(pid).filter(|s| !s.has_exited())?;
            let mark = Mark::parse(&process::environ_var(pid, MARK_VAR)?)?;
            wanted(&mark).then(|| MarkedProcess {
                pid,
                start_ticks: stat.start_ticks,
                pgrp: stat.pgrp,
                command: process::command_line(pid),
            })
        })
        .collect()
}

/// What [`sweep_orphans`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Orphans that were stopped.
    pub stopped: Vec<MarkedProcess>,
    /// Orphans still alive after SIGKILL (not ours to signal, or stuck in the kernel).
    pub survived: Vec<MarkedProcess>,
}

/// Stops every process a dead hub of `home` left behind (see the module docs): SIGTERM, up to
/// [`SWEEP_GRACE`] to exit, then SIGKILL. Processes of another home or of a live hub are never
/// touched. Blocking; call it once at start, before booting the modules.
pub fn sweep_orphans(home: &HomeMark) -> SweepReport {
    sweep_orphans_with_grace(home, SWEEP_GRACE)
}

/// [`sweep_orphans`] with another grace period.
pub fn sweep_orphans_with_grace(home: &HomeMark, grace: Duration) -> SweepReport {
    let current = HubId::current();
    let orphans = marked_among(process::all_pids(), |mark| {
        mark.home == home.0 && mark.hub != current && !mark.hub.is_alive()
    });
    if orphans.is_empty() {
        return SweepReport::default();
    }
    for orphan in &orphans {
        tracing::warn!(
            pid = orphan.pid,
            command = orphan.command.as_deref().unwrap_or("?"),
            "stopping a process a previous hub of this home left behind"
        );
    }
    let survived = stop_processes(&orphans, Instant::now() + grace);
    let stopped = orphans
        .into_iter()
        .filter(|o| !survived.contains(o))
        .collect();
    SweepReport { stopped, survived }
}

/// The live processes of this hub's spawn `spawn` in `home` that left the process group
/// `pgrp` (a daemon that called `setsid`, a grandchild that moved to a group of its own).
pub(crate) fn stragglers(home: &HomeMark, spawn: u64, pgrp: u32) -> Vec<MarkedProcess> {
    let current = HubId::current();
    // In a subreaper (the hub), such processes stay descendants of this process even once
    // their parents are gone; elsewhere, or where the kernel cannot list children, look at
    // every process.
    let candidates = process::is_child_subreaper()
        .then(|| process::descendants(current.pid))
        .flatten()
        .unwrap_or_else(process::all_pids);
    marked_among(candidates, |mark| {
        mark.home == home.0 && mark.hub == current && mark.spawn == spawn
    })
    .into_iter()
    .filter(|p| p.pgrp != pgrp)
    .collect()
}

/// Sends `signal` to each of `procs` that is still the same process.
pub(crate) fn signal_all(procs: &[MarkedProcess], signal: Signal) {
    for p in procs {
        let _ = process::signal_if_same(p.pid, p.start_ticks, signal);
    }
}

/// SIGTERM to `procs`, wait until they are gone or `deadline`, SIGKILL the rest and give them
/// a moment to go. Returns those still alive after all that.
pub(crate) fn stop_processes(procs: &[MarkedProcess], deadline: Instant) -> Vec<MarkedProcess> {
    let alive = |p: &&MarkedProcess| process::is_same_alive(p.pid, p.start_ticks);
    signal_all(procs, Signal::SIGTERM);
    while procs.iter().any(|p| alive(&p)) && Instant::now() < deadline {
        std::thread::sleep(GONE_POLL);
    }
    let left: Vec<MarkedProcess> = procs.iter().filter(alive).cloned().collect();
    if left.is_empty() {
        return left;
    }
    signal_all(&left, Signal::SIGKILL);
    let settle = Instant::now() + Duration::from_secs(2);
    while left.iter().any(|p| alive(&p)) && Instant::now() < settle {
        std::thread::sleep(GONE_POLL);
    }
    left.into_iter().filter(|p| alive(&p)).collect()
}

#[cfg(test)]
#[path = "mark_tests.rs"]
mod tests;

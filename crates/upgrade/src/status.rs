//! `hub-upgrade-status.json`: the single-slot record of the last hub upgrade.
//!
//! The file outlives the hub it describes (the hub is restarted half-way through), so it is
//! what every observer reads: the CLI, the hub's `GET /api/hub/upgrade/status` (the original's
//! keys, so its dashboard reads it), and the next upgrade, which must know whether one is
//! still in flight. Mode 0600, written atomically, under an exclusive `flock` of
//! `.hub-upgrade.lock` for every read-modify-write.
//!
//! Phases move forward only:
//!
//! ```text
//! pending → downloading → verifying → swapping → restarting → succeeded | rolled-back
//!    └──────────┴─────────────┴───────────┴───────────┴──────→ failed
//! swapping → succeeded   (no unit: the binary is swapped, the person restarts the hub)
//! ```
//!
//! An operation that is not in a terminal phase holds the *in-flight lock*: a second upgrade
//! is refused until it ends, or until `lock_expires_at` passes without progress (every write
//! renews it), or its upgrader is gone — then the next observer resolves it
//! ([`crate::resolve`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use parachute_home::Home;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::UpgradeError;
use crate::version::Channel;

/// Where an upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Accepted; the upgrader has not started downloading.
    Pending,
    /// The original hub's word for "the helper is working" (read, never written by us).
    Running,
    /// Fetching the binary.
    Downloading,
    /// Checking size, hash and signature, and that the new binary runs.
    Verifying,
    /// Keeping the previous binary and putting the new one in place.
    Swapping,
    /// Restarting the hub unit and waiting for the new hub to prove itself.
    Restarting,
    /// Done: the new version answers (or, without a unit, is in place for the next start).
    Succeeded,
    /// Stopped without changing the running hub; see `error`.
    Failed,
    /// The new hub did not prove itself; the previous binary was put back and restarted.
    RolledBack,
    /// This install cannot be upgraded in place (package-managed, read-only, container).
    RedeployRequired,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 10] = [
        Phase::Pending,
        Phase::Running,
        Phase::Downloading,
        Phase::Verifying,
        Phase::Swapping,
        Phase::Restarting,
        Phase::Succeeded,
        Phase::Failed,
        Phase::RolledBack,
        Phase::RedeployRequired,
    ];

    /// The word in the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Downloading => "downloading",
            Phase::Verifying => "verifying",
            Phase::Swapping => "swapping",
            Phase::Restarting => "restarting",
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
            Phase::RolledBack => "rolled-back",
            Phase::RedeployRequired => "redeploy-required",
        }
    }

    /// The phase named `text`.
    pub fn parse(text: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == text.trim())
    }

    /// True once nothing more will happen to the operation.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Succeeded | Phase::Failed | Phase::RolledBack | Phase::RedeployRequired
        )
    }

    fn rank(self) -> u8 {
        match self {
            Phase::Pending => 0,
            Phase::Running | Phase::Downloading => 1,
            Phase::Verifying => 2,
            Phase::Swapping => 3,
            Phase::Restarting => 4,
            _ => 5,
        }
    }

    /// Whether an operation may move from `self` to `next`.
    pub fn may_advance_to(self, next: Phase) -> bool {
        if self.is_terminal() {
            return false;
        }
        match next {
            Phase::Failed => true,
            Phase::Succeeded => matches!(self, Phase::Swapping | Phase::Restarting),
            Phase::RolledBack => matches!(self, Phase::Swapping | Phase::Restarting),
            Phase::RedeployRequired | Phase::Running => false,
            _ => next.rank() == self.rank() + 1,
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the binary is replaced in place or must come from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The binary is replaced where it is.
    InPlace,
    /// The package manager or image that installed it must deliver the new version.
    RedeployRequired,
}

/// How the new binary gets to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartKind {
    /// The hub unit is restarted through its manager, then health-gated (rollback promised).
    Unit,
    /// No unit: the person who started the hub restarts it.
    Manual,
}

/// The process doing an upgrade, told apart from a later process with the same pid by its
/// start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrader {
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks after boot (Linux; 0 where unknown).
    pub start_ticks: u64,
}

impl Upgrader {
    /// This process.
    pub fn this_process() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start_ticks: parachute_os::process::stat(pid)
                .map(|s| s.start_ticks)
                .unwrap_or(0),
        }
    }

    /// True while that very process still runs.
    pub fn is_alive(&self) -> bool {
        if !parachute_os::process::is_alive(self.pid) {
            return false;
        }
        match parachute_os::process::stat(self.pid) {
            Some(stat) if self.start_ticks != 0 => stat.start_ticks == self.start_ticks,
            _ => true,
        }
    }
}

/// The status file's content: the original's keys, then ours. Unknown keys are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeStatus {
    /// Random id of the operation.
    pub operation_id: String,
    /// Where it is.
    pub phase: Phase,
    /// In place or redeploy.
    pub mode: Mode,
    /// The version running when it started.
    pub current_version: String,
    /// The version it installs (`null` when unknown).
    pub target_version: Option<String>,
    /// The channel it follows.
    pub channel: Channel,
    /// Progress lines for a person, oldest first.
    #[serde(default)]
    pub log: Vec<String>,
    /// Why it failed or rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was accepted (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Bytes downloaded so far.
    #[serde(default)]
    pub bytes_done: u64,
    /// Bytes to download (0 until known).
    #[serde(default)]
    pub bytes_total: u64,
    /// Where the previous binary is kept once the swap began.
    #[serde(default)]
    pub previous_binary: Option<String>,
    /// One sentence on how it ended (or what to do next).
    #[serde(default)]
    pub reason: Option<String>,
    /// The binary being replaced.
    #[serde(default)]
    pub binary: Option<String>,
    /// sha256 of the new binary, once verified.
    #[serde(default)]
    pub target_sha256: Option<String>,
    /// How the new binary gets to run.
    #[serde(default)]
    pub restart: Option<RestartKind>,
    /// The port the hub answers on (the health gate's, and a resolver's when `hub.port` is
    /// gone with a hub that never came up).
    #[serde(default)]
    pub hub_port: Option<u16>,
    /// The command that upgrades a redeploy-required install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy_command: Option<String>,
    /// Who is doing it (absent until a detached helper checks in).
    #[serde(default)]
    pub upgrader: Option<Upgrader>,
    /// When the in-flight lock lapses without progress.
    #[serde(default)]
    pub lock_expires_at: Option<String>,
    /// Keys we do not know (a newer or the original hub's), kept on rewrite.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The current time as the status file stamps it.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a stamp of the status file.
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl UpgradeStatus {
    /// True while the operation has not ended.
    pub fn in_flight(&self) -> bool {
        !self.phase.is_terminal()
    }

    /// Moves to `next`, recording a log line; a move the state machine forbids is refused.
    pub fn advance(&mut self, next: Phase, line: impl Into<String>) -> Result<(), UpgradeError> {
        if !self.phase.may_advance_to(next) {
            return Err(UpgradeError::Superseded {
                operation_id: self.operation_id.clone(),
                detail: format!("it is {}, so it cannot move to {next}", self.phase),
            });
        }
        self.phase = next;
        self.log.push(line.into());
        if next.is_terminal() {
            self.finished_at = Some(now_iso());
            self.lock_expires_at = None;
        }
        Ok(())
    }

    /// Ends the operation as `phase` (`failed`, `rolled-back`, `succeeded`) with `reason`.
    pub fn finish(&mut self, phase: Phase, reason: impl Into<String>) -> Result<(), UpgradeError> {
        let reason = reason.into();
        self.advance(phase, reason.clone())?;
        if phase != Phase::Succeeded {
            self.error = Some(reason.clone());
        }
        self.reason = Some(reason);
        Ok(())
    }

    /// Renews the in-flight lock for `ttl` from now.
    pub fn renew_lock(&mut self, ttl: std::time::Duration) {
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
        self.lock_expires_at = Some(expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

/// Reads and writes the status file of one home.
#[derive(Debug, Clone)]
pub struct StatusStore {
    /// `hub-upgrade-status.json`.
    path: PathBuf,
    /// `.hub-upgrade.lock`, held with `flock` around every read-modify-write.
    lock_path: PathBuf,
}

/// Holds the store's cross-process lock until dropped.
pub struct StoreLock {
    /// The locked file (the lock goes with the descriptor).
    _file: File,
}

impl StatusStore {
    /// The store of `home`.
    pub fn for_home(home: &Home) -> Self {
        Self {
            path: home.hub_upgrade_status(),
            lock_path: home.root().join(".hub-upgrade.lock"),
        }
    }

    /// The status file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the cross-process lock (blocks while another process holds it; holders keep it
    /// for one read-modify-write or one file swap).
    pub fn lock(&self) -> Result<StoreLock, UpgradeError> {
        if let Some(dir) = self.lock_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| UpgradeError::io("create", dir, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| UpgradeError::io("open", &self.lock_path, e))?;
        file.lock()
            .map_err(|e| UpgradeError::io("lock", &self.lock_path, e))?;
        Ok(StoreLock { _file: file })
    }

    /// The status, `None` when there has been no upgrade. A file that is not a status is an
    /// error naming it (never silently replaced).
    pub fn read(&self) -> Result<Option<UpgradeStatus>, UpgradeError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(UpgradeError::io("read", &self.path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| UpgradeError::StatusUnreadable {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }

    /// Writes the status atomically, mode 0600.
    pub fn write(&self, status: &UpgradeStatus) -> Result<(), UpgradeError> {
        let mut text = serde_json::to_string_pretty(status).expect("status serialises");
        text.push('\n');
        parachute_home::write_atomic(&self.path, text.as_bytes(), Some(0o600))
            .map_err(|e| UpgradeError::io("write", &self.path, e))
    }

    /// Under the lock: reads the status of `operation_id`, lets `change` modify it and writes
    /// it back. Fails with [`UpgradeError::Superseded`] when the file holds another operation
    /// or this one already ended (someone resolved it), so a stale upgrader never overwrites
    /// a newer record.
    pub fn update<T>(
        &self,
        operation_id: &str,
        change: impl FnOnce(&mut UpgradeStatus) -> Result<T, UpgradeError>,
    ) -> Result<(T, UpgradeStatus), UpgradeError> {
        let _guard = self.lock()?;
        let mut status = self.read()?.ok_or_else(|| UpgradeError::Superseded {
            operation_id: operation_id.to_string(),
            detail: format!("{} is gone", self.path.display()),
        })?;
        if status.operation_id != operation_id {
            return Err(UpgradeError::Superseded {
                operation_id: operation_id.to_string(),
                detail: format!("operation {} took its place", status.operation_id),
            });
        }
        if !status.in_flight() {
            return Err(UpgradeError::Superseded {
                operation_id: operation_id.to_string(),
                detail: format!(
                    "it already ended as {}{}",
                    status.phase,
                    status
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            });
        }
        let out = change(&mut status)?;
        self.write(&status)?;
        Ok((out, status))
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;

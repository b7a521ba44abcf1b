//! Finishing an upgrade whose upgrader is gone (killed, crashed, machine rebooted) or whose
//! lock expired without progress, so a dead upgrader never blocks the next one and the status
//! always says what happened.
//!
//! The next observer ([`crate::Upgrader::status`], [`crate::Upgrader::start_upgrade`]) looks
//! at the binary and the hub and ends the operation by its phase:
//!
//! | phase when it stopped | what is done | ends as |
//! |---|---|---|
//! | pending, downloading, verifying | the partial download is removed | `failed`, nothing changed |
//! | swapping | a swapped binary is put back (the hub was not restarted) | `failed` |
//! | restarting, hub answers the new version and booted | nothing | `succeeded` |
//! | restarting, hub answers the old version | the binary is put back | `failed` |
//! | restarting, otherwise | outside the hub: roll back (restore, restart, wait) | `rolled-back` |
//! |  | inside the hub (it must not restart itself) | `failed`, with the way back |
//!
//! The slow cases (a probe, a rollback) first take the operation over (this process becomes
//! its upgrader, lock renewed), so nobody else resolves it at the same time.

use crate::Upgrader;
use crate::error::UpgradeError;
use crate::gate;
use crate::progress::NoProgress;
use crate::status::{Phase, RestartKind, UpgradeStatus, Upgrader as Owner, parse_time};
use crate::swap;

/// How long an operation without `lock_expires_at` (one the original hub wrote) may stay in
/// flight.
const LEGACY_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// The in-flight error for `status`.
pub fn in_flight_error(status: &UpgradeStatus) -> UpgradeError {
    UpgradeError::InFlight {
        operation_id: status.operation_id.clone(),
        phase: status.phase.to_string(),
        expires_at: status
            .lock_expires_at
            .clone()
            .unwrap_or_else(|| "(15 minutes after it started)".into()),
    }
}

/// Why an in-flight `status` counts as dead, if it does. `alive` tells whether a recorded
/// upgrader still runs.
pub fn stale_reason(
    status: &UpgradeStatus,
    now: chrono::DateTime<chrono::Utc>,
    checkin: std::time::Duration,
    alive: impl Fn(&Owner) -> bool,
) -> Option<String> {
    if !status.in_flight() {
        return None;
    }
    if let Some(owner) = &status.upgrader
        && !alive(owner)
    {
        return Some(format!("its upgrader (pid {}) is gone", owner.pid));
    }
    let started = parse_time(&status.started_at);
    let expires = match &status.lock_expires_at {
        Some(t) => parse_time(t),
        None => started.map(|s| s + LEGACY_TTL),
    };
    if let Some(expires) = expires
        && now > expires
    {
        return Some(format!(
            "its lock expired at {} without progress",
            expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    let checkin = chrono::Duration::from_std(checkin).unwrap_or(chrono::Duration::minutes(1));
    if status.upgrader.is_none()
        && status.phase == Phase::Pending
        && started.is_some_and(|s| now > s + checkin)
    {
        return Some("its upgrade helper never started".into());
    }
    None
}

/// What the quick, locked pass decided.
enum Plan {
    /// Nothing in flight, or in flight and alive: this is the status.
    Current(Option<UpgradeStatus>),
    /// Taken over; probe the hub and finish (`why` says why it was stale).
    Probe { status: UpgradeStatus, why: String },
}

/// Reads the status and resolves it if it is stale; returns what the file says afterwards.
pub(crate) async fn resolve_stale(up: &Upgrader) -> Result<Option<UpgradeStatus>, UpgradeError> {
    match plan(up)? {
        Plan::Current(status) => Ok(status),
        Plan::Probe { status, why } => finish_restarting(up, status, &why).await.map(Some),
    }
}

/// Resolves a stale operation, then refuses if one is still (really) in flight.
pub(crate) async fn refuse_in_flight(up: &Upgrader) -> Result<(), UpgradeError> {
    match resolve_stale(up).await? {
        Some(s) if s.in_flight() => Err(in_flight_error(&s)),
        _ => Ok(()),
    }
}

fn plan(up: &Upgrader) -> Result<Plan, UpgradeError> {
    let _guard = up.store.lock()?;
    let Some(mut status) = up.store.read()? else {
        return Ok(Plan::Current(None));
    };
    let Some(why) = stale_reason(
        &status,
        chrono::Utc::now(),
        up.config.checkin_timeout,
        Owner::is_alive,
    ) else {
        return Ok(Plan::Current(Some(status)));
    };
    tracing::warn!(operation = %status.operation_id, phase = %status.phase, %why, "resolving a dead hub upgrade");
    let binary = status
        .binary
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| up.config.binary.clone());
    let _ = std::fs::remove_file(swap::download_path(&binary, &status.operation_id));
    let phase = status.phase;
    let reason = match phase {
        Phase::Swapping => {
            if swapped(&status, &binary) && swap::restore_previous(&binary).is_ok() {
                format!(
                    "the upgrade stopped while swapping ({why}); the previous binary was put back and the hub was not restarted"
                )
            } else {
                format!(
                    "the upgrade stopped while swapping ({why}); the binary was not replaced and the hub was not restarted"
                )
            }
        }
        Phase::Restarting if status.restart != Some(RestartKind::Manual) => {
            status.upgrader = Some(Owner::this_process());
            status.renew_lock(up.config.lock_ttl);
            status.log.push(format!(
                "resolving: the upgrade stopped while restarting ({why})"
            ));
            up.store.write(&status)?;
            return Ok(Plan::Probe { status, why });
        }
        _ => format!("the upgrade stopped while {phase} ({why}); nothing was changed"),
    };
    status.finish(Phase::Failed, reason)?;
    up.store.write(&status)?;
    Ok(Plan::Current(Some(status)))
}

/// True when the binary at `binary` is the upgrade's new one.
fn swapped(status: &UpgradeStatus, binary: &std::path::Path) -> bool {
    match (&status.target_sha256, swap::sha256_file(binary)) {
        (Some(target), Ok(found)) => target.eq_ignore_ascii_case(&found),
        _ => false,
    }
}

/// The slow cases of a dead `restarting` operation (this process owns it now).
async fn finish_restarting(
    up: &Upgrader,
    status: UpgradeStatus,
    why: &str,
) -> Result<UpgradeStatus, UpgradeError> {
    let op = status.operation_id.clone();
    let binary = up.config.binary.clone();
    let port = status.hub_port.unwrap_or(up.config.hub_port);
    let seen = gate::observe(port).await;
    let target = status.target_version.clone();
    let done = |phase: Phase, reason: String| {
        up.store
            .update(&op, |s| s.finish(phase, reason))
            .map(|(_, s)| s)
    };
    let new_answers = match &target {
        Some(t) => seen.is_ready(t),
        None => seen.booting == Some(false),
    };
    if new_answers {
        return done(
            Phase::Succeeded,
            format!(
                "{} after the upgrader stopped ({why}); it has finished booting",
                seen.describe()
            ),
        );
    }
    let is_new = swapped(&status, &binary);
    if seen.version.as_deref() == Some(status.current_version.as_str()) && is_new {
        let restored = swap::restore_previous(&binary).is_ok();
        return done(
            Phase::Failed,
            format!(
                "the upgrade stopped before the hub was restarted ({why}); the hub still runs {}{}",
                status.current_version,
                if restored {
                    " and the previous binary was put back"
                } else {
                    ""
                }
            ),
        );
    }
    if up.may_restart_hub && is_new && swap::previous_path(&binary).exists() {
        let reason = format!(
            "the upgrade stopped while the new hub was not ready ({why}; {})",
            seen.describe()
        );
        let stop = up.roll_back(&op, port, &reason, &NoProgress).await;
        return done(stop.phase, stop.reason);
    }
    done(
        Phase::Failed,
        format!(
            "the upgrade stopped during the health gate ({why}); {}. {} holds {}; to go back: mv {} {} && parachute restart",
            seen.describe(),
            binary.display(),
            target.as_deref().unwrap_or("the new version"),
            swap::previous_path(&binary).display(),
            binary.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Mode, now_iso};
    use crate::version::Channel;
    use std::time::Duration;

    fn status(phase: Phase) -> UpgradeStatus {
        let mut s = UpgradeStatus {
            operation_id: "op".into(),
            phase,
            mode: Mode::InPlace,
            current_version: "0.1.0".into(),
            target_version: Some("0.2.0".into()),
            channel: Channel::Latest,
            log: vec![],
            error: None,
            started_at: now_iso(),
            finished_at: None,
            bytes_done: 0,
            bytes_total: 0,
            previous_binary: None,
            reason: None,
            binary: None,
            target_sha256: None,
            restart: Some(RestartKind::Unit),
            hub_port: None,
            redeploy_command: None,
            upgrader: Some(Owner {
                pid: 42,
                start_ticks: 7,
            }),
            lock_expires_at: None,
            other: Default::default(),
        };
        s.renew_lock(Duration::from_secs(60));
        s
    }

    const CHECKIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_live_upgrader_inside_its_lock_is_in_flight() {
        let s = status(Phase::Downloading);
        assert_eq!(
            stale_reason(&s, chrono::Utc::now(), CHECKIN, |_| true),
            None
        );
    }

    #[test]
    fn a_dead_upgrader_is_stale_at_once() {
        let s = status(Phase::Verifying);
        let why = stale_reason(&s, chrono::Utc::now(), CHECKIN, |_| false).unwrap();
        assert!(why.contains("(pid 42) is gone"), "{why}");
    }

    #[test]
    fn the_lock_expires_without_progress_even_with_a_live_upgrader() {
        let s = status(Phase::Downloading);
        let later = chrono::Utc::now() + chrono::Duration::seconds(61);
        let why = stale_reason(&s, later, CHECKIN, |_| true).unwrap();
        assert!(why.contains("lock expired"), "{why}");
    }

    #[test]
    fn a_helper_that_never_checked_in_is_stale_after_the_checkin_time() {
        let mut s = status(Phase::Pending);
        s.upgrader = None;
        let now = chrono::Utc::now();
        assert_eq!(stale_reason(&s, now, CHECKIN, |_| true), None);
        let why = stale_reason(
            &s,
            now + chrono::Duration::seconds(61),
            Duration::from_secs(60),
            |_| true,
        );
        // The 60 s lock lapses at the same moment; either reason is right, one must be given.
        assert!(why.is_some());
        let why = stale_reason(
            &s,
            now + chrono::Duration::seconds(30),
            Duration::from_secs(10),
            |_| true,
        )
        .unwrap();
        assert!(why.contains("never started"), "{why}");
    }

    #[test]
    fn an_original_hub_status_stuck_in_restarting_expires_after_fifteen_minutes() {
        let mut s = status(Phase::Restarting);
        s.upgrader = None;
        s.lock_expires_at = None;
        s.started_at = (chrono::Utc::now() - chrono::Duration::minutes(16))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let why = stale_reason(&s, chrono::Utc::now(), CHECKIN, |_| true).unwrap();
        assert!(why.contains("lock expired"), "{why}");
        let ended = status(Phase::Failed);
        assert_eq!(
            stale_reason(&ended, chrono::Utc::now(), CHECKIN, |_| false),
            None
        );
    }
}

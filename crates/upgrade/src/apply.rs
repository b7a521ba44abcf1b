//! Running an accepted upgrade, phase by phase.
//!
//! Steps: check in (record this process as the upgrader) → re-fetch and re-verify the feed
//! (the status file is not trusted for what to install) and require the accepted version →
//! `downloading` beside the binary (size limit, sha256 and signature while the bytes arrive) →
//! `verifying` (the checks' verdicts, then the new binary must run and name its version) →
//! `swapping` (keep `<binary>.previous`, one rename) → without a unit: `succeeded`, restart by
//! hand → `restarting`: one restart through the manager, then the health gate → `succeeded`,
//! or roll back: the previous binary back, a second restart, wait for the old version →
//! `rolled-back`. Every status write renews the in-flight lock; a write that finds another
//! operation (or this one resolved by someone else) stops the run without touching anything.

use std::path::Path;
use std::time::{Duration, Instant};

use parachute_unit::{OpOutcome, UnitId};

use crate::Upgrader;
use crate::error::UpgradeError;
use crate::feed::Release;
use crate::fetch::{self, FeedRequest};
use crate::gate;
use crate::progress::{Progress, ProgressSink};
use crate::status::{Phase, RestartKind, UpgradeStatus, Upgrader as Owner};
use crate::swap;

/// How often download progress is written to the status file at most.
const PROGRESS_WRITE_EVERY: Duration = Duration::from_millis(250);

/// A step that ended the run: the phase to end in and why.
pub(crate) struct Stop {
    /// `failed` or `rolled-back`.
    pub(crate) phase: Phase,
    /// For a person.
    pub(crate) reason: String,
}

impl Stop {
    fn failed(reason: impl Into<String>) -> Self {
        Self {
            phase: Phase::Failed,
            reason: reason.into(),
        }
    }
}

impl Upgrader {
    /// Runs operation `operation_id` (written `pending` by [`Upgrader::begin`] or
    /// [`Upgrader::start_upgrade`]) to its end and returns the final status. Problems with
    /// the download or the new hub end the operation (`failed`, `rolled-back`) and are in the
    /// returned status; `Err` means the operation could not be run or recorded at all.
    pub async fn apply(
        &self,
        operation_id: &str,
        sink: &dyn ProgressSink,
    ) -> Result<UpgradeStatus, UpgradeError> {
        let me = Owner::this_process();
        let ttl = self.config.lock_ttl;
        let (_, status) = self.store.update(operation_id, |s| {
            if s.phase != Phase::Pending {
                return Err(UpgradeError::Superseded {
                    operation_id: operation_id.to_string(),
                    detail: format!("it is already {}", s.phase),
                });
            }
            s.upgrader = Some(me);
            s.renew_lock(ttl);
            s.log.push(format!("upgrader started (pid {})", me.pid));
            Ok(())
        })?;
        self.hold(Phase::Pending).await;
        let download = swap::download_path(&self.config.binary, operation_id);
        let outcome = self.run(&status, &download, sink).await;
        let _ = std::fs::remove_file(&download);
        match outcome {
            Ok(done) => Ok(done),
            Err(Ok(stop)) => {
                sink.report(&Progress::Log(stop.reason.clone()));
                let (_, s) = self
                    .store
                    .update(operation_id, |s| s.finish(stop.phase, stop.reason.clone()))?;
                Ok(s)
            }
            Err(Err(e)) => Err(e),
        }
    }

    /// The phases; `Err(Ok(stop))` ends the operation as `stop` says, `Err(Err(e))` means it
    /// was taken away from us.
    async fn run(
        &self,
        status: &UpgradeStatus,
        download: &Path,
        sink: &dyn ProgressSink,
    ) -> Result<UpgradeStatus, Result<Stop, UpgradeError>> {
        let op = status.operation_id.as_str();
        let target = status.target_version.clone().unwrap_or_default();
        let release = self.verified_release(status).await.map_err(Ok)?;
        let artifact = release.artifact().clone();
        self.enter(op, Phase::Downloading, sink, |s| {
            s.bytes_total = artifact.size;
            format!(
                "downloading {target} for {} ({} bytes) from {}",
                release.platform, artifact.size, artifact.url
            )
        })
        .await?;
        let sha = self.download(op, &artifact, download, sink).await?;
        self.enter(op, Phase::Verifying, sink, |s| {
            s.target_sha256 = Some(sha.clone());
            "size, sha256 and signature verified; checking that the new binary runs".to_string()
        })
        .await?;
        self.runs_as(download, &target)
            .map_err(|r| Ok(Stop::failed(r)))?;
        self.enter(op, Phase::Swapping, sink, |_| {
            format!(
                "keeping the previous binary and putting {target} in place at {}",
                self.config.binary.display()
            )
        })
        .await?;
        self.swap(op, download)?;
        if status.restart != Some(RestartKind::Unit) {
            let reason = format!(
                "{target} is in place at {}; no hub unit is installed, so a hub started by hand keeps running {} until you restart it (stop it and run `parachute serve` again)",
                self.config.binary.display(),
                self.config.current_version
            );
            return self.end(op, Phase::Succeeded, reason, sink);
        }
        self.enter(op, Phase::Restarting, sink, |_| {
            "restarting the hub unit through the service manager".to_string()
        })
        .await?;
        let port = status.hub_port.unwrap_or(self.config.hub_port);
        let reason = match self.restart_hub().await {
            Err(detail) => format!("the service manager could not restart the hub ({detail})"),
            Ok(()) => match self.gate(op, port, &target, sink).await {
                Ok(seen) => {
                    let reason = format!("{}; it has finished booting", seen.describe());
                    return self.end(op, Phase::Succeeded, reason, sink);
                }
                Err(seen) => format!(
                    "the new hub did not become ready within {}s: {}",
                    self.config.gate_timeout.as_secs(),
                    seen.describe()
                ),
            },
        };
        sink.report(&Progress::Log(reason.clone()));
        Err(Ok(self.roll_back(op, port, &reason, sink).await))
    }

    async fn verified_release(&self, status: &UpgradeStatus) -> Result<Release, Stop> {
        let req = FeedRequest {
            feed_url: &self.config.feed_url,
            key: &self.key,
            channel: status.channel,
            platform: &self.config.platform,
            max_size: self.config.max_download_bytes,
        };
        let release = fetch::fetch_release(&self.http, &self.config.home, req)
            .await
            .map_err(|e| Stop::failed(format!("{e}; nothing was changed")))?;
        if status.target_version.as_deref() != Some(release.version()) {
            return Err(Stop::failed(format!(
                "the feed now offers {} instead of the accepted {}; nothing was changed, start the upgrade again",
                release.version(),
                status.target_version.as_deref().unwrap_or("?")
            )));
        }
        Ok(release)
    }

    /// Records `phase` (renewing the lock), reports it, and pauses if a hold asks to.
    async fn enter(
        &self,
        op: &str,
        phase: Phase,
        sink: &dyn ProgressSink,
        describe: impl FnOnce(&mut UpgradeStatus) -> String,
    ) -> Result<(), Result<Stop, UpgradeError>> {
        let ttl = self.config.lock_ttl;
        let (message, _) = self
            .store
            .update(op, |s| {
                let message = describe(s);
                s.advance(phase, message.clone())?;
                s.renew_lock(ttl);
                Ok(message)
            })
            .map_err(Err)?;
        sink.report(&Progress::Phase { phase, message });
        self.hold(phase).await;
        Ok(())
    }

    async fn hold(&self, phase: Phase) {
        if let Some(hold) = self.config.hold.filter(|h| h.phase == phase) {
            tracing::warn!(%phase, secs = hold.duration.as_secs_f32(), "holding (PARACHUTE_UPGRADE_HOLD)");
            tokio::time::sleep(hold.duration).await;
        }
    }

    fn end(
        &self,
        op: &str,
        phase: Phase,
        reason: String,
        sink: &dyn ProgressSink,
    ) -> Result<UpgradeStatus, Result<Stop, UpgradeError>> {
        let (_, s) = self
            .store
            .update(op, |s| s.finish(phase, reason.clone()))
            .map_err(Err)?;
        sink.report(&Progress::Phase {
            phase,
            message: reason,
        });
        Ok(s)
    }

    async fn download(
        &self,
        op: &str,
        artifact: &crate::feed::Artifact,
        dest: &Path,
        sink: &dyn ProgressSink,
    ) -> Result<String, Result<Stop, UpgradeError>> {
        let mut last_write = Instant::now();
        let mut lost: Option<UpgradeError> = None;
        let ttl = self.config.lock_ttl;
        let result = fetch::download(&self.http, artifact, &self.key, dest, |done, total| {
            sink.report(&Progress::Bytes { done, total });
            if lost.is_none() && (last_write.elapsed() >= PROGRESS_WRITE_EVERY || done == total) {
                last_write = Instant::now();
                if let Err(e) = self.store.update(op, |s| {
                    s.bytes_done = done;
                    s.renew_lock(ttl);
                    Ok(())
                }) {
                    lost = Some(e);
                }
            }
            lost.is_none()
        })
        .await;
        if let Some(e) = lost {
            return Err(Err(e));
        }
        result.map_err(|e| Ok(Stop::failed(format!("{e}; nothing was changed"))))
    }

    /// The new binary must run here and name the version it is meant to be.
    fn runs_as(&self, download: &Path, target: &str) -> Result<(), String> {
        let program = download.display().to_string();
        let out = self
            .runner
            .run_with_timeout(&program, &["--version"], Duration::from_secs(30))
            .map_err(|e| format!("the new binary does not run here ({e}); nothing was changed"))?;
        let names_target = out
            .stdout
            .split_whitespace()
            .any(|w| w == target || w.strip_prefix('v') == Some(target));
        if out.success() && names_target {
            return Ok(());
        }
        Err(format!(
            "the new binary's `--version` said {:?}, not {target}; nothing was changed",
            out.stdout.trim()
        ))
    }

    /// Keeps the previous binary and renames the download over the binary, under the status
    /// lock so a resolver never sees half of it.
    fn swap(&self, op: &str, download: &Path) -> Result<(), Result<Stop, UpgradeError>> {
        let binary = self.config.binary.clone();
        let ttl = self.config.lock_ttl;
        let outcome = self.store.update(op, |s| {
            let previous = match swap::keep_previous(&binary) {
                Ok(p) => p,
                Err(e) => {
                    return Ok(Err(format!(
                        "could not keep the previous binary ({e}); nothing was changed"
                    )));
                }
            };
            s.previous_binary = Some(previous.display().to_string());
            if let Err(e) = swap::install(download, &binary) {
                return Ok(Err(format!(
                    "could not put the new binary in place ({e}); nothing was changed"
                )));
            }
            s.log
                .push(format!("previous binary kept at {}", previous.display()));
            s.renew_lock(ttl);
            Ok(Ok(()))
        });
        match outcome {
            Ok((Ok(()), _)) => Ok(()),
            Ok((Err(reason), _)) => Err(Ok(Stop::failed(reason))),
            Err(e) => Err(Err(e)),
        }
    }

    /// One restart of the hub unit through its manager.
    pub(crate) async fn restart_hub(&self) -> Result<(), String> {
        let units = self.units.clone();
        let outcome = tokio::task::spawn_blocking(move || units.restart(&UnitId::hub()))
            .await
            .map_err(|e| e.to_string())?;
        match outcome {
            OpOutcome::Ok => Ok(()),
            other => Err(other.message().unwrap_or_else(|| format!("{other:?}"))),
        }
    }

    async fn gate(
        &self,
        op: &str,
        port: u16,
        target: &str,
        sink: &dyn ProgressSink,
    ) -> Result<gate::Observation, gate::Observation> {
        let ttl = self.config.lock_ttl;
        gate::wait_ready(port, target, self.config.gate_timeout, |seen| {
            sink.report(&Progress::Log(format!("waiting: {}", seen.describe())));
            let _ = self.store.update(op, |s| {
                s.renew_lock(ttl);
                Ok(())
            });
        })
        .await
    }

    /// Puts the previous binary back, restarts the hub and waits for the old version; the
    /// stop to record (`rolled-back`, or `failed` when even the previous binary is missing).
    pub(crate) async fn roll_back(
        &self,
        op: &str,
        port: u16,
        why: &str,
        sink: &dyn ProgressSink,
    ) -> Stop {
        let binary = &self.config.binary;
        if let Err(e) = swap::restore_previous(binary) {
            return Stop::failed(format!(
                "{why}; putting the previous binary back failed too ({e}): restore {} to {} by hand and run `parachute restart`",
                swap::previous_path(binary).display(),
                binary.display()
            ));
        }
        let old = self.config.current_version.clone();
        let _ = self.store.update(op, |s| {
            s.log.push(format!(
                "previous binary ({old}) put back; restarting the hub again"
            ));
            s.renew_lock(self.config.lock_ttl);
            Ok(())
        });
        sink.report(&Progress::Log(format!("rolling back to {old}")));
        let after = match self.restart_hub().await {
            Err(detail) => format!(
                "; the restart after putting it back failed ({detail}): run `parachute restart`"
            ),
            Ok(()) => match gate::wait_ready(port, &old, self.config.gate_timeout, |_| {}).await {
                Ok(_) => format!("; the previous binary ({old}) is back and answering"),
                Err(seen) => format!(
                    "; the previous binary ({old}) is back but the hub is not ready yet ({}): check `parachute logs hub`",
                    seen.describe()
                ),
            },
        };
        Stop {
            phase: Phase::RolledBack,
            reason: format!("{why}{after}"),
        }
    }
}

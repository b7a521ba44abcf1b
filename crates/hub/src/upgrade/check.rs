//! "Is there a newer hub?": one check of the signed feed at a time, its answer kept for `GET
//! /api/hub` (which never fetches anything itself).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parachute_protocol::{Channel, HubUpdate};
use parachute_upgrade::{CheckReport, UpgradeError, Upgrader};

/// How long one check may take before it counts as failed (the feed is a few kilobytes).
const CHECK_LIMIT: Duration = Duration::from_secs(60);

/// The last answer, and the lock that keeps checks one at a time.
#[derive(Debug, Default)]
pub struct UpdateCache {
    /// The last answer (`None`: no check since the hub started).
    answer: Mutex<Option<HubUpdate>>,
    /// Held while a check runs.
    checking: tokio::sync::Mutex<()>,
    /// Counts finished checks, so a caller that waited for another's check takes its answer.
    finished: AtomicU64,
}

impl UpdateCache {
    /// The last answer, if there was a check.
    pub fn current(&self) -> Option<HubUpdate> {
        self.answer.lock().expect("update cache").clone()
    }

    /// Checks the feed with `upgrader` (or, if a check finished while this one waited for
    /// its turn, takes that one's answer). The answer is remembered either way; `Err` says
    /// why the check failed (the answer then carries the reason in `error`).
    pub async fn refresh(&self, upgrader: &Upgrader) -> (HubUpdate, Result<(), UpgradeError>) {
        let before = self.finished.load(Ordering::SeqCst);
        let _turn = self.checking.lock().await;
        if self.finished.load(Ordering::SeqCst) != before
            && let Some(answer) = self.current()
        {
            return (answer, Ok(()));
        }
        let checked_at = crate::wire::iso(std::time::SystemTime::now());
        let outcome = match tokio::time::timeout(CHECK_LIMIT, upgrader.check(None)).await {
            Ok(result) => result,
            Err(_) => Err(UpgradeError::FeedUnreachable {
                url: upgrader.config().feed_url.clone(),
                detail: format!("no answer within {}s", CHECK_LIMIT.as_secs()),
            }),
        };
        let (answer, outcome) = match outcome {
            Ok(report) => (of_report(&report, checked_at), Ok(())),
            Err(err) => {
                let mut answer = unchecked(Some(upgrader));
                answer.checked_at = Some(checked_at);
                answer.error = Some(err.to_string());
                (answer, Err(err))
            }
        };
        *self.answer.lock().expect("update cache") = Some(answer.clone());
        self.finished.fetch_add(1, Ordering::SeqCst);
        (answer, outcome)
    }
}

/// The answer before any check: nothing known, on the channel an upgrade would follow.
pub fn unchecked(upgrader: Option<&Upgrader>) -> HubUpdate {
    let channel = upgrader
        .and_then(|up| up.channel_for(None).ok())
        .map(channel)
        .unwrap_or_else(|| channel(parachute_upgrade::channel_for_version(crate::HUB_VERSION)));
    HubUpdate {
        available: false,
        version: None,
        channel,
        checked_at: None,
        pub_date: None,
        notes: None,
        downgrade: false,
        error: None,
    }
}

/// A successful check as the wire answer.
pub fn of_report(report: &CheckReport, checked_at: String) -> HubUpdate {
    HubUpdate {
        available: report.update_available,
        version: Some(report.latest_version.clone()),
        channel: channel(report.channel),
        checked_at: Some(checked_at),
        pub_date: Some(report.pub_date.clone()),
        notes: report.notes.clone(),
        downgrade: report.downgrade,
        error: None,
    }
}

/// The upgrade crate's channel as the protocol's (the same two words).
pub fn channel(c: parachute_upgrade::Channel) -> Channel {
    match c {
        parachute_upgrade::Channel::Latest => Channel::Latest,
        parachute_upgrade::Channel::Rc => Channel::Rc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_becomes_the_answer() {
        let report = CheckReport {
            current_version: "0.1.0".into(),
            channel: parachute_upgrade::Channel::Rc,
            latest_version: "0.2.0-rc.1".into(),
            pub_date: "2026-06-01T00:00:00Z".into(),
            notes: Some("fixes".into()),
            update_available: true,
            downgrade: false,
        };
        let answer = of_report(&report, "2026-06-02T00:00:00.000Z".into());
        assert!(answer.available);
        assert_eq!(answer.version.as_deref(), Some("0.2.0-rc.1"));
        assert_eq!(answer.channel, Channel::Rc);
        assert_eq!(
            answer.checked_at.as_deref(),
            Some("2026-06-02T00:00:00.000Z")
        );
        assert_eq!(answer.error, None);
        let none = unchecked(None);
        assert!(!none.available && none.checked_at.is_none() && none.version.is_none());
    }
}

//! What can go wrong before an upgrade starts, and how the hub's API reports it.
//!
//! Problems found *while* an upgrade runs (a bad download, a new binary that never becomes
//! ready) are not errors of [`crate::Upgrader::apply`]: they end the operation as `failed` or
//! `rolled-back` in the status file, with the reason, because the status file is what every
//! observer reads. The errors here are the ones a caller gets back directly.

use std::path::PathBuf;

/// Everything the upgrade API can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// An upgrade is already under way and its lock has not expired.
    #[error(
        "a hub upgrade is already in flight (operation {operation_id}, phase {phase}); wait for it to finish, or for its lock to expire at {expires_at}"
    )]
    InFlight {
        /// The running operation.
        operation_id: String,
        /// Its phase.
        phase: String,
        /// When its lock expires if nobody renews it.
        expires_at: String,
    },
    /// The feed names the version that is already installed.
    #[error("the hub is already at {version}, the newest release on the {channel} channel")]
    UpToDate {
        /// The installed (and offered) version.
        version: String,
        /// The channel asked.
        channel: String,
    },
    /// The feed names an older version and the caller did not allow a downgrade.
    #[error(
        "refusing to downgrade: the hub is at {current} and the {channel} channel offers {target}; pass --allow-downgrade if that is what you want"
    )]
    Downgrade {
        /// The installed version.
        current: String,
        /// The version offered.
        target: String,
        /// The channel asked.
        channel: String,
    },
    /// The feed could not be fetched.
    #[error("could not fetch the release feed {url}: {detail}")]
    FeedUnreachable {
        /// What was fetched.
        url: String,
        /// Why it failed.
        detail: String,
    },
    /// The feed's signature does not verify with the trusted key.
    #[error(
        "the release feed {url} is not signed by the trusted release key ({detail}); nothing was changed. If you run a private feed, set PARACHUTE_UPDATE_PUBKEY to its public key"
    )]
    FeedSignature {
        /// The feed.
        url: String,
        /// What the verifier said.
        detail: String,
    },
    /// The feed verified but its content is not a usable release description.
    #[error("the release feed {url} is not valid: {detail}")]
    FeedInvalid {
        /// The feed.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The feed is older than one already seen on this machine: an old, validly signed feed
    /// served again (a replay), or a mirror that is behind.
    #[error(
        "the release feed {url} is older than one this machine already saw (it offers {offered} published {offered_date}; {seen} published {seen_date} was seen before); refusing it as a possible replay. If the mirror is just behind, try again later"
    )]
    FeedReplayed {
        /// The feed.
        url: String,
        /// Version it offers.
        offered: String,
        /// Its publication date.
        offered_date: String,
        /// The newest version seen before.
        seen: String,
        /// Its publication date.
        seen_date: String,
    },
    /// The release has no build for this machine.
    #[error("release {version} has no build for {platform}")]
    NoBuildForPlatform {
        /// The release.
        version: String,
        /// This machine's platform key.
        platform: String,
    },
    /// A URL we were asked to fetch is neither https nor loopback http.
    #[error(
        "refusing to fetch {url}: release files are fetched over https only (plain http only from a loopback address)"
    )]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The hub unit runs a different binary than the one this upgrade would replace.
    #[error(
        "the hub unit runs {unit_binary}, but this upgrade would replace {binary}; run the upgrade with the binary the unit runs ({unit_binary} upgrade hub), or reinstall the unit with `parachute init`"
    )]
    UnitRunsOtherBinary {
        /// What the upgrade would replace.
        binary: PathBuf,
        /// What the unit file names (its first word of `ExecStart`, or the file).
        unit_binary: String,
    },
    /// The upgrade configuration (environment) is unusable.
    #[error("{0}")]
    Config(String),
    /// The status file exists but cannot be read as an upgrade status.
    #[error(
        "{path} is not a readable hub upgrade status ({detail}). It only records the last hub upgrade: move it aside (or delete it) to start a new one"
    )]
    StatusUnreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The operation this call names is not the one in the status file, or it already ended
    /// (another caller resolved it, or a newer upgrade took its place).
    #[error("upgrade operation {operation_id} is no longer current: {detail}")]
    Superseded {
        /// The operation asked about.
        operation_id: String,
        /// What the status file says instead.
        detail: String,
    },
    /// The detached upgrade helper could not be started.
    #[error("could not start the upgrade helper: {0}")]
    Launch(String),
    /// A file operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        action: &'static str,
        /// On which file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl UpgradeError {
    /// Shorthand for [`UpgradeError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The machine-readable code for the API's `{"error": …}` body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InFlight { .. } => "upgrade_in_flight",
            Self::UpToDate { .. } => "up_to_date",
            Self::Downgrade { .. } => "downgrade_refused",
            Self::FeedUnreachable { .. } => "feed_unreachable",
            Self::FeedSignature { .. } => "feed_signature_invalid",
            Self::FeedInvalid { .. } => "feed_invalid",
            Self::FeedReplayed { .. } => "feed_replayed",
            Self::NoBuildForPlatform { .. } => "no_build_for_platform",
            Self::InsecureUrl { .. } => "insecure_url",
            Self::UnitRunsOtherBinary { .. } => "unit_runs_other_binary",
            Self::Config(_) => "upgrade_misconfigured",
            Self::StatusUnreadable { .. } => "status_unreadable",
            Self::Superseded { .. } => "superseded",
            Self::Launch(_) => "helper_launch_failed",
            Self::Io { .. } => "io_error",
        }
    }

    /// The HTTP status the hub's upgrade routes answer with: 409 for conflicts with the
    /// current state, 502 for a feed that failed us, 500 for local trouble.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InFlight { .. }
            | Self::UpToDate { .. }
            | Self::Downgrade { .. }
            | Self::UnitRunsOtherBinary { .. }
            | Self::Superseded { .. } => 409,
            Self::FeedUnreachable { .. }
            | Self::FeedSignature { .. }
            | Self::FeedInvalid { .. }
            | Self::FeedReplayed { .. }
            | Self::NoBuildForPlatform { .. }
            | Self::InsecureUrl { .. } => 502,
            Self::Config(_) | Self::StatusUnreadable { .. } | Self::Launch(_) | Self::Io { .. } => {
                500
            }
        }
    }
}

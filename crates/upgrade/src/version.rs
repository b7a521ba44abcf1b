//! Release channels and version ordering (semver, prereleases included) for the downgrade
//! guard.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A release channel: a feed document `<feed>/<channel>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Stable releases.
    Latest,
    /// Release candidates (and stable releases, when a candidate is not newer).
    Rc,
}

impl Channel {
    /// The channel's name as in the feed URL and the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::Rc => "rc",
        }
    }

    /// `latest` or `rc`; anything else is `None` (the channel is a closed set: it becomes part
    /// of a URL).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "latest" => Some(Self::Latest),
            "rc" => Some(Self::Rc),
            _ => None,
        }
    }

    /// The channel a version belongs to when nothing was chosen: a prerelease (`0.7.0-rc.1`)
    /// follows `rc`, anything else `latest`.
    pub fn for_version(version: &str) -> Self {
        match parse(version) {
            Some(v) if !v.pre.is_empty() => Self::Rc,
            _ => Self::Latest,
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a version, tolerating a leading `v` (`v0.7.0`).
pub fn parse(version: &str) -> Option<semver::Version> {
    let text = version.trim();
    let text = text.strip_prefix('v').unwrap_or(text);
    semver::Version::parse(text).ok()
}

/// Which way moving from `current` to `target` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `target` is newer.
    Upgrade,
    /// Same version (build metadata ignored, as semver precedence says).
    Same,
    /// `target` is older.
    Downgrade,
}

/// Compares two versions by semver precedence: `0.7.0-rc.2 < 0.7.0-rc.10 < 0.7.0 < 0.7.1-rc.1`.
/// `None` when either is not a version.
pub fn direction(current: &str, target: &str) -> Option<Direction> {
    let (current, target) = (parse(current)?, parse(target)?);
    Some(match target.cmp_precedence(&current) {
        Ordering::Greater => Direction::Upgrade,
        Ordering::Equal => Direction::Same,
        Ordering::Less => Direction::Downgrade,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prereleases_order_before_their_release_and_numerically_among_themselves() {
        let ordered = [
            "0.6.3-rc.2",
            "0.6.3-rc.10",
            "0.6.3",
            "0.6.4-alpha",
            "0.6.4-alpha.1",
            "0.6.4-beta",
            "0.6.4-rc.1",
            "0.6.4",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                direction(pair[0], pair[1]),
                Some(Direction::Upgrade),
                "{pair:?}"
            );
            assert_eq!(
                direction(pair[1], pair[0]),
                Some(Direction::Downgrade),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn build_metadata_and_a_leading_v_do_not_change_the_order() {
        assert_eq!(direction("0.7.0", "v0.7.0"), Some(Direction::Same));
        assert_eq!(direction("0.7.0+abc", "0.7.0+def"), Some(Direction::Same));
        assert_eq!(direction("0.7.0", "not-a-version"), None);
    }

    #[test]
    fn the_default_channel_follows_the_installed_version() {
        assert_eq!(Channel::for_version("0.6.3-rc.2"), Channel::Rc);
        assert_eq!(Channel::for_version("0.6.3"), Channel::Latest);
        assert_eq!(Channel::for_version("garbage"), Channel::Latest);
        assert_eq!(Channel::parse("rc"), Some(Channel::Rc));
        assert_eq!(Channel::parse("nightly"), None);
    }
}

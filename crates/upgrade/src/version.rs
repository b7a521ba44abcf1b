//! Release channels and version ordering (semver, prereleases included) for the downgrade
//! guard.

use std::cmp::Ordering;

/// A release channel: a feed document `<feed>/<channel>.json` (the protocol's type, shared
/// with module installs).
pub use parachute_protocol::Channel;

/// The channel a version belongs to when nothing was chosen: a prerelease (`0.7.0-rc.1`)
/// follows `rc`, anything else `latest`.
pub fn channel_for_version(version: &str) -> Channel {
    match parse(version) {
        Some(v) if !v.pre.is_empty() => Channel::Rc,
        _ => Channel::Latest,
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
        assert_eq!(channel_for_version("0.6.3-rc.2"), Channel::Rc);
        assert_eq!(channel_for_version("0.6.3"), Channel::Latest);
        assert_eq!(channel_for_version("garbage"), Channel::Latest);
        assert_eq!(Channel::parse("rc"), Some(Channel::Rc));
        assert_eq!(Channel::parse("nightly"), None);
    }
}

//! `hub-upgrade-prefs.json`: the remembered channel and the newest feed seen per channel.
//!
//! The newest feed seen is what makes a replay detectable: a validly signed but older feed
//! (an attacker or a stale mirror serving last month's document) carries an older `pub_date`
//! than one this machine already verified, and is refused. Mode 0600, written atomically.

use std::collections::BTreeMap;
use std::path::PathBuf;

use parachute_home::Home;
use serde::{Deserialize, Serialize};

use crate::error::UpgradeError;
use crate::version::Channel;

/// A feed this machine verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenFeed {
    /// The version it offered.
    pub version: String,
    /// Its publication date (RFC 3339).
    pub pub_date: String,
}

/// The preferences file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// The channel chosen last with `--channel` (or the API's `channel`).
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The newest verified feed per channel name.
    #[serde(default)]
    pub seen: BTreeMap<String, SeenFeed>,
}

fn path(home: &Home) -> PathBuf {
    home.root().join("hub-upgrade-prefs.json")
}

/// Reads the preferences; a missing file is the defaults, a malformed one an error naming it.
pub fn read(home: &Home) -> Result<Prefs, UpgradeError> {
    let path = path(home);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            UpgradeError::Config(format!(
                "{} is not valid ({e}); it only remembers the upgrade channel and the newest release feed seen: delete it to start afresh",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Prefs::default()),
        Err(e) => Err(UpgradeError::io("read", path, e)),
    }
}

/// Writes the preferences atomically (0600).
pub fn write(home: &Home, prefs: &Prefs) -> Result<(), UpgradeError> {
    let path = path(home);
    let mut text = serde_json::to_string_pretty(prefs).expect("prefs serialise");
    text.push('\n');
    parachute_home::write_atomic(&path, text.as_bytes(), Some(0o600))
        .map_err(|e| UpgradeError::io("write", path, e))
}

/// Remembers `channel` as the one to follow.
pub fn remember_channel(home: &Home, channel: Channel) -> Result<(), UpgradeError> {
    let mut prefs = read(home)?;
    if prefs.channel != Some(channel) {
        prefs.channel = Some(channel);
        write(home, &prefs)?;
    }
    Ok(())
}

/// Compares a verified feed with the newest seen on its channel: `Err(seen)` when the feed is
/// older (a replay), else records it (when newer) and returns `Ok`.
pub fn check_and_record(
    home: &Home,
    channel: Channel,
    offered: &SeenFeed,
    published: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Result<(), SeenFeed>, UpgradeError> {
    let mut prefs = read(home)?;
    if let Some(seen) = prefs.seen.get(channel.as_str()) {
        let seen_date = chrono::DateTime::parse_from_rfc3339(&seen.pub_date).ok();
        let older_date = seen_date.is_some_and(|d| published < d);
        let same_date_older_version = seen_date.is_some_and(|d| published == d)
            && crate::version::direction(&seen.version, &offered.version)
                == Some(crate::version::Direction::Downgrade);
        if older_date || same_date_older_version {
            return Ok(Err(seen.clone()));
        }
        if seen == offered {
            return Ok(Ok(()));
        }
    }
    prefs
        .seen
        .insert(channel.as_str().to_string(), offered.clone());
    write(home, &prefs)?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn seen(version: &str, pub_date: &str) -> SeenFeed {
        SeenFeed {
            version: version.into(),
            pub_date: pub_date.into(),
        }
    }

    #[test]
    fn an_older_feed_than_one_seen_is_a_replay_per_channel() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let new = seen("0.3.0", "2026-12-01T00:00:00Z");
        let old = seen("0.2.0", "2026-11-01T00:00:00Z");
        assert_eq!(
            check_and_record(&home, Channel::Latest, &new, date(&new.pub_date)).unwrap(),
            Ok(())
        );
        assert_eq!(
            check_and_record(&home, Channel::Latest, &old, date(&old.pub_date)).unwrap(),
            Err(new.clone())
        );
        // The same document again is fine, and rc has its own history.
        assert_eq!(
            check_and_record(&home, Channel::Latest, &new, date(&new.pub_date)).unwrap(),
            Ok(())
        );
        assert_eq!(
            check_and_record(&home, Channel::Rc, &old, date(&old.pub_date)).unwrap(),
            Ok(())
        );
        // A newer document that names an older version (a pulled release) is not a replay:
        // the downgrade guard decides about it.
        let pulled = seen("0.2.9", "2026-12-02T00:00:00Z");
        assert_eq!(
            check_and_record(&home, Channel::Latest, &pulled, date(&pulled.pub_date)).unwrap(),
            Ok(())
        );
        assert_eq!(read(&home).unwrap().seen["latest"], pulled);
    }

    #[test]
    fn the_channel_is_remembered_and_a_broken_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        assert_eq!(read(&home).unwrap().channel, None);
        remember_channel(&home, Channel::Rc).unwrap();
        assert_eq!(read(&home).unwrap().channel, Some(Channel::Rc));
        std::fs::write(dir.path().join("hub-upgrade-prefs.json"), "[").unwrap();
        let err = read(&home).unwrap_err().to_string();
        assert!(err.contains("hub-upgrade-prefs.json"), "{err}");
    }
}

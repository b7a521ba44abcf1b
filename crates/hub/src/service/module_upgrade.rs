//! The rules of a module upgrade, as the original's `parachute upgrade <svc>` applies them
//! (SPEC Part B §9), used by the background job ([`super::jobs::Job::upgrade`]):
//!
//! - **channel**: asked > pinned by the environment > the stored install channel > the
//!   installed version's (`-rc` / `-rc.N` follows `rc`, so a release-candidate install is never
//!   moved to an older stable one by accident) > `latest`;
//! - **downgrade guard**: unless allowed, `npm view <pkg>@<channel> version` older than the
//!   installed version (semver precedence, prereleases before their release) refuses the
//!   upgrade before anything is installed; a registry that does not answer skips the guard;
//! - **already current**: the installed version unchanged after `bun add -g` means no
//!   restart.

use parachute_protocol::Channel;
use parachute_upgrade::version::{Direction, direction, parse};
use serde_json::{Value, json};

/// The channel a module upgrade installs from.
pub fn upgrade_channel(
    asked: Option<Channel>,
    pinned: Option<Channel>,
    stored: Option<Channel>,
    installed: Option<&str>,
) -> Channel {
    asked
        .or(pinned)
        .or(stored)
        .unwrap_or_else(|| match installed {
            Some(version) if follows_rc(version) => Channel::Rc,
            _ => Channel::Latest,
        })
}

/// True for a release-candidate version (`0.6.3-rc`, `0.6.3-rc.2`): the original's rule.
pub fn follows_rc(version: &str) -> bool {
    let Some(parsed) = parse(version) else {
        return false;
    };
    let pre = parsed.pre.as_str();
    pre == "rc"
        || pre
            .strip_prefix("rc.")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A downgrade the guard refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downgrade {
    /// The installed version.
    pub installed: String,
    /// What the channel's tag resolves to.
    pub target: String,
    /// The channel.
    pub channel: Channel,
}

/// `Some` when installing `target` over `installed` would go backwards.
pub fn downgrade(installed: &str, target: &str, channel: Channel) -> Option<Downgrade> {
    (direction(installed, target) == Some(Direction::Downgrade)).then(|| Downgrade {
        installed: installed.to_string(),
        target: target.to_string(),
        channel,
    })
}

impl Downgrade {
    /// The operation's error sentence.
    pub fn message(&self, short: &str) -> String {
        format!(
            "refusing to downgrade {short}: installed {}, @{} resolves to {}; nothing was installed",
            self.installed,
            self.channel.as_str(),
            self.target
        )
    }

    /// What to do about it, one line each.
    pub fn hints(&self, short: &str) -> Vec<String> {
        let mut hints = Vec::new();
        if self.channel == Channel::Rc {
            hints.push(
                "the rc tag may have been moved back to an older release; that is unusual but possible"
                    .to_string(),
            );
        } else if follows_rc(&self.installed) {
            hints.push(format!(
                "to stay on release candidates, upgrade from the rc channel: parachute upgrade {short} --channel rc"
            ));
        }
        hints.push(format!(
            "to install {} anyway: parachute upgrade {short} --allow-downgrade (API: {{\"allow_downgrade\": true}})",
            self.target
        ));
        hints
    }

    /// The operation's structured detail.
    pub fn detail(&self) -> Value {
        json!({
            "error_type": "downgrade_refused",
            "installed_version": self.installed,
            "target_version": self.target,
            "channel": self.channel.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_is_asked_then_pinned_then_stored_then_the_installed_versions() {
        let rc = Some(Channel::Rc);
        let latest = Some(Channel::Latest);
        assert_eq!(
            upgrade_channel(latest, rc, rc, Some("1.0.0-rc.1")),
            Channel::Latest
        );
        assert_eq!(upgrade_channel(None, latest, rc, None), Channel::Latest);
        assert_eq!(
            upgrade_channel(None, None, latest, Some("1.0.0-rc.1")),
            Channel::Latest
        );
        assert_eq!(
            upgrade_channel(None, None, None, Some("1.0.0-rc.3")),
            Channel::Rc
        );
        assert_eq!(
            upgrade_channel(None, None, None, Some("1.0.0")),
            Channel::Latest
        );
        assert_eq!(upgrade_channel(None, None, None, None), Channel::Latest);
    }

    #[test]
    fn only_rc_prereleases_follow_rc() {
        for v in ["0.6.3-rc", "0.6.3-rc.2", "v1.0.0-rc.10"] {
            assert!(follows_rc(v), "{v}");
        }
        for v in [
            "0.6.3",
            "0.6.3-beta.1",
            "0.6.3-rc.x",
            "0.6.3-rc.",
            "nonsense",
        ] {
            assert!(!follows_rc(v), "{v}");
        }
    }

    #[test]
    fn the_guard_orders_prereleases_before_their_release() {
        assert!(downgrade("0.6.3", "0.6.3-rc.9", Channel::Latest).is_some());
        assert!(downgrade("0.6.3-rc.10", "0.6.3-rc.9", Channel::Rc).is_some());
        assert!(downgrade("0.6.3-rc.2", "0.6.3", Channel::Latest).is_none());
        assert!(downgrade("0.6.3", "0.6.3", Channel::Latest).is_none());
        assert!(downgrade("0.6.3", "not-a-version", Channel::Latest).is_none());
        let refused = downgrade("0.5.13-rc.13", "0.5.10", Channel::Latest).unwrap();
        assert!(
            refused
                .message("vault")
                .contains("installed 0.5.13-rc.13, @latest resolves to 0.5.10")
        );
        let hints = refused.hints("vault").join("\n");
        assert!(
            hints.contains("--channel rc") && hints.contains("--allow-downgrade"),
            "{hints}"
        );
        assert_eq!(refused.detail()["error_type"], "downgrade_refused");
    }
}

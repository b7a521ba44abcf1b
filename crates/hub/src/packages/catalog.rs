//! The first-party module catalog, install channels and package metadata on disk.

use std::path::Path;

use parachute_auth::{HubDb, SETTING_MODULE_INSTALL_CHANNEL};
use parachute_home::ServiceRow;
use serde_json::Value;

/// A module the hub knows how to install without any file on disk: its package, registry
/// name, display strings and the row it gets when installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstParty {
    /// Short name (`vault`): the module's name in the API and its directory under the home.
    pub short: &'static str,
    /// The npm package `bun add -g` installs.
    pub package: &'static str,
    /// Its `services.json` row name.
    pub manifest_name: &'static str,
    /// Human-readable name for the dashboard.
    pub display_name: &'static str,
    /// One-line description for the dashboard.
    pub tagline: &'static str,
    /// Canonical port of a seeded row.
    pub port: u16,
    /// Mount paths of a seeded row.
    pub paths: &'static [&'static str],
    /// Health path of a seeded row.
    pub health: &'static str,
    /// `stripPrefix` of a seeded row, when the module declares one.
    pub strip_prefix: Option<bool>,
}

/// Version written on a seeded row until the module registers itself (the original's marker).
pub const SEED_VERSION: &str = "0.0.0-linked";

/// Every first-party module, in the recommended install order.
pub const FIRST_PARTY: &[FirstParty] = &[
    FirstParty {
        short: "vault",
        package: "@openparachute/vault",
        manifest_name: "parachute-vault",
        display_name: "Vault",
        tagline: "Your private knowledge store, reachable over MCP.",
        port: 1940,
        paths: &["/vault/default"],
        health: "/vault/default/health",
        strip_prefix: None,
    },
    FirstParty {
        short: "scribe",
        package: "@openparachute/scribe",
        manifest_name: "parachute-scribe",
        display_name: "Scribe",
        tagline: "Transcribes the audio recorded into your vault, on this machine.",
        port: 1943,
        paths: &["/scribe"],
        health: "/scribe/health",
        strip_prefix: Some(true),
    },
    FirstParty {
        short: "runner",
        package: "@openparachute/runner",
        manifest_name: "parachute-runner",
        display_name: "Runner",
        tagline: "Runs scheduled jobs described by notes in your vault.",
        port: 1945,
        paths: &["/runner", "/.parachute"],
        health: "/runner/healthz",
        strip_prefix: Some(false),
    },
    FirstParty {
        short: "surface",
        package: "@openparachute/surface",
        manifest_name: "parachute-surface",
        display_name: "Surface",
        tagline: "Hosts Parachute user interfaces such as Notes.",
        port: 1946,
        paths: &["/surface", "/.parachute"],
        health: "/surface/healthz",
        strip_prefix: Some(false),
    },
    FirstParty {
        short: "channel",
        package: "@openparachute/channel",
        manifest_name: "parachute-channel",
        display_name: "Channel",
        tagline: "Delivers notifications from your modules.",
        port: 1941,
        paths: &["/channel"],
        health: "/channel/health",
        strip_prefix: None,
    },
    FirstParty {
        short: "notes",
        package: "@openparachute/notes",
        manifest_name: "parachute-notes",
        display_name: "Notes",
        tagline: "The legacy Notes app; install surface for the current one.",
        port: 1942,
        paths: &["/notes"],
        health: "/notes/health",
        strip_prefix: None,
    },
];

/// Modules `GET /api/modules` always lists, installed or not (the original's curated set).
pub const CURATED: &[&str] = &["vault", "scribe"];

impl FirstParty {
    /// The first-party module with this short name.
    pub fn get(short: &str) -> Option<&'static FirstParty> {
        FIRST_PARTY.iter().find(|m| m.short == short)
    }

    /// The placeholder row an install writes when the module has none yet.
    pub fn seed_row(&self) -> ServiceRow {
        let mut row = ServiceRow::new(
            self.manifest_name,
            self.port,
            self.paths.iter().map(|p| p.to_string()).collect(),
            self.health,
            SEED_VERSION,
        );
        row.display_name = Some(self.display_name.to_string());
        row.tagline = Some(self.tagline.to_string());
        row.strip_prefix = self.strip_prefix;
        row
    }
}

/// The package that installs the module `short`: the first-party package, else the `name` in
/// `<installDir>/package.json` of its row. `None` when it was not installed from a registry.
pub fn package_for(short: &str, row: Option<&ServiceRow>) -> Option<String> {
    if let Some(first) = FirstParty::get(short) {
        return Some(first.package.to_string());
    }
    let dir = row?.install_dir.as_ref()?;
    read_package_json(dir)?
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The `version` in `<dir>/package.json`, if any.
pub fn package_version(dir: &Path) -> Option<String> {
    read_package_json(dir)?
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn read_package_json(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// A registry dist-tag modules are installed from (the protocol's type).
pub use parachute_protocol::Channel;

/// Environment variables that pin the channel, strongest first (read by
/// [`crate::HubConfig::from_vars`]).
pub const CHANNEL_ENV: &[&str] = &["PARACHUTE_INSTALL_CHANNEL", "PARACHUTE_MODULE_CHANNEL"];

/// The channel in force: the one pinned by the hub's configuration, else the
/// `module_install_channel` setting, else `latest`.
pub fn effective_channel_with(pinned: Option<Channel>, db: &HubDb) -> Channel {
    pinned
        .or_else(|| stored_channel(db))
        .unwrap_or(Channel::Latest)
}

/// The channel stored in `hub_settings`, if valid.
pub fn stored_channel(db: &HubDb) -> Option<Channel> {
    db.setting(SETTING_MODULE_INSTALL_CHANNEL)
        .ok()
        .flatten()
        .and_then(|v| Channel::parse(&v))
}

/// Picks the version of `channel` out of `npm view <pkg> dist-tags --json` output, falling
/// back to `latest` when the package has no such tag.
pub fn parse_dist_tags(stdout: &str, channel: Channel) -> Option<String> {
    let tags: Value = serde_json::from_str(stdout.trim()).ok()?;
    let pick = |tag: &str| {
        tags.get(tag)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    pick(channel.as_str()).or_else(|| pick("latest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_party_packages_and_seed_rows() {
        let vault = FirstParty::get("vault").unwrap();
        assert_eq!(vault.package, "@openparachute/vault");
        let row = vault.seed_row();
        assert_eq!(row.name, "parachute-vault");
        assert_eq!(row.port, 1940);
        assert_eq!(row.version, SEED_VERSION);
        assert!(row.validate().is_ok());
        for module in FIRST_PARTY {
            assert!(module.seed_row().validate().is_ok(), "{}", module.short);
            assert_eq!(
                parachute_home::services::known_short(module.manifest_name),
                Some(module.short)
            );
            assert_eq!(
                parachute_home::services::canonical_port(module.short),
                Some(module.port)
            );
        }
        assert!(FirstParty::get("acme").is_none());
        assert_eq!(
            package_for("scribe", None).as_deref(),
            Some("@openparachute/scribe")
        );
        assert_eq!(package_for("acme", None), None);
    }

    #[test]
    fn third_party_package_comes_from_install_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mut row = ServiceRow::new("acme", 4000, vec!["/acme".into()], "/health", "1.0.0");
        assert_eq!(package_for("acme", Some(&row)), None);
        row.install_dir = Some(dir.path().to_path_buf());
        assert_eq!(package_for("acme", Some(&row)), None);
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"@acme/widget","version":"2.1.0"}"#,
        )
        .unwrap();
        assert_eq!(
            package_for("acme", Some(&row)).as_deref(),
            Some("@acme/widget")
        );
        assert_eq!(package_version(dir.path()).as_deref(), Some("2.1.0"));
    }

    #[test]
    fn channels_parse_strictly_and_the_pinned_one_wins() {
        assert_eq!(Channel::parse("rc"), Some(Channel::Rc));
        assert_eq!(Channel::parse("latest"), Some(Channel::Latest));
        assert_eq!(Channel::parse("RC"), None);
        assert_eq!(Channel::parse(""), None);
        let dir = tempfile::tempdir().unwrap();
        let db = HubDb::open(&dir.path().join("hub.db")).unwrap();
        assert_eq!(effective_channel_with(None, &db), Channel::Latest);
        db.set_setting(SETTING_MODULE_INSTALL_CHANNEL, "rc")
            .unwrap();
        assert_eq!(effective_channel_with(None, &db), Channel::Rc);
        assert_eq!(
            effective_channel_with(Some(Channel::Latest), &db),
            Channel::Latest
        );
    }

    #[test]
    fn dist_tags_pick_the_channel_then_latest() {
        let out = "{\n  \"latest\": \"1.2.0\",\n  \"rc\": \"1.3.0-rc.2\"\n}\n";
        assert_eq!(
            parse_dist_tags(out, Channel::Rc).as_deref(),
            Some("1.3.0-rc.2")
        );
        assert_eq!(
            parse_dist_tags(out, Channel::Latest).as_deref(),
            Some("1.2.0")
        );
        assert_eq!(
            parse_dist_tags(r#"{"latest":"1.0.0"}"#, Channel::Rc).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(parse_dist_tags("not json", Channel::Latest), None);
        assert_eq!(
            parse_dist_tags(r#"{"error":{"code":"E404"}}"#, Channel::Latest),
            None
        );
    }
}

//! Modules as packages: the first-party catalog, install channels, and the package-manager
//! runner (`bun add -g` / `bun remove -g`, `npm view … dist-tags`).
//!
//! Every external tool goes through a [`CommandRunner`], so tests put fake `bun`/`npm` first on
//! the hub's `PATH`. Calls block; async callers run them on a blocking thread.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_auth::{HubDb, SETTING_MODULE_INSTALL_CHANNEL};
use parachute_home::ServiceRow;
use parachute_os::command::{CommandError, CommandOutput, CommandRunner, SystemRunner};
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

/// A registry dist-tag modules are installed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Stable releases.
    Latest,
    /// Release candidates.
    Rc,
}

impl Channel {
    /// Parses `latest` or `rc` (exactly).
    pub fn parse(raw: &str) -> Option<Channel> {
        match raw {
            "latest" => Some(Channel::Latest),
            "rc" => Some(Channel::Rc),
            _ => None,
        }
    }

    /// The dist-tag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Latest => "latest",
            Channel::Rc => "rc",
        }
    }
}

/// Environment variables that pin the channel, strongest first.
pub const CHANNEL_ENV: &[&str] = &["PARACHUTE_INSTALL_CHANNEL", "PARACHUTE_MODULE_CHANNEL"];

/// The channel pinned by the environment, if a valid one is (an invalid value is logged and
/// ignored).
pub fn channel_from_env(lookup: impl Fn(&str) -> Option<String>) -> Option<Channel> {
    for key in CHANNEL_ENV {
        let Some(raw) = lookup(key).filter(|v| !v.is_empty()) else {
            continue;
        };
        match Channel::parse(&raw) {
            Some(channel) => return Some(channel),
            None => {
                tracing::warn!("{key}={raw:?} is not a channel (use latest or rc); ignoring it")
            }
        }
    }
    None
}

/// The channel in force: the environment, else the `module_install_channel` setting, else
/// `latest`.
pub fn effective_channel(db: &HubDb) -> Channel {
    channel_from_env(|k| std::env::var(k).ok())
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

/// Why a package-manager command failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// `bun` (or `npm`) is not on the hub's `PATH`.
    #[error(
        "`{program}` is not on the hub's PATH; install it (Bun: https://bun.sh) and restart the hub so it is found"
    )]
    Missing {
        /// The program we looked for.
        program: String,
    },
    /// The command ran and exited non-zero (or was killed).
    #[error("`{command}` exited with {}{}", exit_text(*.code), tail_text(.stderr_tail))]
    Failed {
        /// The command line that was run.
        command: String,
        /// Its exit code; `None` when killed by a signal.
        code: Option<i32>,
        /// The last lines it wrote to stderr (else stdout).
        stderr_tail: String,
    },
    /// The command could not be run or did not finish in time.
    #[error("could not run `{command}`: {source}")]
    Run {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: CommandError,
    },
}

fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("code {code}"),
        None => "a signal".to_string(),
    }
}

fn tail_text(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    }
}

impl PackageError {
    /// Structured detail for an operation record.
    pub fn detail(&self) -> Value {
        match self {
            PackageError::Missing { program } => {
                serde_json::json!({"error_type": "missing_dependency", "binary": program})
            }
            PackageError::Failed {
                command,
                code,
                stderr_tail,
            } => serde_json::json!({
                "error_type": "command_failed",
                "command": command,
                "exit_code": code,
                "stderr_tail": stderr_tail,
            }),
            PackageError::Run { command, source } => serde_json::json!({
                "error_type": "command_failed",
                "command": command,
                "reason": source.to_string(),
            }),
        }
    }
}

/// The last `lines` non-empty lines of a command's stderr, else of its stdout.
pub fn output_tail(output: &CommandOutput, lines: usize) -> String {
    let text = if output.stderr.trim().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let kept: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    kept[kept.len().saturating_sub(lines)..].join("\n")
}

/// How long a `bun add`/`bun remove` may run before it is killed.
const BUN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long one `npm view` may run.
const NPM_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `GET /api/modules` waits for a registry answer before answering without it (the
/// lookup keeps running and fills the cache for the next request).
const LATEST_WAIT: Duration = Duration::from_millis(1500);
/// How long a registry answer (or failure) is reused.
const LATEST_TTL: Duration = Duration::from_secs(5 * 60);

/// Runs the package manager for module installs. Cheap to clone.
#[derive(Clone)]
pub struct Packages {
    inner: Arc<PackagesInner>,
}

struct PackagesInner {
    /// Runs `bun` and `npm`.
    runner: Arc<dyn CommandRunner>,
    /// Bun's global `node_modules` directories, searched in order (`$BUN_INSTALL`, `~/.bun`).
    global_roots: Vec<PathBuf>,
    /// `<package>@<channel>` -> registry answer and when it was fetched.
    latest: Mutex<HashMap<String, (Option<String>, Instant)>>,
    /// Cache keys with a lookup running, so concurrent requests do not pile up `npm` calls.
    looking_up: Mutex<HashSet<String>>,
}

impl Packages {
    /// A runner over `runner`, looking for global installs under `global_roots`.
    pub fn new(runner: Arc<dyn CommandRunner>, global_roots: Vec<PathBuf>) -> Self {
        Self {
            inner: Arc::new(PackagesInner {
                runner,
                global_roots,
                latest: Mutex::new(HashMap::new()),
                looking_up: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The production runner: the process `PATH`, and Bun's global directory from
    /// `BUN_INSTALL` and `HOME`.
    pub fn from_env() -> Self {
        let mut roots = Vec::new();
        if let Some(dir) = std::env::var_os("BUN_INSTALL").filter(|d| !d.is_empty()) {
            roots.push(PathBuf::from(dir).join("install/global/node_modules"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            roots.push(PathBuf::from(home).join(".bun/install/global/node_modules"));
        }
        Self::new(Arc::new(SystemRunner::from_env()), roots)
    }

    /// The command runner (for callers that run other tools the same way).
    pub fn runner(&self) -> Arc<dyn CommandRunner> {
        self.inner.runner.clone()
    }

    /// Where Bun installed `package` globally, if it did.
    pub fn global_dir(&self, package: &str) -> Option<PathBuf> {
        self.inner
            .global_roots
            .iter()
            .map(|root| root.join(package))
            .find(|dir| dir.join("package.json").is_file())
    }

    /// True when `package` is a `bun link` of a local checkout (a symlink in Bun's global
    /// directory): installing over it would replace the developer's checkout.
    pub fn is_linked(&self, package: &str) -> bool {
        self.inner.global_roots.iter().any(|root| {
            std::fs::symlink_metadata(root.join(package))
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
        })
    }

    /// `bun add -g <package>@<channel>`. Blocks.
    pub fn add_global(
        &self,
        package: &str,
        channel: Channel,
    ) -> Result<CommandOutput, PackageError> {
        let spec = format!("{package}@{}", channel.as_str());
        self.bun(&["add", "-g", &spec])
    }

    /// `bun remove -g <package>`. Blocks.
    pub fn remove_global(&self, package: &str) -> Result<CommandOutput, PackageError> {
        self.bun(&["remove", "-g", package])
    }

    fn bun(&self, args: &[&str]) -> Result<CommandOutput, PackageError> {
        let command = format!("bun {}", args.join(" "));
        tracing::info!("running {command}");
        let output = self
            .inner
            .runner
            .run_with_timeout("bun", args, BUN_TIMEOUT)
            .map_err(|source| match source {
                CommandError::NotFound { program } => PackageError::Missing { program },
                source => PackageError::Run {
                    command: command.clone(),
                    source,
                },
            })?;
        if output.success() {
            Ok(output)
        } else {
            Err(PackageError::Failed {
                command,
                code: output.code,
                stderr_tail: output_tail(&output, 12),
            })
        }
    }

    /// The version `channel` points at in the registry, from a 5-minute cache or `npm view`.
    /// Never fails: any problem (no `npm`, no network, unknown package) is `None`. Waits at most
    /// a moment for a fresh answer; a slower lookup finishes in the background for next time.
    pub async fn latest_version(&self, package: &str, channel: Channel) -> Option<String> {
        let key = format!("{package}@{}", channel.as_str());
        let cached = self
            .inner
            .latest
            .lock()
            .expect("latest cache")
            .get(&key)
            .cloned();
        if let Some((value, at)) = &cached
            && at.elapsed() < LATEST_TTL
        {
            return value.clone();
        }
        let stale = cached.and_then(|(value, _)| value);
        if !self
            .inner
            .looking_up
            .lock()
            .expect("lookup set")
            .insert(key.clone())
        {
            return stale;
        }
        let me = self.clone();
        let package = package.to_string();
        let task = tokio::task::spawn_blocking(move || {
            let value = me.npm_dist_tag(&package, channel);
            me.inner
                .latest
                .lock()
                .expect("latest cache")
                .insert(key.clone(), (value.clone(), Instant::now()));
            me.inner.looking_up.lock().expect("lookup set").remove(&key);
            value
        });
        match tokio::time::timeout(LATEST_WAIT, task).await {
            Ok(Ok(value)) => value,
            _ => stale,
        }
    }

    fn npm_dist_tag(&self, package: &str, channel: Channel) -> Option<String> {
        let output = self.inner.runner.run_with_timeout(
            "npm",
            &["view", package, "dist-tags", "--json"],
            NPM_TIMEOUT,
        );
        match output {
            Ok(out) if out.success() => parse_dist_tags(&out.stdout, channel),
            Ok(out) => {
                tracing::debug!(package, detail = %out.failure_detail(), "npm view failed");
                None
            }
            Err(err) => {
                tracing::debug!(package, %err, "npm view could not run");
                None
            }
        }
    }
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
    fn channels_parse_strictly_and_env_wins_in_order() {
        assert_eq!(Channel::parse("rc"), Some(Channel::Rc));
        assert_eq!(Channel::parse("latest"), Some(Channel::Latest));
        assert_eq!(Channel::parse("RC"), None);
        assert_eq!(Channel::parse(""), None);
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(channel_from_env(env(&[])), None);
        assert_eq!(
            channel_from_env(env(&[("PARACHUTE_MODULE_CHANNEL", "rc")])),
            Some(Channel::Rc)
        );
        assert_eq!(
            channel_from_env(env(&[
                ("PARACHUTE_INSTALL_CHANNEL", "latest"),
                ("PARACHUTE_MODULE_CHANNEL", "rc")
            ])),
            Some(Channel::Latest)
        );
        assert_eq!(
            channel_from_env(env(&[
                ("PARACHUTE_INSTALL_CHANNEL", "banana"),
                ("PARACHUTE_MODULE_CHANNEL", "rc")
            ])),
            Some(Channel::Rc)
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

    #[test]
    fn tails_prefer_stderr_and_keep_the_last_lines() {
        let out = CommandOutput {
            code: Some(1),
            stdout: "progress\n".into(),
            stderr: "a\n\nb\nc\n".into(),
        };
        assert_eq!(output_tail(&out, 2), "b\nc");
        let quiet = CommandOutput {
            code: Some(1),
            stdout: "only stdout\n".into(),
            stderr: "  \n".into(),
        };
        assert_eq!(output_tail(&quiet, 5), "only stdout");
    }
}

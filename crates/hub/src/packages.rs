//! Modules as packages: the first-party catalog, install channels, and the package-manager
//! runner (`bun add -g` / `bun remove -g`, `npm view … dist-tags`).
//!
//! Every external tool goes through a [`CommandRunner`], so tests put fake `bun`/`npm` first on
//! the hub's `PATH`. Calls block; async callers run them on a blocking thread.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parachute_os::command::{CommandError, CommandOutput, CommandRunner};
use serde_json::Value;

mod catalog;

pub use catalog::{
    CHANNEL_ENV, CURATED, Channel, FIRST_PARTY, FirstParty, SEED_VERSION, effective_channel_with,
    package_for, package_version, parse_dist_tags, stored_channel,
};

/// The channel in force for the hub of `state` (its pinned channel, else the setting, else
/// `latest`).
pub fn effective_channel(state: &crate::state::AppState) -> Channel {
    effective_channel_with(state.pinned_channel(), state.db())
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

/// How long one `bun add|remove -g` may run before the operation fails (a slow network is
/// fine; a hung package manager must not lock its module's operations forever).
const BUN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long one `npm view` may run.
const NPM_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `npm view <pkg>@<tag> version` may take for an upgrade's downgrade guard (a
/// registry that does not answer skips the guard, as in the original).
const NPM_VERSION_TIMEOUT: Duration = Duration::from_secs(30);
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
            // The hub's orphan reaper never takes these: they stay in the hub's process group.
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

    /// `npm view <package>@<channel> version`: the version that tag points at now, `None` when
    /// npm is missing, fails or prints nothing (an unpublished tag). Blocks.
    pub fn registry_version(&self, package: &str, channel: Channel) -> Option<String> {
        let spec = format!("{package}@{}", channel.as_str());
        let output = self.inner.runner.run_with_timeout(
            "npm",
            &["view", &spec, "version"],
            NPM_VERSION_TIMEOUT,
        );
        match output {
            Ok(out) if out.success() => out
                .stdout
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .map(str::to_string),
            Ok(out) => {
                tracing::info!(%spec, detail = %out.failure_detail(), "npm view failed; no downgrade guard");
                None
            }
            Err(err) => {
                tracing::info!(%spec, %err, "npm view could not run; no downgrade guard");
                None
            }
        }
    }

    fn npm_dist_tag(&self, package: &str, channel: Channel) -> Option<String> {
        let args = ["view", package, "dist-tags", "--json"];
        let output = self
            .inner
            .runner
            .run_with_timeout("npm", &args, NPM_TIMEOUT);
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
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers every command with `out` and counts the calls.
    struct Counting {
        calls: AtomicUsize,
        out: CommandOutput,
    }

    impl CommandRunner for Counting {
        fn which(&self, _: &str) -> Option<PathBuf> {
            None
        }
        fn run(&self, program: &str, args: &[&str]) -> Result<CommandOutput, CommandError> {
            self.run_with_timeout(program, args, Duration::from_secs(1))
        }
        fn run_with_timeout(
            &self,
            _: &str,
            _: &[&str],
            _: Duration,
        ) -> Result<CommandOutput, CommandError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.out.clone())
        }
        fn spawn_detached(
            &self,
            _: &str,
            _: &[&str],
            _: Option<&Path>,
        ) -> Result<u32, CommandError> {
            unreachable!("not used by Packages")
        }
    }

    #[tokio::test]
    async fn registry_answers_are_cached() {
        let runner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            out: CommandOutput {
                code: Some(0),
                stdout: r#"{"latest":"2.0.0","rc":"2.1.0-rc.1"}"#.into(),
                stderr: String::new(),
            },
        });
        let packages = Packages::new(runner.clone(), Vec::new());
        let v = packages
            .latest_version("@openparachute/vault", Channel::Rc)
            .await;
        assert_eq!(v.as_deref(), Some("2.1.0-rc.1"));
        let again = packages
            .latest_version("@openparachute/vault", Channel::Rc)
            .await;
        assert_eq!(again.as_deref(), Some("2.1.0-rc.1"));
        assert_eq!(
            runner.calls.load(Ordering::SeqCst),
            1,
            "served from the cache"
        );
    }

    #[test]
    fn the_registry_version_is_the_last_line_npm_prints() {
        let answer = |stdout: &str, code: i32| {
            let runner = Arc::new(Counting {
                calls: AtomicUsize::new(0),
                out: CommandOutput {
                    code: Some(code),
                    stdout: stdout.into(),
                    stderr: String::new(),
                },
            });
            Packages::new(runner, Vec::new()).registry_version("@openparachute/vault", Channel::Rc)
        };
        assert_eq!(answer("1.3.0-rc.1\n", 0).as_deref(), Some("1.3.0-rc.1"));
        assert_eq!(
            answer("npm notice chatty\n1.2.0\n\n", 0).as_deref(),
            Some("1.2.0")
        );
        assert_eq!(answer("", 0), None, "a tag nobody published");
        assert_eq!(
            answer("1.2.0\n", 1),
            None,
            "a failed lookup skips the guard"
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

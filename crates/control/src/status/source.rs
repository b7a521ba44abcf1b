//! Where a module's code comes from (the SOURCE column): a global package installed with
//! `bun add -g` (`npm (<version>)`), a linked checkout (`bun-linked → <dir> @ <sha>`), or
//! unknown. Reads files only (no `git` process), so it stays cheap on every `status`.

use std::path::{Path, PathBuf};

use parachute_home::ServiceRow;

/// What we found out about a module's installed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSource {
    /// Installed under bun's global `node_modules`.
    Npm {
        /// `version` of its `package.json`, when readable.
        version: Option<String>,
    },
    /// A directory outside bun's globals (a linked checkout or a hand-made install dir).
    Linked {
        /// The resolved directory.
        path: PathBuf,
        /// `version` of its `package.json`, when readable.
        version: Option<String>,
        /// The checked-out commit (7 hex digits), when it is a git checkout.
        git_head: Option<String>,
    },
    /// No install directory and no global package found.
    Unknown,
}

impl InstallSource {
    /// The SOURCE cell.
    pub fn label(&self) -> String {
        match self {
            InstallSource::Npm { version: Some(v) } => format!("npm ({v})"),
            InstallSource::Npm { version: None } => "npm".to_string(),
            InstallSource::Linked { path, git_head, .. } => {
                let base = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string());
                match git_head {
                    Some(sha) => format!("bun-linked → {base} @ {sha}"),
                    None => format!("bun-linked → {base}"),
                }
            }
            InstallSource::Unknown => "unknown".to_string(),
        }
    }

    /// A note when a linked checkout's `package.json` version differs from the version cached
    /// in `services.json` (the module was rebuilt but its row was not refreshed).
    pub fn stale_note(&self, cached: &str) -> Option<String> {
        match self {
            InstallSource::Linked {
                version: Some(live),
                ..
            } if live != cached => Some(format!(
                "STALE: services.json records {cached}, but the checkout's package.json is {live}"
            )),
            _ => None,
        }
    }
}

/// Where bun keeps global packages: `$BUN_INSTALL/install/global/node_modules`, then
/// `~/.bun/install/global/node_modules`.
pub fn bun_global_prefixes() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os("BUN_INSTALL").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(dir).join("install/global/node_modules"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(home).join(".bun/install/global/node_modules"));
    }
    out
}

/// The npm package of a first-party module (`@openparachute/<short>`).
fn first_party_package(row: &ServiceRow) -> Option<String> {
    row.is_first_party()
        .then(|| format!("@openparachute/{}", row.short()))
}

/// Detects the source of `row`'s code, looking for global packages under `prefixes`.
pub fn detect(row: &ServiceRow, prefixes: &[PathBuf]) -> InstallSource {
    let candidate = row.install_dir.clone().or_else(|| {
        let package = first_party_package(row)?;
        prefixes
            .iter()
            .map(|p| p.join(&package))
            .find(|dir| dir.join("package.json").is_file())
    });
    let Some(candidate) = candidate else {
        return InstallSource::Unknown;
    };
    let resolved = std::fs::canonicalize(&candidate).unwrap_or(candidate);
    let version = package_version(&resolved);
    let under_globals = prefixes.iter().any(|prefix| {
        let prefix = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.clone());
        resolved.starts_with(&prefix)
    });
    if under_globals {
        InstallSource::Npm { version }
    } else {
        InstallSource::Linked {
            git_head: git_head(&resolved),
            path: resolved,
            version,
        }
    }
}

/// `version` from `<dir>/package.json`.
fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .get("version")?
        .as_str()
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The commit checked out in `dir` (first 7 hex digits), read from `.git/HEAD`, the ref file or
/// `packed-refs`. `None` when `dir` is not the root of a git checkout.
pub fn git_head(dir: &Path) -> Option<String> {
    let git = dir.join(".git");
    let git_dir = if git.is_dir() {
        git
    } else {
        // A worktree or submodule: `.git` is a file saying `gitdir: <path>`.
        let text = std::fs::read_to_string(&git).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        dir.join(target)
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let sha = match head.strip_prefix("ref:") {
        None => head.to_string(),
        Some(reference) => {
            let reference = reference.trim();
            let common = std::fs::read_to_string(git_dir.join("commondir"))
                .ok()
                .map(|c| git_dir.join(c.trim()))
                .unwrap_or_else(|| git_dir.clone());
            std::fs::read_to_string(git_dir.join(reference))
                .or_else(|_| std::fs::read_to_string(common.join(reference)))
                .ok()
                .map(|s| s.trim().to_string())
                .or_else(|| {
                    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
                    packed.lines().find_map(|line| {
                        let (sha, name) = line.split_once(' ')?;
                        (name.trim() == reference).then(|| sha.to_string())
                    })
                })?
        }
    };
    let ok = sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| sha[..7].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, install_dir: Option<&Path>) -> ServiceRow {
        let mut v = serde_json::json!({
            "name": name, "port": 1940, "paths": ["/x"], "health": "/health", "version": "1.0.0"
        });
        if let Some(dir) = install_dir {
            v["installDir"] = dir.display().to_string().into();
        }
        let doc = serde_json::json!({ "services": [v] });
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("services.json"), doc.to_string()).unwrap();
        parachute_home::services::read_strict(&parachute_home::Home::at(tmp.path()))
            .unwrap()
            .services
            .remove(0)
    }

    #[test]
    fn global_packages_are_npm_with_their_version() {
        let tmp = tempfile::tempdir().unwrap();
        let prefix = tmp.path().join("install/global/node_modules");
        let pkg = prefix.join("@openparachute/vault");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("package.json"), r#"{"version":"0.4.1"}"#).unwrap();
        let source = detect(&row("parachute-vault", None), std::slice::from_ref(&prefix));
        assert_eq!(source.label(), "npm (0.4.1)");
        assert_eq!(source.stale_note("0.1.0"), None);
        assert_eq!(
            detect(&row("parachute-scribe", None), &[prefix]),
            InstallSource::Unknown
        );
    }

    #[test]
    fn checkouts_are_linked_with_their_commit_and_staleness() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my-module");
        std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
        std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(
            dir.join(".git/refs/heads/main"),
            "0123456789abcdef0123456789abcdef01234567\n",
        )
        .unwrap();
        std::fs::write(dir.join("package.json"), r#"{"version":"2.0.0"}"#).unwrap();
        let source = detect(&row("thing", Some(&dir)), &[]);
        assert_eq!(source.label(), "bun-linked → my-module @ 0123456");
        assert!(source.stale_note("1.0.0").unwrap().contains("2.0.0"));
        assert_eq!(source.stale_note("2.0.0"), None);

        std::fs::remove_file(dir.join(".git/refs/heads/main")).unwrap();
        std::fs::write(
            dir.join(".git/packed-refs"),
            "# pack-refs\nfedcba9876543210fedcba9876543210fedcba98 refs/heads/main\n",
        )
        .unwrap();
        assert_eq!(git_head(&dir).as_deref(), Some("fedcba9"));
        std::fs::remove_dir_all(dir.join(".git")).unwrap();
        assert_eq!(
            detect(&row("thing", Some(&dir)), &[]).label(),
            "bun-linked → my-module"
        );
    }
}

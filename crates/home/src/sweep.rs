//! Removing temp files whose writer died mid-write.
//!
//! A writer killed between creating its temp file and renaming it leaves the temp file behind
//! (the target is intact). Nothing else ever removes it, so the hub and the writing CLI verbs
//! sweep once when they start. Only our own debris goes: regular files named like our temp
//! files (`<file>.tmp-<pid>-<ms>[-<n>]` from [`crate::write_atomic`], `.<file>.tmp-<pid>-<id>`
//! from the operator-token writer) whose writer pid no longer exists, in the directories we
//! write: the home itself, `hub/run/`, `well-known/`, `cloudflared/<tunnel>/`, and in a
//! module's directory only temp copies of its `.env` (the rest of it is the module's).

use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic::TEMP_INFIX;
use crate::paths::Home;

/// Directories directly under the home that belong to the hub, not to a module.
const HUB_DIRS: &[&str] = &["hub", "well-known", "cloudflared"];

/// Removes the stale temp files of `home` and returns what was removed. Never fails: a
/// directory that cannot be read is skipped, and a file that cannot be removed is logged.
pub fn sweep_stale_temp_files(home: &Home) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut sweep = |dir: &Path, only_base: Option<&str>| {
        removed.extend(sweep_dir(dir, only_base));
    };
    sweep(home.root(), None);
    sweep(&home.hub_dir().join("run"), None);
    sweep(&home.well_known_dir(), None);
    for tunnel in subdirectories(&home.cloudflared_dir()) {
        sweep(&tunnel, None);
    }
    for dir in subdirectories(home.root()) {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || HUB_DIRS.contains(&name) {
            continue;
        }
        sweep(&dir, Some(".env"));
    }
    removed
}

/// The real (not symlinked) directories directly inside `dir`.
fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Sweeps one directory; `only_base` limits it to temp copies of that one file.
fn sweep_dir(dir: &Path, only_base: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((base, pid)) = name.to_str().and_then(parse_temp_name) else {
            continue;
        };
        if only_base.is_some_and(|only| only != base) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) || pid_exists(pid) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), pid, "removed a temp file left by a writer that died");
                removed.push(path);
            }
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "cannot remove a stale temp file");
            }
        }
    }
    removed
}

/// `(base, pid)` when `name` is one of our temp file names: `<base>.tmp-<pid>-<tail>` where
/// `<tail>` is the writer's stamp (digits and dashes, or a token id `[A-Za-z0-9_-]`). The base
/// of an operator-token temp file keeps its leading dot (`.operator.token`).
pub(crate) fn parse_temp_name(name: &str) -> Option<(&str, u32)> {
    let at = name.rfind(TEMP_INFIX)?;
    let base = &name[..at];
    let rest = &name[at + TEMP_INFIX.len()..];
    let (pid, tail) = rest.split_once('-')?;
    let stamp_ok = !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let pid_ok = !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit());
    if base.is_empty() || base == "." || !stamp_ok || !pid_ok {
        return None;
    }
    let pid: u32 = pid.parse().ok()?;
    (pid > 0 && i32::try_from(pid).is_ok()).then_some((base, pid))
}

/// Whether a process `pid` exists (a process of another user counts).
fn pid_exists(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(raw, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid that no process has: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn recognises_our_temp_names_only() {
        assert_eq!(
            parse_temp_name("services.json.tmp-123-1700000000000"),
            Some(("services.json", 123))
        );
        assert_eq!(
            parse_temp_name("services.json.tmp-123-1700000000000-4"),
            Some(("services.json", 123))
        );
        assert_eq!(
            parse_temp_name(".operator.token.tmp-77-q1w2e3_r4-t5y6u7i8o9p0"),
            Some((".operator.token", 77))
        );
        assert_eq!(
            parse_temp_name(".env.tmp-9-1"),
            Some((".env", 9)),
            "a module's .env"
        );
        for other in [
            "services.json",
            "services.json.tmp-",
            "services.json.tmp-abc-1",
            "services.json.tmp-12",
            "services.json.tmp-12-",
            "services.json.tmp-0-5",
            ".tmp-12-5",
            "notes.tmp-12-5.bak",
            "x.tmp-99999999999-1",
        ] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn removes_dead_writers_debris_in_our_directories_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let dead = dead_pid();
        let live = std::process::id();
        let write = |rel: &str| {
            let path = tmp.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "partial").unwrap();
            path
        };
        let stale = [
            write(&format!("services.json.tmp-{dead}-1700000000000")),
            write(&format!(".operator.token.tmp-{dead}-AbC_d-9")),
            write(&format!("hub/run/hub.port.tmp-{dead}-1-2")),
            write(&format!("well-known/hub.html.tmp-{dead}-5")),
            write(&format!("cloudflared/t1/config.yml.tmp-{dead}-5")),
            write(&format!("vault/.env.tmp-{dead}-5")),
        ];
        let kept = [
            // A writer that is still running.
            write(&format!("services.json.tmp-{live}-1700000000000")),
            // Module data that merely looks like ours.
            write(&format!("vault/data.db.tmp-{dead}-5")),
            write(&format!("vault/sub/.env.tmp-{dead}-5")),
            // Not a temp name.
            write("services.json"),
            write("hub/run/hub.port"),
            // Archives are the migration's.
            write(&format!(".archive-2026-01-01/services.json.tmp-{dead}-5")),
        ];
        // A directory with a temp name is never removed.
        fs::create_dir_all(tmp.path().join(format!("expose-state.json.tmp-{dead}-5"))).unwrap();

        let mut removed = sweep_stale_temp_files(&home);
        removed.sort();
        let mut want = stale.to_vec();
        want.sort();
        assert_eq!(removed, want);
        for path in &stale {
            assert!(!path.exists(), "{}", path.display());
        }
        for path in &kept {
            assert!(path.exists(), "{}", path.display());
        }
        assert!(
            tmp.path()
                .join(format!("expose-state.json.tmp-{dead}-5"))
                .is_dir()
        );
        assert!(sweep_stale_temp_files(&home).is_empty(), "idempotent");
    }
}

//! The "new version" for the upgrade suites: the real `parachute`, built once from a copy of
//! this workspace whose version is one minor release higher, in its own target directory
//! (never over the binaries other suites are running).
//!
//! Steps (under a cross-process lock, once per test process): copy `Cargo.toml` (version
//! bumped, the test package left out), `Cargo.lock` and `crates/` to
//! `<target>/upgrade-next-src/`, rewriting only files whose content changed so cargo's
//! fingerprints stay fresh → on the first run, seed `<target>/upgrade-next/<profile>/` with the
//! current profile's compiled dependencies (hard links for `deps/`, copies for `build/` and
//! `.fingerprint/`; the workspace's own crates are left out, they must be rebuilt) → `cargo
//! build --offline -p parachute --bin parachute` there → strip a copy (a release artifact is
//! stripped, and it keeps the downloads small).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The built new version.
pub struct NextBuild {
    /// The stripped binary (the artifact to publish).
    pub binary: PathBuf,
    /// The version it reports.
    pub version: String,
}

/// The new version, built on first use (a few minutes cold, about a second when fresh).
pub fn next_build() -> &'static NextBuild {
    static BUILD: OnceLock<NextBuild> = OnceLock::new();
    BUILD.get_or_init(build)
}

/// The workspace root (this package is `<root>/tests`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The workspace version (`[workspace.package] version`).
pub fn current_version() -> String {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(v) = line.strip_prefix("version") {
            return v
                .trim_start_matches([' ', '='])
                .trim()
                .trim_matches('"')
                .to_string();
        }
    }
    panic!("no [workspace.package] version in the root Cargo.toml");
}

/// One minor release above `version` (`0.1.0` → `0.2.0`, `0.6.3-rc.2` → `0.7.0`).
pub fn bump_minor(version: &str) -> String {
    let core = version.split(['-', '+']).next().unwrap();
    let parts: Vec<u64> = core.split('.').map(|p| p.parse().unwrap()).collect();
    format!("{}.{}.0", parts[0], parts[1] + 1)
}

fn build() -> NextBuild {
    let root = workspace_root();
    let profile_dir = parachute_tests::bin_dir();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let target = profile_dir.parent().unwrap().to_path_buf();
    let src = target.join("upgrade-next-src");
    let next_target = target.join("upgrade-next");
    std::fs::create_dir_all(&next_target).unwrap();
    let lock = std::fs::File::create(target.join("upgrade-next.lock")).unwrap();
    lock.lock().unwrap();

    let version = bump_minor(&current_version());
    sync_sources(&root, &src, &version);
    seed_dependencies(&profile_dir, &next_target.join(&profile));
    let started = Instant::now();
    cargo_build(&src, &next_target, &profile);
    let built = next_target.join(&profile).join("parachute");
    let stripped = next_target.join("parachute-stripped");
    strip(&built, &stripped);
    eprintln!(
        "upgrade suites: new version {version} ready in {:.1}s ({})",
        started.elapsed().as_secs_f32(),
        stripped.display()
    );
    NextBuild {
        binary: stripped,
        version,
    }
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text.starts_with('.') || name_text == "target" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            write_if_changed(&to.join(&name), &std::fs::read(&path).unwrap());
        }
    }
}

/// The workspace manifest with `version` and without the test package.
fn next_manifest(text: &str, version: &str) -> String {
    let mut out = String::new();
    let mut in_package = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_package = trimmed == "[workspace.package]";
        }
        // Only the CLI's crates are rebuilt: not the suites, not the desktop shell.
        if trimmed == "\"tests\"," || trimmed == "\"src-tauri\"," {
            continue;
        }
        if in_package && trimmed.starts_with("version") {
            out.push_str(&format!("version = \"{version}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn sync_sources(root: &Path, src: &Path, version: &str) {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    write_if_changed(
        &src.join("Cargo.toml"),
        next_manifest(&manifest, version).as_bytes(),
    );
    // Cargo rewrites the lock for the new versions; start from ours only the first time, so
    // the rewritten one stays fresh.
    if !src.join("Cargo.lock").exists() {
        std::fs::copy(root.join("Cargo.lock"), src.join("Cargo.lock")).unwrap();
    }
    copy_tree(&root.join("crates"), &src.join("crates"));
}

/// Links or copies everything compiled for the current profile except the workspace's own
/// crates, once.
fn seed_dependencies(from: &Path, to: &Path) {
    let marker = to.join(".seeded");
    if marker.exists() {
        return;
    }
    let ours = |name: &str| name.starts_with("parachute") || name.starts_with("libparachute");
    std::fs::create_dir_all(to.join("deps")).unwrap();
    for entry in std::fs::read_dir(from.join("deps")).unwrap().flatten() {
        let name = entry.file_name();
        if ours(&name.to_string_lossy()) || !entry.file_type().unwrap().is_file() {
            continue;
        }
        let dest = to.join("deps").join(&name);
        if std::fs::hard_link(entry.path(), &dest).is_err() {
            let _ = std::fs::copy(entry.path(), &dest);
        }
    }
    for dir in ["build", ".fingerprint"] {
        let Ok(entries) = std::fs::read_dir(from.join(dir)) else {
            continue;
        };
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in entries.flatten() {
            if ours(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let copied = Command::new("cp")
                .arg("-a")
                .arg(entry.path())
                .arg(to.join(dir))
                .status()
                .is_ok_and(|s| s.success());
            assert!(copied, "could not copy {}", entry.path().display());
        }
    }
    std::fs::write(marker, "").unwrap();
}

fn cargo_build(src: &Path, target: &Path, profile: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let log_path = target.join("build.log");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    use std::io::Write;
    let _ = writeln!(log, "--- cargo build (pid {})", std::process::id());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--offline",
        "-p",
        "parachute",
        "--bin",
        "parachute",
    ])
    .current_dir(src)
    .env("CARGO_TARGET_DIR", target)
    .stdin(Stdio::null())
    .stdout(log.try_clone().unwrap())
    .stderr(log);
    if profile == "release" {
        cmd.arg("--release");
    }
    let mut child = cmd.spawn().expect("run cargo");
    let deadline = Instant::now() + Duration::from_secs(40 * 60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "building the new version took over 40 minutes; see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!("building the new version failed:\n{}", tail.join("\n"));
    }
}

fn strip(built: &Path, stripped: &Path) {
    let fresh = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(b), Some(s)) = (fresh(built), fresh(stripped))
        && s >= b
    {
        return;
    }
    let tmp = stripped.with_extension("tmp");
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&tmp)
        .arg(built)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        std::fs::copy(built, &tmp).unwrap();
    }
    std::fs::rename(&tmp, stripped).unwrap();
}

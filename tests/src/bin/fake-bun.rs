//! Fake `bun` for the black-box suites: global installs only (`add -g`, `remove -g`).
//!
//! `bun add -g <pkg>@<tag>` "installs" the package the way Bun lays it out: a
//! `package.json` (`{name, version}`) in `$BUN_INSTALL/install/global/node_modules/<pkg>/`
//! (`$BUN_INSTALL` defaults to `~/.bun`), and for `@openparachute/<x>` an executable
//! `$BUN_INSTALL/bin/parachute-<x>` that runs `test-module` (ignoring its own arguments, such
//! as `serve`). `bun remove -g <pkg>` deletes both again. Output mimics Bun's.
//!
//! Knobs under the state directory (`PARACHUTE_FAKE_STATE`):
//! - `bun.version`: version every install reports; without it, the version the fake `npm`'s
//!   `npm.dist-tags.json` gives the requested tag, else `1.0.0`;
//! - `bun.module-args`: JSON array of extra `test-module` arguments for installed executables;
//! - `bun.fail`: lines `<verb> <exit> <stderr text>` make `add`/`remove` (`*` = both) fail;
//! - `bun.hold`: while this file exists, `add` waits (up to 60 s) before doing anything, so a
//!   test can observe an install in flight without timing.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parachute_tests::fake::record_invocation;

fn main() {
    let (state, args) = record_invocation("bun");
    let verb = args.first().map(String::as_str).unwrap_or("");
    let global = args.iter().any(|a| a == "-g" || a == "--global");
    let target = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
    let (Some(target), true, "add" | "remove") = (target, global, verb) else {
        eprintln!(
            "fake bun: only `bun add -g <pkg>[@tag]` and `bun remove -g <pkg>` are supported"
        );
        std::process::exit(2);
    };
    println!("bun {verb} v1.2.0 (fake)");
    if verb == "add" {
        wait_while(&state.join("bun.hold"));
    }
    injected_failure(&state, verb);
    let root = bun_install();
    match verb {
        "add" => add(&state, &root, &target),
        _ => remove(&root, &target),
    }
}

fn bun_install() -> PathBuf {
    std::env::var_os("BUN_INSTALL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".bun")
        })
}

fn wait_while(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn injected_failure(state: &Path, verb: &str) {
    let Ok(text) = std::fs::read_to_string(state.join("bun.fail")) else {
        return;
    };
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(which), Some(code)) = (parts.next(), parts.next()) else {
            continue;
        };
        if which == verb || which == "*" {
            eprintln!("{}", parts.next().unwrap_or("error: failed"));
            std::process::exit(code.parse().unwrap_or(1));
        }
    }
}

/// `@scope/name@tag` -> `@scope/name`; `name@tag` -> `name`; no tag -> as is.
fn package_name(spec: &str) -> &str {
    match spec.rfind('@') {
        Some(i) if i > 0 => &spec[..i],
        _ => spec,
    }
}

fn bin_name(package: &str) -> Option<String> {
    package
        .strip_prefix("@openparachute/")
        .map(|short| format!("parachute-{short}"))
}

/// `@scope/name@tag` -> `tag`; no tag -> `latest`.
fn tag_of(spec: &str) -> &str {
    match spec.rfind('@') {
        Some(i) if i > 0 => &spec[i + 1..],
        _ => "latest",
    }
}

/// The version the registry (the fake `npm`'s dist-tags file) gives `package@tag`.
fn registry_version(state: &Path, package: &str, tag: &str) -> Option<String> {
    let text = std::fs::read_to_string(state.join("npm.dist-tags.json")).ok()?;
    let all: serde_json::Value = serde_json::from_str(&text).ok()?;
    all.get(package)?.get(tag)?.as_str().map(str::to_string)
}

fn add(state: &Path, root: &Path, spec: &str) {
    let package = package_name(spec);
    let version = std::fs::read_to_string(state.join("bun.version"))
        .map(|v| v.trim().to_string())
        .ok()
        .or_else(|| registry_version(state, package, tag_of(spec)))
        .unwrap_or_else(|| "1.0.0".into());
    let dir = root.join("install/global/node_modules").join(package);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = serde_json::json!({"name": package, "version": version});
    std::fs::write(
        dir.join("package.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    println!();
    match bin_name(package) {
        Some(bin) => {
            write_executable(state, root, &bin, package, &version);
            println!("installed {package}@{version} with binaries:");
            println!(" - {bin}");
        }
        None => println!("installed {package}@{version}"),
    }
    println!();
    println!("1 package installed [12.00ms]");
}

fn write_executable(state: &Path, root: &Path, bin: &str, package: &str, version: &str) {
    use std::os::unix::fs::PermissionsExt;
    let test_module = std::env::current_exe()
        .expect("current_exe")
        .parent()
        .expect("bin dir")
        .join("test-module");
    let mut argv = vec![
        test_module.display().to_string(),
        "--say".into(),
        format!("{package}@{version} serving"),
    ];
    if let Ok(text) = std::fs::read_to_string(state.join("bun.module-args")) {
        let extra: Vec<String> =
            serde_json::from_str(&text).expect("bun.module-args is a JSON array");
        argv.extend(extra);
    }
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let dir = root.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(bin);
    std::fs::write(&path, format!("#!/bin/sh\nexec {}\n", quoted.join(" "))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn remove(root: &Path, package: &str) {
    let dir = root.join("install/global/node_modules").join(package);
    if !dir.exists() {
        eprintln!("error: package \"{package}\" is not installed globally");
        std::process::exit(1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    if let Some(bin) = bin_name(package) {
        let _ = std::fs::remove_file(root.join("bin").join(bin));
    }
    println!();
    println!("- {package}");
    println!("1 package removed [5.00ms]");
}

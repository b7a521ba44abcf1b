//! Can this binary be replaced in place, and how does the new one get to run?
//!
//! - A binary the Debian package manager owns (`dpkg -S <path>` succeeds) belongs to the
//!   package: replacing it would be undone by the next package upgrade and confuse `dpkg`, so
//!   the answer is `redeploy-required` with the `apt-get` command.
//! - A container's binary comes from its image (`PARACHUTE_HOME=/parachute`): redeploy.
//! - A binary in a directory this user cannot write: redeploy, with the way out.
//! - Otherwise in place. With the hub unit installed the restart goes through the manager and
//!   the new hub is health-gated (rollback promised); without one the person who started the
//!   hub restarts it.

use std::path::{Path, PathBuf};

use parachute_home::Home;
use parachute_os::CommandRunner;
use parachute_unit::{ManagedUnit, ManagerKind, UnitId};

use crate::error::UpgradeError;
use crate::status::RestartKind;

/// Why the binary cannot be replaced in place, and what upgrades it instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeploy {
    /// One sentence: why.
    pub reason: String,
    /// The command (or action) that upgrades this install.
    pub command: String,
}

/// Decides whether `binary` is replaced in place; `Err` carries the redeploy answer.
/// `user` names the account the upgrade runs as, for the message about an unwritable directory.
pub fn in_place(
    runner: &dyn CommandRunner,
    home: &Home,
    binary: &Path,
    user: &str,
) -> Result<(), Redeploy> {
    let real = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    if let Some(package) = dpkg_owner(runner, &real).or_else(|| dpkg_owner(runner, binary)) {
        return Err(Redeploy {
            reason: format!(
                "{} belongs to the Debian package {package}; the package manager upgrades it",
                real.display()
            ),
            command: format!(
                "sudo apt-get update && sudo apt-get install --only-upgrade {package}"
            ),
        });
    }
    if home.is_container() {
        return Err(Redeploy {
            reason: "this hub runs in a container, whose binary comes from its image".into(),
            command: "pull the new image and recreate the container (your data stays on the PARACHUTE_HOME volume)".into(),
        });
    }
    let dir = real
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    if !writable(&dir) {
        let user = if user.is_empty() { "this user" } else { user };
        return Err(Redeploy {
            reason: format!(
                "{} is in {}, which {user} cannot write",
                real.display(),
                dir.display()
            ),
            command: format!(
                "install -m 0755 {} ~/.local/bin/parachute && ~/.local/bin/parachute init   (moves the hub to a binary you own; later upgrades replace it in place)",
                real.display()
            ),
        });
    }
    Ok(())
}

/// The package owning `path`, when `dpkg` is here and knows it.
fn dpkg_owner(runner: &dyn CommandRunner, path: &Path) -> Option<String> {
    runner.which("dpkg")?;
    let text = path.to_str()?;
    let out = runner
        .run_with_timeout("dpkg", &["-S", text], std::time::Duration::from_secs(20))
        .ok()?;
    if !out.success() {
        return None;
    }
    // `parachute: /usr/bin/parachute` (or `pkg1, pkg2: path` for shared paths).
    let line = out.stdout.lines().find(|l| l.contains(": "))?;
    let packages = line.split(": ").next()?.trim();
    let first = packages.split(',').next()?.trim();
    let name = first.split(':').next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// How the new binary gets to run: through the hub unit when one is installed, else by hand.
/// A unit that runs another binary than the one being replaced is refused: restarting it
/// would never start the new version.
pub fn restart_kind(units: &ManagedUnit, binary: &Path) -> Result<RestartKind, UpgradeError> {
    let id = UnitId::hub();
    if units.manager() == ManagerKind::None || !units.is_installed(&id) {
        return Ok(RestartKind::Manual);
    }
    let Some(path) = units.unit_path(&id) else {
        return Ok(RestartKind::Manual);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| UpgradeError::io("read", &path, e))?;
    if names_binary(&text, binary) {
        return Ok(RestartKind::Unit);
    }
    Err(UpgradeError::UnitRunsOtherBinary {
        binary: binary.to_path_buf(),
        unit_binary: unit_program(&text).unwrap_or_else(|| path.display().to_string()),
    })
}

/// True when the unit text runs `binary` (as written or through its canonical path).
fn names_binary(unit_text: &str, binary: &Path) -> bool {
    let mut candidates = vec![binary.display().to_string()];
    if let Ok(real) = std::fs::canonicalize(binary) {
        candidates.push(real.display().to_string());
    }
    let program = unit_program(unit_text);
    candidates.iter().any(|c| {
        program.as_deref() == Some(c.as_str())
            || unit_text.contains(&format!("<string>{c}</string>"))
    })
}

/// The program a unit file runs: the first word of systemd's `ExecStart=`, or the first
/// `ProgramArguments` string of a launchd plist.
fn unit_program(text: &str) -> Option<String> {
    if let Some(line) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))
    {
        return line.split_whitespace().next().map(str::to_string);
    }
    let after = text.split("<key>ProgramArguments</key>").nth(1)?;
    let start = after.find("<string>")? + "<string>".len();
    let end = after[start..].find("</string>")?;
    Some(after[start..start + end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_of_either_kind_of_unit_is_found() {
        let systemd = "[Service]\nExecStart=/opt/p/parachute serve\n";
        assert_eq!(unit_program(systemd).as_deref(), Some("/opt/p/parachute"));
        assert!(names_binary(systemd, Path::new("/opt/p/parachute")));
        assert!(!names_binary(systemd, Path::new("/usr/bin/parachute")));
        let plist = "<key>ProgramArguments</key>\n<array>\n<string>/Users/a/bin/parachute</string>\n<string>serve</string>";
        assert_eq!(
            unit_program(plist).as_deref(),
            Some("/Users/a/bin/parachute")
        );
        assert!(names_binary(plist, Path::new("/Users/a/bin/parachute")));
    }

    #[test]
    fn a_package_owned_binary_is_redeploy_required_with_the_apt_command() {
        // The real dpkg, on a file the system package `dpkg` itself owns.
        let runner = parachute_os::SystemRunner::from_env();
        if runner.which("dpkg").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let owned = Path::new("/usr/bin/dpkg");
        let answer = in_place(&runner, &home, owned, "alice").unwrap_err();
        assert!(answer.reason.contains("Debian package dpkg"), "{answer:?}");
        assert!(
            answer
                .command
                .contains("apt-get install --only-upgrade dpkg"),
            "{answer:?}"
        );
        // A file nobody packaged, in a directory we can write, is replaced in place.
        let mine = dir.path().join("parachute");
        std::fs::write(&mine, "x").unwrap();
        assert_eq!(in_place(&runner, &home, &mine, "alice"), Ok(()));
    }

    #[test]
    fn a_container_home_is_redeploy_required() {
        let runner = parachute_os::SystemRunner::with_search_path("/nonexistent");
        let home = Home::at("/parachute");
        let answer = in_place(&runner, &home, Path::new("/tmp/parachute"), "alice").unwrap_err();
        assert!(answer.reason.contains("container"), "{answer:?}");
    }
}

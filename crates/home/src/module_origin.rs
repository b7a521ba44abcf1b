//! The hub origin as modules' `.env` files carry it (`PARACHUTE_HUB_ORIGIN=<origin>`), shared by
//! everything that changes the hub's origin (exposure, the `hub_origin` setting).
//!
//! The hub passes its configured origin to every module it spawns; the line in `.env` is for
//! the vault (which validates the hub's tokens against it) when something other than the hub
//! starts it, and the original's daemons read it the same way. Which origin belongs there, and
//! that a loopback origin never does, is the caller's decision.

use std::io;
use std::path::PathBuf;

use crate::envfile::EnvFile;
use crate::paths::Home;
use crate::services;

/// The variable modules read the hub origin from.
pub const HUB_ORIGIN_VAR: &str = "PARACHUTE_HUB_ORIGIN";

/// The module that always depends on the hub origin (it validates the hub's tokens).
const VAULT: &str = "vault";

/// A module's `.env` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ModuleOriginError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The `.env` file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The new contents could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The `.env` file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Short names of the rows in `services.json` (lenient read).
fn installed_shorts(home: &Home) -> Vec<String> {
    services::read_lenient(home)
        .manifest
        .services
        .iter()
        .map(|r| r.short())
        .collect()
}

/// The vault (when installed or already configured) plus every installed module whose `.env`
/// carries the origin, in `services.json` order after the vault.
pub fn origin_dependent_modules(home: &Home) -> Vec<String> {
    let mut out = Vec::new();
    let installed = installed_shorts(home);
    if installed.iter().any(|s| s == VAULT) || home.module_env(VAULT).exists() {
        out.push(VAULT.to_string());
    }
    for short in installed {
        if !out.contains(&short) && env_origin_of(home, &short).is_some() {
            out.push(short);
        }
    }
    out
}

/// The origin `<short>/.env` carries, if any (an unreadable file counts as none).
pub fn env_origin_of(home: &Home, short: &str) -> Option<String> {
    EnvFile::read(&home.module_env(short))
        .ok()
        .and_then(|env| env.get(HUB_ORIGIN_VAR))
}

/// Sets (`Some`) or removes (`None`) the origin line of `<short>/.env`, keeping every other
/// line; writes only when something changes (a missing file is created only to set a value).
/// Returns whether the file changed.
pub fn write_module_origin(
    home: &Home,
    short: &str,
    origin: Option<&str>,
) -> Result<bool, ModuleOriginError> {
    let path = home.module_env(short);
    let mut env = EnvFile::read(&path).map_err(|source| ModuleOriginError::Read {
        path: path.clone(),
        source,
    })?;
    let changed = match origin {
        Some(o) if env.get(HUB_ORIGIN_VAR).as_deref() == Some(o) => false,
        Some(o) => {
            env.set(HUB_ORIGIN_VAR, o);
            true
        }
        None => env.remove(HUB_ORIGIN_VAR),
    };
    if changed {
        env.write(&path)
            .map_err(|source| ModuleOriginError::Write { path, source })?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_and_modules_carrying_the_origin_depend_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        assert!(origin_dependent_modules(&home).is_empty());
        std::fs::write(
            home.services_json(),
            r#"{"services":[
              {"name":"surface","port":2001,"paths":["/surface"],"health":"/h","version":"1"},
              {"name":"echo","port":2002,"paths":["/echo"],"health":"/h","version":"1"},
              {"name":"parachute-vault","port":2003,"paths":["/vault/default"],"health":"/h","version":"1"}
            ]}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("echo")).unwrap();
        std::fs::write(
            home.module_env("echo"),
            "A=1\nPARACHUTE_HUB_ORIGIN=https://x\n",
        )
        .unwrap();
        assert_eq!(origin_dependent_modules(&home), ["vault", "echo"]);
        assert_eq!(env_origin_of(&home, "echo").as_deref(), Some("https://x"));
        assert_eq!(env_origin_of(&home, "surface"), None);
    }

    #[test]
    fn writes_keep_other_lines_and_only_happen_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        // Removing from a file that does not exist changes nothing and creates nothing.
        assert!(!write_module_origin(&home, "vault", None).unwrap());
        assert!(!home.module_env("vault").exists());
        assert!(write_module_origin(&home, "vault", Some("https://a.example")).unwrap());
        let path = home.module_env("vault");
        std::fs::write(
            &path,
            "# kept\nKEY=v\nPARACHUTE_HUB_ORIGIN=https://a.example\n",
        )
        .unwrap();
        assert!(!write_module_origin(&home, "vault", Some("https://a.example")).unwrap());
        assert!(write_module_origin(&home, "vault", Some("https://b.example")).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# kept\nKEY=v\n") && text.contains("=https://b.example"),
            "{text}"
        );
        assert!(write_module_origin(&home, "vault", None).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(HUB_ORIGIN_VAR) && text.contains("KEY=v"),
            "{text}"
        );
    }
}

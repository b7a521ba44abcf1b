//! Where every file of the config home lives.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::HomeError;

/// The config home root (`$PARACHUTE_HOME`, else `$HOME/.parachute`) and every path under it.
///
/// Paths are computed, never created: callers create directories when they write (the atomic
/// writer creates parent directories itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Home {
    /// The root directory; every other path is relative to it.
    root: PathBuf,
}

/// The exact root that signals "running in the official container image".
pub const CONTAINER_ROOT: &str = "/parachute";

impl Home {
    /// Resolves the home from the process environment: `PARACHUTE_HOME` when set and non-empty,
    /// else `$HOME/.parachute`.
    pub fn from_env() -> Result<Home, HomeError> {
        Home::resolve(|key| std::env::var_os(key))
    }

    /// Resolves the home from any variable lookup (tests pass a closure instead of mutating the
    /// process environment).
    pub fn resolve(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Home, HomeError> {
        if let Some(root) = lookup("PARACHUTE_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::at(root));
        }
        match lookup("HOME").filter(|v| !v.is_empty()) {
            Some(home) => Ok(Home::at(PathBuf::from(home).join(".parachute"))),
            None => Err(HomeError::NoHome),
        }
    }

    /// A home rooted at `root` (tests use a temp directory).
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A stable name for this home: the first 128 bits of the SHA-256 of its canonical path,
    /// in hex. The hub puts it in its proof of identity and the CLI compares it with its own, so
    /// a hub serving another home (a copy with the same keys included) is told apart. Fails when
    /// the root does not exist (there is no hub of it then).
    pub fn id(&self) -> std::io::Result<String> {
        use sha2::{Digest, Sha256};
        use std::os::unix::ffi::OsStrExt;
        let canonical = std::fs::canonicalize(&self.root)?;
        let digest = Sha256::digest(canonical.as_os_str().as_bytes());
        Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether this is the container layout (`PARACHUTE_HOME=/parachute` exactly).
    pub fn is_container(&self) -> bool {
        self.root.as_os_str() == CONTAINER_ROOT
    }

    /// `services.json`: the module registry.
    pub fn services_json(&self) -> PathBuf {
        self.root.join("services.json")
    }

    /// `expose-state.json`: the active Tailscale exposure.
    pub fn expose_state(&self) -> PathBuf {
        self.root.join("expose-state.json")
    }

    /// `cloudflared-state.json`: running Cloudflare tunnels.
    pub fn cloudflared_state(&self) -> PathBuf {
        self.root.join("cloudflared-state.json")
    }

    /// `cloudflared.log`: output of tunnels we started.
    pub fn cloudflared_log(&self) -> PathBuf {
        self.root.join("cloudflared.log")
    }

    /// `expose-last-provider.json`: which provider the last `expose` used.
    pub fn expose_last_provider(&self) -> PathBuf {
        self.root.join("expose-last-provider.json")
    }

    /// `hub-upgrade-status.json`: progress of a hub self-upgrade (mode 0600).
    pub fn hub_upgrade_status(&self) -> PathBuf {
        self.root.join("hub-upgrade-status.json")
    }

    /// `operator.token`: the CLI's bearer token (mode 0600).
    pub fn operator_token(&self) -> PathBuf {
        self.root.join("operator.token")
    }

    /// `hub.db`: the SQLite database of users, keys and tokens.
    pub fn hub_db(&self) -> PathBuf {
        self.root.join("hub.db")
    }

    /// `well-known/`: static discovery files.
    pub fn well_known_dir(&self) -> PathBuf {
        self.root.join("well-known")
    }

    /// `well-known/parachute.json`: the discovery document written on expose/install.
    pub fn well_known_parachute_json(&self) -> PathBuf {
        self.well_known_dir().join("parachute.json")
    }

    /// `well-known/hub.html`: the static hub page.
    pub fn well_known_hub_html(&self) -> PathBuf {
        self.well_known_dir().join("hub.html")
    }

    /// `hub/`: the hub's own directory.
    pub fn hub_dir(&self) -> PathBuf {
        self.root.join("hub")
    }

    /// `hub/run/hub.port`: the port the running hub listens on.
    pub fn hub_port_file(&self) -> PathBuf {
        self.hub_dir().join("run").join("hub.port")
    }

    /// `hub/run/hub.pid`: legacy pid file of a detached hub (read-only).
    pub fn hub_pid_file(&self) -> PathBuf {
        self.hub_dir().join("run").join("hub.pid")
    }

    /// `hub/logs/hub.log`: the hub unit's output.
    pub fn hub_log(&self) -> PathBuf {
        self.hub_dir().join("logs").join("hub.log")
    }

    /// `<short>/`: a module's directory. Always directly under the root, whatever `short` is:
    /// a name that is not one plain file name (see [`crate::services::unsafe_name_problem`];
    /// the registry readers refuse such rows) is escaped into one.
    pub fn module_dir(&self, short: &str) -> PathBuf {
        self.root.join(component(short).as_ref())
    }

    /// `<short>/.env`: variables merged into the module's spawn environment.
    pub fn module_env(&self, short: &str) -> PathBuf {
        self.module_dir(short).join(".env")
    }

    /// `<short>/logs/<short>.log`: the module's persisted output.
    pub fn module_log(&self, short: &str) -> PathBuf {
        self.module_dir(short)
            .join("logs")
            .join(format!("{}.log", component(short)))
    }

    /// `<short>/run/<short>.pid`: legacy pid file of a detached module (read-only).
    pub fn module_pid_file(&self, short: &str) -> PathBuf {
        self.module_dir(short)
            .join("run")
            .join(format!("{}.pid", component(short)))
    }

    /// `cloudflared/`: per-tunnel cloudflared configuration.
    pub fn cloudflared_dir(&self) -> PathBuf {
        self.root.join("cloudflared")
    }

    /// `cloudflared/<tunnel>/config.yml`: one tunnel's ingress config (an unsafe tunnel name
    /// is escaped as module names are, so the path stays under `cloudflared/`).
    pub fn cloudflared_config(&self, tunnel: &str) -> PathBuf {
        self.cloudflared_dir()
            .join(component(tunnel).as_ref())
            .join("config.yml")
    }
}

/// `name` when it is one plain file name, else an escaped form that is: every byte outside
/// `[A-Za-z0-9_-]` becomes `%XX`, so no `/`, `..` or control character survives.
fn component(name: &str) -> Cow<'_, str> {
    if crate::services::unsafe_name_problem(name).is_none() {
        return Cow::Borrowed(name);
    }
    let mut out = String::from("%");
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn parachute_home_wins_when_non_empty() {
        let home = Home::resolve(lookup(&[("PARACHUTE_HOME", "/srv/p"), ("HOME", "/home/u")]));
        assert_eq!(home.unwrap().root(), Path::new("/srv/p"));
        let home = Home::resolve(lookup(&[("PARACHUTE_HOME", ""), ("HOME", "/home/u")]));
        assert_eq!(home.unwrap().root(), Path::new("/home/u/.parachute"));
        let err = Home::resolve(lookup(&[])).unwrap_err().to_string();
        assert!(err.contains("PARACHUTE_HOME"), "{err}");
    }

    #[test]
    fn module_paths_never_leave_the_home() {
        let h = Home::at("/p");
        for name in [
            "../escape-target/x",
            "..",
            ".",
            "",
            "/etc",
            "a/../../b",
            "nul\0byte",
            "line\nbreak",
            "esc\u{1b}[2J",
            "c1\u{85}",
        ] {
            for path in [
                h.module_dir(name),
                h.module_env(name),
                h.module_log(name),
                h.module_pid_file(name),
                h.cloudflared_config(name),
            ] {
                let rel = path
                    .strip_prefix("/p")
                    .unwrap_or_else(|_| panic!("{path:?}"));
                for part in rel.components() {
                    assert!(
                        matches!(part, std::path::Component::Normal(_)),
                        "{name:?} -> {path:?}"
                    );
                    let text = part.as_os_str().to_str().unwrap();
                    assert!(!text.chars().any(char::is_control), "{name:?} -> {path:?}");
                }
                let depth = rel.components().count();
                assert!((1..=3).contains(&depth), "{name:?} -> {path:?}");
            }
        }
        assert_eq!(
            h.module_dir("../escape-target/x"),
            PathBuf::from("/p/%%2E%2E%2Fescape-target%2Fx")
        );
        // Plain names are used as they are.
        assert_eq!(h.module_dir("my.module"), PathBuf::from("/p/my.module"));
    }

    #[test]
    fn the_id_names_the_directory_not_the_spelling() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        std::fs::create_dir(&a).unwrap();
        std::os::unix::fs::symlink(&a, tmp.path().join("link")).unwrap();
        let id = Home::at(&a).id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(Home::at(tmp.path().join("link")).id().unwrap(), id);
        assert_eq!(Home::at(tmp.path().join("a/../a")).id().unwrap(), id);
        let b = tmp.path().join("b");
        std::fs::create_dir(&b).unwrap();
        assert_ne!(Home::at(&b).id().unwrap(), id, "a copy is another home");
        assert!(Home::at(tmp.path().join("missing")).id().is_err());
    }

    #[test]
    fn container_signal_is_exact() {
        assert!(Home::at("/parachute").is_container());
        assert!(!Home::at("/parachute/").is_container());
        assert!(!Home::at("/srv/parachute").is_container());
    }

    #[test]
    fn layout() {
        let h = Home::at("/p");
        let cases = [
            (h.services_json(), "/p/services.json"),
            (h.expose_state(), "/p/expose-state.json"),
            (h.cloudflared_state(), "/p/cloudflared-state.json"),
            (h.expose_last_provider(), "/p/expose-last-provider.json"),
            (h.hub_upgrade_status(), "/p/hub-upgrade-status.json"),
            (h.operator_token(), "/p/operator.token"),
            (h.hub_db(), "/p/hub.db"),
            (
                h.well_known_parachute_json(),
                "/p/well-known/parachute.json",
            ),
            (h.well_known_hub_html(), "/p/well-known/hub.html"),
            (h.hub_port_file(), "/p/hub/run/hub.port"),
            (h.hub_pid_file(), "/p/hub/run/hub.pid"),
            (h.hub_log(), "/p/hub/logs/hub.log"),
            (h.module_env("vault"), "/p/vault/.env"),
            (h.module_log("vault"), "/p/vault/logs/vault.log"),
            (h.module_pid_file("vault"), "/p/vault/run/vault.pid"),
            (h.cloudflared_config("t1"), "/p/cloudflared/t1/config.yml"),
            (h.cloudflared_log(), "/p/cloudflared.log"),
        ];
        for (got, want) in cases {
            assert_eq!(got, PathBuf::from(want));
        }
    }
}

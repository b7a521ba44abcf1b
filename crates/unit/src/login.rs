//! Start at login for the desktop app: one registration, always pointing at the current binary.
//!
//! On Linux the registration is an XDG autostart entry (`<config>/autostart/<name>.desktop`)
//! written by [`XdgAutostart`], whose directory is injectable (tests use a temp dir; the
//! `auto-launch` crate always writes under the real `$HOME`). On macOS it is the `auto-launch`
//! crate's LaunchAgent ([`AutoLaunchBackend`]).

use std::path::{Path, PathBuf};

use crate::atomic::{remove_if_present, write_atomic};
use crate::error::UnitError;

/// The key that marks a desktop entry as ours, so stale copies can be found and removed.
const MARKER: &str = "X-Parachute-Login-Item";

/// What to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginItemConfig {
    /// File / label name: `<name>.desktop` on Linux, `<name>.plist` on macOS.
    pub name: String,
    /// What the desktop shows for the entry.
    pub display_name: String,
    /// Arguments after the executable (e.g. start hidden in the tray).
    pub args: Vec<String>,
}

impl LoginItemConfig {
    /// The Parachute desktop app's registration on this platform.
    pub fn parachute_desktop() -> Self {
        let name = if cfg!(target_os = "macos") {
            "computer.parachute.desktop"
        } else {
            "parachute-desktop"
        };
        Self {
            name: name.to_string(),
            display_name: "Parachute".to_string(),
            args: Vec::new(),
        }
    }
}

/// Whether the app starts at login, and which binary it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginItemStatus {
    /// Not registered.
    Disabled,
    /// Registered to start `exe`.
    Enabled {
        /// The registered executable.
        exe: PathBuf,
    },
}

/// A platform mechanism that can hold one login registration.
pub trait LoginItemBackend: Send + Sync {
    /// The executable currently registered, `None` when not registered.
    fn registered(&self) -> Result<Option<PathBuf>, UnitError>;
    /// Registers `exe`, replacing any previous registration (never adding a second one).
    fn register(&self, exe: &Path) -> Result<(), UnitError>;
    /// Removes the registration; absent is fine.
    fn unregister(&self) -> Result<(), UnitError>;
}

/// The desktop app's login item.
pub struct LoginItem {
    /// The mechanism in use.
    backend: Box<dyn LoginItemBackend>,
}

impl std::fmt::Debug for LoginItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginItem").finish_non_exhaustive()
    }
}

impl LoginItem {
    /// A login item over any backend.
    pub fn new(backend: Box<dyn LoginItemBackend>) -> Self {
        Self { backend }
    }

    /// The platform's mechanism: auto-launch's LaunchAgent on macOS, an XDG autostart entry
    /// (under `$XDG_CONFIG_HOME`, else `~/.config`) elsewhere.
    pub fn for_platform(cfg: LoginItemConfig) -> Result<Self, UnitError> {
        if cfg!(target_os = "macos") {
            return Ok(Self::new(Box::new(AutoLaunchBackend { cfg })));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or(UnitError::NoHome)?;
        let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
        Ok(Self::new(Box::new(XdgAutostart::from_dirs(
            &home,
            xdg.as_deref(),
            cfg,
        ))))
    }

    /// Registers `exe` to start at login (replacing any older registration).
    pub fn enable(&self, exe: &Path) -> Result<(), UnitError> {
        self.backend.register(exe)
    }

    /// Stops starting at login.
    pub fn disable(&self) -> Result<(), UnitError> {
        self.backend.unregister()
    }

    /// True when registered.
    pub fn is_enabled(&self) -> Result<bool, UnitError> {
        Ok(self.backend.registered()?.is_some())
    }

    /// Registered or not, and for which binary.
    pub fn status(&self) -> Result<LoginItemStatus, UnitError> {
        Ok(match self.backend.registered()? {
            Some(exe) => LoginItemStatus::Enabled { exe },
            None => LoginItemStatus::Disabled,
        })
    }

    /// When registered for a different binary than `exe` (the app moved or was updated in a
    /// new place), re-points the registration at `exe`. Returns true when it changed anything.
    /// A disabled item stays disabled.
    pub fn ensure_current(&self, exe: &Path) -> Result<bool, UnitError> {
        match self.backend.registered()? {
            Some(current) if current != exe => {
                tracing::info!(from = %current.display(), to = %exe.display(), "re-pointing the login item");
                self.backend.register(exe)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// An XDG autostart entry (`<dir>/<name>.desktop`), the freedesktop login-item mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdgAutostart {
    /// Where our entry is written.
    dir: PathBuf,
    /// Other autostart directories where an older copy of our entry may sit (e.g.
    /// `~/.config/autostart` when `XDG_CONFIG_HOME` points elsewhere); cleaned on register.
    other_dirs: Vec<PathBuf>,
    /// Name, display name, arguments.
    cfg: LoginItemConfig,
}

impl XdgAutostart {
    /// An entry in exactly `dir`.
    pub fn new(dir: impl Into<PathBuf>, cfg: LoginItemConfig) -> Self {
        Self {
            dir: dir.into(),
            other_dirs: Vec::new(),
            cfg,
        }
    }

    /// The entry for a user whose home is `home` and whose `XDG_CONFIG_HOME` is
    /// `xdg_config_home` (ignored unless absolute, as the spec says).
    pub fn from_dirs(home: &Path, xdg_config_home: Option<&Path>, cfg: LoginItemConfig) -> Self {
        let default = home.join(".config/autostart");
        let dir = xdg_config_home
            .filter(|p| p.is_absolute())
            .map(|p| p.join("autostart"))
            .unwrap_or_else(|| default.clone());
        let other_dirs = if dir == default {
            Vec::new()
        } else {
            vec![default]
        };
        Self {
            dir,
            other_dirs,
            cfg,
        }
    }

    /// The path of our entry.
    pub fn entry_path(&self) -> PathBuf {
        self.dir.join(format!("{}.desktop", self.cfg.name))
    }

    fn render(&self, exe: &Path) -> String {
        let mut exec = quote_exec_arg(&exe.display().to_string());
        for arg in &self.cfg.args {
            exec.push(' ');
            exec.push_str(&quote_exec_arg(arg));
        }
        format!(
            "[Desktop Entry]\nType=Application\nVersion=1.0\nName={name}\nComment=Starts {name} when you log in\nExec={exec}\nTerminal=false\nStartupNotify=false\nX-GNOME-Autostart-enabled=true\n{MARKER}=true\n",
            name = self.cfg.display_name,
            exec = escape_string_value(&exec),
        )
    }

    /// Every entry carrying our marker in our directories, except our own file.
    fn stray_entries(&self) -> Vec<PathBuf> {
        let own = self.entry_path();
        let mut found = Vec::new();
        for dir in std::iter::once(&self.dir).chain(&self.other_dirs) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path == own || path.extension().is_none_or(|e| e != "desktop") {
                    continue;
                }
                let ours = std::fs::read_to_string(&path)
                    .map(|t| t.lines().any(|l| l.trim() == format!("{MARKER}=true")))
                    .unwrap_or(false);
                if ours {
                    found.push(path);
                }
            }
        }
        found
    }
}

impl LoginItemBackend for XdgAutostart {
    fn registered(&self) -> Result<Option<PathBuf>, UnitError> {
        let path = self.entry_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(UnitError::io("read", path, e)),
        };
        Ok(parse_desktop_exec(&text))
    }

    fn register(&self, exe: &Path) -> Result<(), UnitError> {
        write_atomic(&self.entry_path(), &self.render(exe), 0o644)?;
        for stray in self.stray_entries() {
            tracing::info!(path = %stray.display(), "removing a duplicate login entry");
            remove_if_present(&stray)?;
        }
        Ok(())
    }

    fn unregister(&self) -> Result<(), UnitError> {
        remove_if_present(&self.entry_path())?;
        for stray in self.stray_entries() {
            remove_if_present(&stray)?;
        }
        Ok(())
    }
}

/// The `auto-launch` crate's mechanism (a LaunchAgent plist on macOS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoLaunchBackend {
    /// Name (the plist label), display name, arguments.
    cfg: LoginItemConfig,
}

impl AutoLaunchBackend {
    fn build(&self, exe: &Path) -> Result<auto_launch::AutoLaunch, UnitError> {
        auto_launch::AutoLaunchBuilder::new()
            .set_app_name(&self.cfg.name)
            .set_app_path(&exe.display().to_string())
            .set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent)
            .set_args(&self.cfg.args)
            .build()
            .map_err(|e| UnitError::LoginItem {
                action: "prepare",
                detail: e.to_string(),
            })
    }

    /// The file auto-launch writes for this name.
    fn file(&self) -> Option<PathBuf> {
        let home = PathBuf::from(std::env::var_os("HOME")?);
        Some(if cfg!(target_os = "macos") {
            home.join(format!("Library/LaunchAgents/{}.plist", self.cfg.name))
        } else {
            home.join(format!(".config/autostart/{}.desktop", self.cfg.name))
        })
    }
}

impl LoginItemBackend for AutoLaunchBackend {
    fn registered(&self) -> Result<Option<PathBuf>, UnitError> {
        let Some(path) = self.file() else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(UnitError::io("read", path, e)),
        };
        Ok(if cfg!(target_os = "macos") {
            first_program_argument(&text)
        } else {
            parse_desktop_exec(&text)
        })
    }

    fn register(&self, exe: &Path) -> Result<(), UnitError> {
        // auto-launch overwrites its one file per name, so this never adds a second entry.
        self.build(exe)?.enable().map_err(|e| UnitError::LoginItem {
            action: "enable",
            detail: e.to_string(),
        })
    }

    fn unregister(&self) -> Result<(), UnitError> {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/"));
        self.build(&exe)?
            .disable()
            .map_err(|e| UnitError::LoginItem {
                action: "disable",
                detail: e.to_string(),
            })
    }
}

/// Quotes one `Exec=` argument as the Desktop Entry spec asks: always in double quotes, with
/// `"`, `` ` ``, `$` and `\` backslash-escaped, and `%` doubled (field codes).
fn quote_exec_arg(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// The general string-value escaping of desktop files (backslash, newline, tab, CR).
fn escape_string_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
        .replace('\r', "\\r")
}

/// Undoes [`escape_string_value`].
fn unescape_string_value(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The first argument of the `Exec=` key of the `[Desktop Entry]` group, unless the entry is
/// switched off (`Hidden=true` or `X-GNOME-Autostart-enabled=false`).
fn parse_desktop_exec(text: &str) -> Option<PathBuf> {
    let mut in_entry = false;
    let mut exec = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        if !in_entry {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match (key.trim(), value.trim()) {
            ("Hidden", "true") | ("X-GNOME-Autostart-enabled", "false") => return None,
            ("Exec", v) => exec = Some(unescape_string_value(v)),
            _ => {}
        }
    }
    first_exec_arg(&exec?).map(PathBuf::from)
}

/// Splits off the first argument of an (already string-unescaped) `Exec` value.
fn first_exec_arg(exec: &str) -> Option<String> {
    let exec = exec.trim_start();
    let mut out = String::new();
    let mut chars = exec.chars();
    if exec.starts_with('"') {
        chars.next();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => break,
                other => out.push(other),
            }
        }
    } else {
        out = exec.split_whitespace().next()?.to_string();
    }
    let out = out.replace("%%", "%");
    (!out.is_empty()).then_some(out)
}

/// The first `<string>` of `ProgramArguments` in a plist, entity-decoded.
fn first_program_argument(plist: &str) -> Option<PathBuf> {
    let after = &plist[plist.find("<key>ProgramArguments</key>")?..];
    let start = after.find("<string>")? + "<string>".len();
    let end = after[start..].find("</string>")? + start;
    let raw = &after[start..end];
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(PathBuf::from(decoded))
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;

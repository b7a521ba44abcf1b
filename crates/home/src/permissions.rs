//! Refusing to run modules from files other users can change.
//!
//! Whoever can write `services.json`, a module's `.env` or the directories holding them decides
//! which programs the hub runs, with which environment, as this user. Like OpenSSH with its
//! keys and `authorized_keys` (`StrictModes`), the hub refuses to start modules while any of
//! them is writable by someone else. The rule, for each file and directory checked and for every
//! directory above it up to `/` (symlinks resolved):
//!
//! 1. the owner is this user or root;
//! 2. nobody else may write it — except a sticky directory above the checked paths (`/tmp`):
//!    its other users cannot rename or replace entries they do not own;
//! 3. a group-writable entry is accepted only when its group has exactly one member and that
//!    member is the entry's owner (primary members from the user database plus the group's
//!    listed members). Per-user groups with umask 002, as Debian sets them up, keep working;
//!    a shared group is refused. An unknown group or one with no members is refused.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::paths::Home;

/// A file or directory that lets others decide what the hub runs; the message names it and
/// the command that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// Someone other than the owner may write the entry.
    #[error(
        "{path} is writable by {who} (mode {mode:04o}), and whoever can change it decides which \
         programs the hub runs as you; modules are not started until it is fixed. Run `{fix}`, \
         then start them again (or restart the hub)"
    )]
    WritableByOthers {
        /// The file or directory.
        path: PathBuf,
        /// `other users`, or `the members of group <g>` (naming the group).
        who: String,
        /// Its permission bits.
        mode: u32,
        /// The command that fixes it.
        fix: String,
    },
    /// The entry belongs to another user (not root).
    #[error(
        "{path} belongs to uid {owner}, not to you (uid {me}) or root, so that user decides \
         which programs the hub runs as you; modules are not started until it is fixed. Run \
         `{fix}` as root (or move the Parachute home somewhere you own)"
    )]
    ForeignOwner {
        /// The file or directory.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// Our effective uid.
        me: u32,
        /// The command that fixes it.
        fix: String,
    },
    /// The entry exists but cannot be inspected.
    #[error(
        "cannot check who may change {path}: {source}; modules are not started until it can be \
         checked. Check the permissions of the directories above it"
    )]
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl PermissionError {
    /// The file or directory at fault.
    pub fn path(&self) -> &Path {
        match self {
            Self::WritableByOthers { path, .. }
            | Self::ForeignOwner { path, .. }
            | Self::Unreadable { path, .. } => path,
        }
    }
}

/// Who belongs to which group, as far as rule 3 needs it (the system's user database in
/// production; a table in tests).
pub(crate) trait Accounts {
    /// The login names of every member of group `gid` (listed members and users whose primary
    /// group it is), or `None` when the group is unknown.
    fn group_members(&self, gid: u32) -> Option<HashSet<String>>;
    /// The login name of `uid`.
    fn user_name(&self, uid: u32) -> Option<String>;
}

/// The system's user database (`getgrgid`, `getpwuid`, `getpwent`).
pub(crate) struct SystemAccounts;

/// `getpwent` walks one process-wide cursor: one walker at a time.
static PASSWD_WALK: Mutex<()> = Mutex::new(());

impl Accounts for SystemAccounts {
    fn group_members(&self, gid: u32) -> Option<HashSet<String>> {
        let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)).ok()??;
        let mut members: HashSet<String> = group.mem.into_iter().collect();
        let _walk = PASSWD_WALK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: setpwent/getpwent/endpwent under a process-wide lock; each entry is copied
        // out before the next call overwrites it.
        unsafe {
            libc::setpwent();
            loop {
                let entry = libc::getpwent();
                if entry.is_null() {
                    break;
                }
                if (*entry).pw_gid == gid && !(*entry).pw_name.is_null() {
                    let name = std::ffi::CStr::from_ptr((*entry).pw_name);
                    members.insert(name.to_string_lossy().into_owned());
                }
            }
            libc::endpwent();
        }
        Some(members)
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()?
            .map(|u| u.name)
    }
}

/// What was found about one entry, in the terms of the rule.
struct Entry<'a> {
    /// The entry (symlinks resolved).
    path: &'a Path,
    /// Permission bits (`0o7777`).
    mode: u32,
    /// Owner.
    uid: u32,
    /// Group.
    gid: u32,
    /// Whether it is a directory.
    is_dir: bool,
    /// Whether it is a directory above the checked paths (rule 2's sticky exception).
    ancestor: bool,
}

impl<'a> Entry<'a> {
    /// The facts of `path` from its metadata.
    fn of(path: &'a Path, meta: &fs::Metadata, ancestor: bool) -> Self {
        Entry {
            path,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            is_dir: meta.is_dir(),
            ancestor,
        }
    }
}

/// Checks one entry against the rule for the user `me`.
fn check_entry(entry: &Entry<'_>, me: u32, accounts: &dyn Accounts) -> Result<(), PermissionError> {
    let mode = entry.mode;
    let owner = entry.uid;
    if owner != me && owner != 0 {
        let name = accounts.user_name(me).unwrap_or_else(|| me.to_string());
        return Err(PermissionError::ForeignOwner {
            path: entry.path.to_path_buf(),
            owner,
            me,
            fix: format!("chown {name} {}", shell_quote(entry.path)),
        });
    }
    if entry.ancestor && entry.is_dir && mode & 0o1000 != 0 {
        return Ok(());
    }
    let other_writable = mode & 0o002 != 0;
    let group_writable = mode & 0o020 != 0 && !group_is_private(entry.gid, owner, accounts);
    if !other_writable && !group_writable {
        return Ok(());
    }
    let (who, bits) = match (other_writable, group_writable) {
        (true, true) => (
            format!("other users and the members of {}", group_label(entry.gid)),
            "go-w",
        ),
        (true, false) => ("other users".to_string(), "o-w"),
        _ => (format!("the members of {}", group_label(entry.gid)), "g-w"),
    };
    Err(PermissionError::WritableByOthers {
        path: entry.path.to_path_buf(),
        who,
        mode,
        fix: format!("chmod {bits} {}", shell_quote(entry.path)),
    })
}

/// Rule 3: the group's only member is the entry's owner.
fn group_is_private(gid: u32, owner: u32, accounts: &dyn Accounts) -> bool {
    let (Some(members), Some(owner_name)) =
        (accounts.group_members(gid), accounts.user_name(owner))
    else {
        return false;
    };
    members.len() == 1 && members.contains(&owner_name)
}

/// `group <name> (gid N)`, or `group gid N` when it has no name.
fn group_label(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(group)) => format!("group {} (gid {gid})", group.name),
        _ => format!("group gid {gid}"),
    }
}

/// `path` in single quotes for a shell command line.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Checks every path in `targets` (absent ones are skipped) and every directory above them.
pub(crate) fn check_paths(
    targets: &[PathBuf],
    me: u32,
    accounts: &dyn Accounts,
) -> Result<(), PermissionError> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for target in targets {
        let real = match fs::canonicalize(target) {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(PermissionError::Unreadable {
                    path: target.clone(),
                    source,
                });
            }
        };
        for (depth, path) in real.ancestors().enumerate() {
            if !seen.insert(path.to_path_buf()) && depth > 0 {
                continue;
            }
            let meta = fs::metadata(path).map_err(|source| PermissionError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
            check_entry(&Entry::of(path, &meta, depth > 0), me, accounts)?;
        }
    }
    Ok(())
}

impl Home {
    /// Fails when another user could change what the hub runs through this home: the home
    /// directory, `services.json` or any directory above them is writable by someone else or
    /// owned by another user (the rule is in the [module docs](self)). The hub calls it before
    /// it starts modules.
    pub fn check_not_writable_by_others(&self) -> Result<(), PermissionError> {
        let targets = [self.root().to_path_buf(), self.services_json()];
        check_paths(&targets, nix::unistd::geteuid().as_raw(), &SystemAccounts)
    }

    /// [`Home::check_not_writable_by_others`] plus the module's own `<short>/` directory and
    /// `<short>/.env` (its variables reach the module's environment, `PATH` and `LD_PRELOAD`
    /// included). Called before every spawn.
    pub fn check_module_not_writable_by_others(&self, short: &str) -> Result<(), PermissionError> {
        let targets = [
            self.root().to_path_buf(),
            self.services_json(),
            self.module_dir(short),
            self.module_env(short),
        ];
        check_paths(&targets, nix::unistd::geteuid().as_raw(), &SystemAccounts)
    }
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;

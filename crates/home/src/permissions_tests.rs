//! The permission rule on synthetic facts (every owner and group case) and on real files.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use super::*;

/// A user database given as a table.
#[derive(Default)]
struct Table {
    /// uid -> login name.
    users: HashMap<u32, String>,
    /// gid -> member names.
    groups: HashMap<u32, Vec<String>>,
}

impl Accounts for Table {
    fn group_members(&self, gid: u32) -> Option<HashSet<String>> {
        self.groups.get(&gid).map(|m| m.iter().cloned().collect())
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.users.get(&uid).cloned()
    }
}

const ME: u32 = 1000;
const OTHER: u32 = 1001;
/// My per-user group (only me).
const MY_GROUP: u32 = 1000;
/// A group shared with another user.
const SHARED: u32 = 100;
/// A group whose only member is someone else.
const THEIRS: u32 = 1001;
/// A group nobody belongs to.
const EMPTY: u32 = 999;

fn table() -> Table {
    let mut t = Table::default();
    t.users.insert(0, "root".into());
    t.users.insert(ME, "me".into());
    t.users.insert(OTHER, "other".into());
    t.groups.insert(MY_GROUP, vec!["me".into()]);
    t.groups.insert(SHARED, vec!["me".into(), "other".into()]);
    t.groups.insert(THEIRS, vec!["other".into()]);
    t.groups.insert(EMPTY, vec![]);
    t
}

fn check(mode: u32, uid: u32, gid: u32, is_dir: bool, ancestor: bool) -> Result<(), String> {
    let entry = Entry {
        path: Path::new("/home/me/.parachute/services.json"),
        mode,
        uid,
        gid,
        is_dir,
        ancestor,
    };
    check_entry(&entry, ME, &table()).map_err(|e| e.to_string())
}

#[test]
fn owner_only_and_read_only_entries_pass() {
    assert!(check(0o600, ME, SHARED, false, false).is_ok());
    assert!(check(0o644, ME, SHARED, false, false).is_ok());
    assert!(
        check(0o755, 0, 0, true, true).is_ok(),
        "root-owned directories above"
    );
    assert!(
        check(0o644, 0, 0, false, false).is_ok(),
        "a root-owned file"
    );
}

#[test]
fn world_writable_is_refused_with_the_chmod_that_fixes_it() {
    let err = check(0o666, ME, MY_GROUP, false, false).unwrap_err();
    assert!(err.contains("/home/me/.parachute/services.json"), "{err}");
    assert!(err.contains("writable by other users"), "{err}");
    assert!(err.contains("mode 0666"), "{err}");
    assert!(
        err.contains("chmod o-w '/home/me/.parachute/services.json'"),
        "the private group's write bit may stay: {err}"
    );
    let err = check(0o666, ME, SHARED, false, false).unwrap_err();
    assert!(err.contains("chmod go-w"), "{err}");
    assert!(
        err.contains("other users and the members of group"),
        "{err}"
    );
}

#[test]
fn group_writable_passes_only_for_a_group_whose_one_member_is_the_owner() {
    assert!(
        check(0o664, ME, MY_GROUP, false, false).is_ok(),
        "Debian's per-user group with umask 002"
    );
    assert!(check(0o775, ME, MY_GROUP, true, false).is_ok());
    for gid in [SHARED, THEIRS, EMPTY, 4242] {
        let err = check(0o664, ME, gid, false, false).unwrap_err();
        assert!(err.contains("chmod g-w"), "gid {gid}: {err}");
        assert!(err.contains(&format!("gid {gid}")), "gid {gid}: {err}");
    }
    // The owner counts, not the user running the check: root's file in my group is not mine.
    assert!(check(0o664, 0, MY_GROUP, false, false).is_err());
}

#[test]
fn another_users_entry_is_refused_even_when_read_only() {
    let err = check(0o644, OTHER, OTHER, false, false).unwrap_err();
    assert!(err.contains("belongs to uid 1001"), "{err}");
    assert!(
        err.contains("chown me '/home/me/.parachute/services.json'"),
        "{err}"
    );
}

#[test]
fn sticky_directories_are_accepted_above_the_home_only() {
    assert!(
        check(0o1777, 0, 0, true, true).is_ok(),
        "/tmp above the home"
    );
    let err = check(0o1777, ME, MY_GROUP, true, false).unwrap_err();
    assert!(err.contains("other users"), "the home itself: {err}");
    assert!(
        check(0o777, 0, 0, true, true).is_err(),
        "a non-sticky world-writable directory above"
    );
}

/// A real home in a temp directory: `<tmp>/above/home` with `services.json`.
fn real_home() -> (tempfile::TempDir, PathBuf, Home) {
    let tmp = tempfile::tempdir().unwrap();
    let above = tmp.path().join("above");
    let root = above.join("home");
    std::fs::create_dir_all(&root).unwrap();
    for dir in [&above, &root] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(root.join("services.json"), "{\"services\": []}\n").unwrap();
    chmod(&root.join("services.json"), 0o644);
    (tmp, above, Home::at(root))
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Checks `home` with a database where every group is private to this user, so only the
/// other-writable and owner rules decide.
fn check_real(targets: &[PathBuf]) -> Result<(), PermissionError> {
    let mut t = Table::default();
    let me = me();
    t.users.insert(0, "root".into());
    t.users.insert(me, "me".into());
    for gid in [nix::unistd::getegid().as_raw(), 0] {
        t.groups.insert(gid, vec!["me".into()]);
    }
    check_paths(targets, me, &t)
}

#[test]
fn a_real_home_passes_until_something_in_it_or_above_it_opens_up() {
    let (_tmp, above, home) = real_home();
    let targets = [home.root().to_path_buf(), home.services_json()];
    check_real(&targets).unwrap();
    home.check_not_writable_by_others().unwrap();

    chmod(&home.services_json(), 0o666);
    let err = check_real(&targets).unwrap_err();
    assert_eq!(
        err.path(),
        std::fs::canonicalize(home.services_json()).unwrap()
    );
    assert!(err.to_string().contains("chmod o-w"), "{err}");
    let err = home.check_not_writable_by_others().unwrap_err();
    assert!(err.to_string().contains("services.json"), "{err}");
    chmod(&home.services_json(), 0o600);

    chmod(home.root(), 0o777);
    let err = check_real(&targets).unwrap_err();
    assert_eq!(err.path(), std::fs::canonicalize(home.root()).unwrap());
    chmod(home.root(), 0o700);

    chmod(&above, 0o777);
    let err = check_real(&targets).unwrap_err();
    assert_eq!(err.path(), std::fs::canonicalize(&above).unwrap());
    chmod(&above, 0o1777);
    check_real(&targets).unwrap();
}

#[test]
fn a_symlinked_services_json_is_judged_by_its_target() {
    let (tmp, _above, home) = real_home();
    let elsewhere = tmp.path().join("shared.json");
    std::fs::write(&elsewhere, "{\"services\": []}\n").unwrap();
    chmod(&elsewhere, 0o666);
    std::fs::remove_file(home.services_json()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, home.services_json()).unwrap();
    let err = home.check_not_writable_by_others().unwrap_err();
    assert_eq!(err.path(), std::fs::canonicalize(&elsewhere).unwrap());
}

#[test]
fn a_modules_env_and_directory_count_for_that_module() {
    let (_tmp, _above, home) = real_home();
    let env = home.module_env("vault");
    std::fs::create_dir_all(env.parent().unwrap()).unwrap();
    std::fs::write(&env, "A=1\n").unwrap();
    chmod(&env, 0o600);
    home.check_module_not_writable_by_others("vault").unwrap();
    home.check_module_not_writable_by_others("absent").unwrap();
    chmod(&env, 0o646);
    let err = home
        .check_module_not_writable_by_others("vault")
        .unwrap_err();
    assert!(err.to_string().contains("vault/.env"), "{err}");
    home.check_not_writable_by_others()
        .expect("the home-wide check does not look at module files");
    chmod(&env, 0o600);
    chmod(&home.module_dir("vault"), 0o777);
    let err = home
        .check_module_not_writable_by_others("vault")
        .unwrap_err();
    assert!(err.to_string().ends_with("or restart the hub)"), "{err}");
}

/// Members of `gid` read straight from `/etc/group` and `/etc/passwd` (the oracle for the
/// system lookup; local files only).
fn members_from_files(gid: u32) -> HashSet<String> {
    let mut out = HashSet::new();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[2].parse::<u32>().ok() == Some(gid) {
            out.extend(
                f[3].split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            );
        }
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[3].parse::<u32>().ok() == Some(gid) {
            out.insert(f[0].to_string());
        }
    }
    out
}

#[test]
fn the_system_lookup_agrees_with_the_account_files() {
    let gid = nix::unistd::getegid().as_raw();
    let members = SystemAccounts
        .group_members(gid)
        .expect("my own group exists");
    let name = SystemAccounts.user_name(me()).expect("my own user exists");
    let from_files = members_from_files(gid);
    if !from_files.is_empty() {
        assert_eq!(members, from_files, "gid {gid}");
    }
    // A group-writable file in my primary group passes exactly when I am its only member.
    let (_tmp, _above, home) = real_home();
    chmod(&home.services_json(), 0o664);
    let private = members.len() == 1 && members.contains(&name);
    assert_eq!(
        home.check_not_writable_by_others().is_ok(),
        private,
        "members of gid {gid}: {members:?}"
    );
}

//! Login item tests against a temp config directory.

use super::*;

fn cfg() -> LoginItemConfig {
    LoginItemConfig {
        name: "parachute-desktop".into(),
        display_name: "Parachute".into(),
        args: vec!["--minimized".into()],
    }
}

fn exe(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    path
}

fn desktop_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn enable_twice_is_one_entry_and_moving_the_exe_repoints_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let xdg = tmp.path().join("xdg");
    let item = LoginItem::new(Box::new(XdgAutostart::from_dirs(&home, Some(&xdg), cfg())));
    let first = exe(tmp.path(), "apps/Parachute/parachute-desktop");

    assert!(!item.is_enabled().unwrap());
    assert_eq!(item.status().unwrap(), LoginItemStatus::Disabled);
    item.enable(&first).unwrap();
    item.enable(&first).unwrap();
    let autostart = xdg.join("autostart");
    assert_eq!(
        desktop_files(&autostart),
        vec![autostart.join("parachute-desktop.desktop")]
    );
    assert_eq!(
        item.status().unwrap(),
        LoginItemStatus::Enabled { exe: first.clone() }
    );
    let text = std::fs::read_to_string(autostart.join("parachute-desktop.desktop")).unwrap();
    assert!(text.starts_with("[Desktop Entry]\n"), "{text}");
    assert!(
        text.contains(&format!("Exec=\"{}\" \"--minimized\"\n", first.display())),
        "{text}"
    );

    // Same exe: nothing to do.
    assert!(!item.ensure_current(&first).unwrap());
    // The app moved: re-pointed, still one entry.
    let moved = exe(tmp.path(), "elsewhere/Parachute/parachute-desktop");
    assert!(item.ensure_current(&moved).unwrap());
    assert_eq!(
        item.status().unwrap(),
        LoginItemStatus::Enabled { exe: moved.clone() }
    );
    assert_eq!(desktop_files(&autostart).len(), 1);

    item.disable().unwrap();
    assert!(!item.is_enabled().unwrap());
    assert!(desktop_files(&autostart).is_empty());
    // Disabled stays disabled.
    assert!(!item.ensure_current(&first).unwrap());
    assert!(!item.is_enabled().unwrap());
    item.disable().unwrap();
}

#[test]
fn a_copy_in_the_default_dir_is_removed_so_there_is_never_a_second_one() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let xdg = tmp.path().join("xdg");
    // An older registration under ~/.config/autostart (e.g. before XDG_CONFIG_HOME was set).
    let old = XdgAutostart::from_dirs(&home, None, cfg());
    let a = exe(tmp.path(), "a/parachute-desktop");
    old.register(&a).unwrap();
    assert!(
        home.join(".config/autostart/parachute-desktop.desktop")
            .exists()
    );
    // Someone else's entry in the same directory is left alone.
    std::fs::write(
        home.join(".config/autostart/other.desktop"),
        "[Desktop Entry]\nExec=/usr/bin/other\n",
    )
    .unwrap();

    let item = LoginItem::new(Box::new(XdgAutostart::from_dirs(&home, Some(&xdg), cfg())));
    item.enable(&a).unwrap();
    assert!(xdg.join("autostart/parachute-desktop.desktop").exists());
    assert!(
        !home
            .join(".config/autostart/parachute-desktop.desktop")
            .exists()
    );
    assert!(home.join(".config/autostart/other.desktop").exists());
}

#[test]
fn exec_quoting_round_trips_odd_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = XdgAutostart::new(tmp.path(), cfg());
    for odd in [
        "/opt/with space/app",
        "/opt/q\"uote/app",
        "/opt/back\\slash/app",
        "/opt/dollar$HOME/100%/app",
    ] {
        backend.register(Path::new(odd)).unwrap();
        assert_eq!(
            backend.registered().unwrap(),
            Some(PathBuf::from(odd)),
            "{odd}"
        );
    }
}

#[test]
fn a_hidden_entry_counts_as_disabled() {
    let text = "[Desktop Entry]\nExec=/usr/bin/app\nHidden=true\n";
    assert_eq!(parse_desktop_exec(text), None);
    let text = "[Desktop Entry]\nExec=/usr/bin/app --x\n";
    assert_eq!(
        parse_desktop_exec(text),
        Some(PathBuf::from("/usr/bin/app"))
    );
    let text = "[Other]\nExec=/nope\n";
    assert_eq!(parse_desktop_exec(text), None);
}

#[test]
fn program_arguments_are_read_from_a_plist() {
    let plist = "<plist><dict><key>Label</key><string>x</string><key>ProgramArguments</key><array><string>/Applications/R&amp;D.app/x</string><string>--m</string></array></dict></plist>";
    assert_eq!(
        first_program_argument(plist),
        Some(PathBuf::from("/Applications/R&D.app/x"))
    );
    assert_eq!(first_program_argument("<plist/>"), None);
}

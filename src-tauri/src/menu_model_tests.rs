use serde_json::json;

use super::*;

/// A snapshot with `modules` as (short, status), boot finished, exposure `layer`.
fn snapshot(modules: &[(&str, &str)], layer: Option<&str>) -> HubSnapshot {
    let modules: Vec<_> = modules
        .iter()
        .map(|(short, status)| json!({"short": short, "status": status}))
        .collect();
    serde_json::from_value(json!({
        "hub": {"version": "0.1.0"},
        "admin": "exists",
        "modules": modules,
        "exposure": {"layer": layer, "url": null, "hub_origin": null, "tunnels": [], "problem": null},
        "boot": {"total": modules.len(), "done": modules.len(), "finished": true},
    }))
    .unwrap()
}

fn input(snapshot: Option<HubSnapshot>) -> MenuInput {
    MenuInput {
        snapshot,
        ..MenuInput::default()
    }
}

fn find<'a>(entries: &'a [Entry], text: &str) -> &'a Entry {
    entries
        .iter()
        .find(|e| match e {
            Entry::Label(t) => t.starts_with(text),
            Entry::Item { text: t, .. }
            | Entry::Check { text: t, .. }
            | Entry::Submenu { text: t, .. } => t.starts_with(text),
            Entry::Separator => false,
        })
        .unwrap_or_else(|| panic!("no entry {text:?} in {entries:#?}"))
}

fn sub<'a>(entries: &'a [Entry], text: &str) -> &'a [Entry] {
    match find(entries, text) {
        Entry::Submenu { entries, .. } => entries,
        other => panic!("{text} is not a submenu: {other:?}"),
    }
}

fn enabled(entry: &Entry) -> bool {
    match entry {
        Entry::Item { enabled, .. } | Entry::Check { enabled, .. } => *enabled,
        _ => false,
    }
}

#[test]
fn no_hub_is_down_and_greys_out_what_needs_one() {
    let m = menu_model(&input(None));
    assert_eq!(m.health, Health::Down);
    assert_eq!(
        m.entries[0],
        Entry::Label("Parachute: hub not running".into())
    );
    assert!(!enabled(find(&m.entries, "Open dashboard")));
    assert!(enabled(find(&m.entries, "Open logs folder")));
    assert!(enabled(find(&m.entries, "Quit")));
    for e in sub(&m.entries, "Exposure") {
        assert!(!enabled(e), "{e:?}");
    }
    assert_eq!(
        sub(&m.entries, "Modules"),
        &[Entry::Label("No modules".into())]
    );
}

#[test]
fn all_running_is_healthy() {
    let m = menu_model(&input(Some(snapshot(
        &[("vault", "running"), ("scribe", "running")],
        None,
    ))));
    assert_eq!(m.health, Health::Healthy);
    assert_eq!(m.status, "Parachute: running, 2 module(s)");
}

#[test]
fn a_crashed_module_degrades_and_offers_start() {
    let m = menu_model(&input(Some(snapshot(
        &[("vault", "running"), ("scribe", "crashed")],
        None,
    ))));
    assert_eq!(m.health, Health::Degraded);
    assert_eq!(m.status, "Parachute: 1 module(s) crashed, 1/2 running");
    let modules = sub(&m.entries, "Modules");
    let scribe = sub(modules, "scribe — crashed");
    assert_eq!(
        scribe,
        &[
            Entry::Item {
                text: "Start".into(),
                action: Action::Module("scribe".into(), ModuleOp::Start),
                enabled: true
            },
            Entry::Item {
                text: "Stop".into(),
                action: Action::Module("scribe".into(), ModuleOp::Stop),
                enabled: false
            },
            Entry::Item {
                text: "Restart".into(),
                action: Action::Module("scribe".into(), ModuleOp::Restart),
                enabled: true
            },
        ]
    );
    let vault = sub(modules, "vault — running");
    assert!(!enabled(&vault[0]) && enabled(&vault[1]));
}

#[test]
fn booting_is_degraded_with_progress() {
    let mut s = snapshot(&[("vault", "starting")], None);
    s.boot.finished = false;
    s.boot.done = 0;
    let m = menu_model(&input(Some(s)));
    assert_eq!(
        (m.health, m.status.as_str()),
        (Health::Degraded, "Parachute: starting (0/1)")
    );
}

#[test]
fn exposure_is_a_radio_group_with_the_recorded_layer_checked() {
    for (layer, want) in [
        (None, "Off"),
        (Some("tailnet"), "Tailnet"),
        (Some("funnel"), "Public (Funnel)"),
        (Some("cloudflare"), "Cloudflare…"),
    ] {
        let m = menu_model(&input(Some(snapshot(&[], layer))));
        let group = sub(&m.entries, "Exposure");
        let checked: Vec<_> = group
            .iter()
            .filter_map(|e| match e {
                Entry::Check {
                    text,
                    checked: true,
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(checked, vec![want], "{layer:?}");
        assert_eq!(group.len(), 4);
    }
}

#[test]
fn an_exposure_change_in_flight_disables_the_group() {
    let mut i = input(Some(snapshot(&[], None)));
    i.exposing = true;
    let m = menu_model(&i);
    assert!(sub(&m.entries, "Exposure").iter().all(|e| !enabled(e)));
}

#[test]
fn an_offered_version_turns_the_check_into_upgrade() {
    let mut s = snapshot(&[], None);
    s.hub.update = Some(
        serde_json::from_value(json!({"available": true, "version": "0.2.0", "channel": "latest"}))
            .unwrap(),
    );
    let mut i = input(Some(s));
    let m = menu_model(&i);
    assert_eq!(
        find(&m.entries, "Upgrade"),
        &Entry::Item {
            text: "Upgrade to 0.2.0".into(),
            action: Action::Upgrade,
            enabled: true
        }
    );
    i.upgrading = true;
    assert!(!enabled(find(&menu_model(&i).entries, "Upgrade")));
    let plain = menu_model(&input(Some(snapshot(&[], None))));
    assert!(enabled(find(&plain.entries, "Check for updates")));
}

#[test]
fn start_at_login_is_a_checkbox() {
    let mut i = input(None);
    i.start_at_login = true;
    let m = menu_model(&i);
    assert!(matches!(
        find(&m.entries, "Start at login"),
        Entry::Check { checked: true, .. }
    ));
}

#[test]
fn every_action_id_parses_back() {
    let m = menu_model(&input(Some(snapshot(
        &[("vault", "running")],
        Some("tailnet"),
    ))));
    let mut seen = 0;
    fn walk(entries: &[Entry], seen: &mut usize) {
        for e in entries {
            match e {
                Entry::Item { action, .. } | Entry::Check { action, .. } => {
                    assert_eq!(Action::parse(&action.id()).as_ref(), Some(action));
                    *seen += 1;
                }
                Entry::Submenu { entries, .. } => walk(entries, seen),
                _ => {}
            }
        }
    }
    walk(&m.entries, &mut seen);
    assert_eq!(seen, 4 + 3 + 5);
    assert_eq!(Action::parse("module:start:"), None);
    assert_eq!(Action::parse("expose:moon"), None);
    assert_eq!(
        Action::parse("module:restart:my:mod"),
        Some(Action::Module("my:mod".into(), ModuleOp::Restart))
    );
}

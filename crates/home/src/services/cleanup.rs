//! Read-time cleanups of `services.json`, applied to the raw JSON before validation (so rows
//! that would trip the duplicate-port rule can still be healed).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::known::RETIRED_NAMES;
use super::row::port_of;

/// Applies every cleanup to `root` in the original's order and returns one note per change
/// (for stderr); no notes means nothing changed.
///
/// 1. Drop rows of retired modules (`agent`, `parachute-agent`, `app`, `parachute-app`).
/// 2. Drop a row `X` when a row `parachute-X` claims the same port (a module registered under
///    both names).
/// 3. Rename a `claw` row whose first path is `/claw` to `agent`, rewriting `/claw` paths and
///    health. (As in the original, the renamed row carries a retired name and is dropped by the
///    next read.)
pub(crate) fn apply(root: &mut Value, file: &Path) -> Vec<String> {
    let Some(rows) = root.get_mut("services").and_then(Value::as_array_mut) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    drop_retired(rows, file, &mut notes);
    drop_short_twins(rows, file, &mut notes);
    rename_claw(rows, file, &mut notes);
    notes
}

/// The `name` of a raw row, if it has a string one.
fn name_of(row: &Value) -> Option<&str> {
    row.get("name").and_then(Value::as_str)
}

fn drop_retired(rows: &mut Vec<Value>, file: &Path, notes: &mut Vec<String>) {
    rows.retain(|row| match name_of(row) {
        Some(name) if RETIRED_NAMES.contains(&name) => {
            notes.push(format!(
                "{}: removed the row of retired module {name:?}; install parachute-surface or \
                 parachute-runner instead. If an old {name} process is still running, stop it \
                 (it would register itself again).",
                file.display()
            ));
            false
        }
        _ => true,
    });
}

fn drop_short_twins(rows: &mut Vec<Value>, file: &Path, notes: &mut Vec<String>) {
    let mut by_port: BTreeMap<u16, Vec<(usize, String)>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let (Some(name), Some(port)) = (name_of(row), row.get("port").and_then(port_of)) {
            by_port.entry(port).or_default().push((i, name.to_string()));
        }
    }
    let mut drop = Vec::new();
    for bucket in by_port.values() {
        for (i, short) in bucket {
            if short.starts_with("parachute-") {
                continue;
            }
            let long = format!("parachute-{short}");
            if bucket.iter().any(|(j, n)| j != i && *n == long) {
                drop.push((*i, short.clone(), long));
            }
        }
    }
    drop.sort_by_key(|(i, _, _)| *i);
    drop.dedup_by_key(|(i, _, _)| *i);
    for (_, short, long) in &drop {
        notes.push(format!(
            "{}: removed the row {short:?}: it duplicates {long:?} on the same port (the module \
             registered itself under both names); the {long:?} row is kept.",
            file.display()
        ));
    }
    let mut index = 0;
    rows.retain(|_| {
        let keep = !drop.iter().any(|(i, _, _)| *i == index);
        index += 1;
        keep
    });
}

fn rename_claw(rows: &mut [Value], file: &Path, notes: &mut Vec<String>) {
    for row in rows.iter_mut() {
        let first_is_claw = row
            .get("paths")
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .and_then(Value::as_str)
            == Some("/claw");
        if name_of(row) != Some("claw") || !first_is_claw {
            continue;
        }
        let Some(o) = row.as_object_mut() else {
            continue;
        };
        o.insert("name".into(), Value::from("agent"));
        if let Some(Value::Array(paths)) = o.get_mut("paths") {
            for p in paths.iter_mut() {
                if let Some(s) = p.as_str() {
                    *p = Value::from(rewrite_claw(s));
                }
            }
        }
        if let Some(Value::String(h)) = o.get_mut("health") {
            *h = rewrite_claw(h);
        }
        notes.push(format!(
            "{}: renamed the row \"claw\" to \"agent\" (paths and health moved from /claw to /agent).",
            file.display()
        ));
    }
}

/// `/claw` -> `/agent`, `/claw/x` -> `/agent/x`, anything else unchanged.
fn rewrite_claw(p: &str) -> String {
    if p == "/claw" {
        "/agent".to_string()
    } else if let Some(rest) = p.strip_prefix("/claw/") {
        format!("/agent/{rest}")
    } else {
        p.to_string()
    }
}

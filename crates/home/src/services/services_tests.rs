//! Tests of services.json reads, cleanups and writes, against real files in a temp home.

use std::fs;

use serde_json::json;

use super::*;

#[path = "services_read_tests.rs"]
mod read;
#[path = "services_write_tests.rs"]
mod write;

/// A temp home with `services.json` holding `value` (pretty, as the original writes it).
pub(super) fn home_with(value: &Value) -> (tempfile::TempDir, Home) {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    fs::write(home.services_json(), pretty(value)).unwrap();
    (tmp, home)
}

/// A temp home with `services.json` holding exactly `text`.
pub(super) fn home_with_text(text: &str) -> (tempfile::TempDir, Home) {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    fs::write(home.services_json(), text).unwrap();
    (tmp, home)
}

/// A valid raw row.
pub(super) fn row(name: &str, port: u16, path: &str) -> Value {
    json!({"name": name, "port": port, "paths": [path], "health": "/health", "version": "1.0.0"})
}

/// Row names in order.
pub(super) fn names(m: &Manifest) -> Vec<&str> {
    m.services.iter().map(|r| r.name.as_str()).collect()
}

/// The current services.json text.
pub(super) fn file_text(home: &Home) -> String {
    fs::read_to_string(home.services_json()).unwrap()
}

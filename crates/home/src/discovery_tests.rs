use std::path::{Path, PathBuf};

use crate::services::ModuleJson;
use crate::{Home, ServiceRow};
use serde_json::{Value, json};

use super::{build_document, vault_instance_name, write_well_known};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/original-0.6.3-rc.2")
}

fn rows(doc: Value) -> Vec<ServiceRow> {
    doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| ServiceRow::from_value(r).unwrap())
        .collect()
}

fn meta(v: Value) -> ModuleJson {
    ModuleJson::from_value(PathBuf::from("/x/.parachute/module.json"), &v)
}

#[test]
fn reproduces_the_originals_document_for_its_fixture() {
    let services: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("services.json")).unwrap(),
    )
    .unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("well-known/parachute.json")).unwrap(),
    )
    .unwrap();
    let doc = build_document(&rows(services), "https://box.tail1234.ts.net", |_| None);
    assert_eq!(doc, expected);
}

#[test]
fn written_file_is_byte_identical_to_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture_dir().join("services.json"),
        dir.path().join("services.json"),
    )
    .unwrap();
    let home = Home::at(dir.path());
    let path = write_well_known(&home, "https://box.tail1234.ts.net/").unwrap();
    assert_eq!(path, dir.path().join("well-known/parachute.json"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        std::fs::read_to_string(fixture_dir().join("well-known/parachute.json")).unwrap()
    );
}

#[test]
fn vault_rows_emit_every_path_and_other_rows_their_first() {
    let rows = rows(json!({"services": [
        {"name": "parachute-vault", "port": 1940, "paths": ["/vault/default", "/vault/work/"],
         "health": "/health", "version": "0.4.0"},
        {"name": "parachute-vault-team", "port": 1940, "paths": ["/team"],
         "health": "/health", "version": "0.4.0"},
        {"name": "parachute-scribe", "port": 1943, "paths": ["/scribe", "/transcribe"],
         "health": "/health", "version": "0.2.0", "displayName": "Scribe", "tagline": "Talk"},
        {"name": "hello", "port": 4000, "paths": [], "health": "/health", "version": "1"},
    ]}));
    let doc = build_document(&rows, "http://127.0.0.1:1939", |_| None);
    assert_eq!(
        doc["vaults"],
        json!([
            {"name": "default", "url": "http://127.0.0.1:1939/vault/default", "version": "0.4.0"},
            {"name": "work", "url": "http://127.0.0.1:1939/vault/work/", "version": "0.4.0"},
            {"name": "team", "url": "http://127.0.0.1:1939/team", "version": "0.4.0"},
        ])
    );
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 5);
    assert_eq!(
        services[1]["infoUrl"],
        "http://127.0.0.1:1939/vault/work/.parachute/info"
    );
    assert_eq!(
        services[3],
        json!({"name": "parachute-scribe", "url": "http://127.0.0.1:1939/scribe",
               "path": "/scribe", "version": "0.2.0",
               "infoUrl": "http://127.0.0.1:1939/scribe/.parachute/info",
               "displayName": "Scribe", "tagline": "Talk"})
    );
    assert_eq!(services[4]["path"], "/");
    assert_eq!(
        services[4]["infoUrl"],
        "http://127.0.0.1:1939/.parachute/info"
    );
    assert_eq!(
        doc["scribe"],
        json!([{"url": "http://127.0.0.1:1939/scribe", "version": "0.2.0"}])
    );
    assert_eq!(
        doc["hello"],
        json!([{"url": "http://127.0.0.1:1939/", "version": "1"}])
    );
    assert!(doc.get("vault").is_none(), "vault rows only go to `vaults`");
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["vaults", "services", "scribe", "hello"]);
}

#[test]
fn module_json_supplies_links_and_names() {
    let rows = rows(json!({"services": [
        {"name": "parachute-vault", "port": 1940, "paths": ["/vault/a", "/vault/b"],
         "health": "/health", "version": "1", "installDir": "/v"},
        {"name": "notes", "port": 1942, "paths": ["/notes"], "health": "/health",
         "version": "1", "displayName": "Row name", "installDir": "/n"},
        {"name": "ext", "port": 1950, "paths": ["/ext"], "health": "/health",
         "version": "1", "installDir": "/e"},
        {"name": "parachute-vault-odd", "port": 1940, "paths": ["/vault/odd"],
         "health": "/health", "version": "1", "installDir": "/o"},
    ]}));
    let doc = build_document(&rows, "https://hub.example", |row| {
        match row.name.as_str() {
            "parachute-vault" => Some(meta(json!({
                "uiUrl": "/admin/", "managementUrl": "/admin/", "displayName": "Vault"
            }))),
            "notes" => Some(meta(json!({"uiUrl": "/notes/app", "displayName": "Notes"}))),
            "ext" => Some(meta(json!({"uiUrl": "https://elsewhere.example/ui"}))),
            "parachute-vault-odd" => Some(meta(json!({"uiUrl": "admin/"}))),
            _ => None,
        }
    });
    let s = doc["services"].as_array().unwrap();
    assert_eq!(s[0]["uiUrl"], "https://hub.example/vault/a/admin/");
    assert_eq!(s[1]["uiUrl"], "https://hub.example/vault/b/admin/");
    assert_eq!(s[0]["displayName"], "Vault");
    assert_eq!(s[2]["uiUrl"], "https://hub.example/notes/app");
    assert_eq!(
        s[2]["displayName"], "Notes",
        "module.json wins over the row"
    );
    assert_eq!(s[3]["uiUrl"], "https://elsewhere.example/ui");
    assert!(
        s[4].get("uiUrl").is_none(),
        "unrooted vault uiUrl is left out"
    );
    assert_eq!(doc["vaults"][0]["managementUrl"], "/admin/");
    assert_eq!(doc["vaults"][1]["managementUrl"], "/admin/");
    assert!(doc["vaults"][2].get("managementUrl").is_none());
    assert!(doc["notes"][0].get("managementUrl").is_none());
}

#[test]
fn ui_sub_units_become_an_array() {
    let rows = rows(json!({"services": [
        {"name": "parachute-surface", "port": 1946, "paths": ["/surface"], "health": "/health",
         "version": "1", "uis": {
            "notes": {"displayName": "Notes", "path": "/surface/notes", "iconUrl": "/i.png",
                      "status": "disabled"},
            "board": {"displayName": "Board", "path": "/surface/board",
                      "iconUrl": "https://cdn.example/b.svg", "version": "2"}
         }},
    ]}));
    let doc = build_document(&rows, "http://localhost:1939", |_| None);
    assert_eq!(
        doc["services"][0]["uis"],
        json!([
            {"name": "notes", "displayName": "Notes", "path": "/surface/notes",
             "url": "http://localhost:1939/surface/notes",
             "iconUrl": "http://localhost:1939/i.png", "status": "inactive"},
            {"name": "board", "displayName": "Board", "path": "/surface/board",
             "url": "http://localhost:1939/surface/board",
             "iconUrl": "https://cdn.example/b.svg", "version": "2"},
        ])
    );
}

#[test]
fn vault_names_from_path_then_row_then_default() {
    assert_eq!(
        vault_instance_name("parachute-vault", "/vault/work/x"),
        "work"
    );
    assert_eq!(vault_instance_name("parachute-vault-team", "/team"), "team");
    assert_eq!(vault_instance_name("parachute-vault", "/"), "default");
    assert_eq!(vault_instance_name("parachute-vault", "/vault/"), "default");
}

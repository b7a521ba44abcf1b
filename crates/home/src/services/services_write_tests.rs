//! Writes, start errors, short names and start commands.

use std::fs;

use serde_json::json;

use super::*;

#[test]
fn unknown_keys_survive_a_read_and_write() {
    let mut r = row("third", 3000, "/third");
    r["futureField"] = json!({"a": [1, 2]});
    r["another"] = json!(true);
    let value = json!({"services": [r], "schema": 3});
    let (_tmp, home) = home_with(&value);
    let m = read_strict(&home).unwrap();
    assert_eq!(
        m.services[0].extra.keys().collect::<Vec<_>>(),
        vec!["futureField", "another"]
    );
    write(&home, &m).unwrap();
    assert_eq!(file_text(&home), pretty(&value));
}

#[test]
fn write_uses_two_space_json_and_a_final_newline_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path().join("fresh"));
    let mut m = Manifest::default();
    m.services.push(ServiceRow::new(
        "parachute-vault",
        1940,
        vec!["/vault/default".into()],
        "/health",
        "0.1",
    ));
    write(&home, &m).unwrap();
    let text = file_text(&home);
    assert!(
        text.starts_with("{\n  \"services\": [\n    {\n      \"name\": \"parachute-vault\",\n")
    );
    assert!(text.ends_with("}\n"));
    m.services
        .push(ServiceRow::new("clash", 1940, vec![], "/health", "0.1"));
    assert!(matches!(
        write(&home, &m),
        Err(ServicesError::DuplicatePort { .. })
    ));
    m.services.pop();
    m.services
        .push(ServiceRow::new("bad", 3000, vec![], "health", "0.1"));
    assert!(matches!(
        write(&home, &m),
        Err(ServicesError::InvalidRow { .. })
    ));
    assert_eq!(file_text(&home), text, "refused writes change nothing");
}

#[test]
fn upsert_adds_replaces_in_place_and_refuses_port_clashes() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    let vault = ServiceRow::new(
        "parachute-vault",
        1940,
        vec!["/vault/default".into()],
        "/health",
        "1",
    );
    let scribe = ServiceRow::new(
        "parachute-scribe",
        1943,
        vec!["/scribe".into()],
        "/health",
        "1",
    );
    upsert_row(&home, &vault).unwrap();
    upsert_row(&home, &scribe).unwrap();
    let mut vault2 = vault.clone();
    vault2.version = "2".into();
    let m = upsert_row(&home, &vault2).unwrap();
    assert_eq!(names(&m), vec!["parachute-vault", "parachute-scribe"]);
    assert_eq!(m.services[0].version, "2");

    let work = ServiceRow::new(
        "parachute-vault-work",
        1940,
        vec!["/vault/work".into()],
        "/health",
        "1",
    );
    assert_eq!(upsert_row(&home, &work).unwrap().services.len(), 3);

    let before = file_text(&home);
    let clash = ServiceRow::new("newcomer", 1943, vec!["/n".into()], "/health", "1");
    let err = upsert_row(&home, &clash).unwrap_err();
    assert!(
        matches!(&err, ServicesError::DuplicatePort { first, .. } if first == "parachute-scribe")
    );
    let invalid = ServiceRow::new("bad", 0, vec![], "/health", "1");
    assert!(matches!(
        upsert_row(&home, &invalid),
        Err(ServicesError::InvalidRow { .. })
    ));
    assert_eq!(file_text(&home), before);
}

#[test]
fn writers_keep_other_rows_even_invalid_ones_verbatim() {
    let broken = json!({"name": "broken", "port": "x", "custom": 1});
    let value = json!({"services": [broken, row("parachute-vault", 1940, "/vault/default")]});
    let (_tmp, home) = home_with(&value);
    let scribe = ServiceRow::new(
        "parachute-scribe",
        1943,
        vec!["/scribe".into()],
        "/health",
        "1",
    );
    upsert_row(&home, &scribe).unwrap();
    let on_disk: Value = serde_json::from_str(&file_text(&home)).unwrap();
    assert_eq!(on_disk["services"][0], broken);
    assert_eq!(on_disk["services"][2]["name"], "parachute-scribe");
    assert!(remove_row(&home, "parachute-vault").unwrap());
    assert!(!remove_row(&home, "parachute-vault").unwrap());
    let on_disk: Value = serde_json::from_str(&file_text(&home)).unwrap();
    assert_eq!(on_disk["services"][0], broken);
    assert_eq!(on_disk["services"].as_array().unwrap().len(), 2);
}

#[test]
fn remove_on_missing_file_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    assert!(!remove_row(&home, "x").unwrap());
    assert!(!update_row(&home, "x", |_| {}).unwrap());
    assert!(!home.services_json().exists());
}

#[test]
fn start_errors_are_recorded_and_cleared() {
    let (_tmp, home) =
        home_with(&json!({"services": [row("parachute-vault", 1940, "/vault/default")]}));
    let record = StartErrorRecord {
        error_type: "missing_dependency".into(),
        error_description: "parachute-vault is not on PATH".into(),
        binary: Some("parachute-vault".into()),
        why: None,
        docs_url: None,
        install: None,
        sysadmin_hint: None,
        at: None,
    };
    assert!(record_start_error(&home, "parachute-vault", record).unwrap());
    assert!(
        !record_start_error(
            &home,
            "nope",
            StartErrorRecord {
                error_type: "x".into(),
                error_description: "y".into(),
                binary: None,
                why: None,
                docs_url: None,
                install: None,
                sysadmin_hint: None,
                at: None
            }
        )
        .unwrap()
    );
    let m = read_strict(&home).unwrap();
    let saved = m.services[0].last_start_error.as_ref().unwrap();
    assert_eq!(saved.binary.as_deref(), Some("parachute-vault"));
    assert!(saved.at.as_deref().unwrap().ends_with('Z'));
    assert!(clear_start_error(&home, "parachute-vault").unwrap());
    assert!(!clear_start_error(&home, "parachute-vault").unwrap());
    assert_eq!(
        read_strict(&home).unwrap().services[0].last_start_error,
        None
    );
}

#[test]
fn short_names() {
    let short = |name: &str| ServiceRow::new(name, 1, vec![], "/h", "1").short();
    assert_eq!(short("parachute-vault"), "vault");
    assert_eq!(short("parachute-vault-work"), "vault");
    assert_eq!(short("parachute-scribe"), "scribe");
    assert_eq!(short("parachute-runner"), "runner");
    assert_eq!(short("parachute-surface"), "surface");
    assert_eq!(short("parachute-notes"), "notes");
    assert_eq!(short("parachute-lens"), "notes");
    assert_eq!(short("parachute-channel"), "channel");
    assert_eq!(short("my-module"), "my-module");
    assert_eq!(short("parachute-other"), "parachute-other");
    assert_eq!(canonical_port("hub"), Some(1939));
    assert_eq!(manifest_name_for_short("vault"), Some("parachute-vault"));
    assert_eq!(CANONICAL_PORTS.len(), 7);
}

#[test]
fn module_rows_run_one_vault_process() {
    let value = json!({"services": [
        row("parachute-vault", 1940, "/vault/default"),
        row("parachute-scribe", 1943, "/scribe"),
        row("parachute-vault-work", 1940, "/vault/work"),
    ]});
    let (_tmp, home) = home_with(&value);
    let m = read_strict(&home).unwrap();
    let rows: Vec<String> = m.module_rows().iter().map(|r| r.short()).collect();
    assert_eq!(rows, vec!["vault", "scribe"]);
    assert_eq!(m.find_short("vault").unwrap().name, "parachute-vault");
}

#[test]
fn start_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    let r = |name: &str| ServiceRow::new(name, 3000, vec![], "/h", "1");
    let argv = |v: &[&str]| StartCommand::Argv(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        start_command(&home, &r("parachute-vault")),
        argv(&["parachute-vault", "serve"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-vault-work")),
        argv(&["parachute-vault", "serve"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-scribe")),
        argv(&["parachute-scribe", "serve"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-runner")),
        argv(&["parachute-runner", "serve"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-surface")),
        argv(&["parachute-surface", "serve"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-channel")),
        argv(&["parachute-channel", "daemon"])
    );
    assert_eq!(
        start_command(&home, &r("parachute-notes")),
        StartCommand::Unresolvable
    );
    assert_eq!(
        start_command(&home, &r("third")),
        StartCommand::Unresolvable
    );

    let install = tmp.path().join("pkg");
    let mut third = r("third");
    third.install_dir = Some(install.clone());
    assert_eq!(
        start_command(&home, &third),
        StartCommand::Unresolvable,
        "no module.json"
    );
    fs::create_dir_all(install.join(".parachute")).unwrap();
    let manifest = install.join(".parachute/module.json");
    fs::write(
        &manifest,
        r#"{"name":"third","manifestName":"third","port":3000,"paths":["/third"],
        "health":"/third/health","uiUrl":"/third/","displayName":"Third"}"#,
    )
    .unwrap();
    assert_eq!(start_command(&home, &third), StartCommand::CliOnly);
    fs::write(
        &manifest,
        r#"{"name":"third","port":3000,"startCmd":["bun","run","serve.ts"],
        "managementUrl":"http://127.0.0.1:3000/admin","stripPrefix":true}"#,
    )
    .unwrap();
    assert_eq!(
        start_command(&home, &third),
        argv(&["bun", "run", "serve.ts"])
    );
    let mj = module_json(&third).unwrap();
    assert_eq!(mj.port, Some(3000));
    assert_eq!(
        mj.management_url.as_deref(),
        Some("http://127.0.0.1:3000/admin")
    );
    assert_eq!(mj.strip_prefix, Some(true));
    fs::write(&manifest, "{not json").unwrap();
    assert_eq!(start_command(&home, &third), StartCommand::Unresolvable);
    let err = ModuleJson::read_from(&install).unwrap_err().to_string();
    assert!(err.contains("module.json is malformed"), "{err}");
}

#[test]
fn service_row_serde_matches_the_file_format() {
    let mut r = ServiceRow::new(
        "parachute-scribe",
        1943,
        vec!["/scribe".into()],
        "/health",
        "1",
    );
    r.public_exposure = Some(PublicExposure::AuthRequired);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["publicExposure"], "auth-required");
    let back: ServiceRow = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    assert!(serde_json::from_value::<ServiceRow>(json!({"name": "x"})).is_err());
}

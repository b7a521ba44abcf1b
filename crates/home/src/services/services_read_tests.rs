//! Reads: validation rules, strict vs lenient, cleanups.

use serde_json::json;

use super::*;

#[test]
fn missing_file_is_an_empty_registry_and_is_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    assert!(read_strict(&home).unwrap().services.is_empty());
    let lenient = read_lenient(&home);
    assert!(lenient.manifest.services.is_empty() && lenient.warnings.is_empty());
    assert!(!home.services_json().exists());
}

#[test]
fn strict_bad_row_names_file_row_and_fix_and_leaves_file_untouched() {
    let value = json!({"services": [
        row("parachute-scribe", 1943, "/scribe"),
        {"name": "vault", "port": "abc", "paths": ["/v"], "health": "/health", "version": "1"},
    ]});
    let (_tmp, home) = home_with(&value);
    let before = file_text(&home);
    let err = read_strict(&home).unwrap_err().to_string();
    let path = home.services_json().display().to_string();
    assert_eq!(
        err,
        format!(
            "{path} is malformed: row 2 (\"vault\"): \"port\" must be an integer 1..65535, \
             got \"abc\". Fix or remove that row (or the file), then re-run."
        )
    );
    assert_eq!(file_text(&home), before);
}

#[test]
fn every_row_rule_is_enforced_by_the_strict_read() {
    let base = row("mod", 2000, "/mod");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "name",
            json!(""),
            "\"name\" must be a non-empty string, got \"\"",
        ),
        (
            "name",
            json!(7),
            "\"name\" must be a non-empty string, got 7",
        ),
        (
            "port",
            json!(0),
            "\"port\" must be an integer 1..65535, got 0",
        ),
        (
            "port",
            json!(65536),
            "\"port\" must be an integer 1..65535, got 65536",
        ),
        (
            "port",
            json!(1940.5),
            "\"port\" must be an integer 1..65535, got 1940.5",
        ),
        (
            "port",
            json!(-1),
            "\"port\" must be an integer 1..65535, got -1",
        ),
        (
            "paths",
            json!("/mod"),
            "\"paths\" must be an array of strings, got \"/mod\"",
        ),
        (
            "paths",
            json!(["/a", 1]),
            "\"paths\" must be an array of strings, got an array",
        ),
        (
            "health",
            json!("health"),
            "\"health\" must be a path starting with \"/\"",
        ),
        ("version", json!(1), "\"version\" must be a string, got 1"),
        (
            "displayName",
            json!(1),
            "\"displayName\" must be a string, got 1",
        ),
        (
            "tagline",
            json!(null),
            "\"tagline\" must be a string, got null",
        ),
        (
            "publicExposure",
            json!("public"),
            "\"publicExposure\" must be \"allowed\"",
        ),
        (
            "installDir",
            json!(""),
            "\"installDir\" must be a non-empty string",
        ),
        (
            "stripPrefix",
            json!("yes"),
            "\"stripPrefix\" must be true or false",
        ),
        ("uis", json!([]), "\"uis\" must be an object map"),
        (
            "uis",
            json!({"a": {"path": "/a"}}),
            "uis[\"a\"].displayName",
        ),
        (
            "uis",
            json!({"a": {"displayName": "A", "path": "a"}}),
            "uis[\"a\"].path",
        ),
        (
            "uis",
            json!({"a": {"displayName": "A", "path": "/a", "status": "gone"}}),
            "uis[\"a\"].status",
        ),
    ];
    for (field, bad, expected) in cases {
        let mut r = base.clone();
        r[field] = bad;
        let (_tmp, home) = home_with(&json!({"services": [r]}));
        let err = read_strict(&home).unwrap_err().to_string();
        assert!(err.contains("row 1"), "{field}: {err}");
        assert!(
            err.contains(expected),
            "{field}: expected {expected:?} in {err:?}"
        );
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("version");
    let (_tmp, home) = home_with(&json!({"services": [missing]}));
    let err = read_strict(&home).unwrap_err().to_string();
    assert!(err.contains("\"version\" is missing"), "{err}");
}

#[test]
fn optional_fields_parse_and_defaults_apply() {
    let mut r = row("parachute-scribe", 1943, "/scribe");
    r["displayName"] = json!("Scribe");
    r["publicExposure"] = json!("loopback");
    r["stripPrefix"] = json!(false);
    r["uis"] = json!({"x": {"displayName": "X", "path": "/x", "status": "pending-oauth"}});
    r["lastStartError"] = json!({"error_type": "missing_dependency",
        "error_description": "parachute-scribe is not installed", "binary": "parachute-scribe",
        "why": null, "install": {"linux": "bun add -g x"}});
    let (_tmp, home) =
        home_with(&json!({"services": [r, row("parachute-vault", 1940, "/vault/default")]}));
    let m = read_strict(&home).unwrap();
    let scribe = &m.services[0];
    assert_eq!(scribe.display_name.as_deref(), Some("Scribe"));
    assert_eq!(scribe.effective_public_exposure(), PublicExposure::Loopback);
    assert!(!scribe.effective_strip_prefix(), "row value wins");
    assert_eq!(
        scribe.uis.as_ref().unwrap()["x"]["status"],
        "pending",
        "alias normalised"
    );
    let err = scribe.last_start_error.as_ref().unwrap();
    assert_eq!(err.binary.as_deref(), Some("parachute-scribe"));
    assert_eq!(err.why, None);
    assert_eq!(
        err.install.as_ref().unwrap().linux.as_deref(),
        Some("bun add -g x")
    );
    let vault = &m.services[1];
    assert_eq!(vault.effective_public_exposure(), PublicExposure::Allowed);
    assert!(!vault.effective_strip_prefix());
}

#[test]
fn effective_defaults_by_module() {
    let r = |name: &str| ServiceRow::new(name, 3000, vec!["/x".into()], "/health", "1");
    assert_eq!(
        r("parachute-scribe").effective_public_exposure(),
        PublicExposure::AuthRequired
    );
    assert_eq!(
        r("parachute-vault").effective_public_exposure(),
        PublicExposure::Allowed
    );
    assert_eq!(
        r("third-party").effective_public_exposure(),
        PublicExposure::Allowed
    );
    assert!(r("parachute-scribe").effective_strip_prefix());
    for name in [
        "parachute-vault",
        "parachute-vault-work",
        "parachute-runner",
        "parachute-surface",
        "parachute-notes",
        "parachute-channel",
        "third-party",
    ] {
        assert!(!r(name).effective_strip_prefix(), "{name}");
    }
}

#[test]
fn malformed_last_start_error_is_dropped_not_an_error() {
    for bad in [
        json!("oops"),
        json!({"error_type": "x"}),
        json!([1]),
        json!(null),
    ] {
        let mut r = row("parachute-vault", 1940, "/vault/default");
        r["lastStartError"] = bad;
        let (_tmp, home) = home_with(&json!({"services": [r]}));
        let m = read_strict(&home).unwrap();
        assert_eq!(m.services[0].last_start_error, None);
    }
}

#[test]
fn lenient_skips_bad_rows_with_a_warning_and_leaves_the_file() {
    let value = json!({"services": [
        row("parachute-vault", 1940, "/vault/default"),
        {"name": "app", "port": 0, "paths": [], "health": "/h", "version": "1"},
        {"name": "broken", "port": 0, "paths": [], "health": "/h", "version": "1"},
        "not a row",
        row("parachute-scribe", 1943, "/scribe"),
    ]});
    let (_tmp, home) = home_with(&value);
    let before = file_text(&home);
    let read = read_lenient(&home);
    assert_eq!(
        names(&read.manifest),
        vec!["parachute-vault", "parachute-scribe"]
    );
    let all = read.warnings.join("\n");
    assert!(
        all.contains("row 2 (\"broken\")") && all.contains("\"port\" must be an integer"),
        "{all}"
    );
    assert!(all.contains("row 3: expected an object"), "{all}");
    assert!(all.contains("retired module \"app\""), "{all}");
    // The file is malformed, so the cleanup (dropping "app") is not persisted either.
    assert_eq!(file_text(&home), before);
}

#[test]
fn unparseable_file_strict_errors_lenient_is_empty_and_file_untouched() {
    let (_tmp, home) = home_with_text("{\"services\": [ {\"name\": ");
    let err = read_strict(&home).unwrap_err();
    assert!(matches!(err, ServicesError::Parse { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&home.services_json().display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("Fix or remove the file"), "{msg}");
    let read = read_lenient(&home);
    assert!(read.manifest.services.is_empty());
    assert_eq!(read.warnings.len(), 1);
    assert!(
        read.warnings[0].contains("services.json is not valid JSON"),
        "{:?}",
        read.warnings
    );
    // Writers refuse too.
    let new = ServiceRow::new("x", 3000, vec![], "/h", "1");
    assert!(matches!(
        upsert_row(&home, &new),
        Err(ServicesError::Parse { .. })
    ));
    assert!(matches!(
        remove_row(&home, "x"),
        Err(ServicesError::Parse { .. })
    ));
    assert_eq!(file_text(&home), "{\"services\": [ {\"name\": ");
}

#[test]
fn wrong_top_level_shape() {
    for text in ["[]", "{\"services\": {}}", "{}", "null"] {
        let (_tmp, home) = home_with_text(text);
        let err = read_strict(&home).unwrap_err();
        assert!(matches!(err, ServicesError::Shape { .. }), "{text}: {err}");
        let read = read_lenient(&home);
        assert!(
            read.manifest.services.is_empty() && read.warnings.len() == 1,
            "{text}"
        );
        assert_eq!(file_text(&home), text);
    }
}

#[test]
fn duplicate_ports_strict_error_lenient_drops_later_vault_rows_may_share() {
    let value = json!({"services": [
        row("parachute-scribe", 1943, "/scribe"),
        row("other", 1943, "/other"),
    ]});
    let (_tmp, home) = home_with(&value);
    let err = read_strict(&home).unwrap_err();
    assert!(
        matches!(&err, ServicesError::DuplicatePort { port: 1943, first, second, .. }
        if first == "parachute-scribe" && second == "other")
    );
    assert!(
        err.to_string().contains("Give each service its own port"),
        "{err}"
    );
    let read = read_lenient(&home);
    assert_eq!(names(&read.manifest), vec!["parachute-scribe"]);
    assert!(read.warnings[0].contains("row 2 (\"other\")") && read.warnings[0].contains("1943"));

    let vaults = json!({"services": [
        row("parachute-vault", 1940, "/vault/default"),
        row("parachute-vault-work", 1940, "/vault/work"),
        row("parachute-vault-home", 1940, "/vault/home"),
    ]});
    let (_tmp, home) = home_with(&vaults);
    assert_eq!(read_strict(&home).unwrap().services.len(), 3);
    assert!(read_lenient(&home).warnings.is_empty());

    // A vault row does not share with a non-vault row.
    let mixed =
        json!({"services": [row("parachute-vault", 1940, "/v"), row("vaulty", 1940, "/w")]});
    let (_tmp, home) = home_with(&mixed);
    assert!(matches!(
        read_strict(&home),
        Err(ServicesError::DuplicatePort { .. })
    ));
}

#[test]
fn retired_rows_are_dropped_and_the_file_rewritten() {
    let value = json!({"services": [
        row("agent", 1946, "/agent"),
        row("parachute-vault", 1940, "/vault/default"),
        row("parachute-app", 1946, "/app"),
        row("app", 1947, "/app"),
        row("parachute-agent", 1948, "/agent"),
    ]});
    let (_tmp, home) = home_with(&value);
    let read = read_strict_noted(&home).unwrap();
    assert_eq!(names(&read.manifest), vec!["parachute-vault"]);
    assert_eq!(read.notes.len(), 4);
    assert!(read.notes[0].contains("retired module \"agent\""));
    let expected = pretty(&json!({"services": [row("parachute-vault", 1940, "/vault/default")]}));
    assert_eq!(file_text(&home), expected);
    // Second read: nothing left to clean.
    assert!(read_strict_noted(&home).unwrap().notes.is_empty());
}

#[test]
fn short_twin_on_the_same_port_is_dropped_and_persisted() {
    let value = json!({"services": [
        row("runner", 1945, "/runner"),
        row("parachute-runner", 1945, "/runner"),
        row("surface", 1950, "/surface"),
        row("parachute-surface", 1946, "/surface"),
    ]});
    let (_tmp, home) = home_with(&value);
    let read = read_lenient(&home);
    assert_eq!(
        names(&read.manifest),
        vec!["parachute-runner", "surface", "parachute-surface"]
    );
    assert_eq!(read.warnings.len(), 1);
    assert!(
        read.warnings[0].contains("\"runner\"")
            && read.warnings[0].contains("\"parachute-runner\"")
    );
    let on_disk = read_strict_noted(&home).unwrap();
    assert!(
        on_disk.notes.is_empty(),
        "lenient read persisted the cleanup"
    );
    assert_eq!(
        names(&on_disk.manifest),
        vec!["parachute-runner", "surface", "parachute-surface"]
    );
}

#[test]
fn claw_is_renamed_to_agent_with_paths_and_health() {
    let mut claw = row("claw", 1944, "/claw");
    claw["paths"] = json!(["/claw", "/claw/api", "/other"]);
    claw["health"] = json!("/claw/health");
    let mut elsewhere = row("claw", 1949, "/mine");
    elsewhere["name"] = json!("claw");
    let (_tmp, home) = home_with(&json!({"services": [claw]}));
    let read = read_strict_noted(&home).unwrap();
    let agent = &read.manifest.services[0];
    assert_eq!(agent.name, "agent");
    assert_eq!(agent.paths, vec!["/agent", "/agent/api", "/other"]);
    assert_eq!(agent.health, "/agent/health");
    assert_eq!(read.notes.len(), 1);
    let persisted: Value = serde_json::from_str(&file_text(&home)).unwrap();
    assert_eq!(persisted["services"][0]["name"], "agent");
    assert_eq!(persisted["services"][0]["health"], "/agent/health");
    // "agent" is a retired name: as in the original, the next read drops it.
    assert!(read_strict(&home).unwrap().services.is_empty());

    // A third-party "claw" on another mount is left alone.
    let (_tmp, home) = home_with(&json!({"services": [elsewhere]}));
    let read = read_strict_noted(&home).unwrap();
    assert_eq!(read.manifest.services[0].name, "claw");
    assert!(read.notes.is_empty());
}

#[test]
fn names_that_are_not_one_plain_file_name_are_refused_by_both_readers() {
    for bad in [
        "../escape-target/x",
        "parachute-vault-../../x",
        "a/b",
        "..",
        ".",
        "x..y",
        "nul\0byte",
        "new\nline",
        "esc\u{1b}[2J",
    ] {
        let value = json!({"services": [
            row("parachute-scribe", 1943, "/scribe"),
            row(bad, 2001, "/bad"),
        ]});
        let (_tmp, home) = home_with(&value);
        let before = file_text(&home);
        let err = read_strict(&home).unwrap_err().to_string();
        assert!(err.contains("row 2 ("), "{bad:?}: {err}");
        assert!(err.contains("one plain file name"), "{bad:?}: {err}");
        assert!(
            !err.contains('\0') && !err.contains('\u{1b}'),
            "escaped: {err:?}"
        );
        let read = read_lenient(&home);
        assert_eq!(names(&read.manifest), vec!["parachute-scribe"], "{bad:?}");
        let all = read.warnings.join("\n");
        assert!(all.contains("skipping row 2 ("), "{bad:?}: {all}");
        assert!(all.contains("one plain file name"), "{bad:?}: {all}");
        assert_eq!(file_text(&home), before, "never rewritten");
        // Writers refuse such a row too.
        let row = ServiceRow::new(bad, 2002, vec!["/b".into()], "/health", "1");
        assert!(upsert_row(&home, &row).is_err(), "{bad:?}");
    }
    // Dots, dashes and other plain characters stay allowed.
    let (_tmp, home) = home_with(&json!({"services": [row("my.module-2_x", 2003, "/m")]}));
    assert_eq!(
        read_strict(&home).unwrap().services[0].name,
        "my.module-2_x"
    );
}

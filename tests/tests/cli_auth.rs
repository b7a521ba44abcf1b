//! `parachute auth …` against a real hub: the admin account opens the setup gate, operator
//! tokens, module tokens verified by an independent JWT library through the hub's JWKS, key
//! rotation that keeps old tokens valid, revocation.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod cli_support;

use std::os::unix::fs::PermissionsExt;

use cli_support::{CliEnv, Output};
use jwt_simple::prelude::Token;
use parachute_tests::hub::HubProcess;
use parachute_tests::{auth, http};

const PASSWORD: &str = "a long and secret passphrase";

/// Creates the admin through the CLI (password on stdin).
fn set_password(env: &CliEnv) -> Output {
    env.run_with_stdin(
        &["auth", "set-password", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    )
}

#[test]
fn set_password_creates_the_admin_and_opens_the_setup_gate() {
    let env = CliEnv::new();
    let hub = HubProcess::start(env.root());
    let gated = http::get(hub.port, "/api/modules").unwrap();
    assert_eq!(gated.status, 503, "{}", gated.body);
    assert_eq!(gated.json()["error"], "setup_required");

    // Not a terminal and no --password-stdin: refused, nothing created.
    let out = env.run(&["auth", "set-password"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("--password-stdin"), "{}", out.all());
    assert_eq!(auth::db(env.root()).user_count().unwrap(), 0);

    let out = set_password(&env);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Created the hub admin \"owner\""),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    let db = auth::db(env.root());
    assert!(db.verify_password("owner", PASSWORD).unwrap());

    // The gate is open: no bearer is now 401, the operator token the verb wrote works.
    let open = http::get(hub.port, "/api/modules").unwrap();
    assert_eq!(open.status, 401, "{}", open.body);
    let token_path = env.root().join("operator.token");
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let token = std::fs::read_to_string(&token_path).unwrap();
    let bearer = auth::bearer(token.trim());
    let listed = http::request(
        hub.port,
        "GET",
        "/api/modules",
        &[("authorization", &bearer)],
        None,
    )
    .unwrap();
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        !out.stdout.contains(token.trim()),
        "the token is never printed"
    );

    // Again: the same admin's password changes.
    let out = env.run_with_stdin(
        &["auth", "set-password", "--password-stdin"],
        "another one\n",
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Changed the password of \"owner\""),
        "{}",
        out.all()
    );
    assert!(db.verify_password("owner", "another one").unwrap());
    assert!(!db.verify_password("owner", PASSWORD).unwrap());

    // A second account is refused unless asked for (single-user by default, as the original).
    let out = env.run_with_stdin(
        &[
            "auth",
            "set-password",
            "--username",
            "mallory",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("--username owner") && out.stderr.contains("--allow-multi"),
        "{}",
        out.all()
    );

    let out = env.run(&["auth", "list-users"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.all());
    assert!(lines[0].starts_with("USERNAME"));
    assert!(lines[1].starts_with("owner "), "{}", out.all());
}

#[test]
fn rotate_operator_needs_an_admin_and_mints_for_the_hub_origin() {
    let env = CliEnv::new();
    let port = env.hub_port_down();
    let out = env.run(&["auth", "rotate-operator"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("parachute auth set-password"),
        "{}",
        out.all()
    );
    let out = env.run(&["auth", "list-users"]);
    assert!(out.stdout.contains("no hub users yet"), "{}", out.all());

    auth::ensure_admin(env.root());
    let out = env.run(&["auth", "rotate-operator"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let token = env.home.read("operator.token");
    assert!(
        !out.stdout.contains(token.trim()),
        "the token is never printed"
    );
    let c = auth::claims(token.trim());
    assert_eq!(c["aud"], "operator");
    assert_eq!(c["pa_scope_set"], "admin");
    assert_eq!(c["iss"], format!("http://127.0.0.1:{port}"));
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        90 * 86_400
    );

    let out = env.run(&["auth", "rotate-operator", "--scope-set", "start"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let c = auth::claims(env.home.read("operator.token").trim());
    assert_eq!(c["pa_scope_set"], "start");
    assert_eq!(c["scope"], "parachute:host:start");

    // An exposed hub mints for its public origin.
    env.home.write(
        "expose-state.json",
        &serde_json::json!({
            "version": 1, "layer": "tailnet", "mode": "path", "canonicalFqdn": "box.tail9.ts.net",
            "port": 443, "funnel": false, "entries": [], "hubOrigin": "https://box.tail9.ts.net"
        })
        .to_string(),
    );
    let out = env.run(&["auth", "rotate-operator"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        auth::claims(env.home.read("operator.token").trim())["iss"],
        "https://box.tail9.ts.net"
    );
}

#[test]
fn minted_tokens_verify_against_the_jwks_and_survive_a_key_rotation() {
    let env = CliEnv::new();
    let hub = HubProcess::start(env.root());
    let issuer = format!("http://127.0.0.1:{}", hub.port);
    assert_eq!(set_password(&env).code, 0);

    let out = env.run(&[
        "auth",
        "mint-token",
        "--scope",
        "vault:default:read",
        "--aud",
        "vault.default",
        "--ttl",
        "1h",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {}", out.all());
    let old = lines[0].to_string();
    let verified = auth::verify(hub.port, &old, &issuer, "vault.default");
    assert_eq!(verified.custom["scope"], "vault:default:read");
    let c = auth::claims(&old);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3_600
    );
    assert_eq!(
        c["sub"],
        auth::db(env.root()).first_user_id().unwrap().unwrap()
    );

    let out = env.run(&["auth", "rotate-key"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("kid:"), "{}", out.all());
    assert_eq!(
        auth::jwks(hub.port).len(),
        2,
        "the retired key is still published"
    );
    auth::verify(hub.port, &old, &issuer, "vault.default");

    let out = env.run(&[
        "auth",
        "mint-token",
        "--scope",
        "scribe:transcribe",
        "--aud",
        "scribe",
        "--sub",
        "robot-7",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let new = out.stdout.trim().to_string();
    let verified = auth::verify(hub.port, &new, &issuer, "scribe");
    assert_eq!(verified.subject.as_deref(), Some("robot-7"));
    assert_ne!(
        Token::decode_metadata(&new).unwrap().key_id(),
        Token::decode_metadata(&old).unwrap().key_id()
    );
    let c = auth::claims(&new);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        90 * 86_400
    );

    // Revocation: listed by the hub, idempotent, unknown ids refused.
    let jti = auth::claims(&old)["jti"].as_str().unwrap().to_string();
    let out = env.run(&["auth", "revoke-token", &jti]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("Revoked token {jti}")),
        "{}",
        out.all()
    );
    let revoked = http::get(hub.port, "/.well-known/parachute-revocation.json").unwrap();
    assert!(revoked.body.contains(&jti), "{}", revoked.body);
    let out = env.run(&["auth", "revoke-token", &jti]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("already revoked"), "{}", out.all());
    let out = env.run(&["auth", "revoke-token", "no-such-jti"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("no-such-jti"), "{}", out.all());
}

#[test]
fn mint_token_refuses_what_it_must_not_mint() {
    let env = CliEnv::new();
    env.hub_port_down();
    // No operator token yet.
    auth::ensure_admin(env.root());
    let out = env.run(&[
        "auth",
        "mint-token",
        "--scope",
        "vault:default:read",
        "--aud",
        "vault.default",
    ]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("parachute auth rotate-operator"),
        "{}",
        out.all()
    );
    assert!(out.stdout.is_empty());

    assert_eq!(env.run(&["auth", "rotate-operator"]).code, 0);
    for (args, needle) in [
        (
            &[
                "auth",
                "mint-token",
                "--scope",
                "parachute:host:admin",
                "--aud",
                "hub",
            ][..],
            "operator token",
        ),
        (
            &[
                "auth",
                "mint-token",
                "--scope",
                "vault:default:read",
                "--aud",
                "vault.default",
                "--ttl",
                "2y",
            ],
            "lifetime",
        ),
        (
            &[
                "auth",
                "mint-token",
                "--scope",
                "vault:default:read",
                "--aud",
                "vault.default",
                "--ttl",
                "400d",
            ],
            "365 days",
        ),
        (
            &[
                "auth",
                "mint-token",
                "--scope",
                " ",
                "--aud",
                "vault.default",
            ],
            "at least one scope",
        ),
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.all());
        assert!(out.stdout.is_empty());
    }

    // A narrowed operator token cannot mint.
    assert_eq!(
        env.run(&["auth", "rotate-operator", "--scope-set", "start"])
            .code,
        0
    );
    let out = env.run(&[
        "auth",
        "mint-token",
        "--scope",
        "vault:default:read",
        "--aud",
        "vault.default",
    ]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("--scope-set auth"), "{}", out.all());
}

/// `mint-token …` with `args` after `--scope <scope>`: (exit code, stdout, stderr).
fn mint(env: &CliEnv, scope: &str, args: &[&str]) -> Output {
    let mut all = vec!["auth", "mint-token", "--scope", scope];
    all.extend_from_slice(args);
    env.run(&all)
}

/// Lifetime of a minted token in seconds.
fn lifetime(token: &str) -> i64 {
    let c = auth::claims(token);
    c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
}

#[test]
fn mint_token_takes_the_originals_flags() {
    let env = CliEnv::new();
    let hub = HubProcess::start(env.root());
    let issuer = format!("http://127.0.0.1:{}", hub.port);
    assert_eq!(set_password(&env).code, 0);

    // --aud is inferred from the scopes as the original does.
    for (scope, aud) in [
        ("vault:work:read", "vault.work"),
        ("scribe:transcribe vault:default:read", "vault.default"),
        ("scribe:transcribe", "scribe"),
        ("openid", "hub"),
    ] {
        let out = mint(&env, scope, &[]);
        assert_eq!(out.code, 0, "{scope}: {}", out.all());
        let token = out.stdout.trim();
        auth::verify(hub.port, token, &issuer, aud);
        assert_eq!(lifetime(token), 90 * 86_400, "{scope}");
    }
    // An explicit --aud still wins.
    let out = mint(&env, "vault:work:read", &["--aud", "custom"]);
    auth::verify(hub.port, out.stdout.trim(), &issuer, "custom");

    // Lifetimes: --ephemeral (1 h), --expires-in seconds (also as --flag=value), deprecated --ttl.
    let out = mint(&env, "vault:default:read", &["--ephemeral"]);
    assert_eq!(lifetime(out.stdout.trim()), 3_600, "{}", out.all());
    assert!(out.stderr.is_empty(), "{}", out.all());
    let out = mint(&env, "vault:default:read", &["--expires-in", "86400"]);
    assert_eq!(lifetime(out.stdout.trim()), 86_400, "{}", out.all());
    let out = env.run(&[
        "auth",
        "mint-token",
        "--scope=vault:default:read",
        "--expires-in=120",
    ]);
    assert_eq!(lifetime(out.stdout.trim()), 120, "{}", out.all());
    let out = mint(&env, "vault:default:read", &["--ttl", "2h"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(lifetime(out.stdout.trim()), 7_200);
    assert!(
        out.stderr.contains("--ttl is deprecated") && out.stderr.contains("--expires-in"),
        "{}",
        out.all()
    );
    assert_eq!(out.stdout.lines().count(), 1, "only the token on stdout");

    // --permissions: a JSON object, canonicalised in the claim and in the registry row.
    let out = mint(
        &env,
        "vault:default:write",
        &[
            "--permissions",
            r#" { "vault": { "default": { "write_tags": [ "health" ] } }, "b": 1.0, "10": true } "#,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let token = out.stdout.trim();
    let verified = auth::verify(hub.port, token, &issuer, "vault.default");
    assert_eq!(
        verified.custom["permissions"],
        serde_json::json!({"10": true, "vault": {"default": {"write_tags": ["health"]}}, "b": 1})
    );
    let jti = auth::claims(token)["jti"].as_str().unwrap().to_string();
    let row = auth::db(env.root()).token_record(&jti).unwrap().unwrap();
    assert_eq!(
        row.permissions.as_deref(),
        Some(r#"{"10":true,"vault":{"default":{"write_tags":["health"]}},"b":1}"#)
    );
    assert_eq!(row.created_via, "cli_mint");
}

#[test]
fn mint_token_refuses_bad_flag_combinations_and_values() {
    let env = CliEnv::new();
    env.hub_port_down();
    auth::ensure_admin(env.root());
    assert_eq!(env.run(&["auth", "rotate-operator"]).code, 0);
    let db = auth::db(env.root());
    let before = db.list_tokens(&Default::default()).unwrap().len();
    for (args, needle) in [
        (&["--ephemeral", "--expires-in", "60"][..], "--ephemeral"),
        (&["--ephemeral", "--ttl", "1h"], "--ephemeral"),
        (&["--expires-in", "60", "--ttl", "1h"], "--expires-in"),
        (&["--expires-in", "0"], "more than zero"),
        (&["--expires-in", "1h"], "whole number of seconds"),
        (&["--expires-in=-5"], "whole number of seconds"),
        (&["--expires-in", "31536001"], "365 days"),
        (&["--permissions", "[1, 2]"], "JSON object"),
        (&["--permissions", "{nope"], "not valid JSON"),
        (&["--aud", " "], "--aud must not be empty"),
    ] {
        let out = mint(&env, "vault:default:read", args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.all());
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // The non-requestable scopes (the operator token's host scopes) are never minted here.
    for scope in [
        "parachute:host:auth",
        "vault:default:read parachute:host:vault",
    ] {
        let out = mint(&env, scope, &[]);
        assert_eq!(out.code, 1, "{scope}: {}", out.all());
        assert!(out.stderr.contains("not requestable"), "{}", out.all());
    }
    let out = mint(&env, "vault:work:ADMIN", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("malformed vault scope"),
        "{}",
        out.all()
    );
    assert_eq!(
        db.list_tokens(&Default::default()).unwrap().len(),
        before,
        "a refused mint records nothing"
    );
}

/// The `users` row of `username`: (id, password hash, password_changed).
fn user_row(env: &CliEnv, username: &str) -> (String, String, i64) {
    let conn = rusqlite::Connection::open(env.root().join("hub.db")).unwrap();
    conn.query_row(
        "SELECT id, password_hash, password_changed FROM users WHERE username = ?1",
        [username],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn set_password_takes_a_password_flag_and_adds_accounts_only_when_asked() {
    let env = CliEnv::new();
    env.hub_port_down();
    let out = env.run(&["auth", "set-password", "--password", "first secret"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("\"owner\""), "{}", out.all());
    assert!(!out.stdout.contains("first secret") && !out.stderr.contains("first secret"));
    let db = auth::db(env.root());
    assert!(db.verify_password("owner", "first secret").unwrap());
    let owner_id = db.first_user_id().unwrap().unwrap();
    let operator = env.home.read("operator.token");
    assert_eq!(auth::claims(operator.trim())["sub"], owner_id.as_str());

    // Another name without --allow-multi: refused, nothing added.
    let out = env.run(&[
        "auth",
        "set-password",
        "--username",
        "friend",
        "--password",
        "x",
    ]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("--allow-multi"), "{}", out.all());
    assert_eq!(db.user_count().unwrap(), 1);

    // With it: a second account, in the original's row shape; the operator token is untouched.
    let out = env.run(&[
        "auth",
        "set-password",
        "--username",
        "friend",
        "--password",
        "friend secret",
        "--allow-multi",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Created hub user \"friend\""),
        "{}",
        out.all()
    );
    assert_eq!(db.user_count().unwrap(), 2);
    assert!(db.verify_password("friend", "friend secret").unwrap());
    let (id, hash, changed) = user_row(&env, "friend");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(id.chars().nth(14), Some('4'), "UUID v4: {id}");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(changed, 1);
    assert_eq!(env.home.read("operator.token"), operator);
    let out = env.run(&["auth", "list-users"]);
    let names: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["owner", "friend"], "{}", out.all());

    // Naming an existing account resets its password (the owner's token stays as it was)...
    let out = env.run(&[
        "auth",
        "set-password",
        "--username",
        "friend",
        "--password",
        "friend two",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(db.verify_password("friend", "friend two").unwrap());
    assert!(db.verify_password("owner", "first secret").unwrap());
    assert_eq!(env.home.read("operator.token"), operator);
    // ... and the owner's reset refreshes the operator token.
    let out = env.run(&["auth", "set-password", "--password", "owner two"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(db.verify_password("owner", "owner two").unwrap());
    let refreshed = env.home.read("operator.token");
    assert_ne!(refreshed, operator);
    assert_eq!(auth::claims(refreshed.trim())["sub"], owner_id.as_str());

    // Bad combinations.
    for args in [
        &[
            "auth",
            "set-password",
            "--password",
            "a",
            "--password-stdin",
        ][..],
        &["auth", "set-password", "--password", ""],
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.all());
        assert!(out.stderr.contains("--password"), "{args:?}: {}", out.all());
    }
    assert!(db.verify_password("owner", "owner two").unwrap());
}

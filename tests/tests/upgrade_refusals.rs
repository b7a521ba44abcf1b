//! What `parachute upgrade` refuses, with nothing changed: the binary the unit runs is the
//! one installed, nothing is left beside it, the hub was not restarted and still answers.
//! Releases are made with the real `minisign` and served from loopback; a second key pair
//! plays the attacker.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites and benchmarks report to their own output.

mod migrate_support;
mod upgrade_support;

use upgrade_support::release::{Entry, FeedDoc, Keys};
use upgrade_support::{UpgradeStand, artifact_name, next};

/// A file standing in for a build: these runs stop before anything would execute it.
fn fake_build(s: &UpgradeStand, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = s.stand.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn feeds_that_are_not_signed_by_the_trusted_key_or_not_newer_are_refused() {
    let s = UpgradeStand::with_unit();
    let target = next::bump_minor(&s.version);
    let build = fake_build(&s, "build", b"not really a binary");

    // Signed by another key.
    let attacker = Keys::generate();
    let entry = s.put_artifact(&build);
    let doc = FeedDoc {
        channel: "latest".into(),
        version: target.clone(),
        pub_date: s.next_date(),
        entry: entry.clone(),
    };
    doc.publish(&s.feed_dir(), &attacker);
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text.contains("not signed by the trusted release key"),
        "{}",
        run.text
    );
    assert!(run.text.contains("different key"), "{}", run.text);
    assert!(s.status().is_none(), "nothing was started");

    // Signed by the right key, then altered.
    let path = doc.publish(&s.feed_dir(), &s.keys);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Release", "Re1ease")).unwrap();
    let run = s.run(&["upgrade", "--check"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("altered or corrupted"), "{}", run.text);

    // A valid feed, seen once; then an older valid feed is served again: a replay.
    let current = s.publish(&target, entry.clone());
    assert_eq!(s.run(&["upgrade", "--check"]).code, 0);
    let old = FeedDoc {
        channel: "latest".into(),
        version: target.clone(),
        pub_date: upgrade_support::release::date(1),
        entry: entry.clone(),
    };
    old.publish(&s.feed_dir(), &s.keys);
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("possible replay"), "{}", run.text);
    assert!(run.text.contains(&current.pub_date), "{}", run.text);

    // A feed published for the rc channel, served as latest.
    let cross = FeedDoc {
        channel: "rc".into(),
        version: target.clone(),
        pub_date: s.next_date(),
        entry: entry.clone(),
    };
    let rc_path = cross.publish(&s.feed_dir(), &s.keys);
    std::fs::rename(&rc_path, s.feed_dir().join("latest.json")).unwrap();
    std::fs::rename(
        s.feed_dir().join("rc.json.minisig"),
        s.feed_dir().join("latest.json.minisig"),
    )
    .unwrap();
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text.contains("published for the rc channel"),
        "{}",
        run.text
    );

    // An older version, newly published: the downgrade guard.
    s.publish("0.0.1", entry.clone());
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("refusing to downgrade"), "{}", run.text);
    assert!(run.text.contains("--allow-downgrade"), "{}", run.text);
    let check = s.run(&["upgrade", "--check"]);
    assert!(
        check.text.contains("older than the running"),
        "{}",
        check.text
    );

    // The running version: nothing to do.
    s.publish(&s.version, entry);
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("already at"), "{}", run.text);

    s.assert_nothing_changed();
    assert!(s.status().is_none());
}

#[test]
fn downloads_with_a_bad_signature_a_wrong_hash_or_the_wrong_size_are_refused() {
    let s = UpgradeStand::with_unit();
    let target = next::bump_minor(&s.version);
    let build = fake_build(&s, "build", &vec![7u8; 300_000]);
    let url = format!("{}/{}", s.server.base(), artifact_name());
    let good = s.put_artifact(&build);

    let mut cases: Vec<(&str, Entry, Option<Vec<u8>>)> = Vec::new();
    // Signed by another key.
    let attacker = Keys::generate();
    cases.push((
        "signed with a different key",
        Entry::for_file(&build, &url, &attacker),
        None,
    ));
    // The announced hash is wrong (the signature is right).
    let mut wrong_hash = good.clone();
    wrong_hash.sha256 = "ab".repeat(32);
    cases.push(("sha256", wrong_hash, None));
    // The served file is shorter / longer than announced.
    cases.push((
        "ended after 1000 of 300000 bytes",
        good.clone(),
        Some(vec![7u8; 1000]),
    ));
    cases.push((
        "larger than the release says",
        good.clone(),
        Some(vec![7u8; 400_000]),
    ));
    // Same size and hash as announced, but not the signed content (a signed entry whose
    // hash was recomputed over a swapped file).
    let mut swapped = Entry::for_file(&build, &url, &s.keys);
    let evil = vec![8u8; 300_000];
    swapped.sha256 = upgrade_support::release::sha256(&fake_build(&s, "evil", &evil));
    cases.push(("altered or corrupted", swapped, Some(evil)));

    for (needle, entry, served) in cases {
        std::fs::copy(&build, s.feed_dir().join(artifact_name())).unwrap();
        if let Some(bytes) = served {
            std::fs::write(s.feed_dir().join(artifact_name()), bytes).unwrap();
        }
        s.publish(&target, entry);
        let run = s.run(&["upgrade"]);
        assert_eq!(run.code, 1, "{needle}: {}", run.text);
        assert!(run.text.contains(needle), "{needle}: {}", run.text);
        assert!(
            run.text.contains("nothing was changed"),
            "{needle}: {}",
            run.text
        );
        let status = s.status().unwrap();
        assert_eq!(status["phase"], "failed", "{needle}: {status}");
        assert!(
            status["error"].as_str().unwrap().contains(needle),
            "{status}"
        );
        s.assert_nothing_changed();
    }
}

#[test]
fn a_binary_the_package_manager_owns_is_redeploy_required_with_the_apt_command() {
    // /usr/bin/minisign belongs to the Debian package scripts/test installs; the real dpkg
    // says so.
    let mut s = UpgradeStand::with_unit();
    s.extra_env.push((
        "PARACHUTE_UPGRADE_BINARY".into(),
        "/usr/bin/minisign".into(),
    ));
    let before = upgrade_support::release::sha256(std::path::Path::new("/usr/bin/minisign"));
    let target = next::bump_minor(&s.version);
    let entry = s.put_artifact(&fake_build(&s, "build", b"x"));
    s.publish(&target, entry);

    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(run.text.contains("redeploy-required"), "{}", run.text);
    assert!(run.text.contains("Debian package minisign"), "{}", run.text);
    assert!(
        run.text
            .contains("sudo apt-get update && sudo apt-get install --only-upgrade minisign"),
        "{}",
        run.text
    );
    let status = s.status().unwrap();
    assert_eq!(status["phase"], "redeploy-required");
    assert_eq!(status["mode"], "redeploy-required");
    assert!(status["finished_at"].is_string());
    assert_eq!(
        upgrade_support::release::sha256(std::path::Path::new("/usr/bin/minisign")),
        before
    );
    s.assert_nothing_changed();

    // A finished redeploy answer does not hold the lock.
    s.extra_env.retain(|(k, _)| k != "PARACHUTE_UPGRADE_BINARY");
    s.publish(&s.version, s.put_artifact(&fake_build(&s, "build2", b"y")));
    assert_eq!(s.run(&["upgrade"]).code, 0);
}

#[test]
fn a_unit_that_runs_another_binary_is_refused() {
    let mut s = UpgradeStand::with_unit();
    let other = s.stand.dir.path().join("elsewhere/parachute");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(&s.binary, &other).unwrap();
    s.extra_env.push((
        "PARACHUTE_UPGRADE_BINARY".into(),
        other.display().to_string(),
    ));
    let target = next::bump_minor(&s.version);
    s.publish(&target, s.put_artifact(&fake_build(&s, "build", b"x")));
    let run = s.run(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text
            .contains(&format!("the hub unit runs {}", s.binary.display())),
        "{}",
        run.text
    );
    assert!(s.status().is_none());
    s.assert_nothing_changed();
}

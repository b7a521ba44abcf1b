//! Helpers for the OAuth/session/two-factor compatibility suite: the original's fixture home
//! (copied per test), its plaintext secrets, an independent RFC 6238 implementation and a way
//! to describe the shape of stored values.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parachute_auth::{FixedClock, HubDb};
use serde_json::Value;

/// The fixture written by the original hub 0.6.3-rc.2 after real OAuth flows.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/original-0.6.3-rc.2-oauth")
}

/// The fixture's `secrets.json` (plaintext values `hub.db` stores hashed).
pub fn secrets() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("secrets.json")).expect("secrets.json");
    serde_json::from_str(&text).expect("secrets.json parses")
}

/// A string member of `secrets.json` by JSON pointer.
pub fn secret(pointer: &str) -> String {
    secrets()
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("secrets.json has no string at {pointer}"))
        .to_owned()
}

/// The issuer the fixture's tokens carry.
pub const ISSUER: &str = "http://127.0.0.1:1939";
/// The owner (first user).
pub const ADMIN_ID: &str = "94804ceb-7768-41ae-888a-c3d0c6a1b524";
/// The second user, enrolled in two-factor.
pub const ALICE_ID: &str = "d4284b77-f7b5-4192-b6d1-05364302ded4";
/// The client whose refresh token is still live.
pub const LIVE_CLIENT: &str = "a1fd4d71-7f1a-4bf7-9a8b-3d88d9e396d1";
/// The client whose refresh family the original revoked.
pub const REVOKED_CLIENT: &str = "167d2ad6-5843-4356-93e6-e998eddaaf8b";
/// The never-approved client.
pub const PENDING_CLIENT: &str = "bd7422ae-f12a-4d2d-8a96-f9a7b7db27d0";
/// The redirect URI both approved clients registered.
pub const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// The live refresh family.
pub const LIVE_FAMILY: &str = "cbdb4a45-1b4c-403d-a832-8d9413d0487f";
/// The revoked refresh family.
pub const REVOKED_FAMILY: &str = "166c6ab6-b8d8-41d5-b17b-393b79910389";
/// A moment on the fixture's day when its sessions and refresh tokens are live.
pub const FIXTURE_NOW: &str = "2026-12-02T12:00:00Z";

/// A temp dir with a copy of the fixture hub.db, opened with a pinned clock.
pub struct OAuthFixture {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The copied database.
    pub path: PathBuf,
    /// The pinned clock.
    pub clock: Arc<FixedClock>,
    /// The open handle.
    pub db: HubDb,
}

impl OAuthFixture {
    /// Copies the fixture's hub.db and opens it at [`FIXTURE_NOW`].
    pub fn open() -> Self {
        Self::open_at(FIXTURE_NOW)
    }

    /// Copies the fixture's hub.db and opens it at `now`.
    pub fn open_at(now: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.db");
        std::fs::copy(fixture_dir().join("hub.db"), &path).expect("copy fixture hub.db");
        let clock = Arc::new(FixedClock::at(now));
        let db = HubDb::open_with_clock(&path, clock.clone()).expect("open fixture copy");
        Self {
            dir,
            path,
            clock,
            db,
        }
    }

    /// Every row of `sql` as (column name, SQLite type, text rendering) triples.
    pub fn rows(&self, sql: &str) -> Vec<Vec<(String, String, String)>> {
        let conn = rusqlite::Connection::open(&self.path).expect("inspect");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        stmt.query_map([], |row| {
            names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let (kind, text) = match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => ("null", String::new()),
                        rusqlite::types::ValueRef::Integer(n) => ("integer", n.to_string()),
                        rusqlite::types::ValueRef::Real(f) => ("real", f.to_string()),
                        rusqlite::types::ValueRef::Text(t) => {
                            ("text", String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(_) => ("blob", String::new()),
                    };
                    Ok((name.clone(), kind.to_owned(), text))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
    }

    /// The one row of `sql`, as shapes per column (see [`shape`]).
    pub fn shape_of(&self, sql: &str) -> Vec<(String, String)> {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "exactly one row for {sql}");
        rows[0]
            .iter()
            .map(|(name, kind, text)| (name.clone(), shape(kind, text)))
            .collect()
    }
}

/// A description of a stored value's encoding: SQLite type plus the text's format.
pub fn shape(kind: &str, text: &str) -> String {
    if kind != "text" {
        return match (kind, text) {
            ("integer", "0" | "1") => "integer 0/1".to_owned(),
            _ => kind.to_owned(),
        };
    }
    let b64url = |t: &str| {
        t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    let format = if is_timestamp(text) {
        "timestamp".to_owned()
    } else if uuid::Uuid::parse_str(text).is_ok_and(|u| u.hyphenated().to_string() == text) {
        "uuid".to_owned()
    } else if text.len() == 64
        && text
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        "sha256 hex".to_owned()
    } else if text.starts_with("[\"") && serde_json::from_str::<Vec<String>>(text).is_ok() {
        let items: Vec<String> = serde_json::from_str(text).unwrap();
        let mut inner: Vec<String> = items.iter().map(|i| shape("text", i)).collect();
        inner.dedup();
        format!("json array of {}", inner.join("|"))
    } else if text.starts_with("$argon2id$v=19$m=19456,t=2,p=1$") {
        "argon2id".to_owned()
    } else if text.starts_with("http://") || text.starts_with("https://") {
        "url".to_owned()
    } else if !text.is_empty() && b64url(text) && (text.len() == 43 || text.len() == 22) {
        format!("base64url{}", text.len())
    } else if text.len() == 32
        && text
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
    {
        "base32 of 20 bytes".to_owned()
    } else if text.contains(':') {
        "scopes".to_owned()
    } else {
        format!("text {text:?}")
    };
    format!("text {format}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// RFC 4648 base32 decoding (no padding), independent of the crate under test.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32 character") as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) computed here, not by the crate under test.
pub fn rfc6238_code(secret_base32: &str, unix_time: u64) -> String {
    use hmac::{KeyInit, Mac};
    let key = base32_decode(secret_base32);
    let counter = unix_time / 30;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).expect("hmac key");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let value = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    format!("{:06}", value % 1_000_000)
}

/// Whole seconds since the epoch of an RFC 3339 instant.
pub fn unix(rfc3339: &str) -> u64 {
    parachute_auth::parse_timestamp(rfc3339)
        .expect("time")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs()
}

#[test]
fn rfc6238_helper_matches_the_rfc_vectors() {
    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (base32 below), last 6 digits.
    let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(base32_decode(seed), b"12345678901234567890");
    for (t, code) in [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (20_000_000_000, "353130"),
    ] {
        assert_eq!(rfc6238_code(seed, t), code, "t={t}");
    }
}

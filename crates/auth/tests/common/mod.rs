//! Shared helpers for the auth integration tests: the original's fixture home, temp copies
//! of its hub.db, pinned clocks.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parachute_auth::{FixedClock, HubDb, ValidationRequest, known_issuers};

/// The fixture home written by the original hub 0.6.3-rc.2.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/original-0.6.3-rc.2")
}

/// Reads a fixture file as text.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name)).expect("fixture file readable")
}

/// The issuer the fixture tokens carry.
pub const FIXTURE_ISSUER: &str = "https://box.tail1234.ts.net";
/// The fixture admin's user id.
pub const FIXTURE_ADMIN_ID: &str = "c30c8d6d-cfe9-4b95-a74a-ba72d8df8b7e";
/// The fixture signing key id.
pub const FIXTURE_KID: &str = "InMrmeW0eClxTLgxXECPYVhZiKNk57MFNI7mEf6jdzQ";
/// A moment when the fixture tokens are valid.
pub const FIXTURE_NOW: &str = "2026-11-28T00:00:00Z";

/// A temp dir holding a copy of the fixture hub.db (never open the fixture itself).
pub struct FixtureDb {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The copied database.
    pub path: PathBuf,
    /// The clock the handle uses (pinned to [`FIXTURE_NOW`]).
    pub clock: Arc<FixedClock>,
}

impl FixtureDb {
    /// Copies the fixture hub.db into a fresh temp dir.
    pub fn copy() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.db");
        std::fs::copy(fixture_dir().join("hub.db"), &path).expect("copy fixture hub.db");
        Self {
            dir,
            path,
            clock: Arc::new(FixedClock::at(FIXTURE_NOW)),
        }
    }

    /// Opens the copy with the pinned clock.
    pub fn open(&self) -> HubDb {
        HubDb::open_with_clock(&self.path, self.clock.clone()).expect("open fixture copy")
    }
}

/// Accepted issuers of a hub on port 1939 exposed at the fixture's tailnet origin.
pub fn fixture_issuers() -> Vec<String> {
    known_issuers(1939, None, None, Some(FIXTURE_ISSUER))
}

/// A request accepting the fixture issuers at `db`'s current time, requiring `scope`.
pub fn request(db: &HubDb, scope: Option<&str>) -> ValidationRequest {
    ValidationRequest {
        accepted_issuers: fixture_issuers(),
        required_scope: scope.map(str::to_owned),
        expected_audience: None,
        now: db.now(),
    }
}

/// The JSON object of a JWT segment (0 = header, 1 = payload), keys in order.
pub fn segment(token: &str, index: usize) -> serde_json::Map<String, serde_json::Value> {
    use base64::Engine as _;
    let part = token.split('.').nth(index).expect("segment present");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json object")
}

/// The ordered key list of a JWT segment.
pub fn segment_keys(token: &str, index: usize) -> Vec<String> {
    segment(token, index).keys().cloned().collect()
}

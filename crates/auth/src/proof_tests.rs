//! Hub proofs against real `hub.db` files: the round trip and every refusal.

use std::sync::Arc;

use super::*;
use crate::clock::FixedClock;
use crate::validate::{AuthFailure, ValidationRequest};

const HOME_ID: &str = "0123456789abcdef0123456789abcdef";
const PORT: u16 = 41939;

fn open(dir: &tempfile::TempDir, name: &str, clock: Arc<FixedClock>) -> HubDb {
    HubDb::open_with_clock(&dir.path().join(name), clock).unwrap()
}

fn expect(db: &HubDb, nonce: &str) -> ProofExpectation {
    ProofExpectation {
        nonce: nonce.to_owned(),
        port: PORT,
        home_id: HOME_ID.to_owned(),
        now: db.now(),
    }
}

#[test]
fn a_proof_verifies_only_for_its_nonce_port_and_home() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at("2026-06-01T00:00:00Z"));
    let db = open(&dir, "hub.db", clock.clone());
    let nonce = new_proof_nonce();
    assert!(is_acceptable_nonce(&nonce));
    let jws = db.sign_hub_proof(&nonce, PORT, HOME_ID).unwrap();
    let proof = db.verify_hub_proof(&jws, &expect(&db, &nonce)).unwrap();
    assert_eq!((proof.port, proof.home_id.as_str()), (PORT, HOME_ID));
    assert_eq!(proof.exp - proof.iat, PROOF_TTL.as_secs() as i64);

    let other_nonce = new_proof_nonce();
    assert_ne!(other_nonce, nonce);
    assert_eq!(
        db.verify_hub_proof(&jws, &expect(&db, &other_nonce)),
        Err(ProofFailure::NonceMismatch)
    );
    let mut relayed = expect(&db, &nonce);
    relayed.port = PORT + 1;
    let err = db.verify_hub_proof(&jws, &relayed).unwrap_err();
    assert_eq!(
        err,
        ProofFailure::PortMismatch {
            claimed: PORT,
            connected: PORT + 1
        }
    );
    assert!(err.to_string().contains("relays"), "{err}");
    let mut copy = expect(&db, &nonce);
    copy.home_id = "ffff".into();
    assert!(matches!(
        db.verify_hub_proof(&jws, &copy),
        Err(ProofFailure::HomeMismatch { .. })
    ));

    // A minute later the same answer is no longer current.
    clock.advance(PROOF_TTL + std::time::Duration::from_secs(6));
    assert!(matches!(
        db.verify_hub_proof(&jws, &expect(&db, &nonce)),
        Err(ProofFailure::NotCurrent { .. })
    ));
}

#[test]
fn another_homes_key_or_a_forged_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at("2026-06-01T00:00:00Z"));
    let ours = open(&dir, "ours.db", clock.clone());
    let theirs = open(&dir, "theirs.db", clock);
    let nonce = new_proof_nonce();
    let foreign = theirs.sign_hub_proof(&nonce, PORT, HOME_ID).unwrap();
    assert!(matches!(
        ours.verify_hub_proof(&foreign, &expect(&ours, &nonce)),
        Err(ProofFailure::UnknownKey { .. })
    ));
    // Their signature under our kid.
    let genuine = ours.sign_hub_proof(&nonce, PORT, HOME_ID).unwrap();
    let forged: Vec<&str> = genuine.split('.').take(2).collect();
    let forged = format!(
        "{}.{}",
        forged.join("."),
        foreign.split('.').nth(2).unwrap()
    );
    assert_eq!(
        ours.verify_hub_proof(&forged, &expect(&ours, &nonce)),
        Err(ProofFailure::BadSignature)
    );
    for garbage in ["", "not a jws", "a.b.c"] {
        assert!(matches!(
            ours.verify_hub_proof(garbage, &expect(&ours, &nonce)),
            Err(ProofFailure::Malformed(_))
        ));
    }
}

#[test]
fn proofs_and_access_tokens_are_never_mistaken_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at("2026-06-01T00:00:00Z"));
    let db = open(&dir, "hub.db", clock);
    db.create_or_reset_admin("admin", "a long enough password")
        .unwrap();
    let sub = db.first_user_id().unwrap().unwrap();
    let token = db
        .mint(&crate::tokens::MintRequest::cli(
            &sub,
            vec!["parachute:host:admin".into()],
            "operator",
            "http://127.0.0.1:41939",
            std::time::Duration::from_secs(3600),
        ))
        .unwrap()
        .token;
    let nonce = new_proof_nonce();
    assert!(matches!(
        db.verify_hub_proof(&token, &expect(&db, &nonce)),
        Err(ProofFailure::Malformed(_))
    ));
    let proof = db.sign_hub_proof(&nonce, PORT, HOME_ID).unwrap();
    let req = ValidationRequest {
        accepted_issuers: crate::known_issuers(PORT, None, None, None),
        required_scope: None,
        expected_audience: None,
        now: db.now(),
    };
    assert!(matches!(
        db.validate(&proof, &req),
        Err(AuthFailure::UnknownIssuer { .. })
    ));
}

#[test]
fn only_plain_base64url_nonces_of_sane_length_are_signed() {
    assert!(is_acceptable_nonce(&"a".repeat(16)));
    assert!(is_acceptable_nonce(&"Az09-_".repeat(20)));
    for bad in [
        "short".to_string(),
        "a".repeat(129),
        format!("{}=", "a".repeat(20)),
        format!("{} ", "a".repeat(20)),
        format!("{}.x", "a".repeat(20)),
    ] {
        assert!(!is_acceptable_nonce(&bad), "{bad:?}");
    }
}

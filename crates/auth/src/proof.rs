//! The hub's proof of identity: "I hold this home's signing key, and I listen on this port".
//!
//! A CLI (or the desktop app) must not hand the operator token to whatever process happens to
//! listen on the hub's port. Before any bearer is sent, the client asks
//! `GET /.well-known/parachute-hub-proof?nonce=<random>`; the hub answers a short-lived RS256
//! JWS over `{nonce, port, home_id}` signed with its active key; the client checks it against
//! the keys in the home's own `hub.db`:
//!
//! 1. header: `alg` RS256, `typ` [`PROOF_TYPE`], a `kid` of a key this home verifies with;
//! 2. the signature;
//! 3. `aud` is [`PROOF_AUDIENCE`] and the proof is current (`iat`..`exp`, [`PROOF_TTL`]);
//! 4. `nonce` is the one just sent (no replay of an old answer);
//! 5. `port` is the port the client connected to (a relay on another port, forwarding the
//!    challenge to the real hub, fails here);
//! 6. `home_id` is this home's (the caller passes it; the hub uses the id of its canonical home
//!    path), so a hub of a copied home with the same keys is told apart.
//!
//! The proof carries no issuer, subject or scope, so no route (ours or a module's) accepts it
//! as a bearer; its own `typ` and `aud` keep it from being mistaken for an access token.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::clock::unix_seconds;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::keys::encoding_key;

/// The JWS header `typ` of a hub proof.
pub const PROOF_TYPE: &str = "parachute-hub-proof+jwt";

/// The `aud` of a hub proof.
pub const PROOF_AUDIENCE: &str = "parachute-hub-proof";

/// How long a proof stays valid after it is signed.
pub const PROOF_TTL: Duration = Duration::from_secs(60);

/// Clock difference tolerated between signer and verifier (they share a machine).
const CLOCK_SKEW_SECS: i64 = 5;

/// Shortest and longest nonce the hub signs (base64url characters).
const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// The claims of a hub proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubProof {
    /// The client's challenge, echoed.
    pub nonce: String,
    /// The port the signing hub listens on.
    pub port: u16,
    /// The id of the home the signing hub serves.
    pub home_id: String,
    /// Always [`PROOF_AUDIENCE`].
    pub aud: String,
    /// Signed at, Unix seconds.
    pub iat: i64,
    /// Valid until, Unix seconds.
    pub exp: i64,
}

/// What a verifier expects of a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofExpectation {
    /// The nonce it sent.
    pub nonce: String,
    /// The port it connected to.
    pub port: u16,
    /// The id of its home.
    pub home_id: String,
    /// Now, from the verifier's clock.
    pub now: SystemTime,
}

/// Why an answer is not a proof of this home's hub on this port. `Display` is the reason a
/// message shows in parentheses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFailure {
    /// Not a JWS we can read, or not of the proof type.
    #[error("its answer is not a hub proof: {0}")]
    Malformed(String),
    /// Signed with a key this home does not have.
    #[error("it signed with key {kid:?}, which is not one of this home's signing keys")]
    UnknownKey {
        /// The header's `kid`.
        kid: String,
    },
    /// The signature does not verify with the named key.
    #[error("its signature does not verify with this home's key")]
    BadSignature,
    /// Outside its validity window.
    #[error("its proof is not current (signed at {iat}, valid until {exp})")]
    NotCurrent {
        /// `iat` of the proof.
        iat: i64,
        /// `exp` of the proof.
        exp: i64,
    },
    /// Not the answer to our challenge.
    #[error("it answered another challenge (a replayed proof)")]
    NonceMismatch,
    /// Signed by a hub on another port: something relays to the real hub.
    #[error(
        "the proof comes from a hub on port {claimed}, not from port {connected}: something relays to it"
    )]
    PortMismatch {
        /// The port in the proof.
        claimed: u16,
        /// The port we connected to.
        connected: u16,
    },
    /// Signed by a hub of another home with the same keys (a copy).
    #[error("it serves another home (id {claimed}) that shares this home's keys")]
    HomeMismatch {
        /// The `home_id` in the proof.
        claimed: String,
    },
    /// `hub.db` could not be read while checking.
    #[error("cannot check its proof against hub.db: {0}")]
    Internal(String),
}

impl From<AuthError> for ProofFailure {
    fn from(e: AuthError) -> Self {
        ProofFailure::Internal(e.to_string())
    }
}

/// A fresh challenge: 32 random bytes, base64url without padding.
pub fn new_proof_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the hub signs `nonce`: 16..=128 base64url characters (anything else is refused,
/// so the signer never signs arbitrary text).
pub fn is_acceptable_nonce(nonce: &str) -> bool {
    NONCE_LEN.contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl HubDb {
    /// Signs a proof that the hub of `home_id` listening on `port` holds the active key. The
    /// caller has checked the nonce with [`is_acceptable_nonce`].
    pub fn sign_hub_proof(
        &self,
        nonce: &str,
        port: u16,
        home_id: &str,
    ) -> Result<String, AuthError> {
        let key = self.active_key()?;
        let iat = unix_seconds(self.now());
        let claims = HubProof {
            nonce: nonce.to_owned(),
            port,
            home_id: home_id.to_owned(),
            aud: PROOF_AUDIENCE.to_owned(),
            iat,
            exp: iat.saturating_add(PROOF_TTL.as_secs() as i64),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(PROOF_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &encoding_key(&key)?)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Checks `jws` against this home's keys and `expect` (the steps are in the module docs).
    pub fn verify_hub_proof(
        &self,
        jws: &str,
        expect: &ProofExpectation,
    ) -> Result<HubProof, ProofFailure> {
        let malformed = |m: String| ProofFailure::Malformed(m);
        let header = jsonwebtoken::decode_header(jws)
            .map_err(|e| malformed(format!("not a readable JWS ({e})")))?;
        if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some(PROOF_TYPE) {
            return Err(malformed(format!(
                "expected an RS256 {PROOF_TYPE} JWS, got alg {:?} typ {:?}",
                header.alg, header.typ
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| malformed("the header names no key (kid)".to_owned()))?;
        let (_, loaded) = self
            .verification_key(&kid, expect.now)?
            .ok_or(ProofFailure::UnknownKey { kid })?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let proof = jsonwebtoken::decode::<HubProof>(jws, &loaded.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofFailure::BadSignature,
                _ => malformed(e.to_string()),
            })?
            .claims;
        check_claims(&proof, expect)?;
        Ok(proof)
    }
}

/// Steps 3 to 6 of the module docs.
fn check_claims(proof: &HubProof, expect: &ProofExpectation) -> Result<(), ProofFailure> {
    if proof.aud != PROOF_AUDIENCE {
        return Err(ProofFailure::Malformed(format!(
            "its audience is {:?}, not {PROOF_AUDIENCE:?}",
            proof.aud
        )));
    }
    let now = unix_seconds(expect.now);
    let lifetime = proof.exp.saturating_sub(proof.iat);
    if proof.iat > now + CLOCK_SKEW_SECS
        || proof.exp + CLOCK_SKEW_SECS <= now
        || lifetime > PROOF_TTL.as_secs() as i64
    {
        return Err(ProofFailure::NotCurrent {
            iat: proof.iat,
            exp: proof.exp,
        });
    }
    if proof.nonce != expect.nonce {
        return Err(ProofFailure::NonceMismatch);
    }
    if proof.port != expect.port {
        return Err(ProofFailure::PortMismatch {
            claimed: proof.port,
            connected: expect.port,
        });
    }
    if proof.home_id != expect.home_id {
        return Err(ProofFailure::HomeMismatch {
            claimed: proof.home_id.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "proof_tests.rs"]
mod tests;

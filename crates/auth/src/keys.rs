//! RSA signing keys (RS256) and the JWKS document.
//!
//! One key is active (the newest with no `retired_at`); it signs every new token. Rotation
//! retires it and creates a new one. Retired keys keep verifying, and stay in the JWKS, for
//! [`KEY_RETENTION`] after retirement so tokens and cached JWKS copies outlive a rotation
//! gracefully. A key's id is `base64url_nopad(sha256(public key PEM text))`, exactly the text
//! stored in `public_key_pem` (SPKI, trailing newline included), as the original computes it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use rusqlite::{OptionalExtension, Row, TransactionBehavior};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::{format_timestamp, parse_timestamp};
use crate::db::HubDb;
use crate::error::AuthError;

/// The only signing algorithm the hub uses (stored in `signing_keys.algorithm`).
pub const SIGNING_ALGORITHM: &str = "RS256";

/// RSA modulus size of new keys.
pub const KEY_BITS: usize = 2048;

/// How long a retired key keeps verifying tokens and appearing in the JWKS.
pub const KEY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// One row of `signing_keys`.
#[derive(Clone)]
pub struct SigningKey {
    /// Content-addressed key id, carried in every token header as `kid`.
    pub kid: String,
    /// Public key, SPKI PEM (`BEGIN PUBLIC KEY`), exactly as stored.
    pub public_key_pem: String,
    /// Private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`). Secret: never logged or printed.
    pub(crate) private_key_pem: String,
    /// Always `RS256` for keys this hub makes.
    pub algorithm: String,
    /// When the key was created (stored timestamp text).
    pub created_at: String,
    /// When the key was retired, if it was.
    pub retired_at: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A key's public half, parsed once and cached by `kid`.
pub(crate) struct LoadedKey {
    /// Verifier input for `jsonwebtoken`.
    pub decoding: DecodingKey,
    /// JWK `n`: the modulus, big-endian, base64url without padding.
    pub n: String,
    /// JWK `e`: the public exponent, same encoding.
    pub e: String,
}

/// `kid` for a public key PEM: base64url (no padding) of the SHA-256 of the exact PEM text.
pub fn compute_kid(public_key_pem: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(public_key_pem.as_bytes()))
}

const KEY_COLUMNS: &str = "kid, public_key_pem, private_key_pem, algorithm, created_at, retired_at";

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<SigningKey> {
    Ok(SigningKey {
        kid: row.get(0)?,
        public_key_pem: row.get(1)?,
        private_key_pem: row.get(2)?,
        algorithm: row.get(3)?,
        created_at: row.get(4)?,
        retired_at: row.get(5)?,
    })
}

/// A freshly generated key pair, not yet stored.
struct NewKey {
    kid: String,
    public_key_pem: String,
    private_key_pem: String,
}

fn generate_key() -> Result<NewKey, AuthError> {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| AuthError::KeyGeneration(e.to_string()))?;
    let public_key_pem = RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| AuthError::KeyGeneration(e.to_string()))?;
    let private_key_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| AuthError::KeyGeneration(e.to_string()))?
        .to_string();
    Ok(NewKey {
        kid: compute_kid(&public_key_pem),
        public_key_pem,
        private_key_pem,
    })
}

/// Whether a key is usable for verification at `now`: active, or retired less than
/// [`KEY_RETENTION`] ago. An unparsable `retired_at` counts as long retired.
fn is_published(key: &SigningKey, now: SystemTime) -> bool {
    match &key.retired_at {
        None => true,
        Some(stamp) => match parse_timestamp(stamp) {
            Some(retired) => now
                .duration_since(retired)
                .map(|age| age < KEY_RETENTION)
                .unwrap_or(true),
            None => false,
        },
    }
}

impl HubDb {
    /// The key that signs new tokens: the newest unretired one, created on first use.
    pub fn active_key(&self) -> Result<SigningKey, AuthError> {
        if let Some(key) = self.find_active_key()? {
            return Ok(key);
        }
        // Generate outside the lock (it takes a while), then insert only if nobody else did.
        let new = generate_key()?;
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("creating the first signing key"))?;
        let existing = tx
            .query_row(&active_key_sql(), [], key_from_row)
            .optional()
            .map_err(AuthError::sql("reading the active signing key"))?;
        if let Some(key) = existing {
            return Ok(key);
        }
        insert_key(&tx, &new, &stamp)?;
        tx.commit()
            .map_err(AuthError::sql("storing the first signing key"))?;
        tracing::info!(kid = %new.kid, "created the hub signing key");
        Ok(stored(new, stamp))
    }

    /// Retires every active key and makes a new one active; returns the new key.
    pub fn rotate_key(&self) -> Result<SigningKey, AuthError> {
        let new = generate_key()?;
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("rotating the signing key"))?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
            [&stamp],
        )
        .map_err(AuthError::sql("retiring the active signing key"))?;
        insert_key(&tx, &new, &stamp)?;
        tx.commit()
            .map_err(AuthError::sql("storing the new signing key"))?;
        tracing::info!(kid = %new.kid, "rotated the hub signing key");
        Ok(stored(new, stamp))
    }

    /// Keys that verify tokens at `now` (active plus recently retired), newest first.
    pub fn published_keys(&self, now: SystemTime) -> Result<Vec<SigningKey>, AuthError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, rowid DESC"
            ))
            .map_err(AuthError::sql("listing signing keys"))?;
        let keys = stmt
            .query_map([], key_from_row)
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(AuthError::sql("listing signing keys"))?;
        Ok(keys.into_iter().filter(|k| is_published(k, now)).collect())
    }

    /// The JWKS document (`/.well-known/jwks.json`): `{"keys":[{kty,n,e,kid,alg,use}]}` for
    /// every published key, newest first. Creates the first key if there is none yet, so the
    /// set is never empty.
    pub fn jwks(&self) -> Result<Value, AuthError> {
        self.active_key()?;
        let keys = self
            .published_keys(self.now())?
            .iter()
            .map(|key| {
                let loaded = self.loaded_key(key)?;
                Ok(json!({
                    "kty": "RSA",
                    "n": loaded.n,
                    "e": loaded.e,
                    "kid": key.kid,
                    "alg": SIGNING_ALGORITHM,
                    "use": "sig",
                }))
            })
            .collect::<Result<Vec<_>, AuthError>>()?;
        Ok(json!({ "keys": keys }))
    }

    /// The key with `kid` if it verifies tokens at `now`.
    pub(crate) fn verification_key(
        &self,
        kid: &str,
        now: SystemTime,
    ) -> Result<Option<(SigningKey, Arc<LoadedKey>)>, AuthError> {
        let key = {
            let conn = self.lock();
            conn.query_row(
                &format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE kid = ?1"),
                [kid],
                key_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up a signing key"))?
        };
        match key {
            Some(key) if is_published(&key, now) => {
                let loaded = self.loaded_key(&key)?;
                Ok(Some((key, loaded)))
            }
            _ => Ok(None),
        }
    }

    /// The parsed public half of `key`, from the cache or parsed now.
    pub(crate) fn loaded_key(&self, key: &SigningKey) -> Result<Arc<LoadedKey>, AuthError> {
        let mut cache = self.key_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(&key.kid) {
            return Ok(Arc::clone(hit));
        }
        let bad = |message: String| AuthError::BadKey {
            kid: key.kid.clone(),
            message,
        };
        let public = RsaPublicKey::from_public_key_pem(&key.public_key_pem)
            .map_err(|e| bad(format!("public key PEM does not parse ({e})")))?;
        let n = public.n().to_bytes_be();
        let e = public.e().to_bytes_be();
        let loaded = Arc::new(LoadedKey {
            decoding: DecodingKey::from_rsa_raw_components(&n, &e),
            n: URL_SAFE_NO_PAD.encode(&n),
            e: URL_SAFE_NO_PAD.encode(&e),
        });
        cache.insert(key.kid.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }

    fn find_active_key(&self) -> Result<Option<SigningKey>, AuthError> {
        let conn = self.lock();
        conn.query_row(&active_key_sql(), [], key_from_row)
            .optional()
            .map_err(AuthError::sql("reading the active signing key"))
    }
}

/// The signer input for `key`'s private half.
pub(crate) fn encoding_key(key: &SigningKey) -> Result<EncodingKey, AuthError> {
    let bad = |message: String| AuthError::BadKey {
        kid: key.kid.clone(),
        message,
    };
    let private = RsaPrivateKey::from_pkcs8_pem(&key.private_key_pem)
        .map_err(|e| bad(format!("private key PEM does not parse ({e})")))?;
    let der = private
        .to_pkcs1_der()
        .map_err(|e| bad(format!("private key cannot be re-encoded ({e})")))?;
    Ok(EncodingKey::from_rsa_der(der.as_bytes()))
}

fn active_key_sql() -> String {
    format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys WHERE retired_at IS NULL \
         ORDER BY created_at DESC, rowid DESC LIMIT 1"
    )
}

fn insert_key(tx: &rusqlite::Transaction<'_>, key: &NewKey, stamp: &str) -> Result<(), AuthError> {
    tx.execute(
        "INSERT INTO signing_keys (kid, public_key_pem, private_key_pem, algorithm, created_at, retired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
        rusqlite::params![key.kid, key.public_key_pem, key.private_key_pem, SIGNING_ALGORITHM, stamp],
    )
    .map_err(AuthError::sql("storing a signing key"))?;
    Ok(())
}

fn stored(new: NewKey, stamp: String) -> SigningKey {
    SigningKey {
        kid: new.kid,
        public_key_pem: new.public_key_pem,
        private_key_pem: new.private_key_pem,
        algorithm: SIGNING_ALGORITHM.to_owned(),
        created_at: stamp,
        retired_at: None,
    }
}

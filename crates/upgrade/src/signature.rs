//! Minisign signatures: the trusted release key, whole-document checks (the feed) and
//! streaming checks (the binary, hashed while it downloads).
//!
//! Releases are signed with the standard `minisign` tool (`docs/RELEASING.md`); only its
//! pre-hashed signatures (the tool's default since 0.8) are accepted, so a multi-megabyte
//! binary never has to sit in memory to be checked.

use base64::Engine;
use minisign_verify::{PublicKey, Signature, StreamVerifier};

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key text is not a minisign public key.
    #[error("the public key is not a minisign public key ({0})")]
    BadKey(String),
    /// The signature text is not a minisign signature.
    #[error("the signature is not a minisign signature ({0})")]
    BadSignature(String),
    /// The signature was made with another key.
    #[error("it was signed with a different key (key id {found}, trusted key id {trusted})")]
    OtherKey {
        /// Key id in the signature.
        found: String,
        /// Key id of the trusted key.
        trusted: String,
    },
    /// Right key, wrong content: the file or its trusted comment was altered.
    #[error("the signature does not match the content (altered or corrupted)")]
    Mismatch,
    /// A legacy (not pre-hashed) signature.
    #[error("it is a legacy minisign signature; sign with a current minisign (pre-hashed)")]
    Legacy,
}

/// The key releases must be signed with.
#[derive(Clone)]
pub struct TrustedKey {
    /// The decoded key.
    key: PublicKey,
    /// Its id, as minisign prints it (16 hex digits).
    id: String,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey").field("id", &self.id).finish()
    }
}

impl TrustedKey {
    /// Accepts the base64 line (`RWQ…`) or the whole `minisign.pub` file text.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let trimmed = text.trim();
        let key = if trimmed.starts_with("untrusted comment:") {
            PublicKey::decode(trimmed)
        } else {
            PublicKey::from_base64(trimmed)
        }
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
        let id = key_id_of_public(trimmed).unwrap_or_default();
        Ok(Self { key, id })
    }

    /// The key id (16 hex digits, as `minisign` prints it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks a pre-hashed signature over a whole document.
    pub fn verify(&self, data: &[u8], signature: &ReleaseSignature) -> Result<(), SignatureError> {
        let mut stream = self.stream(signature)?;
        stream.update(data);
        stream.finish()
    }

    /// Starts a streaming check; feed it the bytes with [`ArtifactCheck::update`].
    pub fn stream<'a>(
        &'a self,
        signature: &'a ReleaseSignature,
    ) -> Result<ArtifactCheck<'a>, SignatureError> {
        let verifier = self
            .key
            .verify_stream(&signature.inner)
            .map_err(|e| self.classify(signature, e))?;
        Ok(ArtifactCheck { verifier })
    }

    fn classify(
        &self,
        signature: &ReleaseSignature,
        error: minisign_verify::Error,
    ) -> SignatureError {
        match error {
            minisign_verify::Error::UnexpectedKeyId => SignatureError::OtherKey {
                found: signature.key_id.clone(),
                trusted: self.id.clone(),
            },
            minisign_verify::Error::UnsupportedLegacyMode
            | minisign_verify::Error::UnexpectedAlgorithm => SignatureError::Legacy,
            minisign_verify::Error::InvalidSignature => SignatureError::Mismatch,
            other => SignatureError::BadSignature(other.to_string()),
        }
    }
}

/// A streaming signature check of one file.
pub struct ArtifactCheck<'a> {
    /// The minisign verifier (BLAKE2b of the content so far).
    verifier: StreamVerifier<'a>,
}

impl ArtifactCheck<'_> {
    /// Adds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.verifier.update(bytes);
    }

    /// Checks the signature over everything added.
    pub fn finish(mut self) -> Result<(), SignatureError> {
        self.verifier
            .finalize()
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// A decoded minisign signature and the id of the key that made it.
pub struct ReleaseSignature {
    /// The decoded signature.
    inner: Signature,
    /// The signing key's id (16 hex digits).
    key_id: String,
}

impl ReleaseSignature {
    /// The id of the key that made it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// Reads a signature given as the `.minisig` file text or, as Tauri's updater feeds carry it,
/// that text base64-encoded.
pub fn decode_signature(text: &str) -> Result<ReleaseSignature, SignatureError> {
    let trimmed = text.trim();
    let lines = if trimmed.starts_with("untrusted comment:") {
        trimmed.to_string()
    } else {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .map_err(|_| {
                SignatureError::BadSignature(
                    "neither minisign signature text nor base64 of it".into(),
                )
            })?;
        String::from_utf8(bytes).map_err(|_| {
            SignatureError::BadSignature("base64 of something that is not text".into())
        })?
    };
    let inner =
        Signature::decode(&lines).map_err(|e| SignatureError::BadSignature(e.to_string()))?;
    let key_id = lines
        .lines()
        .nth(1)
        .and_then(|line| {
            base64::engine::general_purpose::STANDARD
                .decode(line.trim())
                .ok()
        })
        .and_then(|blob| key_id_hex(&blob))
        .unwrap_or_default();
    Ok(ReleaseSignature { inner, key_id })
}

/// The key id bytes of a minisign blob (`algorithm(2) | key id(8 little-endian) | …`) as the
/// 16 upper-case hex digits `minisign` prints.
fn key_id_hex(blob: &[u8]) -> Option<String> {
    let id = blob.get(2..10)?;
    Some(id.iter().rev().map(|b| format!("{b:02X}")).collect())
}

fn key_id_of_public(text: &str) -> Option<String> {
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()?;
    key_id_hex(&blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with the real tool: `minisign -G -W`, then `minisign -S -m f` over the six bytes
    // `hello\n` (the integration suites sign real binaries and feeds with it at run time).
    const PUBLIC: &str = "RWT9qv+5tCW0614Usv+mhqGw0hF5Rhvt2iXIqT12/g7YBU5e3Z4zqyFs";
    const SIGNATURE: &str = "untrusted comment: signature from minisign secret key\nRUT9qv+5tCW06xObizTazG/6JVgj0cw0VXjYp0AbMfBHdaO/R17f7AbJ8G98dBQ59Z5Oo1qFSjgG52oMMGPhN6hfMHkL9pnXzQ4=\ntrusted comment: timestamp:1796217771\tfile:f\thashed\nwsaN4Lbq/JmVQMvDN7DwJm5ADxHKRyuPtbMdo7Nf+1itiMmhtI5eCKMY9KU7RGAl7YKVJwe0T/5R61qhGsu8DQ==\n";
    const CONTENT: &[u8] = b"hello\n";
    const OTHER_PUBLIC: &str = "RWQ9G7WTSBegFf2CZ1UdR9EuIbRlD1tnFJ8/W7G95bXA0cU7ktDcVGRn";

    #[test]
    fn a_real_minisign_signature_verifies_whole_and_streamed() {
        let key = TrustedKey::parse(PUBLIC).unwrap();
        assert_eq!(key.id(), "EBB425B4B9FFAAFD");
        let sig = decode_signature(SIGNATURE).unwrap();
        key.verify(CONTENT, &sig).unwrap();
        let mut stream = key.stream(&sig).unwrap();
        for chunk in CONTENT.chunks(2) {
            stream.update(chunk);
        }
        stream.finish().unwrap();
    }

    #[test]
    fn tampered_content_and_a_tampered_trusted_comment_are_mismatches() {
        let key = TrustedKey::parse(PUBLIC).unwrap();
        let sig = decode_signature(SIGNATURE).unwrap();
        assert_eq!(key.verify(b"hellO\n", &sig), Err(SignatureError::Mismatch));
        let altered = SIGNATURE.replace("timestamp:1796217771", "timestamp:1896217771");
        let sig = decode_signature(&altered).unwrap();
        assert_eq!(key.verify(CONTENT, &sig), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_signature_by_another_key_names_both_key_ids() {
        let key = TrustedKey::parse(OTHER_PUBLIC).unwrap();
        assert_eq!(key.id(), "15A0174893B51B3D");
        let sig = decode_signature(SIGNATURE).unwrap();
        match key.verify(CONTENT, &sig) {
            Err(SignatureError::OtherKey { trusted, found }) => {
                assert_eq!(trusted, key.id());
                assert_eq!(found, "EBB425B4B9FFAAFD");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tauri_style_base64_signatures_and_whole_key_files_are_read() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(SIGNATURE);
        let sig = decode_signature(&b64).unwrap();
        let file = format!("untrusted comment: minisign public key EBB425B4B9FFAAFD\n{PUBLIC}\n");
        TrustedKey::parse(&file)
            .unwrap()
            .verify(CONTENT, &sig)
            .unwrap();
        assert!(matches!(
            decode_signature("not a signature at all"),
            Err(SignatureError::BadSignature(_))
        ));
        assert!(matches!(
            TrustedKey::parse("RWQnotakey"),
            Err(SignatureError::BadKey(_))
        ));
    }
}

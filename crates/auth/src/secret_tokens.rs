//! Random opaque tokens and how presented secrets are compared.
//!
//! Every opaque value the hub hands out (session ids, authorization codes, refresh tokens, CSRF
//! tokens, pending-login tokens, client secrets, the bootstrap token's tail) is 32 random bytes
//! from the OS generator, base64url without padding (43 characters), as the original makes them.
//! Anything a caller presents back is compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// Bytes of randomness in every opaque token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// A fresh opaque token: base64url (no padding) of [`TOKEN_BYTES`] random bytes.
pub fn random_token() -> String {
    random_base64url(TOKEN_BYTES)
}

/// base64url (no padding) of `len` random bytes from the OS generator.
pub(crate) fn random_base64url(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `a` and `b` are the same string, in time that depends only on their lengths.
///
/// Lengths are not secret for any value the hub compares (every token format is fixed), so a
/// length mismatch answers at once.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Lower-case hex of the SHA-256 of `text`: how refresh tokens and client secrets are stored.
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// base64url (no padding) of the SHA-256 of `text`: the PKCE S256 transform.
pub(crate) fn sha256_base64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn comparison_needs_equal_length_and_bytes() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn hashes_match_known_values() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 7636 appendix B.
        assert_eq!(
            sha256_base64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}

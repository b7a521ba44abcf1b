//! RFC 6238 codes computed by the suites themselves (HMAC-SHA-1, 6 digits, 30 s), so no
//! two-factor test trusts the hub's own TOTP code.

use hmac::{KeyInit as _, Mac as _};

/// RFC 4648 base32 (upper or lower case, no padding) to bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("{:?} is not base32", c as char));
        acc = (acc << 5) | u32::try_from(value).expect("small");
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

/// The code an authenticator shows for `secret_base32` at `unix_seconds`.
pub fn code_at(secret_base32: &str, unix_seconds: u64) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&base32_decode(secret_base32))
        .expect("any key length");
    mac.update(&(unix_seconds / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let at = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[at] & 0x7f,
        digest[at + 1],
        digest[at + 2],
        digest[at + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The code for now.
pub fn code_now(secret_base32: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    code_at(secret_base32, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // Appendix B: the ASCII seed "12345678901234567890", last six digits of each value.
        let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(base32_decode(seed), b"12345678901234567890");
        for (t, want) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(seed, t), want, "t={t}");
        }
    }
}

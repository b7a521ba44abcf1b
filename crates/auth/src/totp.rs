//! TOTP (RFC 6238) and backup codes: the pure crypto of hub sign-in two-factor, no storage.
//!
//! Parameters are the interoperable defaults every authenticator app expects, as the
//! original: HMAC-SHA-1, 6 digits, 30-second steps, one step of drift accepted either way.
//! Secrets are 20 random bytes shown and stored as upper-case base32 without padding (the
//! `users.totp_secret` text). [`matching_step`] says *which* step a code matched so the store
//! can refuse a second use of the same step.
//!
//! Backup codes: ten per enrolment, ten characters from an alphabet without look-alikes
//! (`abcdefghjkmnpqrstuvwxyz23456789`), shown as `xxxxx-xxxxx`. Only argon2id hashes of the
//! normalised code (lower case, no hyphen or spaces) are stored, with the same parameters as
//! passwords, so the original and we verify each other's codes.

use std::time::SystemTime;

use rand::Rng as _;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::clock::unix_seconds;
use crate::error::AuthError;
use crate::users::{hash_password, password_matches};

/// Issuer label shown in authenticator apps and put in the `otpauth://` URI.
pub const TOTP_ISSUER: &str = "Parachute Hub";
/// Digits per code.
pub const TOTP_DIGITS: u8 = 6;
/// Seconds per step.
pub const TOTP_STEP_SECS: u64 = 30;
/// Steps of clock drift accepted on either side.
pub const TOTP_SKEW_STEPS: u16 = 1;
/// Random bytes in a new secret (160 bits, the RFC 4226 recommendation).
pub const TOTP_SECRET_BYTES: usize = 20;
/// Backup codes made per enrolment.
pub const BACKUP_CODE_COUNT: usize = 10;
/// Characters a backup code is drawn from.
pub const BACKUP_CODE_ALPHABET: &str = "abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per backup code (without the display hyphen).
pub const BACKUP_CODE_LEN: usize = 10;

/// A new random secret, base32 (32 characters).
pub fn generate_totp_secret() -> String {
    let mut bytes = [0u8; TOTP_SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    Secret::new_stack(bytes).to_base32()
}

/// A typed or pasted secret in the stored form: upper case, no spaces, no `=` padding.
pub fn normalize_totp_secret(secret_base32: &str) -> String {
    secret_base32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The generator for `secret_base32` (any form [`normalize_totp_secret`] accepts).
fn totp_for(secret_base32: &str, label: &str) -> Result<Totp, AuthError> {
    let secret = Secret::try_from_base32(normalize_totp_secret(secret_base32))
        .map_err(|e| AuthError::InvalidTotpSecret(e.to_string()))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_skew(TOTP_SKEW_STEPS)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret)
        .with_issuer(Some(TOTP_ISSUER))
        .with_account_name(label.replace(':', "_"))
        .build()
        .map_err(|e| AuthError::InvalidTotpSecret(e.to_string()))
}

/// Checks that `secret_base32` decodes to a usable secret (at least 16 bytes).
pub fn check_totp_secret(secret_base32: &str) -> Result<(), AuthError> {
    totp_for(secret_base32, "check").map(|_| ())
}

/// The `otpauth://totp/…` provisioning URI for an authenticator app; `label` is the account
/// name shown there (the username).
pub fn otpauth_uri(secret_base32: &str, label: &str) -> Result<String, AuthError> {
    let label = if label.is_empty() { "hub" } else { label };
    totp_for(secret_base32, label)?
        .to_url()
        .map_err(|e| AuthError::InvalidTotpSecret(e.to_string()))
}

/// The code for `secret_base32` at `at` (what the authenticator app shows then).
pub fn totp_code(secret_base32: &str, at: SystemTime) -> Result<String, AuthError> {
    let time = u64::try_from(unix_seconds(at)).unwrap_or(0);
    Ok(totp_for(secret_base32, "code")?.generate(time).to_string())
}

/// The time step `code` matches for `secret_base32` at `now` (±1 step), or `None`. Spaces in
/// the typed code are ignored; anything but six digits never matches.
pub fn matching_step(
    secret_base32: &str,
    code: &str,
    now: SystemTime,
) -> Result<Option<u64>, AuthError> {
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != usize::from(TOTP_DIGITS) || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let time = u64::try_from(unix_seconds(now)).unwrap_or(0);
    Ok(totp_for(secret_base32, "check")?.check(&typed, time))
}

/// A backup code as it is hashed and compared: lower case, without spaces or hyphens.
pub fn normalize_backup_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fresh backup codes: (plaintext codes to show once, argon2id hashes to store).
pub fn generate_backup_codes() -> Result<(Vec<String>, Vec<String>), AuthError> {
    let alphabet = BACKUP_CODE_ALPHABET.as_bytes();
    let mut rng = rand::rngs::OsRng;
    let mut codes = Vec::with_capacity(BACKUP_CODE_COUNT);
    let mut hashes = Vec::with_capacity(BACKUP_CODE_COUNT);
    for _ in 0..BACKUP_CODE_COUNT {
        let mut code = String::with_capacity(BACKUP_CODE_LEN + 1);
        for i in 0..BACKUP_CODE_LEN {
            if i == BACKUP_CODE_LEN / 2 {
                code.push('-');
            }
            code.push(char::from(alphabet[rng.gen_range(0..alphabet.len())]));
        }
        hashes.push(hash_password(&normalize_backup_code(&code))?);
        codes.push(code);
    }
    Ok((codes, hashes))
}

/// The index of the stored hash `code` matches, or `None` (unreadable hashes are skipped).
/// Anything that cannot be a backup code (wrong length or characters) is refused before any
/// argon2 work, so wrong TOTP guesses cost no hashing.
pub fn backup_code_index<S: AsRef<str>>(code: &str, hashes: &[S]) -> Option<usize> {
    let normalized = normalize_backup_code(code);
    if normalized.chars().count() != BACKUP_CODE_LEN
        || !normalized.chars().all(|c| BACKUP_CODE_ALPHABET.contains(c))
    {
        return None;
    }
    hashes
        .iter()
        .position(|hash| password_matches(hash.as_ref(), &normalized))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    /// RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", last six digits.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(
                totp_code(RFC_SECRET, from_unix_seconds(t)).unwrap(),
                code,
                "t={t}"
            );
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let now = from_unix_seconds(1_111_111_111); // step 37037037
        let step = 37_037_037u64;
        for (offset, want) in [
            (-60i64, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = totp_code(RFC_SECRET, from_unix_seconds(1_111_111_111 + offset)).unwrap();
            assert_eq!(
                matching_step(RFC_SECRET, &code, now).unwrap(),
                want,
                "offset {offset}"
            );
        }
        assert_eq!(
            matching_step(RFC_SECRET, "050 471", now).unwrap(),
            Some(step)
        );
        for junk in ["", "05047", "0504711", "+50471", "abcdef"] {
            assert_eq!(
                matching_step(RFC_SECRET, junk, now).unwrap(),
                None,
                "{junk:?}"
            );
        }
    }

    #[test]
    fn secrets_are_20_bytes_of_base32_and_bad_ones_are_refused() {
        let secret = generate_totp_secret();
        assert_eq!(secret.len(), 32);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        );
        assert_ne!(secret, generate_totp_secret());
        assert!(check_totp_secret(&secret).is_ok());
        assert!(check_totp_secret(&secret.to_lowercase()).is_ok());
        assert!(matches!(
            check_totp_secret("ABC"),
            Err(AuthError::InvalidTotpSecret(_))
        ));
        assert!(matches!(
            check_totp_secret("!!!!"),
            Err(AuthError::InvalidTotpSecret(_))
        ));
    }

    #[test]
    fn otpauth_uri_names_the_issuer_and_account() {
        let uri = otpauth_uri(RFC_SECRET, "alice").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Parachute%20Hub:alice?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={RFC_SECRET}")), "{uri}");
        assert!(uri.contains("issuer=Parachute%20Hub"), "{uri}");
        assert!(
            otpauth_uri(RFC_SECRET, "odd:name")
                .unwrap()
                .contains("odd_name")
        );
    }

    #[test]
    fn backup_codes_have_the_original_format_and_verify_once_each() {
        let (codes, hashes) = generate_backup_codes().unwrap();
        assert_eq!(codes.len(), BACKUP_CODE_COUNT);
        assert_eq!(hashes.len(), BACKUP_CODE_COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(
                code.replace('-', "")
                    .chars()
                    .all(|c| BACKUP_CODE_ALPHABET.contains(c)),
                "{code}"
            );
        }
        assert!(hashes[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(backup_code_index(&codes[3], &hashes), Some(3));
        assert_eq!(
            backup_code_index(
                &format!(" {} ", codes[7].to_uppercase().replace('-', " ")),
                &hashes
            ),
            Some(7)
        );
        assert_eq!(backup_code_index("zzzzz-zzzzz", &hashes), None);
        assert_eq!(backup_code_index("-", &hashes), None);
        assert_eq!(
            backup_code_index("123456", &hashes),
            None,
            "a TOTP-shaped guess"
        );
        assert_eq!(
            backup_code_index("a7r9f-9axu0", &hashes),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(backup_code_index(&codes[0], &["not a hash"]), None);
    }
}

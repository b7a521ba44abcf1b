//! Two-factor sign-in stored on the `users` row: enrolment, status, verification, disenrolment.
//!
//! Storage is the original's: `totp_secret` (base32), `totp_backup_codes` (a JSON array of
//! argon2id PHC strings, one per unused code) and `totp_enrolled_at`; all three NULL means not
//! enrolled. So a person who enrolled on either hub keeps their authenticator and backup codes
//! on the other.
//!
//! Enrolment: [`HubDb::begin_two_factor_enrolment`] makes a secret and its `otpauth://` URI but
//! stores nothing (the CLI keeps it in memory, the browser page in a hidden field). Only
//! [`HubDb::confirm_two_factor_enrolment`] with a current code from the new authenticator
//! stores the secret and ten fresh backup codes, returned once in plain text.
//!
//! Sign-in: [`HubDb::verify_second_factor`] tries the code as TOTP first, then as a backup code;
//! a matched backup code is removed in the same transaction that re-reads the list, so two
//! concurrent sign-ins cannot spend it twice. Replay: the original remembered used
//! (secret, step) pairs in process memory; we persist the last accepted step per user in
//! `hub_settings` under [`SETTING_TOTP_LAST_STEP_PREFIX`]`<user id>` and accept only later
//! steps, which also holds across restarts and between the hub and CLI processes. The original
//! reads settings only by key, so the extra keys are harmless if the person switches back.

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::clock::format_timestamp;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::totp::{
    backup_code_index, check_totp_secret, generate_backup_codes, generate_totp_secret,
    matching_step, normalize_totp_secret, otpauth_uri,
};

/// `hub_settings` key prefix of the last accepted TOTP step, followed by the user id.
pub const SETTING_TOTP_LAST_STEP_PREFIX: &str = "totp_last_used_step:";

/// A user's two-factor state, without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// Whether a secret is stored.
    pub enrolled: bool,
    /// When it was enrolled (stored text).
    pub enrolled_at: Option<String>,
    /// Unused backup codes left.
    pub backup_codes_remaining: usize,
}

/// A started enrolment: show these, then confirm with a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEnrolment {
    /// The new base32 secret (for manual entry). A secret: never log it.
    pub secret: String,
    /// The `otpauth://` URI (for a QR code).
    pub otpauth_uri: String,
}

/// A confirmed enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The plaintext backup codes: shown once, never retrievable again.
    pub backup_codes: Vec<String>,
    /// The stored enrolment time.
    pub enrolled_at: String,
}

/// The answer to a submitted second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorCheck {
    /// A current TOTP code: sign the person in.
    AcceptedTotp,
    /// A backup code, now used up: sign in, and say how many are left.
    AcceptedBackupCode {
        /// Unused backup codes left.
        remaining: usize,
    },
    /// A valid TOTP code whose time step was already used: refuse (someone may have seen it).
    Replayed,
    /// Neither a valid code nor an unused backup code.
    Rejected,
    /// The user has no two-factor; the sign-in flow should not have asked.
    NotEnrolled,
}

impl SecondFactorCheck {
    /// Whether the person may be signed in.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            SecondFactorCheck::AcceptedTotp | SecondFactorCheck::AcceptedBackupCode { .. }
        )
    }
}

/// The two-factor columns of one user.
struct StoredTwoFactor {
    username: String,
    secret: Option<String>,
    backup_hashes: Vec<String>,
    enrolled_at: Option<String>,
}

fn parse_backup_hashes(username: &str, raw: Option<String>) -> Vec<String> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Vec::new();
    };
    match serde_json::from_str::<Vec<serde_json::Value>>(&raw) {
        Ok(values) => values
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Err(e) => {
            tracing::warn!(username, error = %e, "stored backup codes are not a JSON array; treating them as none");
            Vec::new()
        }
    }
}

fn read_two_factor(
    conn: &rusqlite::Connection,
    user_id: &str,
) -> Result<StoredTwoFactor, AuthError> {
    conn.query_row(
        "SELECT username, totp_secret, totp_backup_codes, totp_enrolled_at FROM users WHERE id = ?1",
        [user_id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
    )
    .optional()
    .map_err(AuthError::sql("reading two-factor state"))?
    .map(|(username, secret, codes, enrolled_at)| StoredTwoFactor {
        backup_hashes: parse_backup_hashes(&username, codes),
        secret: secret.filter(|s| !s.is_empty()),
        username,
        enrolled_at,
    })
    .ok_or_else(|| AuthError::UnknownUser {
        user: user_id.to_owned(),
    })
}

fn last_step_key(user_id: &str) -> String {
    format!("{SETTING_TOTP_LAST_STEP_PREFIX}{user_id}")
}

/// Inside a transaction: accepts `step` for `user_id` only if it is later than the last one,
/// and records it. Returns whether it was accepted.
fn claim_step(
    tx: &rusqlite::Transaction<'_>,
    user_id: &str,
    step: u64,
    stamp: &str,
) -> Result<bool, AuthError> {
    let key = last_step_key(user_id);
    let last: Option<String> = tx
        .query_row(
            "SELECT value FROM hub_settings WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()
        .map_err(AuthError::sql("reading the last two-factor step"))?;
    if last
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|last| step <= last)
    {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO hub_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        rusqlite::params![key, step.to_string(), stamp],
    )
    .map_err(AuthError::sql("recording the last two-factor step"))?;
    Ok(true)
}

impl HubDb {
    /// `user_id`'s two-factor state.
    pub fn two_factor_status(&self, user_id: &str) -> Result<TwoFactorStatus, AuthError> {
        let stored = read_two_factor(&self.lock(), user_id)?;
        Ok(TwoFactorStatus {
            enrolled: stored.secret.is_some(),
            enrolled_at: stored.enrolled_at,
            backup_codes_remaining: stored.backup_hashes.len(),
        })
    }

    /// Starts an enrolment for `user_id` (refused when already enrolled). Nothing is stored.
    pub fn begin_two_factor_enrolment(&self, user_id: &str) -> Result<PendingEnrolment, AuthError> {
        let stored = read_two_factor(&self.lock(), user_id)?;
        if stored.secret.is_some() {
            return Err(AuthError::TwoFactorAlreadyEnrolled {
                username: stored.username,
            });
        }
        let secret = generate_totp_secret();
        let otpauth_uri = otpauth_uri(&secret, &stored.username)?;
        Ok(PendingEnrolment {
            secret,
            otpauth_uri,
        })
    }

    /// Confirms an enrolment: `code` must be a current code for `secret`. Stores the secret and
    /// ten new backup codes (replacing nothing: refused when already enrolled) and returns the
    /// codes.
    pub fn confirm_two_factor_enrolment(
        &self,
        user_id: &str,
        secret: &str,
        code: &str,
    ) -> Result<Enrolment, AuthError> {
        check_totp_secret(secret)?;
        let now = self.now();
        let step = matching_step(secret, code, now)?.ok_or(AuthError::TotpConfirmationFailed)?;
        // Hash the backup codes before taking the lock: argon2id is deliberately slow.
        let (backup_codes, hashes) = generate_backup_codes()?;
        let hashes_json =
            serde_json::to_string(&hashes).map_err(|e| AuthError::Claims(e.to_string()))?;
        let stamp = format_timestamp(now);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("enrolling two-factor"))?;
        let stored = read_two_factor(&tx, user_id)?;
        if stored.secret.is_some() {
            return Err(AuthError::TwoFactorAlreadyEnrolled {
                username: stored.username,
            });
        }
        tx.execute(
            "DELETE FROM hub_settings WHERE key = ?1",
            [last_step_key(user_id)],
        )
        .map_err(AuthError::sql("enrolling two-factor"))?;
        if !claim_step(&tx, user_id, step, &stamp)? {
            return Err(AuthError::TotpConfirmationFailed);
        }
        tx.execute(
            "UPDATE users SET totp_secret = ?1, totp_backup_codes = ?2, totp_enrolled_at = ?3,
                              updated_at = ?3
             WHERE id = ?4",
            rusqlite::params![normalize_totp_secret(secret), hashes_json, stamp, user_id],
        )
        .map_err(AuthError::sql("enrolling two-factor"))?;
        tx.commit()
            .map_err(AuthError::sql("enrolling two-factor"))?;
        tracing::info!(username = %stored.username, "turned two-factor sign-in on");
        Ok(Enrolment {
            backup_codes,
            enrolled_at: stamp,
        })
    }

    /// Turns two-factor off for `user_id`. Returns whether it was on. (Callers re-check the
    /// password first, as the original's account page does.)
    pub fn disenrol_two_factor(&self, user_id: &str) -> Result<bool, AuthError> {
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("turning two-factor off"))?;
        let stored = read_two_factor(&tx, user_id)?;
        tx.execute(
            "UPDATE users SET totp_secret = NULL, totp_backup_codes = NULL, totp_enrolled_at = NULL,
                              updated_at = ?1
             WHERE id = ?2",
            rusqlite::params![stamp, user_id],
        )
        .map_err(AuthError::sql("turning two-factor off"))?;
        tx.execute(
            "DELETE FROM hub_settings WHERE key = ?1",
            [last_step_key(user_id)],
        )
        .map_err(AuthError::sql("turning two-factor off"))?;
        tx.commit()
            .map_err(AuthError::sql("turning two-factor off"))?;
        let was_on = stored.secret.is_some();
        if was_on {
            tracing::info!(username = %stored.username, "turned two-factor sign-in off");
        }
        Ok(was_on)
    }

    /// Checks a submitted second factor for `user_id` (see the module docs). Rate limiting is
    /// the caller's job ([`crate::rate_limit`]).
    pub fn verify_second_factor(
        &self,
        user_id: &str,
        submitted: &str,
    ) -> Result<SecondFactorCheck, AuthError> {
        let stored = read_two_factor(&self.lock(), user_id)?;
        let Some(secret) = stored.secret.as_deref() else {
            return Ok(SecondFactorCheck::NotEnrolled);
        };
        let submitted = submitted.trim();
        if submitted.is_empty() {
            return Ok(SecondFactorCheck::Rejected);
        }
        let now = self.now();
        let unreadable_secret = match matching_step(secret, submitted, now) {
            Ok(Some(step)) => return self.accept_totp_step(user_id, step),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(username = %stored.username, error = %e, "the stored TOTP secret is unreadable");
                Some(e.to_string())
            }
        };
        if let Some(index) = backup_code_index(submitted, &stored.backup_hashes) {
            return self.consume_backup_code(user_id, &stored.backup_hashes[index]);
        }
        match unreadable_secret {
            Some(message) => Err(AuthError::CorruptTwoFactor {
                username: stored.username,
                message,
            }),
            None => Ok(SecondFactorCheck::Rejected),
        }
    }

    fn accept_totp_step(&self, user_id: &str, step: u64) -> Result<SecondFactorCheck, AuthError> {
        let stamp = format_timestamp(self.now());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("accepting a two-factor code"))?;
        if !claim_step(&tx, user_id, step, &stamp)? {
            tracing::warn!(user_id, "refused a two-factor code that was already used");
            return Ok(SecondFactorCheck::Replayed);
        }
        tx.commit()
            .map_err(AuthError::sql("accepting a two-factor code"))?;
        Ok(SecondFactorCheck::AcceptedTotp)
    }

    /// Removes `matched_hash` from the stored list if it is still there.
    fn consume_backup_code(
        &self,
        user_id: &str,
        matched_hash: &str,
    ) -> Result<SecondFactorCheck, AuthError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("using a backup code"))?;
        let fresh = read_two_factor(&tx, user_id)?;
        let Some(position) = fresh.backup_hashes.iter().position(|h| h == matched_hash) else {
            return Ok(SecondFactorCheck::Rejected);
        };
        let mut remaining = fresh.backup_hashes;
        remaining.remove(position);
        let json =
            serde_json::to_string(&remaining).map_err(|e| AuthError::Claims(e.to_string()))?;
        tx.execute(
            "UPDATE users SET totp_backup_codes = ?1 WHERE id = ?2",
            rusqlite::params![json, user_id],
        )
        .map_err(AuthError::sql("using a backup code"))?;
        tx.commit().map_err(AuthError::sql("using a backup code"))?;
        tracing::info!(username = %fresh.username, remaining = remaining.len(), "signed in with a backup code");
        Ok(SecondFactorCheck::AcceptedBackupCode {
            remaining: remaining.len(),
        })
    }
}

#[cfg(test)]
#[path = "two_factor_tests.rs"]
mod tests;

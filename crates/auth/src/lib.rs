//! hub.db, signing keys, JWTs, the operator token and users.
//!
//! [`HubDb`] opens `hub.db` (SQLite, WAL) with the same schema the original hub creates, and
//! everything else hangs off it: RS256 signing keys and the JWKS ([`keys`]), minting and the
//! token registry ([`tokens`]), bearer validation ([`validate`]), users ([`users`]) and hub
//! settings ([`settings`]). [`operator`] manages the `operator.token` file. Paths are passed in
//! explicitly; this crate does not decide where `PARACHUTE_HOME` is.

#![warn(missing_docs)]

pub mod clock;
pub mod db;
pub mod error;
pub mod issuers;
pub mod keys;
mod migrations;
pub mod operator;
pub mod proof;
pub mod settings;
pub mod tokens;
pub mod users;
pub mod validate;

pub use clock::{Clock, FixedClock, SystemClock, format_timestamp, parse_timestamp};
pub use db::HubDb;
pub use error::AuthError;
pub use issuers::{is_loopback_origin, known_issuers, loopback_origins, normalize_origin};
pub use keys::{KEY_RETENTION, SIGNING_ALGORITHM, SigningKey, compute_kid};
pub use migrations::SCHEMA_VERSION;
pub use operator::{
    Freshness, IssuedOperatorToken, OPERATOR_AUDIENCE, OPERATOR_TOKEN_FILE, OPERATOR_TTL,
    OperatorScopeSet, OperatorToken, UsableOperatorToken, ensure_fresh, mint_operator,
    self_heal_issuer,
};
pub use proof::{
    HubProof, PROOF_AUDIENCE, PROOF_TTL, PROOF_TYPE, ProofExpectation, ProofFailure,
    is_acceptable_nonce, new_proof_nonce,
};
pub use settings::{SETTING_HUB_ORIGIN, SETTING_MODULE_INSTALL_CHANNEL, SETTING_SETUP_EXPOSE_MODE};
pub use tokens::{
    Audience, Claims, CreatedVia, HUB_CLIENT_ID, MintRequest, MintedToken, TokenFilter,
    TokenRecord, infer_audience, is_operator_only_scope,
};
pub use users::{AdminChange, SeedOutcome, User};
pub use validate::{AuthFailure, ValidationRequest, parse_bearer};

/// Creates `dir` and its missing parents with mode `0700` whatever the umask (the home holds
/// `hub.db` and `operator.token`; nobody else may list or change it). Existing directories keep
/// their mode.
pub(crate) fn private_dir_all(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

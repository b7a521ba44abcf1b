//! hub.db, signing keys, JWTs, the operator token, users, browser sessions, the OAuth
//! authorization server's storage and logic, and two-factor sign-in.
//!
//! [`HubDb`] opens `hub.db` (SQLite, WAL) with the same schema the original hub creates, and
//! everything else hangs off it: RS256 signing keys and the JWKS ([`keys`]), minting and the
//! token registry ([`tokens`]), bearer validation ([`validate`]), users ([`users`], with their
//! vaults in [`user_vaults`]) and hub settings ([`settings`]). [`operator`] manages the
//! `operator.token` file. Paths are passed in explicitly; this crate does not decide where
//! `PARACHUTE_HOME` is.
//!
//! Sign-in and OAuth, all compatible both ways with the rows the original writes:
//! - browser sessions ([`sessions`]) and the hub's cookies ([`cookies`]), CSRF tokens
//!   ([`csrf`]), half-finished sign-ins waiting for a second factor ([`pending_login`]),
//!   attempt throttling ([`rate_limit`]) and the first-run bootstrap token ([`bootstrap`]);
//! - OAuth clients ([`clients`], redirect URI rules in [`redirect_uri`]), authorization codes
//!   ([`auth_codes`]), remembered consent ([`grants`]), the token endpoint's code exchange and
//!   refresh rotation ([`oauth_tokens`]) and RFC 7009 revocation ([`oauth_revoke`]), with the
//!   refusals in [`oauth_error`]; when the consent page may be skipped ([`consent`]);
//! - the scope vocabulary ([`scopes`]), RFC 8707 resource binding ([`resource`]) and who may
//!   hand out what ([`attenuation`]);
//! - TOTP and backup codes ([`totp`]) and their storage on the user ([`two_factor`]).
//!
//! No HTTP here: the hub's routes and the CLI call these functions.

#![warn(missing_docs)]

pub mod attenuation;
pub mod auth_codes;
pub mod bootstrap;
pub mod clients;
pub mod clock;
pub mod consent;
pub mod cookies;
pub mod csrf;
pub mod db;
pub mod error;
pub mod grants;
pub mod issuers;
pub mod keys;
mod migrations;
pub mod oauth_error;
pub mod oauth_revoke;
pub mod oauth_tokens;
pub mod operator;
pub mod pending_login;
pub mod permissions;
pub mod proof;
pub mod rate_limit;
pub mod redirect_uri;
pub mod resource;
pub mod scopes;
pub mod secret_tokens;
pub mod sessions;
pub mod settings;
#[cfg(test)]
mod test_support;
pub mod tokens;
pub mod totp;
pub mod two_factor;
pub mod user_vaults;
pub mod users;
pub mod validate;

pub use clock::{Clock, FixedClock, SystemClock, format_timestamp, parse_timestamp};
pub use db::HubDb;
pub use error::AuthError;
pub use issuers::{
    EnvOriginError, IssuerLayers, IssuerSource, OriginError, ResolvedIssuer, env_origin_from,
    is_loopback_origin, known_issuers, loopback_origins, normalize_origin, parse_origin,
};
pub use keys::{KEY_RETENTION, SIGNING_ALGORITHM, SigningKey, compute_kid};
pub use migrations::SCHEMA_VERSION;
pub use oauth_error::OAuthError;
pub use operator::{
    Freshness, IssuedOperatorToken, OPERATOR_AUDIENCE, OPERATOR_TOKEN_FILE, OPERATOR_TTL,
    OperatorScopeSet, OperatorToken, UsableOperatorToken, ensure_fresh, mint_operator,
    reissue_for_issuer, self_heal_issuer,
};
pub use permissions::{
    PermissionsError, canonical_permissions, parse_permissions, permissions_text,
};
pub use proof::{
    HubProof, PROOF_AUDIENCE, PROOF_TTL, PROOF_TYPE, ProofExpectation, ProofFailure,
    is_acceptable_nonce, new_proof_nonce,
};
pub use sessions::{SESSION_TTL, Session};
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

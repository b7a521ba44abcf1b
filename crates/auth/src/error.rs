//! Errors of this crate. Each message says what went wrong and what to do about it.

use std::path::PathBuf;

use crate::oauth_error::OAuthError;
use crate::validate::AuthFailure;

/// Everything that can go wrong while using `hub.db`, keys, tokens, users or the operator token
/// file. (Request-level token rejections are [`AuthFailure`], not this type.)
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `hub.db` could not be opened or configured.
    #[error(
        "cannot open the hub database {path}: {source}. Check that the file is a SQLite database \
         and that its directory exists and is writable"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The directory that should hold a file could not be created.
    #[error("cannot create the directory {path}: {source}. Check permissions on its parent")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The database was written by a newer release: we refuse to touch it.
    #[error(
        "the hub database {path} has schema version {found}, newer than the {known} this build \
         understands; it was left untouched. Upgrade parachute (or restore an older backup of \
         hub.db) and try again"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Highest version recorded in `schema_version`.
        found: i64,
        /// Highest version this build knows.
        known: i64,
    },

    /// A query failed.
    #[error(
        "hub database error while {context}: {source}. If this persists, check disk space \
             and that no other program holds hub.db locked"
    )]
    Sql {
        /// What we were doing.
        context: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// A stored signing key could not be used.
    #[error(
        "signing key {kid} in hub.db is unusable: {message}. Run `parachute auth rotate-key` to \
         make a fresh one"
    )]
    BadKey {
        /// The key's id.
        kid: String,
        /// What was wrong with it.
        message: String,
    },

    /// A new RSA key could not be generated or encoded.
    #[error("could not create a new signing key: {0}. Try again; if it keeps failing, report it")]
    KeyGeneration(String),

    /// Signing a JWT failed.
    #[error("could not sign a token: {0}. Run `parachute auth rotate-key` and try again")]
    Sign(String),

    /// A JSON value could not be encoded into the token.
    #[error("could not encode token claims: {0}")]
    Claims(String),

    /// An operation needs a hub user and there is none.
    #[error(
        "no hub user exists yet; create the admin first with `parachute auth set-password` \
         (or finish the setup wizard), then try again"
    )]
    NoUsers,

    /// A different user already exists and the hub keeps a single account unless asked.
    #[error(
        "a hub user named {existing:?} already exists; reset its password by running \
         `parachute auth set-password --username {existing}`, or add another account with \
         `--allow-multi`"
    )]
    UserExists {
        /// The username of the existing admin.
        existing: String,
    },

    /// Another account already has this name.
    #[error(
        "the username {username:?} is already in use; pick another name, or reset that \
         account's password with `parachute auth set-password --username {username}`"
    )]
    UsernameTaken {
        /// The name asked for.
        username: String,
    },

    /// A username or password was empty.
    #[error("the {what} must not be empty; pass a non-empty {what}")]
    EmptyCredential {
        /// "username" or "password".
        what: &'static str,
    },

    /// Hashing a password failed.
    #[error("could not hash the password: {0}")]
    PasswordHash(String),

    /// The named operator scope set does not exist.
    #[error(
        "unknown operator scope set {0:?}; use one of install, start, expose, auth, vault, admin"
    )]
    UnknownScopeSet(String),

    /// There is no operator token file (or it is empty).
    #[error("no operator token at {path}; run `parachute auth rotate-operator` to mint one")]
    OperatorTokenMissing {
        /// Where we looked.
        path: PathBuf,
    },

    /// The operator token has expired; it is never renewed automatically from that state.
    #[error(
        "the operator token at {path} has expired; run `parachute auth rotate-operator` to mint \
         a new one"
    )]
    OperatorTokenExpired {
        /// The token file.
        path: PathBuf,
    },

    /// The operator token does not validate against this hub.
    #[error(
        "the operator token at {path} is not valid for this hub ({failure}); run `parachute auth \
         rotate-operator` to mint a new one, or check that the hub origin matches"
    )]
    OperatorTokenInvalid {
        /// The token file.
        path: PathBuf,
        /// Why validation failed.
        failure: AuthFailure,
    },

    /// Reading or writing a token file failed.
    #[error("cannot {action} {path}: {source}. Check the directory exists and is writable")]
    TokenFile {
        /// "read", "write", …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An OAuth request was refused (client, code, refresh token, scope or resource problem).
    #[error(transparent)]
    OAuth(#[from] OAuthError),

    /// The named user does not exist.
    #[error(
        "no hub user {user:?} exists; list users with `parachute auth list-users` and try again \
         with one of them"
    )]
    UnknownUser {
        /// The user id or username that was given.
        user: String,
    },

    /// A vault name is not `[A-Za-z0-9_-]+`.
    #[error("{name:?} is not a vault name; vault names use only letters, digits, `_` and `-`")]
    InvalidVaultName {
        /// The name given.
        name: String,
    },

    /// Two-factor is already on for this user; enrolling again would replace a working setup.
    #[error(
        "two-factor sign-in is already on for {username:?}; turn it off first with `parachute auth \
         2fa disenroll --username {username}`, then enrol again"
    )]
    TwoFactorAlreadyEnrolled {
        /// The user.
        username: String,
    },

    /// Two-factor is not on for this user.
    #[error(
        "two-factor sign-in is not on for {username:?}; turn it on with `parachute auth 2fa enroll \
         --username {username}`"
    )]
    TwoFactorNotEnrolled {
        /// The user.
        username: String,
    },

    /// The secret of an enrolment in progress is not a usable base32 TOTP secret.
    #[error(
        "the two-factor setup secret is not valid base32 of at least 16 bytes ({0}); start the \
         setup again"
    )]
    InvalidTotpSecret(String),

    /// The code typed to confirm an enrolment did not match (nothing was saved).
    #[error(
        "that code does not match the new authenticator entry (or was already used); nothing was \
         saved. Check the device clock and type the current 6-digit code"
    )]
    TotpConfirmationFailed,

    /// A stored two-factor value could not be read.
    #[error(
        "the stored two-factor data of {username:?} is unreadable ({message}); turn two-factor off \
         and on again with `parachute auth 2fa disenroll` / `enroll`"
    )]
    CorruptTwoFactor {
        /// The user.
        username: String,
        /// What was wrong.
        message: String,
    },
}

impl AuthError {
    /// Wraps a SQLite error with what we were doing.
    pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AuthError {
        move |source| AuthError::Sql { context, source }
    }
}

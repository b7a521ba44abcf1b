//! The operator token: a long-lived JWT in `$PARACHUTE_HOME/operator.token` that on-box CLI
//! verbs present as their bearer.
//!
//! File format: the JWT plus `\n`, mode 0600, replaced atomically (temporary file in the same
//! directory, fsync, chmod, rename). Reading warns when group/other may read it; an empty file
//! counts as absent. Tokens live 90 days; a CLI use inside the last 7 days re-mints the token
//! with the same scope set and issuer, while an expired token is never renewed silently.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use crate::clock::unix_seconds;
use crate::db::HubDb;
use crate::error::AuthError;
use crate::issuers::is_loopback_origin;
use crate::tokens::{Claims, CreatedVia, HUB_CLIENT_ID, MintRequest, MintedToken};
use crate::validate::{AuthFailure, ValidationRequest};

/// File name of the operator token under `PARACHUTE_HOME`.
pub const OPERATOR_TOKEN_FILE: &str = "operator.token";

/// `aud` of operator tokens.
pub const OPERATOR_AUDIENCE: &str = "operator";

/// `tokens.subject` of operator-token rows.
pub const OPERATOR_SUBJECT: &str = "operator";

/// Lifetime of a newly minted operator token (90 days).
pub const OPERATOR_TTL: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// Remaining lifetime under which a use re-mints the token (7 days).
pub const OPERATOR_RENEW_WITHIN: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Named scope sets `parachute auth rotate-operator --scope-set` can mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OperatorScopeSet {
    /// Install modules (`parachute:host:install`, `vault:read`).
    Install,
    /// Start/stop/restart modules (`parachute:host:start`).
    Start,
    /// Manage exposure (`parachute:host:expose`).
    Expose,
    /// Mint and revoke tokens (`parachute:host:auth`).
    Auth,
    /// Manage vaults (`parachute:host:vault`).
    Vault,
    /// Everything; the default.
    #[default]
    Admin,
}

impl OperatorScopeSet {
    /// Every set, in the order help texts list them.
    pub const ALL: [OperatorScopeSet; 6] = [
        OperatorScopeSet::Install,
        OperatorScopeSet::Start,
        OperatorScopeSet::Expose,
        OperatorScopeSet::Auth,
        OperatorScopeSet::Vault,
        OperatorScopeSet::Admin,
    ];

    /// The set's name (the `pa_scope_set` claim and the `--scope-set` value).
    pub fn name(self) -> &'static str {
        match self {
            OperatorScopeSet::Install => "install",
            OperatorScopeSet::Start => "start",
            OperatorScopeSet::Expose => "expose",
            OperatorScopeSet::Auth => "auth",
            OperatorScopeSet::Vault => "vault",
            OperatorScopeSet::Admin => "admin",
        }
    }

    /// The scopes a token of this set carries, in claim order.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            OperatorScopeSet::Install => &["parachute:host:install", "vault:read"],
            OperatorScopeSet::Start => &["parachute:host:start"],
            OperatorScopeSet::Expose => &["parachute:host:expose"],
            OperatorScopeSet::Auth => &["parachute:host:auth"],
            OperatorScopeSet::Vault => &["parachute:host:vault"],
            OperatorScopeSet::Admin => &[
                "hub:admin",
                "parachute:host:admin",
                "parachute:host:install",
                "parachute:host:start",
                "parachute:host:expose",
                "parachute:host:auth",
                "parachute:host:vault",
                "vault:admin",
                "scribe:admin",
                "channel:send",
            ],
        }
    }
}

impl fmt::Display for OperatorScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OperatorScopeSet {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|set| set.name() == s)
            .ok_or_else(|| AuthError::UnknownScopeSet(s.to_owned()))
    }
}

/// The contents of an operator token file.
#[derive(Clone)]
pub struct OperatorToken {
    /// The JWT (trimmed). A secret: never log it.
    pub token: String,
    /// The file it was read from.
    pub path: PathBuf,
}

impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorToken")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl OperatorToken {
    /// Reads the token file. `Ok(None)` when it does not exist or holds only whitespace.
    /// Warns (without failing) when the file's mode lets group or other read it.
    pub fn load(path: &Path) -> Result<Option<OperatorToken>, AuthError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(AuthError::TokenFile {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "operator token file {} has mode {mode:04o}, so other users may read it; \
                     run `chmod 600 {}` to restrict it",
                    path.display(),
                    path.display()
                );
            }
        }
        let token = text.trim();
        if token.is_empty() {
            return Ok(None);
        }
        Ok(Some(OperatorToken {
            token: token.to_owned(),
            path: path.to_path_buf(),
        }))
    }

    /// The token's claims WITHOUT verifying anything (for display and decisions that a
    /// verification has already justified).
    pub fn unverified_claims(&self) -> Result<Claims, AuthFailure> {
        jsonwebtoken::dangerous::insecure_decode::<Claims>(&self.token)
            .map(|data| data.claims)
            .map_err(|e| AuthFailure::Malformed(format!("not a readable JWT ({e})")))
    }
}

/// A newly minted operator token, already written to its file.
#[derive(Debug, Clone)]
pub struct IssuedOperatorToken {
    /// The token and its claims.
    pub minted: MintedToken,
    /// The scope set it carries.
    pub scope_set: OperatorScopeSet,
    /// Where it was written.
    pub path: PathBuf,
}

/// Outcome of [`ensure_fresh`].
#[derive(Debug, Clone)]
pub enum Freshness {
    /// More than 7 days left: the file's token is used as is.
    Fresh,
    /// Inside the last 7 days: re-minted and rewritten.
    Renewed(Box<IssuedOperatorToken>),
    /// Inside the last 7 days but not renewable (not `aud=operator`, no `sub`, or no known
    /// `pa_scope_set`): used as is, will expire.
    NotRenewable(&'static str),
}

/// A validated operator token ready to be presented as a bearer.
#[derive(Debug, Clone)]
pub struct UsableOperatorToken {
    /// The JWT to send (the new one when it was renewed). A secret.
    pub token: String,
    /// Its verified claims.
    pub claims: Claims,
    /// Whether it was renewed.
    pub freshness: Freshness,
}

/// Mints an operator token of `set` for issuer `issuer` (sub = the first hub user) and
/// writes it to `path`. Fails when there is no user yet.
pub fn mint_operator(
    db: &HubDb,
    set: OperatorScopeSet,
    issuer: &str,
    path: &Path,
) -> Result<IssuedOperatorToken, AuthError> {
    let sub = db.first_user_id()?.ok_or(AuthError::NoUsers)?;
    mint_operator_for(db, &sub, set, issuer, path)
}

fn mint_operator_for(
    db: &HubDb,
    sub: &str,
    set: OperatorScopeSet,
    issuer: &str,
    path: &Path,
) -> Result<IssuedOperatorToken, AuthError> {
    let req = MintRequest {
        sub: sub.to_owned(),
        scopes: set.scopes().iter().map(|s| (*s).to_owned()).collect(),
        audience: OPERATOR_AUDIENCE.to_owned(),
        issuer: issuer.to_owned(),
        ttl: OPERATOR_TTL,
        client_id: HUB_CLIENT_ID.to_owned(),
        created_via: CreatedVia::OperatorMint,
        subject: OPERATOR_SUBJECT.to_owned(),
        user_id: None,
        permissions: None,
        scope_set: Some(set),
        vault_scope: Vec::new(),
    };
    let minted = db.mint(&req)?;
    write_token_file(path, &minted.token)?;
    tracing::info!(path = %path.display(), scope_set = set.name(), "wrote operator token");
    Ok(IssuedOperatorToken {
        minted,
        scope_set: set,
        path: path.to_path_buf(),
    })
}

/// Reads and validates the operator token at `path` (its `iss` must be one of
/// `accepted_issuers`), re-minting it when it has 7 days or less left.
///
/// Errors: no file → [`AuthError::OperatorTokenMissing`]; expired →
/// [`AuthError::OperatorTokenExpired`]; any other validation failure →
/// [`AuthError::OperatorTokenInvalid`]. A renewal keeps the scope set, `sub` and `iss`.
pub fn ensure_fresh(
    db: &HubDb,
    path: &Path,
    accepted_issuers: &[String],
    now: SystemTime,
) -> Result<UsableOperatorToken, AuthError> {
    let file = OperatorToken::load(path)?.ok_or_else(|| AuthError::OperatorTokenMissing {
        path: path.to_path_buf(),
    })?;
    let req = ValidationRequest {
        accepted_issuers: accepted_issuers.to_vec(),
        required_scope: None,
        expected_audience: None,
        now,
    };
    let claims = db
        .validate(&file.token, &req)
        .map_err(|failure| match failure {
            AuthFailure::Expired { .. } => AuthError::OperatorTokenExpired {
                path: path.to_path_buf(),
            },
            failure => AuthError::OperatorTokenInvalid {
                path: path.to_path_buf(),
                failure,
            },
        })?;
    let remaining = claims.exp.unwrap_or(0).saturating_sub(unix_seconds(now));
    if remaining > i64::try_from(OPERATOR_RENEW_WITHIN.as_secs()).unwrap_or(i64::MAX) {
        return Ok(UsableOperatorToken {
            token: file.token,
            claims,
            freshness: Freshness::Fresh,
        });
    }
    let renewable = renewable(&claims);
    let (sub, set) = match renewable {
        Ok(pair) => pair,
        Err(reason) => {
            tracing::warn!(path = %path.display(), reason, "operator token expires within 7 days and cannot be renewed automatically; run `parachute auth rotate-operator`");
            return Ok(UsableOperatorToken {
                token: file.token,
                claims,
                freshness: Freshness::NotRenewable(reason),
            });
        }
    };
    let issuer = claims.iss.clone().unwrap_or_default();
    let issued = mint_operator_for(db, &sub, set, &issuer, path)?;
    Ok(UsableOperatorToken {
        token: issued.minted.token.clone(),
        claims: issued.minted.claims.clone(),
        freshness: Freshness::Renewed(Box::new(issued)),
    })
}

/// After the hub's origin changed (exposure), re-mints the operator token under `new_issuer`
/// when it is a genuine, current operator token of this hub with a different `iss`. Returns
/// whether it rewrote the file. Leaves the file untouched when: it is absent; `new_issuer` is a
/// loopback origin (never downgrade a public issuer); the token does not verify (bad or old
/// key, expired, revoked); `iss` already matches; or it is not renewable (`aud`≠`operator`, no
/// `sub`, no known `pa_scope_set`).
pub fn self_heal_issuer(db: &HubDb, path: &Path, new_issuer: &str) -> Result<bool, AuthError> {
    if is_loopback_origin(new_issuer) {
        return Ok(false);
    }
    reissue_for_issuer(db, path, new_issuer)
}

/// After the operator chose the hub's origin (the `hub_origin` setting was set or cleared),
/// re-mints the operator token under `issuer` (same `sub` and scope set, a fresh 90 days) so
/// the CLI's token follows the rule every other token follows. Unlike [`self_heal_issuer`] a
/// loopback `issuer` is accepted: clearing the setting on a hub that is not exposed moves the
/// token back to loopback, since the cleared origin is no longer one the hub answers to.
/// Returns whether it rewrote the file; leaves it untouched when it is absent, does not verify,
/// already carries `issuer`, or is not renewable.
pub fn reissue_for_issuer(db: &HubDb, path: &Path, issuer: &str) -> Result<bool, AuthError> {
    let Some(file) = OperatorToken::load(path)? else {
        return Ok(false);
    };
    let claims = match db.validate_ignoring_issuer(&file.token, db.now()) {
        Ok(claims) => claims,
        Err(failure) => {
            tracing::warn!(path = %path.display(), %failure, "operator token does not verify; not re-issuing it under the new hub origin");
            return Ok(false);
        }
    };
    if claims.iss.as_deref() == Some(issuer) {
        return Ok(false);
    }
    let Ok((sub, set)) = renewable(&claims) else {
        return Ok(false);
    };
    mint_operator_for(db, &sub, set, issuer, path)?;
    Ok(true)
}

/// The `sub` and scope set to re-mint with, or why the token must not be re-minted.
fn renewable(claims: &Claims) -> Result<(String, OperatorScopeSet), &'static str> {
    if !claims
        .aud
        .as_ref()
        .is_some_and(|a| a.contains(OPERATOR_AUDIENCE))
    {
        return Err("its audience is not operator");
    }
    let sub = claims
        .sub
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or("it has no sub claim")?;
    let set = claims
        .pa_scope_set
        .as_deref()
        .and_then(|name| name.parse::<OperatorScopeSet>().ok())
        .ok_or("it names no known scope set")?;
    Ok((sub, set))
}

/// Writes `token` + `\n` to `path` atomically with mode 0600.
pub fn write_token_file(path: &Path, token: &str) -> Result<(), AuthError> {
    let err = |action: &'static str| {
        move |source| AuthError::TokenFile {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::private_dir_all(dir).map_err(|source| AuthError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        crate::tokens::new_jti()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err("create a temporary file for"))?;
        f.write_all(format!("{token}\n").as_bytes())
            .map_err(err("write"))?;
        // The umask cannot widen 0600, but be explicit in case the file system ignores `mode`.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err("chmod"))?;
        f.sync_all().map_err(err("sync"))?;
        std::fs::rename(&tmp, path).map_err(err("replace"))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

//! `parachute auth …`: the operator token, signing keys, module tokens and accounts.
//!
//! Every verb works on `hub.db` directly (shared safely with a running hub through SQLite
//! WAL), so they work whether or not the hub is up. Tokens are minted for the issuer the one
//! issuer rule gives ([`issuer`]: the `hub_origin` setting, else the environment's origin, else
//! the exposed origin, else loopback), the origin the hub tells its modules. Secrets are never
//! printed, except the token `mint-token` exists to print (alone on stdout, so it pipes
//! cleanly).

mod accounts;
mod approve_client;
mod list_grants;
mod mint;
mod password;
mod pending_clients;
mod revoke_grant;
mod two_factor;

use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_auth::{HubDb, ResolvedIssuer};
use parachute_home::Home;

use crate::args::AuthCommand;
use crate::commands::hub_access;

pub use mint::{parse_scopes, parse_ttl};

/// The scope an operator token needs to mint or revoke other tokens.
const AUTH_SCOPE: &str = "parachute:host:auth";

/// Runs an `auth` verb; returns the exit code.
pub fn run(command: &AuthCommand) -> i32 {
    let name = verb_name(command);
    let result = hub_access::home().and_then(|home| match command {
        AuthCommand::RotateOperator { scope_set } => rotate_operator(&home, *scope_set),
        AuthCommand::RotateKey => rotate_key(&home),
        AuthCommand::MintToken {
            scope,
            aud,
            ephemeral,
            expires_in,
            ttl,
            sub,
            permissions,
        } => mint::mint_token(
            &home,
            &mint::MintFlags {
                scope,
                aud: aud.as_deref(),
                ephemeral: *ephemeral,
                expires_in: *expires_in,
                ttl: ttl.as_deref(),
                sub: sub.as_deref(),
                permissions: permissions.as_ref(),
            },
        ),
        AuthCommand::RevokeToken { jti } => revoke_token(&home, jti),
        AuthCommand::SetPassword {
            username,
            password,
            password_stdin,
            allow_multi,
        } => accounts::set_password(
            &home,
            &accounts::PasswordFlags {
                username: username.as_deref(),
                password: password.as_deref(),
                password_stdin: *password_stdin,
                allow_multi: *allow_multi,
            },
        ),
        AuthCommand::ListUsers => accounts::list_users(&home),
        AuthCommand::PendingClients => pending_clients::run(&home),
        AuthCommand::ApproveClient { client_id } => approve_client::run(&home, client_id),
        AuthCommand::ListGrants { username } => list_grants::run(&home, username.as_deref()),
        AuthCommand::RevokeGrant {
            client_id,
            username,
        } => revoke_grant::run(&home, client_id, username.as_deref()),
        AuthCommand::TwoFactor { action } => two_factor::run(&home, action.as_ref()),
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("parachute auth {name}: {e}");
            1
        }
    }
}

fn verb_name(command: &AuthCommand) -> &'static str {
    match command {
        AuthCommand::RotateOperator { .. } => "rotate-operator",
        AuthCommand::RotateKey => "rotate-key",
        AuthCommand::MintToken { .. } => "mint-token",
        AuthCommand::RevokeToken { .. } => "revoke-token",
        AuthCommand::SetPassword { .. } => "set-password",
        AuthCommand::ListUsers => "list-users",
        AuthCommand::PendingClients => "pending-clients",
        AuthCommand::ApproveClient { .. } => "approve-client",
        AuthCommand::ListGrants { .. } => "list-grants",
        AuthCommand::RevokeGrant { .. } => "revoke-grant",
        AuthCommand::TwoFactor { .. } => "2fa",
    }
}

fn open_db(home: &Home) -> Result<HubDb, String> {
    HubDb::open(&home.hub_db()).map_err(|e| e.to_string())
}

/// The account `--username` names, else the hub's admin (the first account).
fn account(db: &HubDb, username: Option<&str>) -> Result<parachute_auth::User, String> {
    match username.map(str::trim).filter(|u| !u.is_empty()) {
        Some(name) => db
            .user_by_username(name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "there is no account {name:?}; `parachute auth list-users` shows the accounts"
                )
            }),
        None => db.first_user().map_err(|e| e.to_string())?.ok_or_else(|| {
            "there is no hub account yet; create one with `parachute auth set-password`".to_string()
        }),
    }
}

/// The issuer tokens minted by this CLI carry: the issuer rule over the `hub_origin` setting
/// in `db`, this process's environment (`PARACHUTE_HUB_ORIGIN`, `RENDER_EXTERNAL_URL`,
/// `FLY_APP_NAME`), the exposed origin and the hub's loopback origin.
pub fn issuer(home: &Home, db: &HubDb) -> Result<ResolvedIssuer, String> {
    let env = parachute_auth::env_origin_from(|var| std::env::var(var).ok())
        .map_err(|e| format!("{e} (or unset it)"))?;
    parachute_client::mint_issuer(home, db, env.as_deref()).map_err(|e| e.to_string())
}

fn rotate_operator(home: &Home, set: OperatorScopeSet) -> Result<(), String> {
    let db = open_db(home)?;
    let Some(user) = db.first_user().map_err(|e| e.to_string())? else {
        return Err(
            "there is no hub user yet, so there is nobody to mint an operator token for. Create the admin first with `parachute auth set-password`, then run `parachute auth rotate-operator` again"
                .into(),
        );
    };
    let issuer = issuer(home, &db)?.origin;
    let issued =
        mint_operator(&db, set, &issuer, &home.operator_token()).map_err(|e| e.to_string())?;
    println!("Minted a new operator token.");
    println!("  user:       {}", user.username);
    println!("  scope set:  {}", issued.scope_set);
    println!("  issuer:     {issuer}");
    println!("  file:       {} (mode 0600)", issued.path.display());
    println!("  expires:    {}", issued.minted.expires_at);
    println!(
        "Earlier operator tokens keep working until they expire; guard operator.token like an SSH key."
    );
    Ok(())
}

fn rotate_key(home: &Home) -> Result<(), String> {
    let db = open_db(home)?;
    let key = db.rotate_key().map_err(|e| e.to_string())?;
    println!("Rotated the hub's signing key.");
    println!("  kid:        {}", key.kid);
    println!("  created at: {}", key.created_at);
    println!(
        "Tokens signed with the previous key stay valid for 24 hours: /.well-known/jwks.json keeps publishing it until then."
    );
    Ok(())
}

/// Validates the operator token (renewing it inside its last 7 days) and checks it may manage
/// tokens; returns its `sub`.
fn authorize_operator(home: &Home, db: &HubDb, issuer: &str) -> Result<String, String> {
    let port = parachute_client::hub_port(home).map_err(|e| e.to_string())?;
    let mut accepted =
        parachute_client::accepted_issuers(home, db, port).map_err(|e| e.to_string())?;
    if !accepted.iter().any(|a| a == issuer) {
        accepted.push(issuer.to_string());
    }
    let usable =
        parachute_auth::operator::ensure_fresh(db, &home.operator_token(), &accepted, db.now())
            .map_err(|e| e.to_string())?;
    if let parachute_auth::Freshness::Renewed(issued) = &usable.freshness {
        eprintln!(
            "(the operator token was inside its last 7 days; renewed it until {})",
            issued.minted.expires_at
        );
    }
    if !usable.claims.has_scope(AUTH_SCOPE) {
        return Err(format!(
            "the operator token lacks {AUTH_SCOPE}, so it cannot manage tokens; run `parachute auth rotate-operator --scope-set auth` (or `--scope-set admin`) for one that can"
        ));
    }
    usable
        .claims
        .sub
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "the operator token has no subject; run `parachute auth rotate-operator` to mint a fresh one".to_string())
}

fn revoke_token(home: &Home, jti: &str) -> Result<(), String> {
    let jti = jti.trim();
    let db = open_db(home)?;
    let issuer = issuer(home, &db)?.origin;
    authorize_operator(home, &db, &issuer)?;
    let Some(record) = db.token_record(jti).map_err(|e| e.to_string())? else {
        return Err(format!(
            "no token with jti {jti} is in the registry; check the id (the `jti` claim of the token)"
        ));
    };
    if let Some(at) = record.revoked_at {
        println!("Token {jti} was already revoked at {at}.");
        return Ok(());
    }
    if !db.revoke_token(jti).map_err(|e| e.to_string())? {
        return Err(format!(
            "token {jti} could not be revoked (it changed while we looked); run the command again"
        ));
    }
    let who = record
        .subject
        .or(record.user_id)
        .unwrap_or_else(|| record.client_id.clone());
    let scopes = if record.scopes.is_empty() {
        "(none)".to_string()
    } else {
        record.scopes.join(" ")
    };
    println!("Revoked token {jti} (subject {who}, scopes {scopes}).");
    println!(
        "Modules that poll /.well-known/parachute-revocation.json stop accepting it within a minute."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_parse_into_the_auth_crates_type_or_name_the_choices() {
        for set in OperatorScopeSet::ALL {
            assert_eq!(crate::args::parse_scope_set(set.name()), Ok(set));
        }
        let err = crate::args::parse_scope_set("root").unwrap_err();
        assert!(err.contains("root") && err.contains("install"), "{err}");
    }
}

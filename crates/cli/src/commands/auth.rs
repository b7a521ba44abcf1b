//! `parachute auth …`: the operator token, signing keys, module tokens and the admin account.
//!
//! Every verb works on `hub.db` directly (shared safely with a running hub through SQLite
//! WAL), so they work whether or not the hub is up. Tokens are minted for the hub origin the
//! CLI sees ([`parachute_client::client_origin`]). Secrets are never printed, except the token
//! `mint-token` exists to print (alone on stdout, so it pipes cleanly).

mod password;

use std::time::Duration;

use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_auth::tokens::MINT_MAX_TTL;
use parachute_auth::{AdminChange, HubDb, MintRequest, is_operator_only_scope};
use parachute_home::Home;

use crate::args::AuthCommand;
use crate::commands::hub_access;

/// Default lifetime of `mint-token` tokens.
const MINT_DEFAULT_TTL: Duration = parachute_auth::tokens::MINT_DEFAULT_TTL;
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
            ttl,
            sub,
        } => mint_token(&home, scope, aud, ttl.as_deref(), sub.as_deref()),
        AuthCommand::RevokeToken { jti } => revoke_token(&home, jti),
        AuthCommand::SetPassword {
            username,
            password_stdin,
        } => set_password(&home, username.as_deref(), *password_stdin),
        AuthCommand::ListUsers => list_users(&home),
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
    }
}

fn open_db(home: &Home) -> Result<HubDb, String> {
    HubDb::open(&home.hub_db()).map_err(|e| e.to_string())
}

fn origin(home: &Home) -> Result<String, String> {
    parachute_client::client_origin(home, None).map_err(|e| e.to_string())
}

fn rotate_operator(home: &Home, set: OperatorScopeSet) -> Result<(), String> {
    let db = open_db(home)?;
    let Some(user) = db.first_user().map_err(|e| e.to_string())? else {
        return Err(
            "there is no hub user yet, so there is nobody to mint an operator token for. Create the admin first with `parachute auth set-password`, then run `parachute auth rotate-operator` again"
                .into(),
        );
    };
    let issuer = origin(home)?;
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

/// Parses a lifetime: `90d`, `12h`, `15m`, `30s`, or plain seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!(
            "--ttl {text:?} is not a lifetime; use a number with d, h, m or s, e.g. 30d, 12h, 15m"
        )
    })?;
    let secs = match unit {
        'd' => n.checked_mul(86_400),
        'h' => n.checked_mul(3_600),
        'm' => n.checked_mul(60),
        's' => Some(n),
        _ => None,
    }
    .ok_or_else(|| {
        format!("--ttl {text:?} is not a lifetime; use d, h, m or s, e.g. 30d, 12h, 15m")
    })?;
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() {
        return Err("--ttl must be longer than zero".into());
    }
    if ttl > MINT_MAX_TTL {
        return Err(format!(
            "--ttl {text} is longer than the {} days a minted token may live; pick a shorter lifetime",
            MINT_MAX_TTL.as_secs() / 86_400
        ));
    }
    Ok(ttl)
}

/// The scopes of `--scope`: separated by spaces or commas.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let scopes: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err("--scope needs at least one scope, e.g. --scope vault:default:read".into());
    }
    let blocked: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| is_operator_only_scope(s))
        .collect();
    if !blocked.is_empty() {
        return Err(format!(
            "{} can only be carried by the operator token; mint that with `parachute auth rotate-operator --scope-set …` instead",
            blocked.join(", ")
        ));
    }
    Ok(scopes)
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

fn mint_token(
    home: &Home,
    scope: &str,
    aud: &str,
    ttl: Option<&str>,
    sub: Option<&str>,
) -> Result<(), String> {
    let scopes = parse_scopes(scope)?;
    let ttl = ttl.map(parse_ttl).transpose()?.unwrap_or(MINT_DEFAULT_TTL);
    let aud = aud.trim();
    if aud.is_empty() {
        return Err("--aud must not be empty, e.g. --aud vault.default".into());
    }
    let issuer = origin(home)?;
    let db = open_db(home)?;
    let operator_sub = authorize_operator(home, &db, &issuer)?;
    let sub = sub
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&operator_sub);
    let minted = db
        .mint(&MintRequest::cli(sub, scopes, aud, &issuer, ttl))
        .map_err(|e| e.to_string())?;
    println!("{}", minted.token);
    Ok(())
}

fn revoke_token(home: &Home, jti: &str) -> Result<(), String> {
    let jti = jti.trim();
    let issuer = origin(home)?;
    let db = open_db(home)?;
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
    println!("Modules that fetch /.well-known/parachute-revocation.json stop accepting it.");
    Ok(())
}

fn set_password(home: &Home, username: Option<&str>, from_stdin: bool) -> Result<(), String> {
    let db = open_db(home)?;
    let existing = db.first_user().map_err(|e| e.to_string())?;
    let username = username
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .or_else(|| existing.as_ref().map(|u| u.username.clone()))
        .unwrap_or_else(|| "admin".to_string());
    let secret = if from_stdin {
        password::read_stdin()?
    } else {
        password::prompt_twice(&username)?
    };
    let change = db
        .create_or_reset_admin(&username, secret.expose())
        .map_err(|e| e.to_string())?;
    drop(secret);
    match &change {
        AdminChange::Created(user) => println!("Created the hub admin \"{}\".", user.username),
        AdminChange::PasswordReset(user) => {
            println!("Changed the password of \"{}\".", user.username)
        }
    }
    match origin(home).and_then(|issuer| {
        mint_operator(
            &db,
            OperatorScopeSet::Admin,
            &issuer,
            &home.operator_token(),
        )
        .map_err(|e| e.to_string())
    }) {
        Ok(issued) => println!(
            "Wrote a fresh operator token to {} (mode 0600).",
            issued.path.display()
        ),
        Err(e) => eprintln!(
            "warning: could not write the operator token ({e}); run `parachute auth rotate-operator` once that is fixed"
        ),
    }
    Ok(())
}

fn list_users(home: &Home) -> Result<(), String> {
    let db = open_db(home)?;
    let users = db.list_users().map_err(|e| e.to_string())?;
    if users.is_empty() {
        println!("(no hub users yet — `parachute auth set-password` creates the admin)");
        return Ok(());
    }
    let width = users
        .iter()
        .map(|u| u.username.chars().count())
        .max()
        .unwrap_or(0)
        .max("USERNAME".len());
    let id_width = users.iter().map(|u| u.id.len()).max().unwrap_or(0).max(2);
    println!("{:<width$}  {:<id_width$}  CREATED", "USERNAME", "ID");
    for u in users {
        println!(
            "{:<width$}  {:<id_width$}  {}",
            u.username, u.id, u.created_at
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units() {
        assert_eq!(parse_ttl("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_ttl("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_ttl("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("45S").unwrap(), Duration::from_secs(45));
        for bad in ["", "d", "10w", "-5m", "0h", "400d", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_split_on_spaces_and_commas_and_refuse_operator_scopes() {
        assert_eq!(
            parse_scopes("vault:default:read, vault:default:write scribe:transcribe").unwrap(),
            vec![
                "vault:default:read",
                "vault:default:write",
                "scribe:transcribe"
            ]
        );
        assert!(parse_scopes(" , ").is_err());
        let err = parse_scopes("vault:default:read parachute:host:admin").unwrap_err();
        assert!(err.contains("parachute:host:admin"), "{err}");
    }

    #[test]
    fn scope_sets_parse_into_the_auth_crates_type_or_name_the_choices() {
        for set in OperatorScopeSet::ALL {
            assert_eq!(crate::args::parse_scope_set(set.name()), Ok(set));
        }
        let err = crate::args::parse_scope_set("root").unwrap_err();
        assert!(err.contains("root") && err.contains("install"), "{err}");
    }
}

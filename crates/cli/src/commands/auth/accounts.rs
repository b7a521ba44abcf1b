//! `parachute auth set-password` and `list-users`: the hub's accounts, with the original's
//! flags (`--username`, `--password`, `--allow-multi`; ours: `--password-stdin`).
//!
//! `set-password` on a hub without accounts creates the first one (`owner` unless
//! `--username` says otherwise) and writes the operator token for it. Later it resets the
//! password of the account `--username` names (default: the first), refreshing the operator
//! token when that is the first account. A name no account has is refused, unless
//! `--allow-multi` asks for an additional account (the operator token stays the first
//! account's: it is the box's operator, not the new person's).

use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_auth::{AdminChange, AuthError, HubDb};
use parachute_home::Home;

use super::password::{self, Secret};
use super::{issuer, open_db};

/// The first account's name when `--username` is not given (the original's default).
pub const DEFAULT_USERNAME: &str = "owner";

/// The flags of one `set-password` run.
pub struct PasswordFlags<'a> {
    /// `--username`.
    pub username: Option<&'a str>,
    /// `--password`.
    pub password: Option<&'a str>,
    /// `--password-stdin`.
    pub password_stdin: bool,
    /// `--allow-multi`.
    pub allow_multi: bool,
}

/// Creates an account or resets a password (see the module docs).
pub fn set_password(home: &Home, flags: &PasswordFlags<'_>) -> Result<(), String> {
    let db = open_db(home)?;
    let users = db.list_users().map_err(|e| e.to_string())?;
    let first = users.first();
    let username = flags
        .username
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .or_else(|| first.map(|u| u.username.clone()))
        .unwrap_or_else(|| DEFAULT_USERNAME.to_string());
    let exists = users.iter().any(|u| u.username == username);
    if let Some(first) = first
        && !exists
        && !flags.allow_multi
    {
        return Err(AuthError::UserExists {
            existing: first.username.clone(),
        }
        .to_string());
    }
    let secret = read_password(flags, &username)?;
    let is_first = match (first, exists) {
        (None, _) => {
            create_first(&db, &username, &secret)?;
            true
        }
        (Some(first), true) => {
            db.reset_password(&username, secret.expose())
                .map_err(|e| e.to_string())?;
            println!("Changed the password of \"{username}\".");
            first.username == username
        }
        (Some(_), false) => {
            let user = db
                .create_user(&username, secret.expose())
                .map_err(|e| e.to_string())?;
            println!(
                "Created hub user \"{}\" (id={}), an additional account.",
                user.username, user.id
            );
            println!(
                "The operator token stays with the first account; it is not changed by adding another."
            );
            false
        }
    };
    drop(secret);
    if is_first {
        write_operator_token(home, &db);
    }
    Ok(())
}

/// `--password`, else `--password-stdin`, else typed twice at the terminal.
fn read_password(flags: &PasswordFlags<'_>, username: &str) -> Result<Secret, String> {
    match flags.password {
        Some("") => Err("--password must not be empty".into()),
        Some(p) => Ok(Secret::from(p.to_string())),
        None if flags.password_stdin => password::read_stdin(),
        None => password::prompt_twice(username),
    }
}

fn create_first(db: &HubDb, username: &str, secret: &Secret) -> Result<(), String> {
    match db
        .create_or_reset_admin(username, secret.expose())
        .map_err(|e| e.to_string())?
    {
        AdminChange::Created(user) => println!("Created the hub admin \"{}\".", user.username),
        AdminChange::PasswordReset(user) => {
            println!("Changed the password of \"{}\".", user.username)
        }
    }
    Ok(())
}

/// A fresh admin operator token for the first account (a failure is only a warning: the
/// password change stands).
fn write_operator_token(home: &Home, db: &HubDb) {
    let written = issuer(home, db).and_then(|issuer| {
        mint_operator(
            db,
            OperatorScopeSet::Admin,
            &issuer.origin,
            &home.operator_token(),
        )
        .map_err(|e| e.to_string())
    });
    match written {
        Ok(issued) => println!(
            "Wrote a fresh operator token to {} (mode 0600).",
            issued.path.display()
        ),
        Err(e) => eprintln!(
            "warning: could not write the operator token ({e}); run `parachute auth rotate-operator` once that is fixed"
        ),
    }
}

/// `list-users`: a table of every account, oldest first.
pub fn list_users(home: &Home) -> Result<(), String> {
    let db = open_db(home)?;
    let users = db.list_users().map_err(|e| e.to_string())?;
    if users.is_empty() {
        println!("(no hub users yet — `parachute auth set-password` creates the first one)");
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

//! Accounts and tokens for the suites, made directly in the home's `hub.db` (the same file the
//! running hub reads, safe to share thanks to SQLite WAL).

use std::path::Path;
use std::time::Duration;

use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_auth::{HubDb, MintRequest};

/// The admin the suites create.
pub const ADMIN_USER: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Opens the home's `hub.db`.
pub fn db(home: &Path) -> HubDb {
    HubDb::open(&home.join("hub.db")).expect("open hub.db")
}

/// Creates the admin account (idempotent); returns its user id.
pub fn ensure_admin(home: &Path) -> String {
    let db = db(home);
    if let Some(id) = db.first_user_id().unwrap() {
        return id;
    }
    db.create_or_reset_admin(ADMIN_USER, ADMIN_PASSWORD)
        .unwrap();
    db.first_user_id().unwrap().unwrap()
}

/// Creates the admin and writes an admin-set operator token for `http://127.0.0.1:<port>` to
/// `operator.token`; returns the token.
pub fn operator_token(home: &Path, port: u16) -> String {
    ensure_admin(home);
    let db = db(home);
    let issued = mint_operator(
        &db,
        OperatorScopeSet::Admin,
        &format!("http://127.0.0.1:{port}"),
        &home.join("operator.token"),
    )
    .unwrap();
    issued.minted.token
}

/// Mints a token with exactly `scopes` for `issuer` (the admin as subject), valid for `ttl`.
pub fn token_with(home: &Path, issuer: &str, scopes: &[&str], ttl: Duration) -> String {
    let sub = ensure_admin(home);
    let db = db(home);
    let req = MintRequest::cli(
        &sub,
        scopes.iter().map(|s| s.to_string()).collect(),
        "operator",
        issuer,
        ttl,
    );
    db.mint(&req).unwrap().token
}

/// `Authorization` header value for `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

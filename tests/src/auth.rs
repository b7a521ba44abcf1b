//! Accounts and tokens for the suites, made directly in the home's `hub.db` (the same file the
//! running hub reads, safe to share thanks to SQLite WAL).

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_simple::prelude::{
    HashSet, JWTClaims, RS256PublicKey, RSAPublicKeyLike as _, Token, VerificationOptions,
};
use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_auth::{HubDb, MintRequest};
use serde_json::Value;

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

/// The unverified claims of a JWT (for reading what a token carries; [`verify`] checks it).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url claims"))
        .expect("JSON claims")
}

/// The JWKS of the hub on `port`, fetched over HTTP.
pub fn jwks(port: u16) -> Vec<Value> {
    let resp = crate::http::get(port, "/.well-known/jwks.json").expect("GET jwks");
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["keys"].as_array().expect("keys array").clone()
}

/// Verifies `token` with jwt-simple (an independent JWT library) using only what the JWKS of
/// the hub on `port` publishes; panics with the reason when it does not verify.
pub fn verify(port: u16, token: &str, issuer: &str, audience: &str) -> JWTClaims<Value> {
    let kid = Token::decode_metadata(token)
        .expect("JWT header")
        .key_id()
        .expect("kid header")
        .to_string();
    let keys = jwks(port);
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS: {keys:?}"));
    let part = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect("JWK member"))
            .expect("base64url JWK member")
    };
    let key = RS256PublicKey::from_components(&part("n"), &part("e")).expect("RSA key");
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([issuer.to_string()])),
        allowed_audiences: Some(HashSet::from([audience.to_string()])),
        required_key_id: Some(kid),
        ..Default::default()
    };
    key.verify_token::<Value>(token, Some(options))
        .unwrap_or_else(|e| panic!("jwt-simple rejects the token: {e}"))
}

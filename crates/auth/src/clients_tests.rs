use std::sync::Arc;

use super::*;
use crate::FixedClock;
use crate::test_support::{db_with_users, row_strings};

const NO_ORIGINS: &[&str] = &[];

fn public(uris: &[&str]) -> ClientRegistration {
    ClientRegistration {
        redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
        scopes: vec![],
        client_name: Some("bar mcp client".to_owned()),
        confidential: false,
        registrant: Registrant::Public,
    }
}

fn setup() -> (Arc<FixedClock>, tempfile::TempDir, HubDb) {
    let clock = Arc::new(FixedClock::at("2026-12-02T02:25:17.439Z"));
    let (dir, db, _, _) = db_with_users(clock.clone());
    (clock, dir, db)
}

#[test]
fn public_registration_is_pending_and_stored_like_the_original() {
    let (_clock, _dir, db) = setup();
    let mut req = public(&["http://127.0.0.1:33418/callback"]);
    req.scopes = vec!["vault:read".into(), "vault:write".into()];
    let reg = db.register_client(&req, NO_ORIGINS).unwrap();
    assert_eq!(reg.client.status, ClientStatus::Pending);
    assert!(!reg.client.same_hub);
    assert_eq!(reg.client_secret, None);
    assert!(uuid::Uuid::parse_str(&reg.client.client_id).is_ok());
    assert_eq!(
        row_strings(&db, "SELECT * FROM clients"),
        vec![vec![
            reg.client.client_id.clone(),
            "NULL".into(),
            r#"["http://127.0.0.1:33418/callback"]"#.into(),
            "vault:read vault:write".into(),
            "bar mcp client".into(),
            "2026-12-02T02:25:17.439Z".into(),
            "pending".into(),
            "0".into(),
        ]]
    );
    assert_eq!(
        db.client(&reg.client.client_id).unwrap(),
        Some(reg.client.clone())
    );
    assert_eq!(
        db.clients_with_status(ClientStatus::Pending).unwrap(),
        vec![reg.client.clone()]
    );
    let body = reg.registration_response();
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["client_id_issued_at"], 1_796_178_317);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["scope"], "vault:read vault:write");
    assert!(body.get("client_secret").is_none());
}

#[test]
fn operator_registration_is_approved_and_same_hub() {
    let (_clock, _dir, db) = setup();
    let mut req = public(&["https://notes.example/cb"]);
    req.registrant = Registrant::Operator;
    let reg = db.register_client(&req, NO_ORIGINS).unwrap();
    assert_eq!(reg.client.status, ClientStatus::Approved);
    assert!(reg.client.same_hub);
    assert!(!reg.approved_by_first_client_window);
}

#[test]
fn the_first_client_window_approves_exactly_one_registration() {
    let (clock, _dir, db) = setup();
    assert!(!db.first_client_auto_approve_window_open().unwrap());
    let until = db.open_first_client_auto_approve_window().unwrap();
    assert_eq!(until, "2026-12-02T03:25:17.439Z");
    assert!(db.first_client_auto_approve_window_open().unwrap());

    let first = db
        .register_client(&public(&["http://localhost:1/cb"]), NO_ORIGINS)
        .unwrap();
    assert_eq!(first.client.status, ClientStatus::Approved);
    assert!(!first.client.same_hub, "approval is not ownership");
    assert!(first.approved_by_first_client_window);
    let second = db
        .register_client(&public(&["http://localhost:1/cb"]), NO_ORIGINS)
        .unwrap();
    assert_eq!(second.client.status, ClientStatus::Pending);

    db.open_first_client_auto_approve_window().unwrap();
    clock.advance(FIRST_CLIENT_AUTO_APPROVE_WINDOW);
    let late = db
        .register_client(&public(&["http://localhost:1/cb"]), NO_ORIGINS)
        .unwrap();
    assert_eq!(late.client.status, ClientStatus::Pending, "window closed");
}

#[test]
fn confidential_clients_get_a_secret_stored_as_sha256() {
    let (_clock, _dir, db) = setup();
    let mut req = public(&["https://app.example/cb"]);
    req.confidential = true;
    req.registrant = Registrant::Operator;
    let reg = db.register_client(&req, NO_ORIGINS).unwrap();
    let secret = reg.client_secret.clone().expect("secret issued");
    assert_eq!(secret.len(), 43);
    assert_eq!(reg.client.client_secret_hash, Some(sha256_hex(&secret)));
    assert_eq!(
        reg.registration_response()["client_secret"],
        secret.as_str()
    );
    assert_eq!(
        reg.registration_response()["token_endpoint_auth_method"],
        "client_secret_post"
    );
    let id = reg.client.client_id.clone();

    let ok = |creds: &ClientCredentials| db.authenticate_client(&id, creds, true);
    let form = ClientCredentials::from_request(None, Some(&secret));
    assert_eq!(ok(&form).unwrap().client_id, id);
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let header = ClientCredentials::from_request(Some(&basic), Some("ignored"));
    assert_eq!(header.header_client_id.as_deref(), Some(id.as_str()));
    assert!(ok(&header).is_ok());

    let wrong = ClientCredentials::from_request(None, Some("nope"));
    let missing = ClientCredentials::from_request(None, None);
    let other_id = ClientCredentials {
        header_client_id: Some("other".into()),
        secret: Some(secret.clone()),
    };
    for (creds, needle) in [
        (&wrong, "wrong"),
        (&missing, "must send"),
        (&other_id, "different client_id"),
    ] {
        let err = ok(creds).unwrap_err();
        match err {
            AuthError::OAuth(e @ OAuthError::ClientAuthentication { .. }) => {
                assert_eq!(e.status(), 401);
                assert!(e.to_string().contains(needle), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn public_clients_pass_without_secret_but_must_be_approved() {
    let (_clock, _dir, db) = setup();
    let reg = db
        .register_client(&public(&["http://127.0.0.1:9/cb"]), NO_ORIGINS)
        .unwrap();
    let id = reg.client.client_id.clone();
    let none = ClientCredentials::default();
    let err = db.authenticate_client(&id, &none, true).unwrap_err();
    assert!(
        matches!(&err, AuthError::OAuth(OAuthError::ClientNotApproved { client_id }) if *client_id == id),
        "{err:?}"
    );
    assert!(
        db.authenticate_client(&id, &none, false).is_ok(),
        "revocation skips approval"
    );
    assert!(db.approve_client(&id).unwrap());
    assert!(!db.approve_client(&id).unwrap(), "idempotent");
    assert!(db.authenticate_client(&id, &none, true).is_ok());
    assert!(
        db.clients_with_status(ClientStatus::Pending)
            .unwrap()
            .is_empty()
    );

    let err = db.approve_client("missing").unwrap_err();
    assert!(matches!(
        err,
        AuthError::OAuth(OAuthError::UnknownClient { .. })
    ));
    let err = db.authenticate_client("missing", &none, true).unwrap_err();
    assert!(matches!(
        err,
        AuthError::OAuth(OAuthError::UnknownClient { .. })
    ));
}

#[test]
fn registration_refuses_bad_metadata_and_stores_nothing() {
    let (_clock, _dir, db) = setup();
    let err = db.register_client(&public(&[]), NO_ORIGINS).unwrap_err();
    assert!(matches!(
        err,
        AuthError::OAuth(OAuthError::InvalidRedirectUri { .. })
    ));
    let err = db
        .register_client(
            &public(&["http://127.0.0.1:1/cb", "http://evil.example/cb"]),
            NO_ORIGINS,
        )
        .unwrap_err();
    assert!(err.to_string().contains("http://evil.example/cb"), "{err}");
    let mut long_name = public(&["http://127.0.0.1:1/cb"]);
    long_name.client_name = Some("x".repeat(MAX_CLIENT_NAME_LEN + 1));
    assert!(matches!(
        db.register_client(&long_name, NO_ORIGINS).unwrap_err(),
        AuthError::OAuth(OAuthError::InvalidClientMetadata(_))
    ));
    assert!(row_strings(&db, "SELECT client_id FROM clients").is_empty());

    let lan = db
        .register_client(
            &public(&["http://192.168.1.5:1939/cb"]),
            &["http://192.168.1.5:1939"],
        )
        .unwrap();
    assert_eq!(lan.client.redirect_uris, vec!["http://192.168.1.5:1939/cb"]);
}

#[test]
fn redirect_uris_match_exactly() {
    let (_clock, _dir, db) = setup();
    let reg = db
        .register_client(&public(&["http://127.0.0.1:33418/callback"]), NO_ORIGINS)
        .unwrap();
    let c = reg.client;
    assert!(
        c.require_registered_redirect_uri("http://127.0.0.1:33418/callback")
            .is_ok()
    );
    for other in [
        "http://127.0.0.1:33418/callback/",
        "http://127.0.0.1:33418/Callback",
        "http://localhost:33418/callback",
        "http://127.0.0.1:33418/callback?x=1",
    ] {
        assert!(c.require_registered_redirect_uri(other).is_err(), "{other}");
    }
}

#[test]
fn basic_header_parsing_is_tolerant_of_case_and_escapes() {
    let value = format!("basic  {}", STANDARD.encode("my%3Aclient:s%20ecret"));
    let creds = ClientCredentials::from_request(Some(&value), None);
    assert_eq!(creds.header_client_id.as_deref(), Some("my:client"));
    assert_eq!(creds.secret.as_deref(), Some("s ecret"));
    let junk = ClientCredentials::from_request(Some("Basic !!!"), Some("form"));
    assert_eq!(junk.header_client_id, None);
    assert_eq!(junk.secret.as_deref(), Some("form"));
    let bearer = ClientCredentials::from_request(Some("Bearer abc"), Some(""));
    assert_eq!(bearer, ClientCredentials::default());
}

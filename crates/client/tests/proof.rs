//! The hub proof from the client's side, against stand-in hubs on real loopback sockets: one
//! that signs honestly with the home's own `hub.db`, and impostors that relay, replay, sign with
//! another key or for another home, or do not know the proof at all. A credential only ever
//! reaches the honest one, and only after its proof.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use parachute_auth::HubDb;
use parachute_auth::operator::{OperatorScopeSet, mint_operator};
use parachute_client::{ClientError, HubClient, prove_hub};
use parachute_home::{Home, hub_port};

/// How a stand-in answers the proof request.
#[derive(Clone)]
enum Mode {
    /// Signs the nonce, its own port and the home's id with the given database.
    Honest(Arc<HubDb>),
    /// Signs honestly but claims another port (a relay to a hub elsewhere).
    ClaimsPort(Arc<HubDb>, u16),
    /// Signs for another home id (a copy of the home with the same keys).
    OtherHome(Arc<HubDb>),
    /// Answers every challenge with the proof it made for the first one.
    Replays(Arc<HubDb>),
    /// 404 for the proof (another program, or a hub without it).
    NotFound,
    /// A 200 whose body is a megabyte of nothing.
    Huge,
    /// Accepts and never answers.
    Silent,
}

/// A stand-in hub: its port and every `Authorization` header it received, by request path.
struct StandIn {
    port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl StandIn {
    fn start(home: &Home, mode: Mode) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        hub_port::write(home, port).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let home_id = home.id().unwrap();
        let (record, first) = (seen.clone(), Arc::new(Mutex::new(None::<String>)));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(64).flatten() {
                if matches!(mode, Mode::Silent) {
                    held.push(stream);
                    continue;
                }
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let target = line.split(' ').nth(1).unwrap_or("").to_string();
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    if let Some((k, v)) = header.trim_end().split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        let path = target.split('?').next().unwrap_or("").to_string();
                        record.lock().unwrap().push((path, v.trim().to_string()));
                    }
                    header.clear();
                }
                let (status, body) = answer(&mode, &target, port, &home_id, &first);
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(body.as_bytes());
            }
        });
        StandIn { port, seen }
    }

    fn authorizations(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

/// The stand-in's answer to `target`.
fn answer(
    mode: &Mode,
    target: &str,
    port: u16,
    home_id: &str,
    first: &Mutex<Option<String>>,
) -> (&'static str, String) {
    let Some(query) = target.strip_prefix("/.well-known/parachute-hub-proof?nonce=") else {
        return ("200 OK", "{\"modules\": []}".to_string());
    };
    let sign = |db: &HubDb, port: u16, home: &str| {
        let jws = db.sign_hub_proof(query, port, home).unwrap();
        ("200 OK", serde_json::json!({ "proof": jws }).to_string())
    };
    match mode {
        Mode::Honest(db) => sign(db, port, home_id),
        Mode::ClaimsPort(db, other) => sign(db, *other, home_id),
        Mode::OtherHome(db) => sign(db, port, "another-home"),
        Mode::Replays(db) => {
            let mut first = first.lock().unwrap();
            let body = first
                .get_or_insert_with(|| sign(db, port, home_id).1)
                .clone();
            ("200 OK", body)
        }
        Mode::NotFound => ("404 Not Found", "{\"error\": \"not_found\"}".to_string()),
        Mode::Huge => ("200 OK", " ".repeat(1024 * 1024)),
        Mode::Silent => unreachable!("handled before reading"),
    }
}

/// A home with a `hub.db` holding an admin and an operator token for `127.0.0.1:<port>`
/// (`port` is fixed up by the caller's stand-in later, so the issuer is set per test).
fn home_with_db() -> (tempfile::TempDir, Home, Arc<HubDb>) {
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::at(tmp.path());
    let db = Arc::new(HubDb::open(&home.hub_db()).unwrap());
    (tmp, home, db)
}

fn mint_token(home: &Home, db: &HubDb, port: u16) -> String {
    db.create_or_reset_admin("admin", "a long enough password")
        .unwrap();
    mint_operator(
        db,
        OperatorScopeSet::Admin,
        &format!("http://127.0.0.1:{port}"),
        &home.operator_token(),
    )
    .unwrap()
    .minted
    .token
}

#[tokio::test]
async fn this_homes_hub_proves_itself() {
    let (_tmp, home, db) = home_with_db();
    let hub = StandIn::start(&home, Mode::Honest(db));
    let proven = prove_hub(&home, hub.port).await.unwrap();
    assert_eq!(proven.port, hub.port);
    assert_eq!(proven.base, format!("http://127.0.0.1:{}", hub.port));
    assert_eq!(proven.home_id, home.id().unwrap());
    assert!(
        hub.authorizations().is_empty(),
        "the proof carries no credential"
    );
}

#[tokio::test]
async fn every_impostor_is_refused_with_the_port_the_reason_and_the_file() {
    let (_tmp, home, db) = home_with_db();
    let stranger = {
        let other = tempfile::tempdir().unwrap();
        Arc::new(HubDb::open(&other.path().join("hub.db")).unwrap())
    };
    let cases: Vec<(Mode, &str)> = vec![
        (Mode::ClaimsPort(db.clone(), 1939), "something relays to it"),
        (Mode::OtherHome(db.clone()), "serves another home"),
        (
            Mode::Honest(stranger),
            "not one of this home's signing keys",
        ),
        (Mode::NotFound, "HTTP 404"),
        (Mode::Huge, "over 16384 bytes"),
        (Mode::Silent, "did not answer the hub proof within 3s"),
    ];
    for (mode, reason) in cases {
        let hub = StandIn::start(&home, mode);
        let err = prove_hub(&home, hub.port).await.unwrap_err();
        assert!(matches!(err, ClientError::NotThisHub { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "something on 127.0.0.1:{} answered but is not this home's hub (",
                hub.port
            )),
            "{text}"
        );
        assert!(text.contains(reason), "{reason}: {text}");
        assert!(
            text.ends_with(&format!(
                "); stop it, or check {}",
                home.hub_port_file().display()
            )),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let (_tmp, home, db) = home_with_db();
    let hub = StandIn::start(&home, Mode::Replays(db));
    prove_hub(&home, hub.port)
        .await
        .expect("the first answer is genuine");
    let err = prove_hub(&home, hub.port).await.unwrap_err();
    assert!(err.to_string().contains("replayed proof"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable_and_a_home_without_hub_db_proves_nothing() {
    let (_tmp, home, db) = home_with_db();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = prove_hub(&home, port).await.unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let bare = Home::at(empty.path());
    let hub = StandIn::start(&bare, Mode::Honest(db));
    let err = prove_hub(&bare, hub.port).await.unwrap_err();
    assert!(err.to_string().contains("has no"), "{err}");
    assert!(!bare.hub_db().exists(), "proving never creates hub.db");
}

#[tokio::test]
async fn the_operator_token_goes_only_to_a_proven_hub_and_only_after_the_proof() {
    let (_tmp, home, db) = home_with_db();
    let impostor = StandIn::start(&home, Mode::ClaimsPort(db.clone(), 1939));
    mint_token(&home, &db, impostor.port);
    let err = HubClient::with_operator_token(&home).await.unwrap_err();
    assert!(matches!(err, ClientError::NotThisHub { .. }), "{err}");
    let silent = StandIn::start(&home, Mode::Silent);
    let err = HubClient::with_operator_token(&home).await.unwrap_err();
    assert!(err.to_string().contains("did not answer"), "{err}");
    assert!(impostor.authorizations().is_empty());
    assert!(silent.authorizations().is_empty());

    let hub = StandIn::start(&home, Mode::Honest(db.clone()));
    let token = mint_token(&home, &db, hub.port);
    let client = HubClient::with_operator_token(&home).await.unwrap();
    client.get("/api/modules").await.unwrap();
    assert_eq!(
        hub.authorizations(),
        vec![("/api/modules".to_string(), format!("Bearer {token}"))]
    );
}

#[tokio::test]
async fn malformed_files_are_named_instead_of_guessed() {
    let (_tmp, home, db) = home_with_db();
    let hub = StandIn::start(&home, Mode::Honest(db.clone()));
    mint_token(&home, &db, hub.port);
    std::fs::write(home.expose_state(), "{oops").unwrap();
    let err = HubClient::with_operator_token(&home).await.unwrap_err();
    assert!(matches!(err, ClientError::State(_)), "{err}");
    assert!(err.to_string().contains("expose-state.json"), "{err}");
    std::fs::remove_file(home.expose_state()).unwrap();

    std::fs::write(home.hub_port_file(), "not-a-port\n").unwrap();
    let err = HubClient::with_operator_token(&home).await.unwrap_err();
    assert!(err.to_string().contains("hub/run/hub.port"), "{err}");
    assert!(err.to_string().contains("not-a-port"), "{err}");
    assert!(HubClient::for_home(&home).is_err());
    assert!(hub.authorizations().is_empty());
}

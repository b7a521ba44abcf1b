//! Making sure the process on the hub port is this home's hub before any credential goes to it.
//!
//! Steps of [`prove_hub`] (the checks themselves are in [`parachute_auth::proof`]):
//! 1. send `GET /.well-known/parachute-hub-proof?nonce=<32 random bytes>` to
//!    `127.0.0.1:<port>`, with no credential, bounded by [`PROOF_TIMEOUT`] and reading at most
//!    [`MAX_PROOF_BODY`] bytes;
//! 2. read `{"proof": "<JWS>"}` from a 200 answer;
//! 3. verify the JWS against the signing keys in this home's `hub.db`, the nonce, the port we
//!    connected to and this home's id.
//!
//! Nothing is cached across processes (every client proves once, when it is made).

use std::sync::Arc;
use std::time::Duration;

use parachute_auth::{HubDb, ProofExpectation, ProofFailure};
use parachute_home::Home;
use serde_json::Value;

use crate::ClientError;

/// How long the whole proof exchange may take.
pub const PROOF_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest proof answer read (a real one is under 1 KiB).
pub const MAX_PROOF_BODY: usize = 16 * 1024;

/// The hub that answered on a port and proved it serves this home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenHub {
    /// The port it listens on (the one we connected to).
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The id of the home it serves (ours).
    pub home_id: String,
}

/// Asks whatever listens on `127.0.0.1:port` to prove it is the hub of `home`, and checks the
/// answer against `home`'s `hub.db`. The desktop app calls this before it attaches to a hub;
/// every [`crate::HubClient`] that carries a bearer does it first.
///
/// Errors: nothing answered → [`ClientError::Unreachable`]; something answered but did not
/// prove it is this home's hub → [`ClientError::NotThisHub`] with the reason.
pub async fn prove_hub(home: &Home, port: u16) -> Result<ProvenHub, ClientError> {
    let http = crate::loopback_http();
    let answer = fetch(&http, home, port).await?;
    let db_path = home.hub_db();
    if !db_path.exists() {
        return Err(not_this_hub(
            home,
            port,
            format!(
                "this home has no {}, so no hub of it has ever run",
                db_path.display()
            ),
        ));
    }
    let db = tokio::task::spawn_blocking(move || HubDb::open(&db_path))
        .await
        .map_err(|e| ClientError::ProofCheck(e.to_string()))??;
    verify(Arc::new(db), home, port, answer).await
}

/// [`prove_hub`] with an already open `hub.db`.
pub(crate) async fn prove_with(
    db: Arc<HubDb>,
    http: &reqwest::Client,
    home: &Home,
    port: u16,
) -> Result<ProvenHub, ClientError> {
    let answer = fetch(http, home, port).await?;
    verify(db, home, port, answer).await
}

/// A sent challenge and the JWS that came back.
struct Answer {
    /// The nonce we sent.
    nonce: String,
    /// The `proof` member of the answer.
    jws: String,
}

/// Steps 1 and 2.
async fn fetch(http: &reqwest::Client, home: &Home, port: u16) -> Result<Answer, ClientError> {
    let nonce = parachute_auth::new_proof_nonce();
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/.well-known/parachute-hub-proof?nonce={nonce}");
    let unreachable = |detail: String| ClientError::Unreachable {
        base: base.clone(),
        detail,
    };
    let exchange = async {
        let mut resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_PROOF_BODY {
                return Err(not_this_hub(
                    home,
                    port,
                    format!("its answer to the hub proof is over {MAX_PROOF_BODY} bytes"),
                ));
            }
        }
        Ok((status, body))
    };
    let (status, body) = match tokio::time::timeout(PROOF_TIMEOUT, exchange).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(not_this_hub(
                home,
                port,
                format!(
                    "it did not answer the hub proof within {}s",
                    PROOF_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    if status != 200 {
        let reason = if status == 404 {
            "it does not know the hub proof (HTTP 404): another program, or an older or \
             foreign hub"
                .to_string()
        } else {
            format!("it answered the hub proof with HTTP {status}")
        };
        return Err(not_this_hub(home, port, reason));
    }
    let jws = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("proof").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| {
            not_this_hub(
                home,
                port,
                "its answer to the hub proof holds no proof".to_string(),
            )
        })?;
    Ok(Answer { nonce, jws })
}

/// Step 3.
async fn verify(
    db: Arc<HubDb>,
    home: &Home,
    port: u16,
    answer: Answer,
) -> Result<ProvenHub, ClientError> {
    let home_id = home.id().map_err(|e| {
        ClientError::ProofCheck(format!("cannot name {}: {e}", home.root().display()))
    })?;
    let expect = ProofExpectation {
        nonce: answer.nonce,
        port,
        home_id: home_id.clone(),
        now: db.now(),
    };
    let checked = tokio::task::spawn_blocking(move || db.verify_hub_proof(&answer.jws, &expect))
        .await
        .map_err(|e| ClientError::ProofCheck(e.to_string()))?;
    match checked {
        Ok(_) => Ok(ProvenHub {
            port,
            base: format!("http://127.0.0.1:{port}"),
            home_id,
        }),
        Err(ProofFailure::Internal(detail)) => Err(ClientError::ProofCheck(detail)),
        Err(failure) => Err(not_this_hub(home, port, failure.to_string())),
    }
}

/// [`ClientError::NotThisHub`] for `port`.
fn not_this_hub(home: &Home, port: u16, reason: String) -> ClientError {
    ClientError::NotThisHub {
        port,
        reason,
        port_file: home.hub_port_file(),
    }
}

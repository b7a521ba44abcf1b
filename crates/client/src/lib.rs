//! Client for a running hub over loopback, authenticated with the operator token.
//!
//! Used by the CLI verbs, by exposure (to restart modules after the origin changes) and by the
//! desktop shell. The hub is found at `127.0.0.1:<hub/run/hub.port>` (written by every
//! `serve`), else port 1939; a `hub.port` that holds no port is an error naming it. Before a
//! client sends the operator token anywhere, the process on that port must prove it is this
//! home's hub ([`prove_hub`]): a stale `hub.port` or a stopped hub must never hand the token to
//! whoever listens there now. The token is read from `operator.token`, validated locally
//! against `hub.db` (so an expired or foreign token fails before any request) and renewed when
//! it has 7 days or less left.

mod modules;
mod origin;
mod probe;
mod proof;
mod ready;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parachute_auth::{HubDb, known_issuers};
use parachute_home::{Home, expose_state, hub_port};
use serde_json::Value;

pub use modules::{MODULES_TIMEOUT, unprefixed};
pub use origin::{client_origin, mint_issuer};
pub use parachute_protocol::{HubInfo, ModuleSummary, ModulesList};
pub use probe::{HttpProbe, HubHealth, probe_http};
pub use proof::{MAX_PROOF_BODY, PROOF_TIMEOUT, ProvenHub, prove_hub};
pub use ready::HubReadiness;

/// The hub's default port when `hub.port` is absent.
pub const DEFAULT_HUB_PORT: u16 = 1939;

/// How long a streaming request may wait for the hub's response headers: a hub that accepts
/// the connection and never answers must not hang `logs -f`.
pub const STREAM_HEADERS_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to the hub.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered (hub down, or not reachable in time).
    #[error("the hub is not answering on {base}: {detail}")]
    Unreachable {
        /// The base URL tried.
        base: String,
        /// The transport error.
        detail: String,
    },
    /// The hub answered with an error status.
    #[error("{error}: {description}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The `error` code (or `error` when the body had none).
        error: String,
        /// The `error_description` (or `request failed`).
        description: String,
    },
    /// The operator token is missing, expired or invalid.
    #[error("{0}")]
    Token(#[from] parachute_auth::AuthError),
    /// The hub's answer was not the JSON we expected.
    #[error("unexpected answer from the hub: {0}")]
    BadResponse(String),
    /// `expose-state.json` is malformed, so the hub's exposed origin (an issuer the operator
    /// token may carry) is unknown, or `hub/run/hub.port` holds no port; the message names the
    /// file and the fix.
    #[error(transparent)]
    State(#[from] parachute_home::StateError),
    /// Something answered on the hub port but did not prove it is this home's hub; nothing
    /// carrying a credential was sent to it.
    #[error(
        "something on 127.0.0.1:{port} answered but is not this home's hub ({reason}); stop \
         it, or check {}",
        port_file.display()
    )]
    NotThisHub {
        /// The port it answered on.
        port: u16,
        /// Why its answer is not a proof.
        reason: String,
        /// `hub/run/hub.port`, where the CLI learned the port.
        port_file: PathBuf,
    },
    /// The hub's proof could not be checked against `hub.db` (not the hub's fault).
    #[error("cannot check the hub's proof of identity against hub.db: {0}")]
    ProofCheck(String),
}

impl ClientError {
    /// The HTTP status when the hub answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error code when the hub answered with an error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A response with its status (for routes where several 2xx codes mean different things).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`Value::Null` when empty or not JSON).
    pub body: Value,
}

/// A client for one hub. Its `Debug` output never shows the bearer token. A client carrying a
/// bearer only exists after the hub on its port proved it serves this home.
#[derive(Clone)]
pub struct HubClient {
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// Bearer token to send, if any. A secret: never logged.
    token: Option<String>,
    /// The HTTP client (no proxy, no redirects).
    http: reqwest::Client,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// The port the hub of `home` listens on: `hub/run/hub.port`, else 1939 when there is no such
/// file. A file that holds no port is an error naming it (never read as 1939).
pub fn hub_port(home: &Home) -> Result<u16, parachute_home::StateError> {
    Ok(hub_port::read(home)?.unwrap_or(DEFAULT_HUB_PORT))
}

/// The HTTP client every hub request goes through: loopback only, no proxy, no redirects.
pub(crate) fn loopback_http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("reqwest client with static settings")
}

/// How to install module `short` on this box: `parachute install <short>` (which asks the
/// running hub's module API to install and start it, with the operator token), for messages
/// that must say what to do next.
pub fn install_command(_home: &Home, short: &str) -> String {
    format!("parachute install {short}")
}

/// Every issuer a token of this hub may carry, as seen from the CLI side: loopback origins of
/// `port`, the `hub_origin` setting, `PARACHUTE_HUB_ORIGIN` and the exposed origin. A malformed
/// `expose-state.json` is an error naming the file: guessing would turn it into a confusing
/// "wrong issuer" failure.
pub fn accepted_issuers(
    home: &Home,
    db: &HubDb,
    port: u16,
) -> Result<Vec<String>, parachute_home::StateError> {
    let setting = db
        .setting(parachute_auth::SETTING_HUB_ORIGIN)
        .ok()
        .flatten();
    let env_origin = std::env::var("PARACHUTE_HUB_ORIGIN").ok();
    let exposed = expose_state::read(home)?.map(|s| s.advertised_origin());
    Ok(known_issuers(
        port,
        setting.as_deref(),
        env_origin.as_deref(),
        exposed.as_deref(),
    ))
}

impl HubClient {
    /// An unauthenticated client for the hub at `127.0.0.1:port`.
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            token: None,
            http: loopback_http(),
        }
    }

    /// An unauthenticated client for the hub of `home` (fails on a malformed `hub.port`).
    pub fn for_home(home: &Home) -> Result<Self, ClientError> {
        Ok(Self::new(hub_port(home)?))
    }

    /// A client for the hub of `home` carrying the operator token (validated locally against
    /// `hub.db`, renewed when close to expiry), made only once the hub on the port proved it
    /// serves this home ([`prove_hub`]).
    pub async fn with_operator_token(home: &Home) -> Result<Self, ClientError> {
        Self::with_operator_token_accepting(home, None).await
    }

    /// [`HubClient::with_operator_token`], also accepting `extra_issuer` as the token's `iss`
    /// (the `--hub-origin` a verb was given). A missing token file fails before `hub.db` is
    /// opened, so asking never creates a database as a side effect; a hub that does not prove
    /// itself fails before the token is even validated.
    pub async fn with_operator_token_accepting(
        home: &Home,
        extra_issuer: Option<&str>,
    ) -> Result<Self, ClientError> {
        let port = hub_port(home)?;
        let token_path = home.operator_token();
        if parachute_auth::operator::OperatorToken::load(&token_path)?.is_none() {
            return Err(ClientError::Token(
                parachute_auth::AuthError::OperatorTokenMissing { path: token_path },
            ));
        }
        let db_path = home.hub_db();
        let db = tokio::task::spawn_blocking(move || HubDb::open(&db_path))
            .await
            .map_err(|e| ClientError::ProofCheck(e.to_string()))??;
        let db = Arc::new(db);
        let client = Self::new(port);
        proof::prove_with(db.clone(), &client.http, home, port).await?;
        let home = home.clone();
        let extra = extra_issuer.map(parachute_auth::normalize_origin);
        let token = tokio::task::spawn_blocking(move || fresh_token(&home, &db, port, extra))
            .await
            .map_err(|e| ClientError::ProofCheck(e.to_string()))??;
        Ok(client.with_bearer(token))
    }

    /// The same client sending `token` as its bearer (only after a proof).
    fn with_bearer(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// True when `GET /health` answers 2xx within `timeout`.
    pub async fn is_up(&self, timeout: Duration) -> bool {
        matches!(
            self.http.get(format!("{}/health", self.base)).timeout(timeout).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    /// Sends a request and returns status + JSON body; non-2xx becomes [`ClientError::Api`].
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<ApiResponse, ClientError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(timeout);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| ClientError::Unreachable {
            base: self.base.clone(),
            detail: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let field = |k: &str, default: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or(default)
                    .to_string()
            };
            return Err(ClientError::Api {
                status,
                error: field("error", "error"),
                description: field("error_description", "request failed"),
            });
        }
        Ok(ApiResponse { status, body })
    }

    /// `GET path` with a 10 s timeout.
    pub async fn get(&self, path: &str) -> Result<ApiResponse, ClientError> {
        self.request(reqwest::Method::GET, path, None, Duration::from_secs(10))
            .await
    }

    /// `POST path` with a JSON body and a 30 s timeout.
    pub async fn post(&self, path: &str, body: &Value) -> Result<ApiResponse, ClientError> {
        self.request(
            reqwest::Method::POST,
            path,
            Some(body),
            Duration::from_secs(30),
        )
        .await
    }

    /// Restarts a supervised module through the hub (`POST /api/modules/<short>/restart`).
    pub async fn restart_module(&self, short: &str) -> Result<ApiResponse, ClientError> {
        self.post(
            &format!("/api/modules/{short}/restart"),
            &Value::Object(Default::default()),
        )
        .await
    }

    /// Opens a streaming GET (for `logs --follow`); the caller reads chunks until EOF. Only
    /// the wait for the response headers (and an error body) is bounded, by
    /// [`STREAM_HEADERS_TIMEOUT`]: the stream itself may stay open for as long as it likes.
    pub async fn stream(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        self.stream_within(path, STREAM_HEADERS_TIMEOUT).await
    }

    async fn stream_within(
        &self,
        path: &str,
        headers_timeout: Duration,
    ) -> Result<reqwest::Response, ClientError> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let unreachable = |detail: String| ClientError::Unreachable {
            base: self.base.clone(),
            detail,
        };
        let resp = match tokio::time::timeout(headers_timeout, req.send()).await {
            Ok(sent) => sent.map_err(|e| unreachable(e.to_string()))?,
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer to GET {path} within {}s",
                    headers_timeout.as_secs_f32()
                )));
            }
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body: Value = tokio::time::timeout(headers_timeout, resp.json())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status,
                error: body["error"].as_str().unwrap_or("error").to_string(),
                description: body["error_description"]
                    .as_str()
                    .unwrap_or("request failed")
                    .to_string(),
            });
        }
        Ok(resp)
    }
}

/// The operator token of `home`, validated against `db` for the issuers of `port` (plus
/// `extra`) and renewed inside its last 7 days.
fn fresh_token(
    home: &Home,
    db: &HubDb,
    port: u16,
    extra: Option<String>,
) -> Result<String, ClientError> {
    let mut accepted = accepted_issuers(home, db, port)?;
    if let Some(extra) = extra.filter(|e| !e.is_empty() && !accepted.contains(e)) {
        accepted.push(extra);
    }
    let usable =
        parachute_auth::operator::ensure_fresh(db, &home.operator_token(), &accepted, db.now())?;
    Ok(usable.token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_token() {
        let client = HubClient::new(1939).with_bearer("eyJ.secret.sig".into());
        let text = format!("{client:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.contains("redacted") && text.contains("127.0.0.1:1939"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_stream_whose_headers_never_come_fails_instead_of_hanging() {
        // Accepts the connection (the kernel backlog does) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let err = HubClient::new(port)
            .stream_within(
                "/api/modules/vault/logs?follow=1",
                Duration::from_millis(300),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::Unreachable { detail, .. } if detail.contains("no answer")),
            "{err}"
        );
        drop(silent);
    }
}

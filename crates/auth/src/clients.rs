//! OAuth clients (`clients` table): RFC 7591 dynamic registration, approval and client
//! authentication.
//!
//! Registration ([`HubDb::register_client`]) checks every redirect URI
//! ([`crate::redirect_uri`]), makes a UUID client id and, for a confidential client
//! (`token_endpoint_auth_method=client_secret_post`), a random secret returned once and stored
//! as its SHA-256 hex. Status, as the original decides it:
//! - registered by the hub's operator (a `hub:admin` bearer, or a signed-in session on a
//!   same-origin request): `approved`, `same_hub = 1` (consent may be skipped for its
//!   non-admin scopes);
//! - anyone else: `pending`, unless the setup wizard's one-hour "first client" window is open,
//!   which approves this one registration (`same_hub = 0`) and closes.
//!
//! A pending client cannot obtain a code or tokens. Since the original's "single consent"
//! change, a signed-in person authorizing a pending client approves it
//! ([`HubDb::approve_client`]); `parachute auth approve-client` does the same from the CLI.
//! The token and revocation endpoints call [`HubDb::authenticate_client`].

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{OptionalExtension, Row, TransactionBehavior};
use serde_json::{Value, json};

use crate::clock::{format_timestamp, parse_timestamp, unix_seconds};
use crate::db::HubDb;
use crate::error::AuthError;
use crate::oauth_error::OAuthError;
use crate::redirect_uri::validate_redirect_uri;
use crate::secret_tokens::{constant_time_eq, random_token, sha256_hex};

/// Setting holding the end of the wizard's first-client auto-approve window.
pub const SETTING_FIRST_CLIENT_AUTO_APPROVE_UNTIL: &str = "pending_first_client_auto_approve_until";

/// How long the wizard's first-client window stays open (1 hour).
pub const FIRST_CLIENT_AUTO_APPROVE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Most redirect URIs one registration may carry.
pub const MAX_REDIRECT_URIS: usize = 20;

/// Longest client name accepted.
pub const MAX_CLIENT_NAME_LEN: usize = 200;

/// Whether a client may take part in OAuth flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    /// Registered, not yet approved.
    Pending,
    /// May obtain codes and tokens.
    Approved,
}

impl ClientStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Pending => "pending",
            ClientStatus::Approved => "approved",
        }
    }
}

/// Who registered a client, which decides its initial status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrant {
    /// The hub's operator: a valid `hub:admin` bearer, or a live session on a same-origin
    /// request. (The caller checks that; a presented but invalid bearer must be refused by the
    /// caller, not downgraded to `Public`.)
    Operator,
    /// Anyone else (the normal public registration).
    Public,
}

/// One `clients` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// UUID client id.
    pub client_id: String,
    /// SHA-256 hex of the secret, for confidential clients.
    pub client_secret_hash: Option<String>,
    /// Registered redirect URIs, exactly as given.
    pub redirect_uris: Vec<String>,
    /// Scopes named at registration (informational; not enforced, as in the original).
    pub scopes: Vec<String>,
    /// Human-readable name shown on the consent page.
    pub client_name: Option<String>,
    /// Registration time (stored text).
    pub registered_at: String,
    /// Approval status.
    pub status: ClientStatus,
    /// Registered by this hub's operator.
    pub same_hub: bool,
}

impl OAuthClient {
    /// Whether the client authenticates with a secret.
    pub fn is_confidential(&self) -> bool {
        self.client_secret_hash.is_some()
    }

    /// Refuses `uri` unless it equals one of the registered redirect URIs exactly.
    pub fn require_registered_redirect_uri(&self, uri: &str) -> Result<(), OAuthError> {
        if self.redirect_uris.iter().any(|r| r == uri) {
            Ok(())
        } else {
            Err(OAuthError::RedirectUriNotRegistered {
                uri: uri.to_owned(),
            })
        }
    }

    /// Whether `presented` is this client's secret (false for public clients).
    pub fn verify_secret(&self, presented: &str) -> bool {
        self.client_secret_hash
            .as_deref()
            .is_some_and(|hash| constant_time_eq(hash, &sha256_hex(presented)))
    }
}

/// What a registration asks for.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    /// `redirect_uris` (at least one).
    pub redirect_uris: Vec<String>,
    /// `scope`, split.
    pub scopes: Vec<String>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// True for `token_endpoint_auth_method=client_secret_post`.
    pub confidential: bool,
    /// Who is registering.
    pub registrant: Registrant,
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The stored client.
    pub client: OAuthClient,
    /// The plaintext secret of a confidential client: shown once, never stored.
    pub client_secret: Option<String>,
    /// Whether the wizard's first-client window approved it.
    pub approved_by_first_client_window: bool,
}

impl RegisteredClient {
    /// The RFC 7591 response body, with the same members the original answers with.
    pub fn registration_response(&self) -> Value {
        let c = &self.client;
        let issued_at = parse_timestamp(&c.registered_at).map_or(0, unix_seconds);
        let mut body = json!({
            "client_id": c.client_id,
            "redirect_uris": c.redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": if c.is_confidential() { "client_secret_post" } else { "none" },
            "client_id_issued_at": issued_at,
            "status": c.status.as_str(),
            "same_hub": c.same_hub,
        });
        if !c.scopes.is_empty() {
            body["scope"] = json!(c.scopes.join(" "));
        }
        if let Some(name) = &c.client_name {
            body["client_name"] = json!(name);
        }
        if let Some(secret) = &self.client_secret {
            body["client_secret"] = json!(secret);
        }
        body
    }
}

/// Client credentials presented at the token or revocation endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id from an `Authorization: Basic` header, if one was sent.
    pub header_client_id: Option<String>,
    /// The secret (header wins over a `client_secret` form field).
    pub secret: Option<String>,
}

impl ClientCredentials {
    /// Reads `Authorization: Basic base64(id:secret)` (RFC 6749 §2.3.1: both halves
    /// URL-encoded), falling back to the `client_secret` form field. A malformed header counts
    /// as absent.
    pub fn from_request(authorization: Option<&str>, form_secret: Option<&str>) -> Self {
        if let Some((id, secret)) = authorization.and_then(parse_basic) {
            return Self {
                header_client_id: Some(id),
                secret: Some(secret),
            };
        }
        Self {
            header_client_id: None,
            secret: form_secret.filter(|s| !s.is_empty()).map(str::to_owned),
        }
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

const CLIENT_COLUMNS: &str = "client_id, client_secret_hash, redirect_uris, scopes, client_name, \
                              registered_at, status, same_hub";

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<OAuthClient> {
    let uris: String = row.get(2)?;
    let redirect_uris: Vec<String> = serde_json::from_str(&uris).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let scopes: String = row.get(3)?;
    let status: String = row.get(6)?;
    Ok(OAuthClient {
        client_id: row.get(0)?,
        client_secret_hash: row.get(1)?,
        redirect_uris,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        client_name: row.get(4)?,
        registered_at: row.get(5)?,
        status: if status == "approved" {
            ClientStatus::Approved
        } else {
            ClientStatus::Pending
        },
        same_hub: row.get::<_, i64>(7)? == 1,
    })
}

fn check_registration<S: AsRef<str>>(
    req: &ClientRegistration,
    hub_origins: &[S],
) -> Result<(), OAuthError> {
    if req.redirect_uris.is_empty() {
        return Err(OAuthError::InvalidRedirectUri {
            uri: String::new(),
            reason: "redirect_uris is required and must list at least one URI".to_owned(),
        });
    }
    if req.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::InvalidClientMetadata(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris may be registered"
        )));
    }
    for uri in &req.redirect_uris {
        validate_redirect_uri(uri, hub_origins)?;
    }
    if req
        .client_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_CLIENT_NAME_LEN)
    {
        return Err(OAuthError::InvalidClientMetadata(format!(
            "client_name is longer than {MAX_CLIENT_NAME_LEN} characters"
        )));
    }
    Ok(())
}

impl HubDb {
    /// Registers a client (see the module docs for the status rules). `hub_origins` are the
    /// hub's own origins, for which plain-http redirect URIs are allowed.
    pub fn register_client<S: AsRef<str>>(
        &self,
        req: &ClientRegistration,
        hub_origins: &[S],
    ) -> Result<RegisteredClient, AuthError> {
        check_registration(req, hub_origins)?;
        let (status, same_hub, by_window) = match req.registrant {
            Registrant::Operator => (ClientStatus::Approved, true, false),
            Registrant::Public if self.consume_first_client_auto_approve_window()? => {
                (ClientStatus::Approved, false, true)
            }
            Registrant::Public => (ClientStatus::Pending, false, false),
        };
        let client_secret = req.confidential.then(random_token);
        let client = OAuthClient {
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret_hash: client_secret.as_deref().map(sha256_hex),
            redirect_uris: req.redirect_uris.clone(),
            scopes: req.scopes.clone(),
            client_name: req.client_name.clone(),
            registered_at: format_timestamp(self.now()),
            status,
            same_hub,
        };
        let uris = serde_json::to_string(&client.redirect_uris)
            .map_err(|e| AuthError::Claims(e.to_string()))?;
        self.lock()
            .execute(
                &format!(
                    "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                rusqlite::params![
                    client.client_id,
                    client.client_secret_hash,
                    uris,
                    client.scopes.join(" "),
                    client.client_name,
                    client.registered_at,
                    status.as_str(),
                    i64::from(same_hub),
                ],
            )
            .map_err(AuthError::sql("registering an OAuth client"))?;
        tracing::info!(
            client_id = %client.client_id,
            status = status.as_str(),
            same_hub,
            approved_by_first_client_window = by_window,
            "registered an OAuth client"
        );
        Ok(RegisteredClient {
            client,
            client_secret,
            approved_by_first_client_window: by_window,
        })
    }

    /// The client `client_id`, if registered.
    pub fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, AuthError> {
        self.lock()
            .query_row(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?1"),
                [client_id],
                client_from_row,
            )
            .optional()
            .map_err(AuthError::sql("looking up an OAuth client"))
    }

    /// The client `client_id`, or [`OAuthError::UnknownClient`].
    pub fn require_client(&self, client_id: &str) -> Result<OAuthClient, AuthError> {
        self.client(client_id)?.ok_or_else(|| {
            OAuthError::UnknownClient {
                client_id: client_id.to_owned(),
            }
            .into()
        })
    }

    /// Clients with `status`, oldest registration first (`auth pending-clients`).
    pub fn clients_with_status(&self, status: ClientStatus) -> Result<Vec<OAuthClient>, AuthError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {CLIENT_COLUMNS} FROM clients WHERE status = ?1 ORDER BY registered_at"
            ))
            .map_err(AuthError::sql("listing OAuth clients"))?;
        stmt.query_map([status.as_str()], client_from_row)
            .and_then(Iterator::collect)
            .map_err(AuthError::sql("listing OAuth clients"))
    }

    /// Approves a pending client. Returns true when this call approved it, false when it was
    /// already approved; [`OAuthError::UnknownClient`] when there is no such client.
    pub fn approve_client(&self, client_id: &str) -> Result<bool, AuthError> {
        let changed = self
            .lock()
            .execute(
                "UPDATE clients SET status = 'approved' WHERE client_id = ?1 AND status != 'approved'",
                [client_id],
            )
            .map_err(AuthError::sql("approving an OAuth client"))?;
        if changed > 0 {
            tracing::info!(client_id, "approved an OAuth client");
            return Ok(true);
        }
        self.require_client(client_id).map(|_| false)
    }

    /// The token/revocation endpoints' client check: the client exists, is approved when
    /// `require_approved`, and a confidential client proved its secret (a Basic header's client
    /// id must equal `client_id`). Public clients need no secret: PKCE binds their codes.
    pub fn authenticate_client(
        &self,
        client_id: &str,
        credentials: &ClientCredentials,
        require_approved: bool,
    ) -> Result<OAuthClient, AuthError> {
        let client = self.require_client(client_id)?;
        if require_approved && client.status != ClientStatus::Approved {
            return Err(OAuthError::ClientNotApproved {
                client_id: client_id.to_owned(),
            }
            .into());
        }
        if !client.is_confidential() {
            return Ok(client);
        }
        let fail = |reason| -> AuthError {
            OAuthError::ClientAuthentication {
                client_id: client_id.to_owned(),
                reason,
            }
            .into()
        };
        let secret = credentials
            .secret
            .as_deref()
            .ok_or_else(|| fail("a confidential client must send its client_secret"))?;
        if credentials
            .header_client_id
            .as_deref()
            .is_some_and(|id| id != client_id)
        {
            return Err(fail("the Authorization header names a different client_id"));
        }
        if !client.verify_secret(secret) {
            return Err(fail("the client_secret is wrong"));
        }
        Ok(client)
    }

    /// Opens the wizard's first-client window for [`FIRST_CLIENT_AUTO_APPROVE_WINDOW`]
    /// (replacing an open one). Returns when it closes (stored text).
    pub fn open_first_client_auto_approve_window(&self) -> Result<String, AuthError> {
        let until = format_timestamp(self.now() + FIRST_CLIENT_AUTO_APPROVE_WINDOW);
        self.set_setting(SETTING_FIRST_CLIENT_AUTO_APPROVE_UNTIL, &until)?;
        Ok(until)
    }

    /// Whether the first-client window is open now.
    pub fn first_client_auto_approve_window_open(&self) -> Result<bool, AuthError> {
        let now = self.now();
        Ok(self
            .setting(SETTING_FIRST_CLIENT_AUTO_APPROVE_UNTIL)?
            .and_then(|v| parse_timestamp(&v))
            .is_some_and(|until| until > now))
    }

    /// Closes the window and returns true when it was open (one registration uses it).
    fn consume_first_client_auto_approve_window(&self) -> Result<bool, AuthError> {
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuthError::sql("reading the first-client window"))?;
        let until: Option<String> = tx
            .query_row(
                "SELECT value FROM hub_settings WHERE key = ?1",
                [SETTING_FIRST_CLIENT_AUTO_APPROVE_UNTIL],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("reading the first-client window"))?;
        let open = until
            .and_then(|v| parse_timestamp(&v))
            .is_some_and(|until| until > now);
        if open {
            tx.execute(
                "DELETE FROM hub_settings WHERE key = ?1",
                [SETTING_FIRST_CLIENT_AUTO_APPROVE_UNTIL],
            )
            .map_err(AuthError::sql("closing the first-client window"))?;
            tx.commit()
                .map_err(AuthError::sql("closing the first-client window"))?;
        }
        Ok(open)
    }
}

#[cfg(test)]
#[path = "clients_tests.rs"]
mod tests;

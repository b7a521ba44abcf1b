//! `GET /oauth/authorize` and the consent form's `POST /oauth/authorize`.
//!
//! Steps, in this order (RFC 6749 §4.1.2.1: nothing is sent to a redirect URI before it is
//! known to be the client's):
//! 1. `client_id` names a registered client and `redirect_uri` equals one of its registered
//!    URIs exactly; otherwise an error page for the person, never a redirect.
//! 2. From here errors go back to the client as `?error=…&error_description=…&state=…`:
//!    `response_type=code` only; PKCE with `S256` and a well-formed challenge (`plain` or
//!    none is `invalid_request`); the RFC 8707 `resource` narrows the scopes to one vault
//!    (another vault's scopes are `invalid_target`); operator-only and unknown scopes are
//!    `invalid_scope`.
//! 3. No session: the browser goes to `/login?next=<this request>` (the dashboard's sign-in
//!    form, with the second factor when enrolled) and comes back here.
//! 4. A pending client: the admin may approve it on the consent page; anyone else is told to
//!    ask the admin. An approved client whose remembered grant covers the request (or an
//!    operator client asking no admin scope) gets its code without the page.
//! 5. The consent post (same origin, CSRF) re-runs 1–2, then `Deny` sends `access_denied`,
//!    `Approve` (with a picked vault for an unnamed `vault:<verb>`) issues the code through
//!    `HubDb::issue_authorization_code`, which caps the scopes to what the person holds and
//!    remembers the grant.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parachute_auth::OAuthError;
use parachute_auth::attenuation::bind_request_scopes;
use parachute_auth::auth_codes::{AuthorizationRequest, check_pkce_challenge};
use parachute_auth::clients::{ClientStatus, OAuthClient};
use parachute_auth::consent::ConsentDecision;
use parachute_auth::csrf::{ensure_csrf_token, verify_csrf_token};
use parachute_auth::scopes::{parse_scope_string, pick_vault, unnamed_vault_verb};
use serde::{Deserialize, Serialize};

use super::consent_page::{ConsentView, consent_page, request_error_page, waiting_for_admin_page};
use super::support::{bound_origins, live_vaults, parse_form, scope_registry};
use crate::routes::signin::origin::{is_https, same_origin};
use crate::routes::signin::pages::html;
use crate::routes::signin::session::{SignedIn, append_cookie, cookie_header, redirect, signed_in};
use crate::state::AppState;

/// The authorization request's parameters (query on `GET`, hidden fields on the consent post).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthorizeParams {
    /// `client_id`.
    #[serde(default)]
    pub client_id: String,
    /// `redirect_uri`.
    #[serde(default)]
    pub redirect_uri: String,
    /// `response_type`.
    #[serde(default)]
    pub response_type: String,
    /// `scope`, space-separated.
    #[serde(default)]
    pub scope: String,
    /// `state`, returned untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `code_challenge`.
    #[serde(default)]
    pub code_challenge: String,
    /// `code_challenge_method`.
    #[serde(default)]
    pub code_challenge_method: String,
    /// RFC 8707 `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// The consent form: the request plus the person's answer.
#[derive(Debug, Default, Deserialize)]
struct ConsentForm {
    /// The request, carried in hidden fields.
    #[serde(flatten)]
    params: AuthorizeParams,
    /// `approve` or `deny`.
    #[serde(default)]
    decision: String,
    /// The vault picked for an unnamed `vault:<verb>`.
    vault_pick: Option<String>,
    /// The CSRF token.
    #[serde(rename = "__csrf")]
    csrf: Option<String>,
}

/// A request that passed steps 1 and 2.
struct Checked {
    /// The client.
    client: OAuthClient,
    /// The scopes after resource binding.
    scopes: Vec<String>,
    /// The vault the resource named.
    vault: Option<String>,
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let params: AuthorizeParams = serde_urlencoded::from_str(&query).unwrap_or_default();
    let checked = match check_request(&state, &params) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let who = match signed_in(&state, &headers) {
        Ok(Some(who)) => who,
        Ok(None) => {
            let next = format!("/oauth/authorize?{query}");
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return redirect(&format!("/login?next={encoded}"));
        }
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    if checked.client.status != ClientStatus::Approved && !who.admin {
        return html(
            StatusCode::FORBIDDEN,
            waiting_for_admin_page(client_label(&checked.client), &checked.client.client_id),
        );
    }
    if checked.client.status == ClientStatus::Approved {
        let decision = state.db().consent_decision(
            &who.user.id,
            &checked.client,
            &checked.scopes,
            &live_vaults(&state),
        );
        match decision {
            Ok(ConsentDecision::Skip(reason)) => {
                tracing::info!(client_id = %checked.client.client_id, ?reason, "consent skipped");
                return issue(&state, &params, &who, checked.scopes);
            }
            Ok(ConsentDecision::Ask) => {}
            Err(e) => return error_redirect(&params, &internal(e)),
        }
    }
    show_consent(&state, &headers, &params, &checked, &who)
}

/// Renders the consent page (setting the CSRF cookie when the browser has none).
fn show_consent(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    checked: &Checked,
    who: &SignedIn,
) -> Response {
    let csrf = ensure_csrf_token(cookie_header(headers), is_https(state, headers));
    let pickable = pickable_vaults(state, who);
    let hidden = hidden_fields(params);
    let host = url::Url::parse(&params.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let view = ConsentView {
        client_name: client_label(&checked.client),
        redirect_host: &host,
        scopes: &checked.scopes,
        bound_vault: checked.vault.as_deref(),
        pickable_vaults: &pickable,
        new_client: checked.client.status != ClientStatus::Approved,
        csrf: &csrf.token,
        hidden: &hidden,
    };
    let mut response = html(StatusCode::OK, consent_page(&view));
    if let Some(cookie) = &csrf.set_cookie {
        append_cookie(&mut response, cookie);
    }
    response
}

/// `POST /oauth/authorize`: the consent form's answer.
pub async fn consent_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_origin(&state, &headers) {
        return page_error(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This approval was sent from another website, so the hub did not accept it.",
        );
    }
    let form: ConsentForm = parse_form(&body).unwrap_or_default();
    if !verify_csrf_token(cookie_header(&headers), form.csrf.as_deref()) {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Form expired",
            "The page's security token did not match. Go back to the app and connect again.",
        );
    }
    let params = form.params.clone();
    let checked = match check_request(&state, &params) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let who = match signed_in(&state, &headers) {
        Ok(Some(who)) => who,
        Ok(None) => {
            let query = serde_urlencoded::to_string(&params).unwrap_or_default();
            let next = format!("/oauth/authorize?{query}");
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return redirect(&format!("/login?next={encoded}"));
        }
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    if form.decision != "approve" {
        tracing::info!(client_id = %params.client_id, "the person denied an authorization request");
        return error_redirect(
            &params,
            &OAuthErrorParts::new("access_denied", "the person denied the request"),
        );
    }
    if checked.client.status != ClientStatus::Approved {
        if !who.admin {
            return html(
                StatusCode::FORBIDDEN,
                waiting_for_admin_page(client_label(&checked.client), &checked.client.client_id),
            );
        }
        if let Err(e) = state.db().approve_client(&checked.client.client_id) {
            return error_redirect(&params, &internal(e));
        }
    }
    let scopes = match picked_scopes(&state, &who, &checked.scopes, form.vault_pick.as_deref()) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    issue(&state, &params, &who, scopes)
}

/// Steps 1 and 2 of the module docs.
fn check_request(state: &AppState, params: &AuthorizeParams) -> Result<Checked, Box<Response>> {
    if params.client_id.is_empty() || params.redirect_uri.is_empty() {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            "Incomplete request",
            "The app sent an authorization request without client_id or redirect_uri.",
        ));
    }
    let client = match state.db().client(&params.client_id) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(boxed_page(
                StatusCode::BAD_REQUEST,
                "Unknown app",
                "This app is not registered with this hub (it may have been removed). Connect it again from the app so it registers anew.",
            ));
        }
        Err(e) => {
            return Err(boxed_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Hub error",
                &e.to_string(),
            ));
        }
    };
    if client
        .require_registered_redirect_uri(&params.redirect_uri)
        .is_err()
    {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            "Unexpected return address",
            "The app asked to return to an address it did not register, so the hub will not send you there.",
        ));
    }
    if params.response_type != "code" {
        return Err(boxed_redirect(
            params,
            &OAuthErrorParts::new(
                "unsupported_response_type",
                "only response_type=code is supported",
            ),
        ));
    }
    if let Err(e) = check_pkce_challenge(&params.code_challenge, &params.code_challenge_method) {
        let description = if params.code_challenge.is_empty() {
            "PKCE is required: send code_challenge with code_challenge_method=S256".to_owned()
        } else {
            e.to_string()
        };
        return Err(boxed_redirect(
            params,
            &OAuthErrorParts::new("invalid_request", &description),
        ));
    }
    let requested = parse_scope_string(&params.scope);
    let bound = bind_request_scopes(
        &requested,
        params.resource.as_deref(),
        &bound_origins(state),
    )
    .map_err(|e| boxed_redirect(params, &OAuthErrorParts::from(&e)))?;
    let unknown = scope_registry(state).unknown(&bound.scopes);
    if !unknown.is_empty() {
        let e = OAuthError::UnknownScopes { scopes: unknown };
        return Err(boxed_redirect(params, &OAuthErrorParts::from(&e)));
    }
    Ok(Checked {
        client,
        scopes: bound.scopes,
        vault: bound.vault,
    })
}

/// The scopes with an unnamed `vault:<verb>` turned into the picked vault's.
fn picked_scopes(
    state: &AppState,
    who: &SignedIn,
    scopes: &[String],
    pick: Option<&str>,
) -> Result<Vec<String>, Box<Response>> {
    if !scopes.iter().any(|s| unnamed_vault_verb(s).is_some()) {
        return Ok(scopes.to_vec());
    }
    let pick = pick.map(str::trim).unwrap_or_default();
    if pick.is_empty() {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            "Pick a vault",
            "The app asked for vault access without naming a vault. Go back, pick a vault, and approve again.",
        ));
    }
    if !pickable_vaults(state, who).iter().any(|v| v == pick) {
        return Err(boxed_page(
            StatusCode::BAD_REQUEST,
            "Unknown vault",
            &format!("There is no vault {pick:?} you can give access to on this hub."),
        ));
    }
    Ok(pick_vault(scopes, pick))
}

/// Vaults `who` may hand out: every live vault for the admin, their assigned live ones else.
fn pickable_vaults(state: &AppState, who: &SignedIn) -> Vec<String> {
    let live = live_vaults(state);
    if who.admin {
        return live;
    }
    let assigned = state.db().user_vaults(&who.user.id).unwrap_or_default();
    live.into_iter().filter(|v| assigned.contains(v)).collect()
}

/// Issues the code and sends the browser back to the client with it.
fn issue(
    state: &AppState,
    params: &AuthorizeParams,
    who: &SignedIn,
    scopes: Vec<String>,
) -> Response {
    let request = AuthorizationRequest {
        client_id: params.client_id.clone(),
        user_id: who.user.id.clone(),
        redirect_uri: params.redirect_uri.clone(),
        scopes,
        code_challenge: params.code_challenge.clone(),
        code_challenge_method: params.code_challenge_method.clone(),
    };
    match state.db().issue_authorization_code(&request) {
        Ok(code) => back_to_client(params, &[("code", code.code.as_str())]),
        Err(parachute_auth::AuthError::OAuth(e)) => {
            error_redirect(params, &OAuthErrorParts::from(&e))
        }
        Err(e) => error_redirect(params, &internal(e)),
    }
}

/// An RFC 6749 error for the redirect.
struct OAuthErrorParts {
    /// `error`.
    code: String,
    /// `error_description`.
    description: String,
}

impl OAuthErrorParts {
    fn new(code: &str, description: &str) -> Self {
        Self {
            code: code.to_owned(),
            description: description.to_owned(),
        }
    }
}

impl From<&OAuthError> for OAuthErrorParts {
    fn from(e: &OAuthError) -> Self {
        Self::new(e.error_code(), &e.to_string())
    }
}

fn internal(e: impl std::fmt::Display) -> OAuthErrorParts {
    tracing::error!(error = %e, "an authorization request failed inside the hub");
    OAuthErrorParts::new("server_error", "the hub could not complete the request")
}

/// `302` to the (already verified) redirect URI with an error.
fn error_redirect(params: &AuthorizeParams, e: &OAuthErrorParts) -> Response {
    back_to_client(
        params,
        &[
            ("error", e.code.as_str()),
            ("error_description", e.description.as_str()),
        ],
    )
}

/// `302` to the redirect URI with `pairs` and `state` appended to its query.
fn back_to_client(params: &AuthorizeParams, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(&params.redirect_uri) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Unusable return address",
            "The app's registered return address is not a URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = &params.state {
            query.append_pair("state", state);
        }
    }
    redirect(url.as_str())
}

/// The request as hidden form fields.
fn hidden_fields(params: &AuthorizeParams) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("client_id", params.client_id.clone()),
        ("redirect_uri", params.redirect_uri.clone()),
        ("response_type", params.response_type.clone()),
        ("scope", params.scope.clone()),
        ("code_challenge", params.code_challenge.clone()),
        (
            "code_challenge_method",
            params.code_challenge_method.clone(),
        ),
    ];
    if let Some(s) = &params.state {
        fields.push(("state", s.clone()));
    }
    if let Some(r) = &params.resource {
        fields.push(("resource", r.clone()));
    }
    fields
}

/// What to call the client on the pages.
fn client_label(client: &OAuthClient) -> &str {
    client
        .client_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&client.client_id)
}

fn page_error(status: StatusCode, title: &str, message: &str) -> Response {
    html(status, request_error_page(title, message))
}

fn boxed_page(status: StatusCode, title: &str, message: &str) -> Box<Response> {
    Box::new(page_error(status, title, message))
}

fn boxed_redirect(params: &AuthorizeParams, e: &OAuthErrorParts) -> Box<Response> {
    Box::new(error_redirect(params, e))
}

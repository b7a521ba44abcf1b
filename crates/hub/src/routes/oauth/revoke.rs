//! `POST /oauth/revoke`: RFC 7009. The client authenticates as at the token endpoint (a
//! pending client may still clean up); the answer is `200` whether or not the token was live
//! or the client's, so nobody can probe for tokens. Revoking an access token or its refresh
//! token kills both (they share one registry row).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parachute_auth::clients::ClientCredentials;
use serde::Deserialize;

use super::support::{auth_error_json, cors, no_store, oauth_json, parse_form};
use crate::state::AppState;

/// The form.
#[derive(Debug, Default, Deserialize)]
struct RevokeForm {
    /// The token to revoke.
    #[serde(default)]
    token: String,
    /// `access_token` or `refresh_token`.
    token_type_hint: Option<String>,
    /// The client.
    client_id: Option<String>,
    /// A confidential client's secret.
    client_secret: Option<String>,
}

/// The route.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: RevokeForm = parse_form(&body).unwrap_or_default();
    if form.token.is_empty() {
        return oauth_json(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials = ClientCredentials::from_request(authorization, form.client_secret.as_deref());
    let Some(client_id) = credentials
        .header_client_id
        .clone()
        .or(form.client_id.clone())
    else {
        return oauth_json(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        );
    };
    match state.db().revoke_oauth_token(
        &form.token,
        form.token_type_hint.as_deref(),
        &client_id,
        &credentials,
    ) {
        Ok(outcome) => {
            tracing::info!(%client_id, ?outcome, "revocation request");
            let mut response = StatusCode::OK.into_response();
            no_store(&mut response);
            cors(response)
        }
        Err(err) => auth_error_json(err),
    }
}

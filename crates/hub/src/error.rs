//! JSON errors in the original hub's shape: `{"error": "...", "error_description": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer for an API route.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`unauthenticated`, `not_installed`, …).
    pub error: String,
    /// One sentence for a person: what is wrong and what to do.
    pub description: String,
    /// Extra members merged into the JSON body (e.g. `setup_url`). Boxed so `Result<_, ApiError>`
    /// stays small on the happy path.
    pub extra: Box<Map<String, Value>>,
    /// A `WWW-Authenticate` challenge to send with the answer (RFC 6750 bearer refusals).
    pub challenge: Option<String>,
}

impl ApiError {
    /// An error with no extra members.
    pub fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            error: error.to_string(),
            description: description.into(),
            extra: Box::default(),
            challenge: None,
        }
    }

    /// Adds a `WWW-Authenticate` challenge header to the answer.
    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Adds a member to the JSON body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// 500 for an internal failure (the detail is logged, not leaked).
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {err}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("{context}; see the hub log for details"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if let Value::Object(map) = &mut body {
            map.extend(*self.extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(value) = self
            .challenge
            .and_then(|c| axum::http::HeaderValue::from_str(&c).ok())
        {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// A request the extractors refused before any handler ran (a path segment that is not UTF-8
/// once decoded, a body over the size limit, …), in the API's JSON shape instead of axum's
/// plain text.
fn rejected(status: StatusCode, detail: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            "request_too_large",
            format!(
                "the request body is too large ({detail}); API bodies are small JSON objects such as {{\"channel\": \"rc\"}}"
            ),
        );
    }
    ApiError::new(
        status,
        "invalid_request",
        format!("the request could not be read ({detail}); check its URL and body"),
    )
}

macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                rejected(rejection.status(), rejection.body_text())
            }
        }
    )*};
}

from_rejection!(
    axum::extract::rejection::PathRejection,
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::BytesRejection
);

impl From<parachute_auth::AuthFailure> for ApiError {
    fn from(failure: parachute_auth::AuthFailure) -> Self {
        let status = StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        Self::new(status, failure.error_code(), failure.description())
    }
}

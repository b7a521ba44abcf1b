//! Defensive response headers on the hub's own routes.
//!
//! Proxied module responses are left exactly as the module sent them (a module may have good
//! reasons to be framed); everything the hub answers itself is marked not to be sniffed,
//! framed by other sites, or to leak its URL in a `Referer`.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The headers and values added when a handler has not set them itself.
const HEADERS: [(HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Adds [`HEADERS`] to the response of a hub route.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let map = response.headers_mut();
    for (name, value) in HEADERS {
        map.entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

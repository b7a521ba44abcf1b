//! The reverse proxy: `/vault/<name>/*` and every other module mount, forwarded to the
//! module's loopback port.
//!
//! It is the router's fallback, so every hub route wins over a module mount. Bodies stream in
//! both directions (nothing is buffered), redirects are passed back untouched, and keep-alive
//! connections pooled per module port are driven on the request's own task (see [`upstream`]).
//! Routing reads a cached table that is rebuilt only when `services.json` changes (see
//! [`table`]). A client whose request body fails (an invalid chunked body) gets 400.

mod errors;
mod layer;
mod table;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use parachute_home::Home;

use crate::state::AppState;

pub use errors::{UpstreamState, classify};
pub use layer::{is_loopback_host, is_loopback_request, split_bracketed};
pub use table::{RouteCache, RouteMatch, RouteTable};
pub use upstream::{UpstreamBody, UpstreamError, UpstreamPool};

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the proxy keeps between requests: the upstream connections and the routing table.
pub struct ProxyContext {
    /// Keep-alive HTTP/1 connections to module ports, pooled per port.
    upstream: Arc<UpstreamPool>,
    /// Routing table, rebuilt when `services.json` changes.
    routes: RouteCache,
}

impl ProxyContext {
    /// A context for `home` (no I/O happens until the first request).
    pub fn new(home: &Home) -> Self {
        Self {
            upstream: Arc::default(),
            routes: RouteCache::new(home),
        }
    }

    /// The current routing table.
    pub fn table(&self, home: &Home) -> Arc<RouteTable> {
        self.routes.table(home)
    }

    /// `services.json` changed: rebuild the routing table on the next request.
    pub fn invalidate(&self) {
        self.routes.invalidate();
    }

    /// A watcher now reports every change of `services.json` (see [`RouteCache::watching`]).
    pub fn watching(&self) {
        self.routes.watching();
    }
}

/// The router fallback: forwards to the module mounted at the path, or answers 404.
///
/// The TCP peer is known when the server put `ConnectInfo<SocketAddr>` in the request's
/// extensions (the hub's server always does); it then feeds `x-forwarded-for` and the
/// loopback check.
pub async fn proxy(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let table = state.proxy().table(state.home());
    let Some(route) = table.resolve(path) else {
        return errors::not_found(request.headers(), path);
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if route.loopback_only && !is_loopback_request(request.headers(), request.uri(), peer) {
        // Indistinguishable from "not installed" for callers outside this machine.
        return errors::not_found(request.headers(), path);
    }
    if route.port == state.port() {
        // Forwarding would reach this very route again, opening connections until the hub runs
        // out of file descriptors.
        tracing::warn!(module = %route.short, port = route.port, "proxy: the row claims the hub's own port");
        let detail = format!(
            "services.json gives it port {}, which is the hub's own; give it a port of its own",
            route.port
        );
        return errors::upstream_failed(
            errors::wants_html(request.headers()),
            UpstreamState::Persistent,
            &route.short,
            &route.name,
            &detail,
        );
    }
    forward(&state, route, peer, request).await
}

/// Sends `request` to the module of `route` and streams its answer back.
async fn forward(
    state: &AppState,
    route: &RouteMatch,
    peer: Option<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let uri = match upstream_uri(route, &parts.uri) {
        Ok(uri) => uri,
        Err(err) => {
            tracing::warn!(%err, uri = %parts.uri, "cannot build the upstream URI");
            return errors::not_found(&parts.headers, parts.uri.path());
        }
    };
    let html_wanted = errors::wants_html(&parts.headers);
    prepare_headers(&mut parts.headers, &parts.uri, peer);
    parts
        .headers
        .insert(header::HOST, route.upstream_host.clone());
    parts.uri = uri;
    parts.version = axum::http::Version::HTTP_11;
    parts.extensions = Default::default();
    let upstream = axum::http::Request::from_parts(parts, body);
    match state.proxy().upstream.send(route.port, upstream).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(err) if err.is_request_body() => {
            let detail = error_chain(&err);
            tracing::info!(module = %route.short, "proxy: the client's request body failed: {detail}");
            bad_request_body(&detail)
        }
        Err(err) => {
            let detail = error_chain(&err);
            let snapshot = state.supervisor().snapshot(&route.short);
            let booting = state.boot().is_none();
            let class = classify(snapshot.as_ref(), booting, SystemTime::now());
            tracing::warn!(module = %route.short, port = route.port, ?class, "proxy: {detail}");
            errors::upstream_failed(html_wanted, class, &route.short, &route.name, &detail)
        }
    }
}

/// 400 for a request whose body could not be read (malformed chunked encoding).
fn bad_request_body(detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONNECTION, "close")],
        axum::Json(serde_json::json!({
            "error": "bad_request",
            "error_description": format!("the request body could not be read ({detail}); send a valid Content-Length or chunked body"),
        })),
    )
        .into_response()
}

/// The origin-form target to send upstream: the incoming one itself when nothing changes (no
/// allocation), else `<path><query>` with the mount removed when the row strips it.
fn upstream_uri(route: &RouteMatch, incoming: &Uri) -> Result<Uri, axum::http::Error> {
    let path = route.upstream_path(incoming.path());
    if path.len() == incoming.path().len() && incoming.scheme().is_none() {
        return Ok(incoming.clone());
    }
    let path_and_query = match incoming.query() {
        Some(q) => PathAndQuery::try_from(format!("{path}?{q}"))?,
        None => PathAndQuery::try_from(path)?,
    };
    Ok(Uri::from(path_and_query))
}

/// Turns the client's headers into the upstream request's: hop-by-hop headers and `Host` go
/// (the client sets the upstream's own), `accept-encoding: identity` keeps bodies plain, and
/// `x-forwarded-host`/`-proto`/`-for` are added unless an outer proxy already set them, so the
/// module builds public URLs for the origin the caller used.
pub fn prepare_headers(headers: &mut HeaderMap, uri: &Uri, peer: Option<SocketAddr>) {
    let public_host = headers.get(header::HOST).cloned().or_else(|| {
        uri.authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(headers);
    headers.remove(header::HOST);
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    if let Some(host) = public_host
        && !headers.contains_key("x-forwarded-host")
    {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    if !headers.contains_key("x-forwarded-proto") {
        headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("http"),
        );
    }
    if let Some(peer) = peer
        && !headers.contains_key("x-forwarded-for")
        && let Some(value) = forwarded_for(peer.ip())
    {
        headers.insert(HeaderName::from_static("x-forwarded-for"), value);
    }
}

/// The peer address as a header value: a static one for loopback (nearly every request).
fn forwarded_for(ip: std::net::IpAddr) -> Option<HeaderValue> {
    match ip {
        std::net::IpAddr::V4(v4) if v4 == std::net::Ipv4Addr::LOCALHOST => {
            Some(HeaderValue::from_static("127.0.0.1"))
        }
        std::net::IpAddr::V6(v6) if v6.is_loopback() => Some(HeaderValue::from_static("::1")),
        other => HeaderValue::from_str(&other.to_string()).ok(),
    }
}

/// Removes the hop-by-hop headers plus any header the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The error and its causes on one line (`connection refused` is usually in a cause).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(strip: bool) -> RouteMatch {
        RouteMatch {
            name: "m".into(),
            short: "m".into(),
            port: 4100,
            mount: "/m".into(),
            strip_prefix: strip,
            loopback_only: false,
            upstream_host: table::upstream_host(4100),
        }
    }

    #[test]
    fn upstream_uri_keeps_query_and_strips_on_request() {
        let uri: Uri = "/m/a%20b/c?x=1&y=%2F".parse().unwrap();
        assert_eq!(
            upstream_uri(&route(false), &uri).unwrap().to_string(),
            "/m/a%20b/c?x=1&y=%2F"
        );
        assert_eq!(
            upstream_uri(&route(true), &uri).unwrap().to_string(),
            "/a%20b/c?x=1&y=%2F"
        );
        let bare: Uri = "/m?q".parse().unwrap();
        assert_eq!(
            upstream_uri(&route(true), &bare).unwrap().to_string(),
            "/?q"
        );
        let absolute: Uri = "http://hub.example/m/x?y".parse().unwrap();
        assert_eq!(
            upstream_uri(&route(false), &absolute).unwrap().to_string(),
            "/m/x?y"
        );
    }

    #[test]
    fn headers_lose_hop_by_hop_and_gain_forwarding() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("localhost:1939"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br"),
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        prepare_headers(&mut h, &Uri::from_static("/m"), Some(peer));
        assert!(h.get(header::HOST).is_none());
        assert!(h.get(header::CONNECTION).is_none());
        assert!(h.get("x-secret-hop").is_none());
        assert!(h.get(header::TRANSFER_ENCODING).is_none());
        assert_eq!(h["accept-encoding"], "identity");
        assert_eq!(h["authorization"], "Bearer t");
        assert_eq!(h["x-forwarded-host"], "localhost:1939");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    }

    #[test]
    fn forwarding_headers_from_an_outer_proxy_are_kept() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:1939"));
        h.insert("x-forwarded-host", HeaderValue::from_static("box.ts.net"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert("x-forwarded-for", HeaderValue::from_static("100.64.0.2"));
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        prepare_headers(&mut h, &Uri::from_static("/m"), Some(peer));
        assert_eq!(h["x-forwarded-host"], "box.ts.net");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-for"], "100.64.0.2");
    }
}

//! Did a request come in on loopback, or through an exposure layer?
//!
//! `publicExposure: loopback` rows must look absent (404) to anyone who is not on this machine.
//! A request counts as **loopback** only when every one of these holds:
//!
//! 1. the TCP peer, when the server knows it, is a loopback address;
//! 2. it carries none of the markers an exposure layer adds: `cf-ray`, `cf-connecting-ip`
//!    (Cloudflare tunnel), `tailscale-funnel-request`, `tailscale-user-login`,
//!    `tailscale-user-name` (Tailscale serve/Funnel);
//! 3. every host named by `x-forwarded-host` and `forwarded: host=…`, and every address named
//!    by `x-forwarded-for` and `forwarded: for=…`, is a loopback name (`localhost`,
//!    `*.localhost`, `127.0.0.0/8`, `::1`);
//! 4. the `Host` header (or the request URI's authority) is present and is a loopback name.
//!
//! Tailscale serve and cloudflared keep the public host name in `Host` and add forwarding
//! headers, so each is caught twice; a tool on this machine that talks to `127.0.0.1:<port>`
//! passes. Anything ambiguous (no host at all, an unparsable header) is treated as not loopback.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, Uri, header};

/// Headers only exposure layers add.
const TUNNEL_MARKERS: &[&str] = &[
    "cf-ray",
    "cf-connecting-ip",
    "tailscale-funnel-request",
    "tailscale-user-login",
    "tailscale-user-name",
];

/// True when the request came from this machine directly (see the module docs for the rule).
pub fn is_loopback_request(headers: &HeaderMap, uri: &Uri, peer: Option<SocketAddr>) -> bool {
    if peer.is_some_and(|p| !p.ip().is_loopback()) {
        return false;
    }
    if TUNNEL_MARKERS.iter().any(|m| headers.contains_key(*m)) {
        return false;
    }
    for value in headers.get_all("x-forwarded-host") {
        let Ok(text) = value.to_str() else {
            return false;
        };
        if !text.split(',').all(|h| is_loopback_host(h.trim())) {
            return false;
        }
    }
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return false;
        };
        if !text.split(',').all(|a| is_loopback_host(a.trim())) {
            return false;
        }
    }
    for value in headers.get_all(header::FORWARDED) {
        let Ok(text) = value.to_str() else {
            return false;
        };
        for pair in text.split([',', ';']) {
            let Some((key, val)) = pair.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            if (key == "host" || key == "for") && !is_loopback_host(val.trim().trim_matches('"')) {
                return false;
            }
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    host.is_some_and(|h| is_loopback_host(h.trim()))
}

/// Whether `host` (optionally with `:port`, IPv6 optionally bracketed) names this machine.
pub fn is_loopback_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    // `[::1]:8080`, `[::1]` (and nothing else after the bracket)
    if host.starts_with('[') {
        return split_bracketed(host)
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
    }
    // A bare IPv6 address (as in x-forwarded-for).
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The address inside `[addr]` or `[addr]:port`; `None` when anything else follows the `]`.
pub fn split_bracketed(host: &str) -> Option<&str> {
    let (inner, after) = host.strip_prefix('[')?.split_once(']')?;
    let port_ok = match after.strip_prefix(':') {
        Some(port) => !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()),
        None => after.is_empty(),
    };
    port_ok.then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn local(pairs: &[(&'static str, &str)]) -> bool {
        is_loopback_request(&headers(pairs), &Uri::from_static("/x"), None)
    }

    #[test]
    fn loopback_host_names() {
        for h in [
            "127.0.0.1",
            "127.0.0.1:1939",
            "127.1.2.3:80",
            "localhost",
            "localhost:1939",
            "app.localhost:1939",
            "[::1]:1939",
            "[::1]",
            "::1",
            "LOCALHOST.",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "",
            "box.tail1234.ts.net",
            "box.tail1234.ts.net:443",
            "10.0.0.5:1939",
            "192.168.1.2",
            "[fe80::1]:1939",
            "localhost.example.com",
            "notlocalhost",
            "[::1]evil.example",
            "[::1].evil.example:80",
            "[::1]:",
            "[::1]:80x",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn direct_local_calls_are_loopback() {
        assert!(local(&[("host", "127.0.0.1:1939")]));
        assert!(local(&[
            ("host", "localhost:1939"),
            ("x-forwarded-for", "127.0.0.1")
        ]));
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        assert!(is_loopback_request(
            &headers(&[("host", "127.0.0.1:1939")]),
            &Uri::from_static("/x"),
            Some(peer)
        ));
    }

    #[test]
    fn exposure_layers_are_not_loopback() {
        assert!(!local(&[("host", "box.tail1234.ts.net")]));
        assert!(!local(&[
            ("host", "127.0.0.1:1939"),
            ("x-forwarded-host", "box.tail1234.ts.net")
        ]));
        assert!(!local(&[
            ("host", "127.0.0.1:1939"),
            ("x-forwarded-for", "100.64.0.7")
        ]));
        assert!(!local(&[
            ("host", "127.0.0.1:1939"),
            ("forwarded", "for=203.0.113.9;host=example.com")
        ]));
        assert!(!local(&[("host", "127.0.0.1:1939"), ("cf-ray", "abc")]));
        assert!(!local(&[
            ("host", "127.0.0.1:1939"),
            ("tailscale-user-login", "me@example.com")
        ]));
        assert!(!local(&[]), "no host at all");
        let peer: SocketAddr = "10.1.2.3:5555".parse().unwrap();
        assert!(!is_loopback_request(
            &headers(&[("host", "127.0.0.1:1939")]),
            &Uri::from_static("/x"),
            Some(peer)
        ));
    }
}

//! Who is trying to sign in, for the attempt limiters: never the TCP peer alone, which behind
//! `tailscale serve` or `cloudflared` is always 127.0.0.1.
//!
//! Forwarded headers are believed only from a connector this home records and only when the
//! request came from loopback (where the connector runs): `CF-Connecting-IP` while a Cloudflare
//! tunnel is recorded (cloudflared sets it and overwrites what the client sent), the last hop
//! of `X-Forwarded-For` while a Tailscale layer is recorded (the hop the connector appended; the
//! earlier ones are whatever the client wrote). Without a connector a loopback caller is
//! "loopback", and a caller on another interface (a `0.0.0.0` bind) is its peer address.
//!
//! Limiter keys combine this address with the username, so an attacker guessing one account
//! is slowed without locking the owner out from their own address.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use parachute_home::{Home, cloudflared_state, expose_state};

/// Which connector in front of the hub may speak for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// None recorded: forwarded headers are ignored.
    None,
    /// `tailscale serve`/`funnel`: the last `X-Forwarded-For` hop.
    Tailscale,
    /// A Cloudflare tunnel: `CF-Connecting-IP`.
    Cloudflare,
}

/// The connector recorded for `home` now.
pub fn recorded_connector(home: &Home) -> Connector {
    let tunnel = cloudflared_state::read(home)
        .ok()
        .flatten()
        .is_some_and(|s| !s.tunnels.is_empty());
    match expose_state::read(home).ok().flatten() {
        Some(state) if state.exposed_via() == expose_state::ExposedVia::Cloudflare => {
            Connector::Cloudflare
        }
        _ if tunnel => Connector::Cloudflare,
        Some(_) => Connector::Tailscale,
        None => Connector::None,
    }
}

/// The client address to key limiters on (see the module docs).
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, connector: Connector) -> String {
    if !peer.ip().is_loopback() {
        return peer.ip().to_string();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let forwarded = match connector {
        Connector::None => None,
        Connector::Cloudflare => header("cf-connecting-ip"),
        Connector::Tailscale => header("x-forwarded-for")
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty()),
    };
    forwarded.map_or_else(|| "loopback".to_owned(), str::to_owned)
}

/// The limiter key for `username` trying from `address` (usernames compared without case, so
/// `Admin` and `admin` share one budget).
pub fn attempt_key(username: &str, address: &str) -> String {
    format!("{}|{address}", username.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_recorded_connector_on_loopback() {
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let lan: SocketAddr = "192.168.1.7:5000".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 100.64.0.9"),
            ("cf-connecting-ip", "203.0.113.5"),
        ]);
        assert_eq!(client_address(lo, &h, Connector::None), "loopback");
        assert_eq!(client_address(lo, &h, Connector::Tailscale), "100.64.0.9");
        assert_eq!(client_address(lo, &h, Connector::Cloudflare), "203.0.113.5");
        assert_eq!(
            client_address(lan, &h, Connector::Cloudflare),
            "192.168.1.7"
        );
        assert_eq!(
            client_address(lo, &HeaderMap::new(), Connector::Cloudflare),
            "loopback"
        );
        assert_eq!(attempt_key(" Admin ", "loopback"), "admin|loopback");
    }
}

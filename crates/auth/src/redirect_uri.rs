//! Which redirect URIs an OAuth client may register.
//!
//! The original accepted any `http:` or `https:` URL. We are stricter, following RFC 6749
//! §3.1.2 and RFC 8252 (OAuth for native apps):
//! - `https://` to any host;
//! - `http://` only to a loopback host (`localhost`, `127.x.x.x`, `[::1]`: native apps and CLI
//!   clients listen there) or to one of the hub's own origins (its pages served over plain
//!   HTTP on a LAN address);
//! - no fragment, no user name or password in the URL, no wildcard host, at most
//!   [`MAX_REDIRECT_URI_LEN`] characters.
//!
//! Only registration applies these rules. Rows the original registered keep working: at
//! authorization and token time a redirect URI must equal a registered one exactly, character
//! for character, and nothing else is checked.

use std::net::IpAddr;

use url::{Host, Url};

use crate::issuers::normalize_origin;
use crate::oauth_error::OAuthError;

/// Longest redirect URI accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Checks `uri` against the registration rules above. `hub_origins` are the hub's own origins
/// (`http://192.168.1.5:1939`, …) for which plain `http` is allowed.
pub fn validate_redirect_uri<S: AsRef<str>>(
    uri: &str,
    hub_origins: &[S],
) -> Result<(), OAuthError> {
    let refuse = |reason: &str| OAuthError::InvalidRedirectUri {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(refuse("it must be a URL of 1 to 2048 characters"));
    }
    if uri.trim() != uri {
        return Err(refuse("it has leading or trailing whitespace"));
    }
    let parsed =
        Url::parse(uri).map_err(|e| refuse(&format!("it is not an absolute URL ({e})")))?;
    let scheme = parsed.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(refuse(&format!(
            "the {scheme}: scheme is not allowed; use https://… (or http:// on a loopback address)"
        )));
    }
    if parsed.fragment().is_some() {
        return Err(refuse(
            "it has a #fragment, which redirect URIs must not have",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("it carries a user name or password"));
    }
    let host = parsed
        .host()
        .ok_or_else(|| refuse("it has no host; use https://… or http://127.0.0.1:<port>/…"))?;
    if matches!(&host, Host::Domain(d) if d.contains('*')) {
        return Err(refuse("wildcard hosts are not allowed"));
    }
    if scheme == "https" || is_loopback_host(&host) {
        return Ok(());
    }
    let origin = parsed.origin().ascii_serialization();
    if hub_origins
        .iter()
        .any(|o| normalize_origin(o.as_ref()) == origin)
    {
        return Ok(());
    }
    Err(refuse(
        "plain http is only allowed to a loopback address (127.0.0.1, [::1], localhost) or the \
         hub's own origin; use https",
    ))
}

/// Whether `host` is this machine's loopback interface.
fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &[&str] = &["http://192.168.1.5:1939/"];

    #[test]
    fn accepted_shapes() {
        for uri in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://box.tail1234.ts.net/notes/oauth/callback?x=1",
            "http://127.0.0.1:33418/callback",
            "http://127.8.9.10/cb",
            "http://localhost:6274/oauth/callback/debug",
            "http://[::1]:8080/cb",
            "http://192.168.1.5:1939/admin/callback",
        ] {
            assert_eq!(validate_redirect_uri(uri, HUB), Ok(()), "{uri}");
        }
    }

    #[test]
    fn refused_shapes_say_why() {
        let cases = [
            ("", "1 to 2048"),
            ("/callback", "absolute URL"),
            ("https://app.example/cb#frag", "#fragment"),
            ("https://user:pw@app.example/cb", "user name"),
            ("http://app.example/cb", "plain http"),
            ("http://192.168.1.6:1939/cb", "plain http"),
            ("javascript:alert(1)", "javascript: scheme"),
            ("data:text/html,hi", "data: scheme"),
            ("com.example.app:/cb", "com.example.app: scheme"),
            ("https://*.example/cb", "wildcard"),
            (" https://app.example/cb", "whitespace"),
        ];
        for (uri, needle) in cases {
            let err = validate_redirect_uri(uri, HUB).expect_err(uri);
            assert_eq!(err.error_code(), "invalid_redirect_uri");
            assert!(err.to_string().contains(needle), "{uri}: {err}");
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_REDIRECT_URI_LEN));
        assert!(validate_redirect_uri(&long, HUB).is_err());
    }
}

//! Same-origin checks for cookie-carrying form posts, and whether the browser sees https.
//!
//! A form post is accepted when its `Origin` (else its `Referer`) is one of the origins this
//! hub is known by (the issuers it accepts: loopback on its port, the `hub_origin` setting,
//! the environment's origin, the exposed origin) or names the host the request was sent to
//! (which the host allowlist already admitted). `Origin: null` (no-referrer pages, sandboxed
//! frames) is not informative and falls through to `Referer`; with neither, the CSRF token
//! alone decides, as in the original (proxies sometimes strip both).

use axum::http::{HeaderMap, header};

use crate::auth::{accepted_issuers, issuer_layers, request_origin};
use crate::state::AppState;

/// Whether the post came from one of this hub's own pages.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let value = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let claimed = match value(header::ORIGIN).filter(|o| *o != "null") {
        Some(origin) => origin.to_owned(),
        None => match value(header::REFERER) {
            Some(referer) => match origin_of(referer) {
                Some(o) => o,
                None => return false,
            },
            None => return true,
        },
    };
    let Some(claimed) = origin_of(&claimed) else {
        return false;
    };
    let own = request_origin(state, headers);
    if authority(&claimed).eq_ignore_ascii_case(authority(&own)) {
        return true;
    }
    accepted_issuers(state)
        .iter()
        .filter_map(|o| origin_of(o))
        .any(|o| o.eq_ignore_ascii_case(&claimed))
}

/// `scheme://host[:port]` of a URL, default ports dropped, or `None` when it does not parse.
fn origin_of(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// `host[:port]` of an origin.
fn authority(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest)
}

/// Whether the browser reached us over https: a proxy said so (`X-Forwarded-Proto`), or the
/// request's host is the host of an https origin this hub is configured or exposed as (a
/// tunnel terminates TLS and may not say so). Decides the cookies' `Secure` attribute.
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    let own = request_origin(state, headers);
    if own.starts_with("https://") {
        return true;
    }
    let host = authority(&own).to_ascii_lowercase();
    let layers = issuer_layers(state);
    [layers.setting, layers.env, layers.exposure]
        .into_iter()
        .flatten()
        .filter_map(|o| url::Url::parse(&o).ok())
        .filter(|u| u.scheme() == "https")
        .any(|u| {
            u.host_str()
                .is_some_and(|h| host == h || host.split(':').next() == Some(h))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_to_their_canonical_form() {
        assert_eq!(
            origin_of("https://Box.ts.net:443/x?y").as_deref(),
            Some("https://box.ts.net")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:1939/login").as_deref(),
            Some("http://127.0.0.1:1939")
        );
        assert_eq!(origin_of("not a url"), None);
        assert_eq!(origin_of("data:text/html,x"), None);
        assert_eq!(authority("http://127.0.0.1:1939"), "127.0.0.1:1939");
    }
}

//! The issuers (`iss` values) the hub accepts: every origin it is known by.
//!
//! The original only accepted the per-request issuer, so a token minted for the public origin
//! failed on loopback calls after exposure, and `localhost` differed from `127.0.0.1`. We accept
//! all of them.

/// Every origin the hub answers to: the three loopback forms for `port`, then the `hub_origin`
/// setting, the environment origin and the exposed origin (each without trailing `/`, empty
/// values skipped, duplicates removed, order kept).
pub fn known_issuers(
    port: u16,
    hub_origin_setting: Option<&str>,
    env_origin: Option<&str>,
    exposed_origin: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = loopback_origins(port).to_vec();
    for origin in [hub_origin_setting, env_origin, exposed_origin]
        .into_iter()
        .flatten()
    {
        let origin = normalize_origin(origin);
        if !origin.is_empty() && !out.contains(&origin) {
            out.push(origin);
        }
    }
    out
}

/// `http://127.0.0.1:<port>`, `http://localhost:<port>` and `http://[::1]:<port>`.
pub fn loopback_origins(port: u16) -> [String; 3] {
    [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ]
}

/// `origin` trimmed, without trailing slashes.
pub fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_owned()
}

/// Why a string is not usable as a hub origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Not `http://` or `https://`.
    #[error("it must start with http:// or https://")]
    Scheme,
    /// Nothing after the scheme.
    #[error("it names no host")]
    NoHost,
    /// `user:pass@` in it.
    #[error("it must not carry credentials")]
    Credentials,
    /// A path, query or fragment after the host.
    #[error("it must not have a path, query or fragment")]
    PathOrQuery,
    /// Whitespace or control characters inside.
    #[error("it must not contain spaces or control characters")]
    Whitespace,
}

/// Parses a hub origin as every caller needs it (the `hub_origin` setting, `--hub-origin`,
/// `PARACHUTE_HUB_ORIGIN`): `http(s)://host[:port]`, no credentials, path, query or fragment;
/// surrounding whitespace and one trailing `/` are dropped. The answer is the normalised
/// origin; the scheme and host are lowercased as URLs compare them.
pub fn parse_origin(raw: &str) -> Result<String, OriginError> {
    let trimmed = raw.trim();
    let lower = trimmed.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("https://", &trimmed[8..])
    } else if lower.starts_with("http://") {
        ("http://", &trimmed[7..])
    } else {
        return Err(OriginError::Scheme);
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(OriginError::NoHost);
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(OriginError::Whitespace);
    }
    if rest.contains('@') {
        return Err(OriginError::Credentials);
    }
    if rest.contains(['/', '?', '#', '\\']) {
        return Err(OriginError::PathOrQuery);
    }
    if rest.starts_with(':') {
        return Err(OriginError::NoHost);
    }
    Ok(format!("{scheme}{}", rest.to_ascii_lowercase()))
}

/// Whether `origin` points at this machine's loopback (`localhost`, `127.x.x.x`, `[::1]`).
pub fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin
        .trim()
        .strip_prefix("http://")
        .or_else(|| origin.trim().strip_prefix("https://"))
        .unwrap_or(origin);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|p| p.parse::<u8>().is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_forms_come_first_then_the_others_deduplicated() {
        let got = known_issuers(
            1939,
            Some("https://box.tail1234.ts.net/"),
            Some("https://box.tail1234.ts.net"),
            Some("http://localhost:1939"),
        );
        assert_eq!(
            got,
            vec![
                "http://127.0.0.1:1939",
                "http://localhost:1939",
                "http://[::1]:1939",
                "https://box.tail1234.ts.net",
            ]
        );
        assert_eq!(known_issuers(5000, None, Some(" "), None).len(), 3);
    }

    #[test]
    fn origins_parse_to_scheme_and_host_only() {
        assert_eq!(
            parse_origin(" HTTPS://Hub.Example.com/ ").unwrap(),
            "https://hub.example.com"
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:1939").unwrap(),
            "http://127.0.0.1:1939"
        );
        for (bad, why) in [
            ("hub.example.com", OriginError::Scheme),
            ("ftp://x", OriginError::Scheme),
            ("https://", OriginError::NoHost),
            ("https://:443", OriginError::NoHost),
            ("https://u:p@x.example", OriginError::Credentials),
            ("https://x.example/path", OriginError::PathOrQuery),
            ("https://x.example?q=1", OriginError::PathOrQuery),
            ("https://x.example#f", OriginError::PathOrQuery),
            ("https://x.example//", OriginError::PathOrQuery),
            ("https://x .example", OriginError::Whitespace),
        ] {
            assert_eq!(parse_origin(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn loopback_detection() {
        for yes in [
            "http://127.0.0.1:1939",
            "http://localhost:1939/",
            "http://[::1]:1939",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback_origin(yes), "{yes}");
        }
        for no in [
            "https://box.tail1234.ts.net",
            "http://10.0.0.1:1939",
            "https://localhost.example.com",
        ] {
            assert!(!is_loopback_origin(no), "{no}");
        }
    }
}

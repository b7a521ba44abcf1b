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

//! What to expose and how to name it: targets, hostname and tunnel-name rules, the default
//! tunnel name, and `--hub-origin` validation. Everything here is pure and checked before any
//! tool runs.

use crate::error::ExposeError;

/// Where the hub should become reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Devices on the owner's tailnet (`tailscale serve`).
    Tailnet,
    /// The whole internet through Tailscale Funnel (`tailscale funnel`).
    Funnel,
    /// The whole internet through a Cloudflare named tunnel.
    Cloudflare(CloudflareTarget),
}

impl Target {
    /// A short human name: `Tailnet`, `Public (Funnel)`, `Cloudflare tunnel`.
    pub fn label(&self) -> &'static str {
        match self {
            Target::Tailnet => "Tailnet",
            Target::Funnel => "Public (Funnel)",
            Target::Cloudflare(_) => "Cloudflare tunnel",
        }
    }

    /// True when anyone on the internet can reach the hub through this target.
    pub fn is_public(&self) -> bool {
        !matches!(self, Target::Tailnet)
    }
}

/// A validated Cloudflare target: the public hostname and the tunnel carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudflareTarget {
    /// The public DNS name routed to the hub (lowercase), e.g. `hub.example.com`.
    hostname: String,
    /// The Cloudflare tunnel name (given, or derived from the hostname).
    tunnel_name: String,
}

impl CloudflareTarget {
    /// Validates `hostname` and the tunnel name (`tunnel_name`, else [`default_tunnel_name`]).
    pub fn new(hostname: &str, tunnel_name: Option<&str>) -> Result<Self, ExposeError> {
        let hostname = hostname.trim().trim_end_matches('.').to_ascii_lowercase();
        validate_hostname(&hostname)?;
        let tunnel_name = match tunnel_name {
            Some(name) => name.trim().to_string(),
            None => default_tunnel_name(&hostname),
        };
        validate_tunnel_name(&tunnel_name)?;
        Ok(Self {
            hostname,
            tunnel_name,
        })
    }

    /// The public hostname.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The tunnel name.
    pub fn tunnel_name(&self) -> &str {
        &self.tunnel_name
    }
}

/// What to take down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffTarget {
    /// The tailnet layer (`tailscale serve`).
    Tailnet,
    /// The Funnel layer (`tailscale funnel`).
    Funnel,
    /// Cloudflare tunnels: the named one, or every recorded tunnel.
    Cloudflare {
        /// Only this tunnel; `None` tears down all of them.
        tunnel_name: Option<String>,
    },
    /// Whatever public exposure is live (Funnel, Cloudflare tunnels, or both).
    AnyPublic,
}

/// The legacy tunnel name every machine shared before per-hostname names existed.
pub const LEGACY_TUNNEL_NAME: &str = "parachute";

/// Prefix of derived tunnel names.
const TUNNEL_PREFIX: &str = "parachute-";

/// Longest tunnel name we create or accept.
const MAX_TUNNEL_NAME: usize = 64;

/// Checks a tunnel name: 1–64 characters from `[A-Za-z0-9_-]`, the first alphanumeric.
pub fn validate_tunnel_name(name: &str) -> Result<(), ExposeError> {
    let mut chars = name.chars();
    let ok = name.len() <= MAX_TUNNEL_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ExposeError::InvalidTunnelName {
            name: name.to_string(),
        })
    }
}

/// Checks a hostname: at most 253 characters, at least one dot, every label 1–63 characters of
/// letters, digits and inner hyphens.
pub fn validate_hostname(hostname: &str) -> Result<(), ExposeError> {
    let bad = |reason| ExposeError::InvalidHostname {
        hostname: hostname.to_string(),
        reason,
    };
    if hostname.is_empty() || hostname.len() > 253 {
        return Err(bad("it must be 1 to 253 characters long"));
    }
    if !hostname.contains('.') {
        return Err(bad("it needs at least one dot"));
    }
    for label in hostname.split('.') {
        let bytes = label.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-';
        if !ok {
            return Err(bad(
                "each dot-separated part must be 1 to 63 letters, digits or inner hyphens",
            ));
        }
    }
    Ok(())
}

/// The tunnel name derived from a hostname, stable across runs so re-exposing the same host
/// reuses its tunnel: `parachute-` + the lowercase host with dots turned into hyphens and other
/// characters outside `[a-z0-9_-]` dropped. Past 64 characters the body is cut, trailing
/// hyphens trimmed, and `-<FNV-1a-32 of the hostname, 8 hex digits>` appended so two long
/// hosts sharing a prefix still get different tunnels.
pub fn default_tunnel_name(hostname: &str) -> String {
    let body: String = hostname
        .to_lowercase()
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    let full = format!("{TUNNEL_PREFIX}{body}");
    if full.len() <= MAX_TUNNEL_NAME {
        return full;
    }
    let suffix = format!("-{:08x}", fnv1a32(hostname));
    let room = MAX_TUNNEL_NAME - TUNNEL_PREFIX.len() - suffix.len();
    let cut = body[..room].trim_end_matches('-');
    format!("{TUNNEL_PREFIX}{cut}{suffix}")
}

/// 32-bit FNV-1a over the UTF-16 code units of `text` (what the original hashed, so derived
/// names match tunnels it created).
pub fn fnv1a32(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for unit in text.encode_utf16() {
        hash ^= u32::from(unit);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Validates `--hub-origin`: an `http://` or `https://` origin without credentials, path,
/// query or fragment. Returns it without a trailing `/`.
pub fn validate_hub_origin(origin: &str) -> Result<String, ExposeError> {
    let bad = |reason| ExposeError::InvalidHubOrigin {
        origin: origin.to_string(),
        reason,
    };
    let trimmed = origin.trim();
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    if rest.is_empty() {
        return Err(bad("it names no host"));
    }
    if rest.contains('@') {
        return Err(bad("it must not carry credentials"));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(bad("it must not have a path, query or fragment"));
    }
    if rest.chars().any(char::is_whitespace) {
        return Err(bad("it must not contain spaces"));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_follow_the_original_rule() {
        assert_eq!(
            default_tunnel_name("our.parachute.computer"),
            "parachute-our-parachute-computer"
        );
        assert_eq!(
            default_tunnel_name("Vault.Example.COM"),
            "parachute-vault-example-com"
        );
        assert_eq!(
            default_tunnel_name("we!rd.host_x.io"),
            "parachute-werd-host_x-io"
        );
    }

    #[test]
    fn long_names_are_cut_and_suffixed_with_the_hostname_hash() {
        let host = format!("{}.b.example.com", "a".repeat(60));
        let name = default_tunnel_name(&host);
        assert_eq!(name.len(), 64, "{name}");
        assert!(
            name.ends_with(&format!("-{:08x}", fnv1a32(&host))),
            "{name}"
        );
        validate_tunnel_name(&name).unwrap();
        // A cut landing on a dot-turned-hyphen leaves no double hyphen before the suffix.
        let host = format!("{}.{}.example.com", "a".repeat(44), "b".repeat(30));
        let name = default_tunnel_name(&host);
        assert!(!name.contains("--"), "{name}");
        assert!(name.starts_with(&format!("parachute-{}-", "a".repeat(44))));
        // Two long hosts with the same prefix differ.
        let other = format!("{}.{}.example.org", "a".repeat(44), "b".repeat(30));
        assert_ne!(default_tunnel_name(&other), name);
    }

    #[test]
    fn fnv1a32_matches_reference_vectors() {
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn tunnel_names_are_checked() {
        for good in ["a", "parachute-x_1", &"x".repeat(64)] {
            validate_tunnel_name(good).unwrap();
        }
        for bad in ["", "-x", "_x", "a b", "a.b", "a/b", &"x".repeat(65)] {
            let err = validate_tunnel_name(bad).unwrap_err().to_string();
            assert!(err.contains("not a valid tunnel name"), "{err}");
        }
    }

    #[test]
    fn hostnames_are_checked() {
        for good in ["hub.example.com", "a.b", "x-1.y2.example.co.uk"] {
            validate_hostname(good).unwrap();
        }
        for bad in [
            "",
            "localhost",
            "-a.example.com",
            "a-.example.com",
            "a..b",
            "a b.com",
            "hub.example.com/x",
        ] {
            let err = validate_hostname(bad).unwrap_err().to_string();
            assert!(err.contains("--domain hub.example.com"), "{err}");
        }
        assert!(validate_hostname(&format!("{}.com", "a".repeat(64))).is_err());
        let t = CloudflareTarget::new(" Hub.Example.com. ", None).unwrap();
        assert_eq!(t.hostname(), "hub.example.com");
        assert_eq!(t.tunnel_name(), "parachute-hub-example-com");
        let t = CloudflareTarget::new("hub.example.com", Some("mine")).unwrap();
        assert_eq!(t.tunnel_name(), "mine");
        assert!(CloudflareTarget::new("hub.example.com", Some("no way")).is_err());
    }

    #[test]
    fn hub_origins_are_plain_origins() {
        assert_eq!(
            validate_hub_origin("https://hub.example.com/").unwrap(),
            "https://hub.example.com"
        );
        assert_eq!(
            validate_hub_origin("http://127.0.0.1:1939").unwrap(),
            "http://127.0.0.1:1939"
        );
        for bad in [
            "hub.example.com",
            "ftp://x",
            "https://",
            "https://u:p@x.com",
            "https://x.com/path",
            "https://x.com?q",
            "https://x.com#f",
        ] {
            assert!(validate_hub_origin(bad).is_err(), "{bad}");
        }
    }
}

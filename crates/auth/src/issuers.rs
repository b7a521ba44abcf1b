//! The hub's origins: the one issuer rule every minted token and every module follows, and the
//! issuers (`iss` values) the hub accepts.
//!
//! **The issuer rule** ([`IssuerLayers`]): the `hub_origin` setting, else the environment's
//! origin ([`env_origin_from`]: `PARACHUTE_HUB_ORIGIN` > `RENDER_EXTERNAL_URL` >
//! `https://$FLY_APP_NAME.fly.dev`), else the exposed origin recorded in `expose-state.json`,
//! else the origin of the request (the hub) or the loopback origin (the CLI). Tokens minted
//! anywhere (the CLI's `auth mint-token`, operator tokens, the hub's API) carry the origin it
//! yields as `iss`, and modules are told its configured part as `PARACHUTE_HUB_ORIGIN`, so a
//! module validating `iss` against what it was told accepts them.
//!
//! **Accepted issuers** ([`known_issuers`]): the original only accepted the per-request issuer,
//! so a token minted for the public origin failed on loopback calls after exposure, and
//! `localhost` differed from `127.0.0.1`. We accept all of them.

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

/// Which layer of the issuer rule an origin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerSource {
    /// The `hub_origin` setting in `hub.db` (the dashboard's Settings page, `PUT
    /// /api/settings/hub-origin`).
    Settings,
    /// The environment of the process (`PARACHUTE_HUB_ORIGIN`, `RENDER_EXTERNAL_URL`,
    /// `FLY_APP_NAME`).
    Env,
    /// The exposed origin recorded in `expose-state.json` (`hubOrigin`, else
    /// `https://<canonicalFqdn>`).
    Exposure,
    /// Nothing configured: the request's own origin (hub) or the loopback origin (CLI).
    Request,
}

impl IssuerSource {
    /// `settings`, `env`, `exposure` or `request` (the first two and the last are the
    /// original's words in `GET /api/settings/hub-origin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::Env => "env",
            Self::Exposure => "exposure",
            Self::Request => "request",
        }
    }
}

/// An origin the issuer rule settled on, and the layer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIssuer {
    /// The origin, normalised (no trailing `/`).
    pub origin: String,
    /// Where it came from.
    pub source: IssuerSource,
}

/// The configured layers of the issuer rule, highest precedence first. Empty or blank values
/// count as absent; values are normalised before use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssuerLayers<'a> {
    /// The `hub_origin` setting.
    pub setting: Option<&'a str>,
    /// The environment's origin (see [`env_origin_from`]).
    pub env: Option<&'a str>,
    /// The exposed origin.
    pub exposure: Option<&'a str>,
}

impl IssuerLayers<'_> {
    /// The first configured layer (setting > environment > exposure), if any: what modules are
    /// told as `PARACHUTE_HUB_ORIGIN` (nothing configured: they keep their own default).
    pub fn configured(&self) -> Option<ResolvedIssuer> {
        [
            (self.setting, IssuerSource::Settings),
            (self.env, IssuerSource::Env),
            (self.exposure, IssuerSource::Exposure),
        ]
        .into_iter()
        .find_map(|(value, source)| {
            let origin = normalize_origin(value?);
            (!origin.is_empty()).then_some(ResolvedIssuer { origin, source })
        })
    }

    /// The issuer a token minted now carries: [`IssuerLayers::configured`], else `fallback`
    /// (the request's origin in the hub, `http://127.0.0.1:<hub port>` in the CLI).
    pub fn resolve(&self, fallback: &str) -> ResolvedIssuer {
        self.configured().unwrap_or_else(|| ResolvedIssuer {
            origin: normalize_origin(fallback),
            source: IssuerSource::Request,
        })
    }
}

/// An origin variable of the environment that is not an http(s) origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var}={value:?} is not a usable hub origin: {reason}; give scheme and host only, e.g. https://hub.example.com"
)]
pub struct EnvOriginError {
    /// The variable.
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// Which rule it breaks.
    pub reason: OriginError,
}

/// The environment layer of the issuer rule: `PARACHUTE_HUB_ORIGIN` > `RENDER_EXTERNAL_URL` >
/// `https://$FLY_APP_NAME.fly.dev`, validated and normalised. `get` looks a variable up (the
/// caller decides which environment; blank values count as unset).
pub fn env_origin_from(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, EnvOriginError> {
    let get = |var: &str| get(var).filter(|v| !v.trim().is_empty());
    for var in ["PARACHUTE_HUB_ORIGIN", "RENDER_EXTERNAL_URL"] {
        if let Some(raw) = get(var) {
            return parse_origin(&raw)
                .map(Some)
                .map_err(|reason| EnvOriginError {
                    var,
                    value: raw,
                    reason,
                });
        }
    }
    Ok(get("FLY_APP_NAME").map(|app| format!("https://{}.fly.dev", app.trim())))
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
    fn the_issuer_rule_is_setting_then_env_then_exposure_then_the_fallback() {
        let fallback = "http://127.0.0.1:1939/";
        let all = IssuerLayers {
            setting: Some("https://set.example/"),
            env: Some("https://env.example"),
            exposure: Some("https://box.tail1.ts.net"),
        };
        let got = all.resolve(fallback);
        assert_eq!(got.origin, "https://set.example");
        assert_eq!(got.source, IssuerSource::Settings);
        let no_setting = IssuerLayers {
            setting: Some(" "),
            ..all
        };
        assert_eq!(no_setting.resolve(fallback).source, IssuerSource::Env);
        let exposed = IssuerLayers {
            setting: None,
            env: None,
            ..all
        };
        assert_eq!(
            exposed.resolve(fallback),
            ResolvedIssuer {
                origin: "https://box.tail1.ts.net".into(),
                source: IssuerSource::Exposure
            }
        );
        let none = IssuerLayers::default();
        assert_eq!(none.configured(), None);
        assert_eq!(
            none.resolve(fallback),
            ResolvedIssuer {
                origin: "http://127.0.0.1:1939".into(),
                source: IssuerSource::Request
            }
        );
        let words: Vec<&str> = [
            IssuerSource::Settings,
            IssuerSource::Env,
            IssuerSource::Exposure,
            IssuerSource::Request,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        assert_eq!(words, ["settings", "env", "exposure", "request"]);
    }

    #[test]
    fn the_environment_layer_has_its_own_precedence_and_validation() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(env_origin_from(vars(&[])).unwrap(), None);
        assert_eq!(
            env_origin_from(vars(&[("FLY_APP_NAME", "f")])).unwrap(),
            Some("https://f.fly.dev".into())
        );
        assert_eq!(
            env_origin_from(vars(&[
                ("RENDER_EXTERNAL_URL", "https://R.example/"),
                ("FLY_APP_NAME", "f")
            ]))
            .unwrap(),
            Some("https://r.example".into())
        );
        assert_eq!(
            env_origin_from(vars(&[
                ("PARACHUTE_HUB_ORIGIN", "https://h.example"),
                ("RENDER_EXTERNAL_URL", "https://r.example"),
                ("PARACHUTE_HUB_ORIGIN_UNUSED", "x")
            ]))
            .unwrap(),
            Some("https://h.example".into())
        );
        assert_eq!(
            env_origin_from(vars(&[("PARACHUTE_HUB_ORIGIN", "  ")])).unwrap(),
            None
        );
        let err =
            env_origin_from(vars(&[("PARACHUTE_HUB_ORIGIN", "https://h.example/x")])).unwrap_err();
        assert_eq!(err.var, "PARACHUTE_HUB_ORIGIN");
        assert_eq!(err.reason, OriginError::PathOrQuery);
        let text = err.to_string();
        assert!(text.contains("https://h.example/x") && text.contains("PARACHUTE_HUB_ORIGIN"));
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

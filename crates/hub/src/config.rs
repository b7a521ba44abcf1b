//! `serve` settings, read from the environment and validated before anything starts.

use std::net::IpAddr;

use parachute_home::Home;

/// The hub's default port.
pub const DEFAULT_PORT: u16 = 1939;

/// Everything `serve` needs to know up front.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The config home (`PARACHUTE_HOME`).
    pub home: Home,
    /// Listen port (`PORT`, default 1939).
    pub port: u16,
    /// Listen address (`PARACHUTE_BIND_HOST`, default 127.0.0.1).
    pub bind_host: IpAddr,
    /// Issuer fixed by the environment (`PARACHUTE_HUB_ORIGIN` > `RENDER_EXTERNAL_URL` >
    /// `https://$FLY_APP_NAME.fly.dev`), without a trailing `/`.
    pub env_origin: Option<String>,
}

/// A setting in the environment that `serve` cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `PORT` is not an integer in 1..=65535.
    #[error("PORT must be a number from 1 to 65535, got {0:?}; unset it to use {DEFAULT_PORT}")]
    BadPort(String),
    /// `PARACHUTE_BIND_HOST` is not an IP address.
    #[error("PARACHUTE_BIND_HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, got {0:?}")]
    BadBindHost(String),
    /// No home directory could be determined.
    #[error(transparent)]
    Home(#[from] parachute_home::HomeError),
}

impl ServeConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok(), Home::from_env()?)
    }

    /// Reads settings through `lookup` (tests pass a map) for the given home.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        home: Home,
    ) -> Result<Self, ConfigError> {
        let port = match lookup("PORT").filter(|p| !p.trim().is_empty()) {
            None => DEFAULT_PORT,
            Some(raw) => match raw.trim().parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(ConfigError::BadPort(raw)),
            },
        };
        let bind_host = match lookup("PARACHUTE_BIND_HOST").filter(|h| !h.trim().is_empty()) {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::BadBindHost(raw.clone()))?,
        };
        let env_origin = lookup("PARACHUTE_HUB_ORIGIN")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| lookup("RENDER_EXTERNAL_URL").filter(|s| !s.trim().is_empty()))
            .or_else(|| {
                lookup("FLY_APP_NAME")
                    .filter(|s| !s.trim().is_empty())
                    .map(|app| format!("https://{app}.fly.dev"))
            })
            .map(|o| o.trim().trim_end_matches('/').to_string());
        Ok(Self {
            home,
            port,
            bind_host,
            env_origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<ServeConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServeConfig::from_lookup(|k| map.get(k).cloned(), Home::at("/tmp/x"))
    }

    #[test]
    fn defaults_to_loopback_1939() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.port, 1939);
        assert_eq!(c.bind_host.to_string(), "127.0.0.1");
        assert_eq!(c.env_origin, None);
    }

    #[test]
    fn rejects_bad_ports_and_hosts_with_the_value() {
        for bad in ["0", "65536", "abc", "-1"] {
            let err = cfg(&[("PORT", bad)]).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = cfg(&[("PARACHUTE_BIND_HOST", "everywhere")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("everywhere"), "{err}");
    }

    #[test]
    fn origin_precedence_and_trailing_slash() {
        let c = cfg(&[
            ("RENDER_EXTERNAL_URL", "https://r.example/"),
            ("FLY_APP_NAME", "f"),
        ])
        .unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://r.example"));
        let c = cfg(&[("FLY_APP_NAME", "f")]).unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://f.fly.dev"));
        let c = cfg(&[
            ("PARACHUTE_HUB_ORIGIN", "https://h.example"),
            ("FLY_APP_NAME", "f"),
        ])
        .unwrap();
        assert_eq!(c.env_origin.as_deref(), Some("https://h.example"));
    }
}

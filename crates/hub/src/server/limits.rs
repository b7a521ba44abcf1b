//! The slow-client limits of the hub's HTTP server, and how they are read from the environment.

use std::time::Duration;

/// Environment variable: milliseconds a client gets to send a request's headers.
pub const HEADER_TIMEOUT_ENV: &str = "PARACHUTE_HTTP_HEADER_TIMEOUT_MS";
/// Environment variable: milliseconds a keep-alive connection may sit with no request.
pub const IDLE_TIMEOUT_ENV: &str = "PARACHUTE_HTTP_IDLE_TIMEOUT_MS";
/// Environment variable: how many connections the hub serves at once.
pub const MAX_CONNECTIONS_ENV: &str = "PARACHUTE_HTTP_MAX_CONNECTIONS";

/// What the hub tolerates from its clients. A connection is either reading a request's headers
/// (from its first byte, or from the accept for a new connection), has a request in flight
/// (no limit: uploads, SSE, MCP streams, `/api/events` and `logs -f` stay open as long as
/// they run), or is idle between requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// A connection that has not sent a complete request head this long after it was opened
    /// (or after the first byte of its next request) is closed.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Connections past this many are closed as soon as they are accepted; the ones already
    /// open keep working.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(75),
            max_connections: 512,
        }
    }
}

/// A limit setting the hub cannot use.
#[derive(Debug, thiserror::Error)]
#[error(
    "{var}={value:?} is not usable: give a whole number from 1 to {max} ({unit}), or unset it for the default ({default})"
)]
pub struct BadLimit {
    /// The variable.
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// What the number counts.
    pub unit: &'static str,
    /// The largest accepted value.
    pub max: u64,
    /// The default, as shown to the person.
    pub default: u64,
}

impl HttpLimits {
    /// The defaults, overridden by whichever of the three variables `get` knows.
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, BadLimit> {
        let defaults = Self::default();
        // A day bounds the timeouts (a larger one is a typo, and keeps Instant arithmetic safe).
        const DAY_MS: u64 = 86_400_000;
        let ms = |var, default: Duration| -> Result<Duration, BadLimit> {
            let default = u64::try_from(default.as_millis()).unwrap_or(DAY_MS);
            number(get(var), var, "milliseconds", DAY_MS, default).map(Duration::from_millis)
        };
        let max_connections = number(
            get(MAX_CONNECTIONS_ENV),
            MAX_CONNECTIONS_ENV,
            "connections",
            1_000_000,
            defaults.max_connections as u64,
        )?;
        Ok(Self {
            header_timeout: ms(HEADER_TIMEOUT_ENV, defaults.header_timeout)?,
            idle_timeout: ms(IDLE_TIMEOUT_ENV, defaults.idle_timeout)?,
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        })
    }
}

/// `raw` as a number in `1..=max`, or `default` when unset.
fn number(
    raw: Option<&str>,
    var: &'static str,
    unit: &'static str,
    max: u64,
    default: u64,
) -> Result<u64, BadLimit> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| BadLimit {
            var,
            value: raw.to_string(),
            unit,
            max,
            default,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Result<HttpLimits, BadLimit> {
        HttpLimits::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(limits(&[]).unwrap(), HttpLimits::default());
        let set = limits(&[
            (HEADER_TIMEOUT_ENV, "250"),
            (IDLE_TIMEOUT_ENV, " 1000 "),
            (MAX_CONNECTIONS_ENV, "8"),
        ])
        .unwrap();
        assert_eq!(set.header_timeout, Duration::from_millis(250));
        assert_eq!(set.idle_timeout, Duration::from_secs(1));
        assert_eq!(set.max_connections, 8);
    }

    #[test]
    fn unusable_values_are_named_with_the_fix() {
        for (var, bad) in [
            (HEADER_TIMEOUT_ENV, "0"),
            (IDLE_TIMEOUT_ENV, "soon"),
            (IDLE_TIMEOUT_ENV, "-5"),
            (MAX_CONNECTIONS_ENV, "0"),
            (MAX_CONNECTIONS_ENV, "1e3"),
            (HEADER_TIMEOUT_ENV, "999999999999"),
        ] {
            let err = limits(&[(var, bad)]).unwrap_err().to_string();
            assert!(
                err.contains(var) && err.contains(&format!("{bad:?}")),
                "{err}"
            );
            assert!(err.contains("unset it for the default"), "{err}");
        }
    }
}

//! The health gate: after the restart, the hub must answer `/health` with the expected
//! version and `/api/ready` with `booting: false` (modules that are stopped or crashed do not
//! count against it: only the hub's own boot does) before a deadline.

use std::time::{Duration, Instant};

use parachute_client::HubClient;

/// One look at the hub.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The version `/health` reported, if it answered.
    pub version: Option<String>,
    /// Why `/health` did not answer.
    pub health_error: Option<String>,
    /// `booting` from `/api/ready`, if it answered with one.
    pub booting: Option<bool>,
}

impl Observation {
    /// True when the hub runs `version` and has finished booting.
    pub fn is_ready(&self, version: &str) -> bool {
        self.version.as_deref() == Some(version) && self.booting == Some(false)
    }

    /// What was seen, for a person.
    pub fn describe(&self) -> String {
        match (&self.version, &self.health_error) {
            (Some(v), _) => match self.booting {
                Some(true) => format!("the hub answered as {v} but was still booting"),
                Some(false) => format!("the hub answered as {v}"),
                None => format!("the hub answered /health as {v} but not /api/ready"),
            },
            (None, Some(e)) => format!("/health did not answer ({e})"),
            (None, None) => "/health answered without a version".to_string(),
        }
    }
}

/// Looks at the hub on `port` once (each request bounded by 2 s).
pub async fn observe(port: u16) -> Observation {
    let client = HubClient::new(port);
    let timeout = Duration::from_secs(2);
    let mut seen = Observation::default();
    match client.health(timeout).await {
        Ok(h) => seen.version = h.version,
        Err(e) => {
            seen.health_error = Some(e.to_string());
            return seen;
        }
    }
    if let Ok(r) = client.readiness(timeout).await {
        seen.booting = r.booting;
    }
    seen
}

/// Polls until the hub on `port` runs `version` and has booted, or `limit` passes; returns
/// the last observation either way. `heartbeat` runs about every 5 s while waiting (the
/// upgrader renews its lock there).
pub async fn wait_ready(
    port: u16,
    version: &str,
    limit: Duration,
    mut heartbeat: impl FnMut(&Observation),
) -> Result<Observation, Observation> {
    let deadline = Instant::now() + limit;
    let mut last_beat = Instant::now();
    loop {
        let seen = observe(port).await;
        if seen.is_ready(version) {
            return Ok(seen);
        }
        if Instant::now() >= deadline {
            return Err(seen);
        }
        if last_beat.elapsed() >= Duration::from_secs(5) {
            heartbeat(&seen);
            last_beat = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_version_after_boot_is_ready() {
        let mut o = Observation {
            version: Some("0.2.0".into()),
            health_error: None,
            booting: Some(true),
        };
        assert!(!o.is_ready("0.2.0"));
        assert!(o.describe().contains("still booting"));
        o.booting = Some(false);
        assert!(o.is_ready("0.2.0"));
        assert!(!o.is_ready("0.3.0"));
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_times_out_with_the_reason() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let last = wait_ready(port, "0.2.0", Duration::from_millis(600), |_| {})
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(
            last.describe().contains("/health did not answer"),
            "{last:?}"
        );
    }
}

//! Timed loopback probes: is the hub up (and which version), how fast does a module answer.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{ClientError, HubClient};

/// What `GET /health` of the hub said.
#[derive(Debug, Clone, PartialEq)]
pub struct HubHealth {
    /// The hub's version (`version` of the answer), if it gave one.
    pub version: Option<String>,
    /// Time from sending the request to the full answer.
    pub latency: Duration,
}

/// A timed `GET` of one loopback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbe {
    /// The HTTP status.
    pub status: u16,
    /// Time from sending the request to the response headers.
    pub latency: Duration,
}

impl HttpProbe {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn probe_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with static settings")
    })
}

/// `GET http://127.0.0.1:<port><path>`, bounded by `timeout` as a whole (connect included).
/// The error is a short human reason (`connection refused`, `timed out`, …).
pub async fn probe_http(port: u16, path: &str, timeout: Duration) -> Result<HttpProbe, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let started = Instant::now();
    match probe_client().get(&url).timeout(timeout).send().await {
        Ok(resp) => Ok(HttpProbe {
            status: resp.status().as_u16(),
            latency: started.elapsed(),
        }),
        Err(e) => Err(describe(&e)),
    }
}

/// A short reason for a transport error.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection refused".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = s.to_string();
            source = s.source();
        }
        text
    }
}

impl HubClient {
    /// `GET /health` within `timeout`: the version and the round-trip time, or why not.
    pub async fn health(&self, timeout: Duration) -> Result<HubHealth, ClientError> {
        let started = Instant::now();
        let resp = self
            .request(reqwest::Method::GET, "/health", None, timeout)
            .await?;
        Ok(HubHealth {
            version: resp
                .body
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_string),
            latency: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn probes_time_a_real_answer_and_name_failures() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        });
        let probe = probe_http(port, "/health", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(probe.status, 503);
        assert!(!probe.is_success());

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = probe_http(port, "/health", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(err, "connection refused");

        // Accepts but never answers: the timeout bounds the probe.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let err = probe_http(port, "/health", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(err, "timed out");
        drop(silent);
    }
}

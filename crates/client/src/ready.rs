//! `GET /api/ready`, read whatever its status: the hub answers 503 while modules are still
//! coming up (and may answer 200 throughout in later versions), and a health gate needs the
//! `booting` flag either way.

use std::time::Duration;

use serde_json::Value;

use crate::{ClientError, HubClient};

/// What `GET /api/ready` said.
#[derive(Debug, Clone, PartialEq)]
pub struct HubReadiness {
    /// The HTTP status (200 ready, 503 not yet).
    pub status: u16,
    /// `booting`: true until the hub has handed every module row to its supervisor. `None`
    /// when the answer had no such key.
    pub booting: Option<bool>,
    /// `ready`: boot finished and no module is still coming up.
    pub ready: Option<bool>,
    /// The whole body.
    pub raw: Value,
}

impl HubClient {
    /// `GET /api/ready` within `timeout`, with the body read on 200 and 503 alike. Only a
    /// transport failure or an answer that is not JSON is an error.
    pub async fn readiness(&self, timeout: Duration) -> Result<HubReadiness, ClientError> {
        let resp = self
            .http
            .get(format!("{}/api/ready", self.base))
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                base: self.base.clone(),
                detail: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| ClientError::Unreachable {
            base: self.base.clone(),
            detail: e.to_string(),
        })?;
        let raw: Value = serde_json::from_str(&text).map_err(|_| {
            ClientError::BadResponse(format!("GET /api/ready answered {status} without JSON"))
        })?;
        Ok(HubReadiness {
            status,
            booting: raw.get("booting").and_then(Value::as_bool),
            ready: raw.get("ready").and_then(Value::as_bool),
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn answer_once(status: &str, body: &'static str) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = status.to_string();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        port
    }

    #[tokio::test]
    async fn booting_is_read_from_a_503_as_from_a_200() {
        let port = answer_once(
            "503 Service Unavailable",
            r#"{"ready":false,"booting":true}"#,
        );
        let r = HubClient::new(port)
            .readiness(Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            (r.status, r.booting, r.ready),
            (503, Some(true), Some(false))
        );

        let port = answer_once("200 OK", r#"{"ready":true,"booting":false}"#);
        let r = HubClient::new(port)
            .readiness(Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!((r.status, r.booting), (200, Some(false)));

        let port = answer_once("200 OK", "<html>");
        let err = HubClient::new(port)
            .readiness(Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::BadResponse(_)), "{err}");
    }
}

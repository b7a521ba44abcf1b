//! The module-operations API of the hub (`/api/modules…`, `/api/hub`), typed with the shared
//! protocol ([`parachute_protocol`]): the same types the hub serialises.
//!
//! Reading is lenient (every field a hub may leave out has a default), so an older or newer
//! hub still gives a usable answer.

use std::time::Duration;

use parachute_protocol::{
    Channel, HubInfo, ModuleAnswer, ModuleLogs, ModulesList, Operation, OperationAccepted,
    RestartAnswer, StopAnswer,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ApiResponse, ClientError, HubClient};

/// How long `GET /api/modules` may take before the read counts as failed (`status` must stay
/// bounded even when the hub hangs).
pub const MODULES_TIMEOUT: Duration = Duration::from_secs(3);

/// Decodes a JSON answer into its protocol type, naming the route when it does not fit.
fn decode<T: DeserializeOwned>(route: &str, resp: ApiResponse) -> Result<T, ClientError> {
    serde_json::from_value(resp.body)
        .map_err(|e| ClientError::BadResponse(format!("{route} answered an unexpected shape: {e}")))
}

/// One line of the log API without the original's `[short] ` prefix and trailing newline.
pub fn unprefixed<'a>(short: &str, line: &'a str) -> &'a str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_prefix('[')
        .and_then(|rest| rest.strip_prefix(short))
        .and_then(|rest| rest.strip_prefix("] "))
        .unwrap_or(line)
}

impl HubClient {
    /// `POST /api/modules/<short>/start` (30 s budget). Non-2xx is [`ClientError::Api`] with
    /// the hub's `error` code (`not_installed`, `unknown_module`, `no_start_cmd`, …).
    pub async fn start_module(&self, short: &str) -> Result<ModuleAnswer, ClientError> {
        let route = format!("/api/modules/{short}/start");
        let resp = self.post(&route, &empty()).await?;
        decode(&route, resp)
    }

    /// `POST /api/modules/<short>/stop`; `stopped: false` when the hub was not running it.
    pub async fn stop_module(&self, short: &str) -> Result<StopAnswer, ClientError> {
        let route = format!("/api/modules/{short}/stop");
        let resp = self.post(&route, &empty()).await?;
        decode(&route, resp)
    }

    /// `POST /api/modules/<short>/restart?or_start=1`: restarts the module, or starts it when
    /// the hub is not running it (the hub decides; the answer says which).
    pub async fn restart_or_start_module(&self, short: &str) -> Result<RestartAnswer, ClientError> {
        let route = format!("/api/modules/{short}/restart?or_start=1");
        let resp = self.post(&route, &empty()).await?;
        decode(&route, resp)
    }

    /// `GET /api/modules?latest=0` within [`MODULES_TIMEOUT`]: live module state without the
    /// registry's latest versions (the CLI never shows them, and asking npm is slow and
    /// needs the network).
    pub async fn modules(&self) -> Result<ModulesList, ClientError> {
        let route = "/api/modules?latest=0";
        let resp = self
            .request(reqwest::Method::GET, route, None, MODULES_TIMEOUT)
            .await?;
        decode(route, resp)
    }

    /// `GET /api/hub` within [`MODULES_TIMEOUT`] (needs `parachute:host:admin`).
    pub async fn hub_info(&self) -> Result<HubInfo, ClientError> {
        let resp = self
            .request(reqwest::Method::GET, "/api/hub", None, MODULES_TIMEOUT)
            .await?;
        decode("/api/hub", resp)
    }

    /// `GET /api/modules/<short>/logs[?lines=N]` (10 s budget): the buffered lines, oldest
    /// first, without their `[short] ` prefix.
    pub async fn module_logs(
        &self,
        short: &str,
        tail: Option<usize>,
    ) -> Result<Vec<String>, ClientError> {
        let route = match tail {
            Some(n) => format!("/api/modules/{short}/logs?lines={n}"),
            None => format!("/api/modules/{short}/logs"),
        };
        let resp = self.get(&route).await?;
        let logs: ModuleLogs = decode(&route, resp)?;
        Ok(logs
            .lines
            .iter()
            .map(|l| unprefixed(short, l).to_string())
            .collect())
    }

    /// `GET /api/modules/<short>/logs?follow=1[&lines=N]`: the newest `tail` buffered lines,
    /// then new ones as they come, as a byte stream (`[short] <line>\n` each) the caller reads
    /// until the hub closes it.
    pub async fn follow_module_logs(
        &self,
        short: &str,
        tail: Option<usize>,
    ) -> Result<reqwest::Response, ClientError> {
        let route = match tail {
            Some(n) => format!("/api/modules/{short}/logs?follow=1&lines={n}"),
            None => format!("/api/modules/{short}/logs?follow=1"),
        };
        self.stream(&route).await
    }

    /// `POST /api/modules/<short>/install` with `{"channel": …}` when one is given: the hub
    /// installs the module's package, writes its row and starts it in the background; poll
    /// the answer's operation with [`HubClient::operation`].
    pub async fn install_module(
        &self,
        short: &str,
        channel: Option<Channel>,
    ) -> Result<OperationAccepted, ClientError> {
        let route = format!("/api/modules/{short}/install");
        let body = match channel {
            Some(channel) => serde_json::json!({ "channel": channel.as_str() }),
            None => empty(),
        };
        let resp = self.post(&route, &body).await?;
        decode(&route, resp)
    }

    /// `GET /api/modules/operations/<id>`: an install, upgrade or uninstall as it stands.
    pub async fn operation(&self, id: &str) -> Result<Operation, ClientError> {
        let route = format!("/api/modules/operations/{id}");
        let resp = self.get(&route).await?;
        decode(&route, resp)
    }

    /// `GET /api/events`: the hub's change events as server-sent events, for a caller that
    /// reads the stream itself (the desktop app attached to a hub it did not start).
    pub async fn events(&self) -> Result<reqwest::Response, ClientError> {
        self.stream("/api/events").await
    }
}

fn empty() -> Value {
    Value::Object(Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_only_their_own_prefix() {
        assert_eq!(unprefixed("vault", "[vault] hello\n"), "hello");
        assert_eq!(
            unprefixed("vault", "[vault] [vault] nested"),
            "[vault] nested"
        );
        assert_eq!(unprefixed("vault", "[other] x\n"), "[other] x");
        assert_eq!(unprefixed("vault", "plain"), "plain");
    }

    #[test]
    fn answers_decode_leniently_and_name_the_route_when_they_cannot() {
        let ok = ApiResponse {
            status: 200,
            body: serde_json::json!({"modules": [{"short": "vault"}]}),
        };
        let list: ModulesList = decode("/api/modules", ok).unwrap();
        assert_eq!(list.modules[0].short, "vault");
        assert!(list.supervisor_available, "defaults to true");
        let bad = ApiResponse {
            status: 200,
            body: serde_json::json!({"nope": 1}),
        };
        let err = decode::<ModulesList>("/api/modules", bad).unwrap_err();
        assert!(err.to_string().contains("/api/modules"), "{err}");
    }
}

//! `cloudflared-state.json`: the Cloudflare tunnels we run (version 2; version 1 held a single
//! tunnel record at the top level and is upgraded on read).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StateError;
use crate::json::{load_state, remove_state, save_state};
use crate::paths::Home;

/// Every tunnel we started, by tunnel name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudflaredState {
    /// Format version; always 2 once read or written.
    pub version: u32,
    /// Records keyed by tunnel name (each record's `tunnelName` equals its key).
    pub tunnels: BTreeMap<String, TunnelRecord>,
}

/// One running (or service-managed) tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TunnelRecord {
    /// Pid of the `cloudflared` process we started.
    pub pid: u32,
    /// Cloudflare's tunnel id.
    pub tunnel_uuid: String,
    /// Tunnel name (the map key).
    pub tunnel_name: String,
    /// Public hostname routed to the hub.
    pub hostname: String,
    /// When it was started (ISO 8601).
    pub started_at: String,
    /// Its `cloudflared/<tunnel>/config.yml`.
    pub config_path: String,
    /// Present (true) when a system service runs the connector instead of our pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_managed: Option<bool>,
}

impl Default for CloudflaredState {
    fn default() -> Self {
        CloudflaredState {
            version: 2,
            tunnels: BTreeMap::new(),
        }
    }
}

impl CloudflaredState {
    /// The state with `record` added or replaced.
    pub fn with_tunnel(mut self, record: TunnelRecord) -> CloudflaredState {
        self.tunnels.insert(record.tunnel_name.clone(), record);
        self
    }

    /// The state without tunnel `name`; `None` when no tunnel is left (remove the file then).
    pub fn without_tunnel(mut self, name: &str) -> Option<CloudflaredState> {
        self.tunnels.remove(name);
        (!self.tunnels.is_empty()).then_some(self)
    }
}

impl TunnelRecord {
    /// Validates a record (`where_` prefixes the message).
    fn from_value(value: &Value, where_: &str) -> Result<TunnelRecord, String> {
        let mut record: TunnelRecord =
            serde_json::from_value(value.clone()).map_err(|e| format!("{where_}: {e}"))?;
        if record.pid == 0 {
            return Err(format!("{where_}: pid must be a positive integer"));
        }
        for (field, v) in [
            ("tunnelUuid", &record.tunnel_uuid),
            ("tunnelName", &record.tunnel_name),
            ("hostname", &record.hostname),
            ("startedAt", &record.started_at),
            ("configPath", &record.config_path),
        ] {
            if v.is_empty() {
                return Err(format!("{where_}: {field} must be a non-empty string"));
            }
        }
        if record.service_managed != Some(true) {
            record.service_managed = None;
        }
        Ok(record)
    }
}

/// Parses either version.
fn parse(value: &Value) -> Result<CloudflaredState, String> {
    let Some(o) = value.as_object() else {
        return Err("the top level must be an object".into());
    };
    match o.get("version").and_then(Value::as_u64) {
        Some(1) => {
            let record = TunnelRecord::from_value(value, "version 1 record")?;
            Ok(CloudflaredState::default().with_tunnel(record))
        }
        Some(2) => {
            let Some(tunnels) = o.get("tunnels").and_then(Value::as_object) else {
                return Err("\"tunnels\" must be an object".into());
            };
            let mut state = CloudflaredState::default();
            for (key, raw) in tunnels {
                let record = TunnelRecord::from_value(raw, &format!("tunnels.{key}"))?;
                if record.tunnel_name != *key {
                    return Err(format!(
                        "tunnels.{key}.tunnelName must equal its key, got {:?}",
                        record.tunnel_name
                    ));
                }
                state.tunnels.insert(key.clone(), record);
            }
            Ok(state)
        }
        _ => Err(format!(
            "unsupported version {} (expected 1 or 2)",
            o.get("version")
                .map_or("(missing)".into(), Value::to_string)
        )),
    }
}

/// Reads the state (a version 1 file is returned as version 2; it is rewritten on the next
/// [`write`]): `Ok(None)` when absent, an error naming the file when malformed.
pub fn read(home: &Home) -> Result<Option<CloudflaredState>, StateError> {
    let path = home.cloudflared_state();
    let Some(value) = load_state(&path)? else {
        return Ok(None);
    };
    parse(&value)
        .map(Some)
        .map_err(|detail| StateError::Malformed { path, detail })
}

/// Writes the state atomically as version 2.
pub fn write(home: &Home, state: &CloudflaredState) -> Result<(), StateError> {
    let state = CloudflaredState {
        version: 2,
        tunnels: state.tunnels.clone(),
    };
    save_state(&home.cloudflared_state(), &state, None)
}

/// Removes the state; `Ok(false)` when there was none.
pub fn remove(home: &Home) -> Result<bool, StateError> {
    remove_state(&home.cloudflared_state())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(name: &str) -> Value {
        json!({"pid": 4242, "tunnelUuid": "6f1c-uuid", "tunnelName": name,
            "hostname": "hub.example.com", "startedAt": "2026-01-01T00:00:00.000Z",
            "configPath": format!("/p/cloudflared/{name}/config.yml")})
    }

    #[test]
    fn version_1_is_upgraded_on_read_and_written_as_version_2() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let mut v1 = record("parachute");
        v1["version"] = json!(1);
        v1["serviceManaged"] = json!(false);
        std::fs::write(home.cloudflared_state(), v1.to_string()).unwrap();
        let state = read(&home).unwrap().unwrap();
        assert_eq!(state.version, 2);
        let rec = &state.tunnels["parachute"];
        assert_eq!(rec.pid, 4242);
        assert_eq!(rec.service_managed, None, "only true is kept");
        write(&home, &state).unwrap();
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(home.cloudflared_state()).unwrap())
                .unwrap();
        assert_eq!(
            on_disk,
            json!({"version": 2, "tunnels": {"parachute": record("parachute")}})
        );
    }

    #[test]
    fn version_2_round_trips_and_tunnels_are_added_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let mut b = record("b");
        b["serviceManaged"] = json!(true);
        let text =
            crate::json::pretty(&json!({"version": 2, "tunnels": {"a": record("a"), "b": b}}));
        std::fs::write(home.cloudflared_state(), &text).unwrap();
        let state = read(&home).unwrap().unwrap();
        assert_eq!(state.tunnels["b"].service_managed, Some(true));
        write(&home, &state).unwrap();
        assert_eq!(
            std::fs::read_to_string(home.cloudflared_state()).unwrap(),
            text
        );
        let rec_c: TunnelRecord = serde_json::from_value(record("c")).unwrap();
        let state = state.with_tunnel(rec_c);
        assert_eq!(state.tunnels.len(), 3);
        let state = state
            .without_tunnel("a")
            .unwrap()
            .without_tunnel("b")
            .unwrap();
        assert!(state.without_tunnel("c").is_none());
        assert!(remove(&home).unwrap());
        assert_eq!(read(&home).unwrap(), None);
    }

    #[test]
    fn malformed_states_are_errors_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let mut zero_pid = record("a");
        zero_pid["pid"] = json!(0);
        let mut empty_host = record("a");
        empty_host["hostname"] = json!("");
        let cases = [
            ("{oops".to_string(), "not valid JSON"),
            (json!({"version": 3}).to_string(), "unsupported version 3"),
            (
                json!({"version": 2, "tunnels": []}).to_string(),
                "\"tunnels\" must be an object",
            ),
            (
                json!({"version": 2, "tunnels": {"x": record("a")}}).to_string(),
                "must equal its key",
            ),
            (
                json!({"version": 2, "tunnels": {"a": zero_pid}}).to_string(),
                "pid must be a positive",
            ),
            (
                json!({"version": 2, "tunnels": {"a": empty_host}}).to_string(),
                "hostname must be",
            ),
        ];
        for (text, expected) in cases {
            std::fs::write(home.cloudflared_state(), &text).unwrap();
            let err = read(&home).unwrap_err().to_string();
            assert!(err.contains("cloudflared-state.json is malformed"), "{err}");
            assert!(err.contains(expected), "expected {expected:?} in {err}");
            assert_eq!(
                std::fs::read_to_string(home.cloudflared_state()).unwrap(),
                text
            );
        }
    }
}

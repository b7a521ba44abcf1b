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

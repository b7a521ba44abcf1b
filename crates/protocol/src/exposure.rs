//! What is exposed beyond loopback, as the state files record it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An exposure layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ExposureLayer {
    /// The owner's tailnet (`tailscale serve`).
    Tailnet,
    /// The internet through Tailscale Funnel.
    Funnel,
    /// The internet through a Cloudflare named tunnel.
    Cloudflare,
}

/// One Cloudflare tunnel the hub runs a connector for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TunnelSummary {
    /// Tunnel name.
    pub name: String,
    /// The public hostname it serves.
    pub hostname: String,
    /// Whether its connector runs as a managed unit.
    #[serde(default)]
    pub service_managed: bool,
}

/// The exposure the state files describe (`expose-state.json`, `cloudflared-state.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ExposureSnapshot {
    /// The live layer, `null` when the hub is on loopback only.
    #[serde(default)]
    pub layer: Option<ExposureLayer>,
    /// Where the hub is reached on that layer (`https://<host>`).
    #[serde(default)]
    pub url: Option<String>,
    /// The hub origin advertised to modules and OAuth clients on that layer.
    #[serde(default)]
    pub hub_origin: Option<String>,
    /// Cloudflare tunnels recorded.
    #[serde(default)]
    pub tunnels: Vec<TunnelSummary>,
    /// A state file that could not be read, named with the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

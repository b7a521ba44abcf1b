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

/// A layer `POST /api/expose` turns on or off (`public` in the CLI is Funnel or Cloudflare).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ExposeTarget {
    /// `tailscale serve` on the owner's tailnet.
    Tailnet,
    /// Tailscale Funnel (public).
    Funnel,
    /// A Cloudflare named tunnel (public, needs `domain`).
    Cloudflare,
}

/// `POST /api/expose`: what `parachute expose <layer> [off]` would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExposeRequest {
    /// The layer to change.
    pub layer: ExposeTarget,
    /// `true` brings it up, `false` takes it down.
    #[serde(default = "yes")]
    pub enable: bool,
    /// Cloudflare: the public hostname (required to bring a tunnel up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Cloudflare: the tunnel's name (default: derived from the hostname).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_name: Option<String>,
    /// Advertise this origin instead of `https://<host>` (the CLI's `--hub-origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_origin: Option<String>,
}

fn yes() -> bool {
    true
}

/// The answer to `POST /api/expose`: the exposure afterwards and every progress line the
/// exposure library wrote (the CLI prints the same lines). A failure is an error body whose
/// `lines` field carries the lines written before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExposeAnswer {
    /// What is exposed now.
    pub exposure: ExposureSnapshot,
    /// The progress lines, in order, as the CLI renders them.
    pub lines: Vec<String>,
    /// Whether the request changed nothing (taking down a layer that was not live).
    #[serde(default)]
    pub nothing_to_do: bool,
}

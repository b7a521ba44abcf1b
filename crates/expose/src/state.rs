//! Reading what is exposed from `expose-state.json`: which layer (and provider) a state file
//! describes.

use parachute_home::{ExposeState, ExposedVia};

/// A live exposure layer, as a state file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Active {
    /// `tailscale serve` on the tailnet.
    Tailnet {
        /// The node's DNS name.
        fqdn: String,
    },
    /// `tailscale funnel` on the internet.
    Funnel {
        /// The node's DNS name.
        fqdn: String,
    },
    /// A Cloudflare tunnel on the internet.
    Cloudflare {
        /// The public hostname.
        hostname: String,
        /// The tunnel's name, when known (from `cloudflared-state.json`).
        tunnel_name: Option<String>,
    },
}

impl Active {
    /// Which layer `state` describes. Tailscale writes `mode: path` (Funnel with `funnel:
    /// true`); the Cloudflare path writes `layer: public, mode: subdomain, funnel: false`.
    pub fn of(state: &ExposeState) -> Active {
        let host = state.canonical_fqdn.clone();
        match state.exposed_via() {
            ExposedVia::Tailnet => Active::Tailnet { fqdn: host },
            ExposedVia::Funnel => Active::Funnel { fqdn: host },
            ExposedVia::Cloudflare => Active::Cloudflare {
                hostname: host,
                tunnel_name: None,
            },
        }
    }

    /// A human label: `Tailnet`, `Public (Funnel)`, `Cloudflare tunnel`.
    pub fn label(&self) -> &'static str {
        match self {
            Active::Tailnet { .. } => "Tailnet",
            Active::Funnel { .. } => "Public (Funnel)",
            Active::Cloudflare { .. } => "Cloudflare tunnel",
        }
    }

    /// The public host name of the layer.
    pub fn host(&self) -> &str {
        match self {
            Active::Tailnet { fqdn } | Active::Funnel { fqdn } => fqdn,
            Active::Cloudflare { hostname, .. } => hostname,
        }
    }

    /// True for the Tailscale layers.
    pub fn is_tailscale(&self) -> bool {
        matches!(self, Active::Tailnet { .. } | Active::Funnel { .. })
    }

    /// The command that takes this layer down.
    pub fn off_command(&self) -> String {
        match self {
            Active::Tailnet { .. } => "parachute expose tailnet off".into(),
            Active::Funnel { .. } => "parachute expose public --tailnet off".into(),
            Active::Cloudflare { .. } => "parachute expose cloudflare off".into(),
        }
    }
}

/// Every origin a state makes valid: `https://<canonicalFqdn>` and the advertised origin (when
/// they differ). Once the layer is gone, none of them is served any more.
pub(crate) fn served_origins(state: &ExposeState) -> Vec<String> {
    let mut origins = vec![format!("https://{}", state.canonical_fqdn)];
    let advertised = advertised_origin(state);
    if !origins.contains(&advertised) {
        origins.push(advertised);
    }
    origins
}

/// The origin a state advertises ([`ExposeState::advertised_origin`]).
pub fn advertised_origin(state: &ExposeState) -> String {
    state.advertised_origin()
}

#[cfg(test)]
mod tests {
    use parachute_home::{EntryKind, ExposeEntry, Layer, Mode};

    use super::*;

    fn state(layer: Layer, funnel: bool, mode: Mode) -> ExposeState {
        ExposeState {
            version: 1,
            layer,
            mode,
            canonical_fqdn: "h.example".into(),
            port: 443,
            funnel,
            entries: vec![ExposeEntry {
                kind: EntryKind::Proxy,
                mount: "/".into(),
                target: "http://127.0.0.1:1939/".into(),
                service: "hub".into(),
            }],
            hub_origin: None,
        }
    }

    #[test]
    fn each_writer_shape_maps_to_its_layer() {
        let tailnet = state(Layer::Tailnet, false, Mode::Path);
        assert!(matches!(Active::of(&tailnet), Active::Tailnet { .. }));
        let funnel = state(Layer::Public, true, Mode::Path);
        assert!(matches!(Active::of(&funnel), Active::Funnel { .. }));
        let cf = state(Layer::Public, false, Mode::Subdomain);
        assert!(matches!(Active::of(&cf), Active::Cloudflare { .. }));
        assert_eq!(advertised_origin(&cf), "https://h.example");
        let mut with = cf.clone();
        with.hub_origin = Some("https://o.example".into());
        assert_eq!(advertised_origin(&with), "https://o.example");
    }
}

//! Exposure layers: the hub on the owner's tailnet (`tailscale serve`), on the internet through
//! Tailscale Funnel or a Cloudflare named tunnel, and back off again — never touching the hub
//! process itself.
//!
//! [`Exposure`] is the whole API; the CLI (`parachute expose …`) and the desktop tray are thin
//! layers over it. Every operation returns a report whose [`Line`]s are what to show, plus the
//! structured facts (URL, origin, who can reach what, module restarts).
//!
//! # Bringing a layer up ([`Exposure::up`])
//!
//! Checks come first and change nothing: the tool is installed (and, for Cloudflare, logged
//! in: `~/.cloudflared/cert.pem`), `services.json` reads strictly and has what the layer needs,
//! the state files parse, and the hub answers (its unit is started if needed). Then:
//!
//! - **Tailnet / Funnel**: a previous Tailscale layer is taken down (`… off`; "does not exist"
//!   counts as done) and its record removed; modules whose port does not answer get a warning;
//!   `well-known/parachute.json` and `hub.html` are written; ONE handler is added:
//!   `tailscale serve|funnel --bg --https=443 --set-path=/ http://127.0.0.1:<hubPort>/`; then
//!   `expose-state.json` (`mode: path`). A failed handler leaves nothing exposed and no record
//!   (the origin of a layer it replaced is withdrawn, as by `off`), so a re-run starts clean.
//! - **Cloudflare**: find-or-create the tunnel (`tunnel list --output json`, `tunnel create`),
//!   `tunnel route dns --overwrite-dns`, `cloudflared/<tunnel>/config.yml`, every earlier
//!   connector of the tunnel stopped (and the legacy shared `parachute` tunnel retired), the
//!   connector installed as a managed unit (a detached process when there is no service
//!   manager), `cloudflared-state.json` v2, then `expose-state.json` (`mode: subdomain`). A
//!   Tailscale layer recorded there is taken down first: the file describes one layer.
//!
//! Afterwards the origin is propagated (see below). A public layer prints who can now reach what
//! and a sign-in warning.
//!
//! # Taking a layer down ([`Exposure::off`])
//!
//! A layer that is not live is a harmless no-op with a hint naming what is live. Tailscale:
//! `… off` per recorded entry; a real failure keeps the state file so the same command retries.
//! Cloudflare: connector unit removed, every connector of the tunnel stopped, record dropped;
//! `expose-state.json` is removed only when it describes a tunnel taken down (another layer's
//! record stays). The hub keeps running in every case.
//!
//! # Origin propagation (after every up and every off that changed something)
//!
//! 1. The operator token is re-issued for the new origin (up), or — when its origin went away —
//!    for the remaining origin or loopback (off), so CLI verbs keep authenticating.
//! 2. `PARACHUTE_HUB_ORIGIN` in `vault/.env` (and in every installed module's `.env` that
//!    carries it) is set to the new origin, or removed when nothing is exposed any more.
//! 3. Those modules are restarted through the running hub's supervisor
//!    (`POST /api/modules/<short>/restart`); a module that is not running is fine, a failed
//!    restart is a warning, never a failed exposure.

#![warn(missing_docs)]

mod cloudflare_flow;
mod cloudflared;
mod connector;
pub mod discovery;
mod error;
mod exposure;
mod origin;
mod pick;
mod reach;
mod report;
mod state;
mod tailscale;
mod tailscale_flow;
mod target;

pub use cloudflared::Tunnel;
pub use error::ExposeError;
pub use exposure::{ExposeConfig, Exposure, UpOptions};
pub use origin::ORIGIN_VAR;
pub use pick::ProviderAvailability;
pub use report::{
    ExposureStatus, Level, Line, OffReport, Progress, Reach, RestartOutcome, UpReport,
};
pub use state::{Active, advertised_origin};
pub use tailscale::TailscaleStatus;
pub use target::{
    CloudflareTarget, LEGACY_TUNNEL_NAME, OffTarget, Target, default_tunnel_name, fnv1a32,
    validate_hostname, validate_hub_origin, validate_tunnel_name,
};

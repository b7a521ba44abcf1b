//! Exposure layers: tailnet (tailscale serve), public (funnel) and Cloudflare tunnels, and off.

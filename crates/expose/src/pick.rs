//! `expose public` without a provider flag: which providers are ready, and the choice.

use crate::cloudflared::{Cloudflared, install_hint};
use crate::error::ExposeError;
use crate::exposure::Exposure;
use crate::tailscale::Tailscale;
use crate::target::{CloudflareTarget, Target};

/// How far each provider is set up on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderAvailability {
    /// `tailscale version` runs.
    pub tailscale_installed: bool,
    /// The node is logged in to a tailnet (it has a DNS name).
    pub tailscale_logged_in: bool,
    /// The node's capabilities allow Funnel.
    pub funnel_enabled: bool,
    /// `cloudflared --version` runs.
    pub cloudflared_installed: bool,
    /// `~/.cloudflared/cert.pem` exists.
    pub cloudflared_logged_in: bool,
}

impl ProviderAvailability {
    /// Tailscale Funnel can be brought up.
    pub fn funnel_ready(&self) -> bool {
        self.tailscale_installed && self.tailscale_logged_in && self.funnel_enabled
    }

    /// A Cloudflare tunnel can be brought up (given a hostname).
    pub fn cloudflare_ready(&self) -> bool {
        self.cloudflared_installed && self.cloudflared_logged_in
    }

    /// What each provider still needs, one step per line.
    pub fn pointers(&self) -> String {
        let mut lines =
            vec!["Tailscale Funnel (free, a *.ts.net address, no domain needed):".to_string()];
        let done = |ok: bool, step: &str| {
            if ok {
                format!("  ✓ {step}")
            } else {
                format!("  - {step}")
            }
        };
        lines.push(done(
            self.tailscale_installed,
            "install tailscale: https://tailscale.com/download",
        ));
        lines.push(done(self.tailscale_logged_in, "log in: `tailscale up`"));
        lines.push(done(
            self.funnel_enabled,
            "allow Funnel for this machine: https://login.tailscale.com/admin/acls",
        ));
        lines.push("Cloudflare tunnel (your own domain on Cloudflare DNS):".to_string());
        let install = format!("install cloudflared: {}", install_hint());
        lines.push(done(self.cloudflared_installed, &install));
        lines.push(done(
            self.cloudflared_logged_in,
            "log in: `cloudflared tunnel login`",
        ));
        lines.push("  - then: `parachute expose public --cloudflare --domain <hostname>`".into());
        lines.push(
            "Or skip this check and use Funnel anyway: `parachute expose public --skip-provider-check`."
                .into(),
        );
        lines.join("\n")
    }
}

impl Exposure {
    /// Probes both providers (runs `tailscale version`, `tailscale status --json`,
    /// `cloudflared --version`; looks for `cert.pem`). Never fails.
    pub fn providers(&self) -> ProviderAvailability {
        let ts = Tailscale::new(self.runner.as_ref());
        let mut p = ProviderAvailability {
            tailscale_installed: ts.check_installed().is_ok(),
            ..Default::default()
        };
        if p.tailscale_installed
            && let Ok(status) = ts.status()
        {
            p.tailscale_logged_in = status.fqdn.is_some();
            p.funnel_enabled = status.funnel;
        }
        p.cloudflared_installed = Cloudflared::new(self.runner.as_ref())
            .check_installed()
            .is_ok();
        p.cloudflared_logged_in =
            p.cloudflared_installed && self.config.cloudflared_home.join("cert.pem").is_file();
        p
    }

    /// Chooses the public provider without asking: the only ready one (Cloudflare needs
    /// `domain`); both ready or none ready is an error explaining how to choose or set one up.
    /// Returns the target and a sentence saying why it was chosen.
    pub fn pick_public(
        &self,
        domain: Option<&str>,
        tunnel_name: Option<&str>,
    ) -> Result<(Target, String), ExposeError> {
        let p = self.providers();
        match (p.funnel_ready(), p.cloudflare_ready()) {
            (true, true) => Err(ExposeError::AmbiguousProvider),
            (false, false) => Err(ExposeError::NoProvider {
                pointers: p.pointers(),
            }),
            (true, false) => Ok((
                Target::Funnel,
                "Using Tailscale Funnel, the only public provider set up on this machine.".into(),
            )),
            (false, true) => {
                let domain = domain.ok_or(ExposeError::DomainRequired)?;
                Ok((
                    Target::Cloudflare(CloudflareTarget::new(domain, tunnel_name)?),
                    "Using a Cloudflare tunnel, the only public provider set up on this machine."
                        .into(),
                ))
            }
        }
    }
}

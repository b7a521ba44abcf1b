//! [`Exposure`]: the library API the CLI and the desktop tray call — bring a layer up, take it
//! down, say what is exposed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parachute_home::{ExposeState, Home, cloudflared_state, expose_state};
use parachute_os::CommandRunner;
use parachute_unit::{EnsureConfig, ManagedUnit};

use crate::connector::Connector;
use crate::error::ExposeError;
use crate::origin::{self, OriginChange};
use crate::report::{ExposureStatus, Log, OffReport, Progress, UpReport};
use crate::state::{Active, advertised_origin, served_origins};
use crate::target::{OffTarget, Target, validate_hub_origin};
use crate::{cloudflare_flow, tailscale_flow};

/// Knobs of an [`Exposure`]. Production uses [`ExposeConfig::for_user_home`]; tests shorten
/// nothing but point `cloudflared_home` into a temp dir.
#[derive(Clone)]
pub struct ExposeConfig {
    /// cloudflared's own directory (`~/.cloudflared`): `cert.pem` (the login marker) and the
    /// tunnel credentials live there.
    pub cloudflared_home: PathBuf,
    /// How long to wait for the hub unit to answer after starting it.
    pub hub_ready_timeout: Duration,
    /// How long to wait for a connector started by its unit to show up.
    pub connector_appear_timeout: Duration,
    /// How long a stopped connector gets between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// Receives report lines as they are produced (the CLI prints them at once).
    pub progress: Option<Progress>,
    /// The caller's runtime, for the loopback calls to the hub (module restarts). `None`: a
    /// small one is made for the call. Calls must come from outside async code (a blocking
    /// thread, `spawn_blocking`): the API blocks.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl ExposeConfig {
    /// Defaults for a user whose home directory is `user_home`.
    pub fn for_user_home(user_home: &Path) -> Self {
        Self {
            cloudflared_home: user_home.join(".cloudflared"),
            hub_ready_timeout: Duration::from_secs(15),
            connector_appear_timeout: Duration::from_secs(15),
            stop_grace: Duration::from_secs(5),
            progress: None,
            runtime: None,
        }
    }
}

impl std::fmt::Debug for ExposeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExposeConfig")
            .field("cloudflared_home", &self.cloudflared_home)
            .field("hub_ready_timeout", &self.hub_ready_timeout)
            .field("connector_appear_timeout", &self.connector_appear_timeout)
            .field("stop_grace", &self.stop_grace)
            .finish_non_exhaustive()
    }
}

/// Options of [`Exposure::up`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpOptions {
    /// Advertise this origin (the OAuth issuer modules check) instead of `https://<host>`.
    pub hub_origin: Option<String>,
}

/// Exposure of one hub. Every method blocks (it runs external tools and waits for them); call
/// it from a blocking thread in async code. It never stops or restarts the hub itself.
pub struct Exposure {
    /// The config home.
    pub(crate) home: Home,
    /// Runs `tailscale`, `cloudflared` and friends.
    pub(crate) runner: Arc<dyn CommandRunner>,
    /// The service manager: brings the hub up, runs the cloudflared connector.
    pub(crate) units: ManagedUnit,
    /// Knobs.
    pub(crate) config: ExposeConfig,
}

/// What a teardown took away, before origin propagation.
#[derive(Debug, Default)]
pub(crate) struct Removed {
    /// The layers taken down.
    pub(crate) layers: Vec<Active>,
    /// Origins that are no longer served.
    pub(crate) origins: Vec<String>,
}

impl Exposure {
    /// An exposure manager for `home`.
    pub fn new(
        home: Home,
        runner: Arc<dyn CommandRunner>,
        units: ManagedUnit,
        config: ExposeConfig,
    ) -> Self {
        Self {
            home,
            runner,
            units,
            config,
        }
    }

    /// Brings `target` up (replacing a previous Tailscale layer), then hands the new origin to
    /// the modules that depend on it. See the crate docs for the exact sequence.
    pub fn up(&self, target: &Target, options: &UpOptions) -> Result<UpReport, ExposeError> {
        let hub_origin = options
            .hub_origin
            .as_deref()
            .map(validate_hub_origin)
            .transpose()?;
        let mut log = self.log();
        let prior = expose_state::read(&self.home).ok().flatten();
        let flow = match target {
            Target::Tailnet => tailscale_flow::up(self, false, hub_origin, &mut log),
            Target::Funnel => tailscale_flow::up(self, true, hub_origin, &mut log),
            Target::Cloudflare(cf) => cloudflare_flow::up(self, cf, hub_origin, &mut log),
        };
        let mut report = match flow {
            Ok(report) => report,
            Err(err) => {
                self.withdraw_replaced(prior.as_ref(), &mut log);
                return Err(err);
            }
        };
        report.restarts = origin::propagate(
            &self.home,
            self.config.runtime.as_ref(),
            self.hub_port()?,
            &OriginChange::Up {
                origin: report.hub_origin.clone(),
            },
            &mut log,
        );
        report.warnings = log.warnings();
        report.lines = log.into_lines();
        Ok(report)
    }

    /// After a failed [`Exposure::up`]: when the flow had already taken the previous layer down
    /// (its record is gone), that layer's origin is withdrawn as an `off` would, so the modules
    /// and the operator token are not left on an origin nothing serves. The retry starts clean.
    fn withdraw_replaced(&self, prior: Option<&ExposeState>, log: &mut Log) {
        let Some(prior) = prior else {
            return;
        };
        if !matches!(expose_state::read(&self.home), Ok(None)) {
            return;
        }
        let Ok(port) = self.hub_port() else {
            return;
        };
        origin::propagate(
            &self.home,
            self.config.runtime.as_ref(),
            port,
            &OriginChange::Off {
                removed: served_origins(prior),
                remaining: None,
            },
            log,
        );
    }

    /// Takes `target` down. A layer that is not live is a harmless no-op
    /// ([`OffReport::nothing_to_do`]); the hub keeps running either way.
    pub fn off(&self, target: &OffTarget) -> Result<OffReport, ExposeError> {
        let mut log = self.log();
        let removed = match target {
            OffTarget::Tailnet => tailscale_flow::off(self, false, &mut log)?,
            OffTarget::Funnel => tailscale_flow::off(self, true, &mut log)?,
            OffTarget::Cloudflare { tunnel_name } => {
                cloudflare_flow::off(self, tunnel_name.as_deref(), &mut log)?
            }
            OffTarget::AnyPublic => self.off_any_public(&mut log)?,
        };
        let nothing_to_do = removed.layers.is_empty();
        let restarts = if nothing_to_do {
            Vec::new()
        } else {
            let remaining = expose_state::read(&self.home)
                .ok()
                .flatten()
                .map(|s| advertised_origin(&s));
            origin::propagate(
                &self.home,
                self.config.runtime.as_ref(),
                self.hub_port()?,
                &OriginChange::Off {
                    removed: removed.origins,
                    remaining,
                },
                &mut log,
            )
        };
        Ok(OffReport {
            removed: removed.layers,
            nothing_to_do,
            restarts,
            warnings: log.warnings(),
            lines: log.into_lines(),
        })
    }

    /// `expose public off`: Funnel, Cloudflare tunnels, or both when both are live.
    fn off_any_public(&self, log: &mut Log) -> Result<Removed, ExposeError> {
        let funnel = expose_state::read(&self.home)?
            .is_some_and(|s| matches!(Active::of(&s), Active::Funnel { .. }));
        let tunnels = cloudflared_state::read(&self.home)?.is_some_and(|s| !s.tunnels.is_empty());
        let mut removed = Removed::default();
        match (funnel, tunnels) {
            (false, false) => {
                log.info("No public exposure is active; nothing to take down.");
            }
            (true, false) => removed = tailscale_flow::off(self, true, log)?,
            (false, true) => removed = cloudflare_flow::off(self, None, log)?,
            (true, true) => {
                log.info(
                    "Both Tailscale Funnel and Cloudflare tunnels are live; taking both down.",
                );
                let a = tailscale_flow::off(self, true, log)?;
                let b = cloudflare_flow::off(self, None, log)?;
                removed.layers = a.layers.into_iter().chain(b.layers).collect();
                removed.origins = a.origins.into_iter().chain(b.origins).collect();
            }
        }
        Ok(removed)
    }

    /// What is exposed right now, read from the state files.
    pub fn current(&self) -> Result<ExposureStatus, ExposeError> {
        let state = expose_state::read(&self.home)?;
        let tunnels: Vec<_> = cloudflared_state::read(&self.home)?
            .map(|s| s.tunnels.into_values().collect())
            .unwrap_or_default();
        let active = state.as_ref().map(|s| match Active::of(s) {
            Active::Cloudflare { hostname, .. } => Active::Cloudflare {
                tunnel_name: tunnels
                    .iter()
                    .find(|t| t.hostname == hostname)
                    .map(|t| t.tunnel_name.clone()),
                hostname,
            },
            other => other,
        });
        Ok(ExposureStatus {
            active,
            hub_origin: state.as_ref().map(advertised_origin),
            tunnels,
        })
    }

    /// The hub port (`hub/run/hub.port`, else 1939); a file holding no port is an error
    /// naming it.
    pub fn hub_port(&self) -> Result<u16, ExposeError> {
        Ok(parachute_client::hub_port(&self.home)?)
    }

    /// A fresh log forwarding to the progress sink.
    pub(crate) fn log(&self) -> Log {
        Log::new(self.config.progress.clone())
    }

    /// Makes sure the hub answers (starting its unit if needed); returns its port.
    pub(crate) fn ensure_hub(&self, log: &mut Log) -> Result<u16, ExposeError> {
        let port = self.hub_port()?;
        let mut cfg = EnsureConfig::for_port(port);
        cfg.ready_timeout = self.config.hub_ready_timeout;
        cfg.log_path = Some(self.home.hub_log());
        let outcome = self.units.ensure_hub_up(&cfg);
        if outcome.is_up() {
            log.ok(format!("The hub is up on 127.0.0.1:{port}."));
            Ok(port)
        } else {
            Err(ExposeError::HubDown {
                message: outcome.message(),
            })
        }
    }

    /// The connector helper.
    pub(crate) fn connector(&self) -> Connector<'_> {
        Connector {
            runner: self.runner.as_ref(),
            units: &self.units,
            appear_timeout: self.config.connector_appear_timeout,
            stop_grace: self.config.stop_grace,
        }
    }
}

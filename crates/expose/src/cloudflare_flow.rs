//! `expose cloudflare --domain <host>` (= `expose public --cloudflare`) and its `off`: a named
//! tunnel per hostname, a DNS route, `config.yml`, and the connector as a managed unit.

use parachute_home::{
    CloudflaredState, EntryKind, ExposeEntry, ExposeState, Layer, Mode, Provider, TunnelRecord,
    cloudflared_state, expose_last_provider, expose_state, services, write_atomic,
};
use parachute_unit::UnitId;

use crate::cloudflared::{Cloudflared, credentials_path, render_config};
use crate::connector::TunnelIds;

use crate::error::ExposeError;
use crate::exposure::{Exposure, Removed};

use crate::report::finish_up;
use crate::report::{Log, UpReport};
use crate::state::{Active, advertised_origin};
use crate::tailscale::Tailscale;
use crate::tailscale_flow;
use crate::target::{CloudflareTarget, LEGACY_TUNNEL_NAME, default_tunnel_name};

/// `<home>/cloudflared/<tunnel>/cloudflared.log`: the connector's output.
fn log_path(exp: &Exposure, tunnel: &str) -> std::path::PathBuf {
    exp.home
        .cloudflared_dir()
        .join(tunnel)
        .join("cloudflared.log")
}

/// Brings the tunnel for `target` up. Checks first (cloudflared, login, vault, state files,
/// hub), then acts: find-or-create the tunnel, route DNS, write `config.yml`, replace any
/// connector of this tunnel, retire the legacy shared tunnel, start the connector, record it.
pub(crate) fn up(
    exp: &Exposure,
    target: &CloudflareTarget,
    hub_origin: Option<String>,
    log: &mut Log,
) -> Result<UpReport, ExposeError> {
    let cf = Cloudflared::new(exp.runner.as_ref());
    let version = cf.check_installed()?;
    tracing::debug!(%version, "cloudflared found");
    let cert = exp.config.cloudflared_home.join("cert.pem");
    if !cert.is_file() {
        return Err(ExposeError::CloudflaredNotLoggedIn { cert });
    }
    let manifest = services::read_strict(&exp.home)?;
    let vault =
        manifest
            .find_short("vault")
            .cloned()
            .ok_or_else(|| ExposeError::VaultNotInstalled {
                install: parachute_client::install_command(&exp.home, "vault"),
            })?;
    let host = target.hostname();
    let name = target.tunnel_name();
    let url = format!("https://{host}");
    let hub_origin = hub_origin.unwrap_or_else(|| url.clone());
    let prior_expose = expose_state::read(&exp.home)?;
    let prior_tunnels = cloudflared_state::read(&exp.home)?.unwrap_or_default();
    let port = exp.ensure_hub(log)?;

    let tunnel = match cf.list()?.into_iter().find(|t| t.name == name) {
        Some(t) => {
            // A tunnel made on another machine has its credentials there: a connector started
            // here could never log in. Say so before anything changes.
            let creds = credentials_path(&exp.config.cloudflared_home, &t.id);
            if !creds.is_file() {
                return Err(ExposeError::TunnelCredentialsMissing {
                    name: name.to_string(),
                    path: creds,
                });
            }
            log.ok(format!("Reusing Cloudflare tunnel {name} ({}).", t.id));
            t
        }
        None => {
            log.info(format!("Creating Cloudflare tunnel {name}…"));
            let t = cf.create(name)?;
            log.ok(format!("Created tunnel {name} ({}).", t.id));
            t
        }
    };
    log.command(&[
        "cloudflared",
        "tunnel",
        "route",
        "dns",
        "--overwrite-dns",
        name,
        host,
    ]);
    cf.route_dns(name, host)?;
    log.ok(format!("DNS: {host} now points at tunnel {name}."));

    let config = exp.home.cloudflared_config(name);
    let creds = credentials_path(&exp.config.cloudflared_home, &tunnel.id);
    let text = render_config(&tunnel.id, &creds, host, port);
    write_atomic(&config, text.as_bytes(), None).map_err(|e| ExposeError::write(&config, e))?;
    log.ok(format!("Wrote {}.", config.display()));

    let connector = exp.connector();
    if let Ok(id) = UnitId::cloudflared(name) {
        let _ = exp.units.remove(&id);
    }
    let prior = prior_tunnels.tunnels.get(name).cloned();
    connector.stop_all(
        TunnelIds {
            name,
            uuid: &tunnel.id,
            config: &config,
        },
        prior.as_ref().map(|r| r.pid),
        log,
    );
    let mut tunnels = prior_tunnels.clone();
    if name != LEGACY_TUNNEL_NAME
        && let Some(legacy) = tunnels.tunnels.get(LEGACY_TUNNEL_NAME).cloned()
    {
        connector.tear_down(&legacy, log);
        log.info(format!(
            "  retired the shared legacy tunnel {LEGACY_TUNNEL_NAME} on this machine ({host} now has its own tunnel)"
        ));
        tunnels.tunnels.remove(LEGACY_TUNNEL_NAME);
    }

    let started = connector.start(
        TunnelIds {
            name,
            uuid: &tunnel.id,
            config: &config,
        },
        &log_path(exp, name),
        log,
    )?;
    let record = TunnelRecord {
        pid: started.pid,
        tunnel_uuid: tunnel.id.clone(),
        tunnel_name: name.to_string(),
        hostname: host.to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        config_path: config.display().to_string(),
        service_managed: started.service_managed.then_some(true),
    };
    cloudflared_state::write(&exp.home, &tunnels.with_tunnel(record))?;

    if let Some(prior) = &prior_expose
        && Active::of(prior).is_tailscale()
    {
        retire_tailscale(exp, prior, log);
    }
    let state = ExposeState {
        version: 1,
        layer: Layer::Public,
        mode: Mode::Subdomain,
        canonical_fqdn: host.to_string(),
        port,
        funnel: false,
        entries: vec![ExposeEntry {
            kind: EntryKind::Proxy,
            mount: "/".into(),
            target: format!("http://127.0.0.1:{port}"),
            service: "hub".into(),
        }],
        hub_origin: Some(hub_origin.clone()),
    };
    expose_state::write(&exp.home, &state)?;
    if let Err(e) = expose_last_provider::write(&exp.home, Provider::Cloudflare) {
        tracing::warn!(%e, "could not record the last exposure provider");
    }

    let vault_path = vault
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| "/vault/default".into());
    log.info("");
    log.ok(format!("Cloudflare tunnel is up. Open {url}/"));
    log.info(format!(
        "  Tunnel:       {name} ({}), dedicated to this machine",
        tunnel.id
    ));
    log.info(format!("  Dashboard:    {url}/admin/"));
    log.info(format!("  Vault:        {url}{vault_path}"));
    log.info(format!(
        "  Connector log: {}",
        log_path(exp, name).display()
    ));
    let active = Active::Cloudflare {
        hostname: host.to_string(),
        tunnel_name: Some(name.to_string()),
    };
    Ok(finish_up(log, &manifest, active, url, hub_origin))
}

/// A Cloudflare bring-up replaces the Tailscale layer recorded in `expose-state.json` (the file
/// holds one layer): its handler is taken down so nothing stays served without a record.
fn retire_tailscale(exp: &Exposure, prior: &ExposeState, log: &mut Log) {
    let active = Active::of(prior);
    log.info(format!(
        "Taking the {} exposure down (the Cloudflare tunnel replaces it)…",
        active.label()
    ));
    let ts = Tailscale::new(exp.runner.as_ref());
    // Not fatal: the tunnel is already up, and the record is replaced either way.
    if let Err(ExposeError::Teardown { command, detail }) =
        tailscale_flow::teardown_entries(&ts, prior, log)
    {
        log.warn(format!(
            "`{command}` failed ({detail}); https://{} may still be served. Run `{command}` by hand.",
            prior.canonical_fqdn
        ));
    }
    crate::discovery::remove_files(&exp.home);
}

/// Takes the named tunnel (or every recorded tunnel) down. `expose-state.json` is removed only
/// when it describes a tunnel taken down here (SPEC Part A item 12).
pub(crate) fn off(
    exp: &Exposure,
    tunnel_name: Option<&str>,
    log: &mut Log,
) -> Result<Removed, ExposeError> {
    let expose = expose_state::read(&exp.home)?;
    let state = cloudflared_state::read(&exp.home)?.unwrap_or_default();
    let targets: Vec<TunnelRecord> = match tunnel_name {
        Some(name) => match state.tunnels.get(name) {
            Some(record) => vec![record.clone()],
            None => {
                if state.tunnels.is_empty() {
                    log.info("No Cloudflare exposure is recorded; nothing to take down.");
                } else {
                    let names: Vec<&str> = state.tunnels.keys().map(String::as_str).collect();
                    log.info(format!(
                        "No Cloudflare tunnel named {name} is recorded (recorded: {}); nothing was changed.",
                        names.join(", ")
                    ));
                }
                return Ok(Removed::default());
            }
        },
        None => state.tunnels.values().cloned().collect(),
    };
    if targets.is_empty() {
        log.info("No Cloudflare exposure is recorded; nothing to take down.");
        return Ok(Removed::default());
    }
    if targets.len() > 1 {
        let names: Vec<&str> = targets.iter().map(|t| t.tunnel_name.as_str()).collect();
        log.info(format!(
            "Taking down all {} recorded tunnels: {}.",
            targets.len(),
            names.join(", ")
        ));
    }
    let connector = exp.connector();
    let mut remaining: Option<CloudflaredState> = Some(state);
    let mut removed = Removed::default();
    for record in &targets {
        log.info(format!(
            "Taking tunnel {} (https://{}) down…",
            record.tunnel_name, record.hostname
        ));
        connector.tear_down(record, log);
        remaining = remaining.and_then(|s| s.without_tunnel(&record.tunnel_name));
        let reuse = if record.tunnel_name == default_tunnel_name(&record.hostname) {
            String::new()
        } else {
            format!(" --tunnel-name {}", record.tunnel_name)
        };
        log.ok(format!(
            "{} is no longer reachable through this machine; the hub keeps running.",
            record.hostname
        ));
        log.info(format!(
            "  The tunnel stays defined in Cloudflare; `parachute expose cloudflare --domain {}{reuse}` reuses it.",
            record.hostname
        ));
        removed.layers.push(Active::Cloudflare {
            hostname: record.hostname.clone(),
            tunnel_name: Some(record.tunnel_name.clone()),
        });
        removed.origins.push(format!("https://{}", record.hostname));
    }
    match &remaining {
        Some(state) => cloudflared_state::write(&exp.home, state)?,
        None => {
            cloudflared_state::remove(&exp.home)?;
        }
    }
    if let Some(expose) = expose {
        let active = Active::of(&expose);
        let describes_removed = matches!(&active, Active::Cloudflare { hostname, .. }
            if targets.iter().any(|t| &t.hostname == hostname));
        if describes_removed {
            let origin = advertised_origin(&expose);
            if !removed.origins.contains(&origin) {
                removed.origins.push(origin);
            }
            expose_state::remove(&exp.home)?;
        } else {
            log.info(format!(
                "The {} exposure (https://{}) stays up.",
                active.label(),
                active.host()
            ));
        }
    }
    Ok(removed)
}

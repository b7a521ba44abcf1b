//! `expose tailnet` and `expose public --tailnet` (Funnel): one catch-all handler,
//! `/ → http://127.0.0.1:<hubPort>/` on HTTPS 443, and its teardown.

use std::time::Duration;

use parachute_home::{
    EntryKind, ExposeEntry, ExposeState, Layer, Mode, Provider, expose_last_provider, expose_state,
    services,
};

use crate::discovery;
use crate::error::ExposeError;
use crate::exposure::{Exposure, Removed};

use crate::report::finish_up;
use crate::report::{Log, UpReport};
use crate::state::{Active, served_origins};
use crate::tailscale::{Tailscale, already_gone, bringup_args, teardown_args};

/// The HTTPS port Tailscale serves on.
const HTTPS_PORT: u16 = 443;

/// The label of a Tailscale layer.
fn label(funnel: bool) -> &'static str {
    if funnel { "Public (Funnel)" } else { "Tailnet" }
}

/// Brings the tailnet (`funnel = false`) or Funnel layer up. Checks first (tailscale, modules,
/// tailnet name, hub), then acts: prior Tailscale layer down, discovery files, the serve
/// handler, the state file.
pub(crate) fn up(
    exp: &Exposure,
    funnel: bool,
    hub_origin: Option<String>,
    log: &mut Log,
) -> Result<UpReport, ExposeError> {
    let ts = Tailscale::new(exp.runner.as_ref());
    ts.check_installed()?;
    let manifest = services::read_strict(&exp.home)?;
    if manifest.services.is_empty() {
        return Err(ExposeError::NoServices {
            install: parachute_client::install_command(&exp.home, "vault"),
        });
    }
    let (fqdn, status) = ts.fqdn()?;
    let url = format!("https://{fqdn}");
    let hub_origin = hub_origin.unwrap_or_else(|| url.clone());
    let prior = expose_state::read(&exp.home)?;
    let port = exp.ensure_hub(log)?;
    if !status.https {
        log.warn(
            "HTTPS certificates are not enabled on this tailnet yet; tailscale waits until you enable them (run `tailscale serve --bg 443` by hand to get the link).",
        );
    }
    if funnel && !status.funnel {
        log.warn(
            "Funnel is not enabled for this machine yet; tailscale waits until you allow it in the admin console (https://login.tailscale.com/admin/acls).",
        );
    }

    if let Some(prior) = prior {
        match Active::of(&prior) {
            Active::Cloudflare { hostname, .. } => log.warn(format!(
                "A Cloudflare tunnel still serves https://{hostname}; it stays up (take it down with `parachute expose cloudflare off`)."
            )),
            active => {
                log.info(format!(
                    "Taking the current {} exposure down first…",
                    active.label()
                ));
                teardown_entries(&ts, &prior, log)?;
                expose_state::remove(&exp.home)?;
            }
        }
    }

    for row in manifest.module_rows() {
        if !parachute_os::port::is_listening(row.port, Duration::from_secs(1)) {
            log.warn(format!(
                "{} (port {}) is not answering; requests for {} will fail until it runs (`parachute start {}`).",
                row.name,
                row.port,
                row.paths.first().map_or("it", String::as_str),
                row.short()
            ));
        }
    }
    discovery::write_files(&exp.home, &url)?;

    let target = format!("http://127.0.0.1:{port}/");
    let audience = if funnel {
        "the internet (Funnel)"
    } else {
        "your tailnet"
    };
    log.info(format!("Exposing {url} to {audience} → {target}"));
    let args = bringup_args(funnel, HTTPS_PORT, "/", &target);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    log.command(&[&["tailscale"][..], &argv].concat());
    let out = ts.run(&argv);
    if !out.success() {
        return Err(ExposeError::Bringup {
            command: format!("tailscale {}", args.join(" ")),
            detail: out.failure_detail(),
        });
    }

    let state = ExposeState {
        version: 1,
        layer: if funnel {
            Layer::Public
        } else {
            Layer::Tailnet
        },
        mode: Mode::Path,
        canonical_fqdn: fqdn.clone(),
        port: HTTPS_PORT,
        funnel,
        entries: vec![ExposeEntry {
            kind: EntryKind::Proxy,
            mount: "/".into(),
            target,
            service: "hub".into(),
        }],
        hub_origin: Some(hub_origin.clone()),
    };
    expose_state::write(&exp.home, &state)?;
    if let Err(e) = expose_last_provider::write(&exp.home, Provider::Tailscale) {
        tracing::warn!(%e, "could not record the last exposure provider");
    }

    let active = Active::of(&state);
    log.info("");
    log.ok(format!("{} exposure is up. Open {url}/", label(funnel)));
    Ok(finish_up(log, &manifest, active, url, hub_origin))
}

/// Runs `tailscale serve|funnel … off` for every entry of `state`; a handler that is already
/// gone counts as done, any other failure stops with [`ExposeError::Teardown`].
pub(crate) fn teardown_entries(
    ts: &Tailscale<'_>,
    state: &ExposeState,
    log: &mut Log,
) -> Result<(), ExposeError> {
    for entry in &state.entries {
        let args = teardown_args(state.funnel, state.port, &entry.mount);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        log.command(&[&["tailscale"][..], &argv].concat());
        let out = ts.run(&argv);
        if out.success() {
            continue;
        }
        if already_gone(&out) {
            let first = out.stderr.lines().next().unwrap_or("already gone").trim();
            log.info(format!("  (already gone: {first})"));
            continue;
        }
        return Err(ExposeError::Teardown {
            command: format!("tailscale {}", args.join(" ")),
            detail: out.failure_detail(),
        });
    }
    Ok(())
}

/// Takes the tailnet or Funnel layer down. Another live layer makes this a no-op with a hint.
pub(crate) fn off(exp: &Exposure, funnel: bool, log: &mut Log) -> Result<Removed, ExposeError> {
    let wanted = label(funnel);
    let Some(state) = expose_state::read(&exp.home)? else {
        log.info(format!(
            "No {wanted} exposure is recorded; nothing to take down."
        ));
        return Ok(Removed::default());
    };
    let active = Active::of(&state);
    let matches = match &active {
        Active::Tailnet { .. } => !funnel,
        Active::Funnel { .. } => funnel,
        Active::Cloudflare { .. } => false,
    };
    if !matches {
        log.info(format!(
            "No {wanted} exposure is recorded; the current exposure is {} (https://{}).",
            active.label(),
            active.host()
        ));
        log.info(format!(
            "To take that one down instead: {}",
            active.off_command()
        ));
        return Ok(Removed::default());
    }
    log.info(format!("Taking the {wanted} exposure down…"));
    let ts = Tailscale::new(exp.runner.as_ref());
    if let Err(e) = teardown_entries(&ts, &state, log) {
        log.warn("Teardown failed; the state file stays so the same command can retry.");
        return Err(e);
    }
    expose_state::remove(&exp.home)?;
    discovery::remove_files(&exp.home);
    log.ok(format!(
        "{wanted} exposure removed; the hub keeps running on 127.0.0.1:{}.",
        exp.hub_port()?
    ));
    Ok(Removed {
        layers: vec![active],
        origins: served_origins(&state),
    })
}

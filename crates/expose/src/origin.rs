//! Origin propagation after every exposure change: the operator token's issuer, the
//! `PARACHUTE_HUB_ORIGIN` line of hub-dependent modules' `.env`, and a restart of those modules
//! through the running hub so they pick the new origin up at once.
//!
//! Nothing here fails the exposure: every problem becomes a warning with the command that fixes
//! it by hand.

use std::time::Duration;

use parachute_auth::operator::{OperatorScopeSet, OperatorToken, write_token_file};
use parachute_auth::{
    CreatedVia, HUB_CLIENT_ID, HubDb, MintRequest, OPERATOR_AUDIENCE, OPERATOR_TTL,
    is_loopback_origin,
};
use parachute_client::{ClientError, HubClient};
use parachute_home::{Home, services};

use crate::report::{Log, RestartOutcome};

/// The variable modules read the hub origin from.
pub const ORIGIN_VAR: &str = parachute_home::HUB_ORIGIN_VAR;

/// How the hub origin changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginChange {
    /// A layer came up and advertises `origin`.
    Up {
        /// The new origin.
        origin: String,
    },
    /// Layers went down. `removed` origins are no longer valid; `remaining` is the origin of
    /// an exposure still recorded, if any.
    Off {
        /// Origins of the layers taken down.
        removed: Vec<String>,
        /// The origin still advertised afterwards.
        remaining: Option<String>,
    },
}

/// Runs the whole propagation for `change` and reports what happened to each module.
pub(crate) fn propagate(
    home: &Home,
    runtime: Option<&tokio::runtime::Handle>,
    hub_port: u16,
    change: &OriginChange,
    log: &mut Log,
) -> Vec<RestartOutcome> {
    log.info("");
    match change {
        OriginChange::Up { origin } => {
            log.info(format!(
                "Passing the new hub origin ({origin}) to the modules that depend on it…"
            ));
            heal_token_up(home, origin, log);
        }
        OriginChange::Off { removed, remaining } => {
            log.info("Withdrawing the old hub origin from the modules that depend on it…");
            heal_token_off(home, hub_port, removed, remaining.as_deref(), log);
        }
    }
    let target = match change {
        OriginChange::Up { origin } => Some(origin.as_str()),
        OriginChange::Off { remaining, .. } => remaining.as_deref(),
    };
    let shorts = dependent_modules(home);
    for short in &shorts {
        update_env(home, short, target, log);
    }
    let installed = installed_shorts(home);
    let to_restart: Vec<String> = shorts
        .into_iter()
        .filter(|s| installed.contains(s))
        .collect();
    let outcomes = restart(home, runtime, &to_restart);
    for outcome in &outcomes {
        match outcome {
            RestartOutcome::Restarted { short } => match target {
                Some(origin) => log.ok(format!("{short} restarted; it now uses {origin}.")),
                None => log.ok(format!(
                    "{short} restarted; it is back on its loopback origin."
                )),
            },
            RestartOutcome::NotRunning { short } => log.info(format!(
                "  {short} is not running under the hub; it reads the new origin when it starts."
            )),
            RestartOutcome::Failed { short, detail } => log.warn(format!(
                "{short} could not be restarted ({detail}). It keeps the old origin until you run `parachute restart {short}` once the problem is fixed."
            )),
        }
    }
    outcomes
}

/// Short names of installed rows.
fn installed_shorts(home: &Home) -> Vec<String> {
    services::read_lenient(home)
        .manifest
        .services
        .iter()
        .map(|r| r.short())
        .collect()
}

/// The vault (when installed or already configured) plus every installed module whose `.env`
/// carries the origin.
pub(crate) fn dependent_modules(home: &Home) -> Vec<String> {
    parachute_home::origin_dependent_modules(home)
}

/// Sets (`Some` non-loopback origin) or removes the origin line in `<short>/.env`.
fn update_env(home: &Home, short: &str, origin: Option<&str>, log: &mut Log) {
    if origin.is_some_and(is_loopback_origin) {
        return;
    }
    let path = home.module_env(short);
    match parachute_home::write_module_origin(home, short, origin) {
        Ok(false) => {}
        Ok(true) => match origin {
            Some(o) => log.info(format!("  {}: {ORIGIN_VAR}={o}", path.display())),
            None => log.info(format!("  {}: removed {ORIGIN_VAR}", path.display())),
        },
        Err(e @ parachute_home::ModuleOriginError::Read { .. }) => log.warn(format!(
            "{e}; {short} keeps whatever origin it has. Fix the file's permissions, then re-run."
        )),
        Err(e) => log.warn(format!(
            "{e}; {short} keeps its old origin. Fix the file's permissions, then re-run."
        )),
    }
}

/// Opens `hub.db` when it exists (never creates one).
fn open_db(home: &Home) -> Option<HubDb> {
    let path = home.hub_db();
    if !path.exists() {
        return None;
    }
    HubDb::open(&path)
        .inspect_err(|e| tracing::warn!(%e, "cannot open hub.db to refresh the operator token"))
        .ok()
}

/// After an up: re-issue the operator token under the new origin (the library's guards skip
/// loopback targets, foreign tokens and tokens already on that issuer).
fn heal_token_up(home: &Home, origin: &str, log: &mut Log) {
    let Some(db) = open_db(home) else {
        return;
    };
    match parachute_auth::self_heal_issuer(&db, &home.operator_token(), origin) {
        Ok(true) => log.info(format!(
            "  operator.token re-issued for {origin} (the CLI's token follows the hub's origin)"
        )),
        Ok(false) => {}
        Err(e) => log.warn(format!(
            "operator.token could not be re-issued for {origin} ({e}); if CLI verbs answer 401, run `parachute auth rotate-operator`."
        )),
    }
}

/// After an off: a token issued for an origin that is gone would no longer validate anywhere,
/// so it is re-issued (same `sub` and scope set) for the remaining origin, else for loopback.
fn heal_token_off(
    home: &Home,
    hub_port: u16,
    removed: &[String],
    remaining: Option<&str>,
    log: &mut Log,
) {
    let Some(db) = open_db(home) else {
        return;
    };
    let path = home.operator_token();
    let Ok(Some(file)) = OperatorToken::load(&path) else {
        return;
    };
    let Ok(claims) = db.validate_ignoring_issuer(&file.token, db.now()) else {
        return;
    };
    let iss = claims.iss.clone().unwrap_or_default();
    if !removed.iter().any(|r| r.trim_end_matches('/') == iss) {
        return;
    }
    let is_operator = claims
        .aud
        .as_ref()
        .is_some_and(|a| a.contains(OPERATOR_AUDIENCE));
    let set = claims
        .pa_scope_set
        .as_deref()
        .and_then(|s| s.parse::<OperatorScopeSet>().ok());
    let (Some(sub), Some(set), true) = (
        claims.sub.clone().filter(|s| !s.is_empty()),
        set,
        is_operator,
    ) else {
        return;
    };
    let issuer = remaining
        .map(str::to_string)
        .unwrap_or_else(|| format!("http://127.0.0.1:{hub_port}"));
    let req = MintRequest {
        sub,
        scopes: set.scopes().iter().map(|s| (*s).to_string()).collect(),
        audience: OPERATOR_AUDIENCE.into(),
        issuer: issuer.clone(),
        ttl: OPERATOR_TTL,
        client_id: HUB_CLIENT_ID.into(),
        created_via: CreatedVia::OperatorMint,
        subject: "operator".into(),
        user_id: None,
        permissions: None,
        scope_set: Some(set),
        vault_scope: Vec::new(),
    };
    let result = db
        .mint(&req)
        .and_then(|minted| write_token_file(&path, &minted.token));
    match result {
        Ok(()) => log.info(format!(
            "  operator.token re-issued for {issuer} (its old origin {iss} is gone)"
        )),
        Err(e) => log.warn(format!(
            "operator.token still names {iss}, which is gone, and could not be re-issued ({e}); run `parachute auth rotate-operator`."
        )),
    }
}

/// Restarts `shorts` through the running hub. The exposure API is blocking, and callers come
/// from every kind of thread: a plain thread (the CLI) gets a small runtime for the call; a
/// thread of a multi-threaded runtime (the tray's command handlers, `spawn_blocking`) borrows
/// that runtime, stepping off the async worker first; only a single-threaded runtime, which
/// cannot be blocked, has the call run on a scoped thread of its own.
fn restart(
    home: &Home,
    runtime: Option<&tokio::runtime::Handle>,
    shorts: &[String],
) -> Vec<RestartOutcome> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if shorts.is_empty() {
        return Vec::new();
    }
    let on_own_runtime = || match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(own) => own.block_on(restart_async(home, shorts)),
        Err(e) => shorts
            .iter()
            .map(|short| RestartOutcome::Failed {
                short: short.clone(),
                detail: format!("cannot start the async runtime: {e}"),
            })
            .collect(),
    };
    let current = Handle::try_current().ok();
    match (runtime.cloned(), current) {
        (_, Some(here)) if here.runtime_flavor() == RuntimeFlavor::CurrentThread => {
            std::thread::scope(|scope| {
                scope
                    .spawn(on_own_runtime)
                    .join()
                    .unwrap_or_else(|_| Vec::new())
            })
        }
        (_, Some(here)) => {
            tokio::task::block_in_place(|| here.block_on(restart_async(home, shorts)))
        }
        (Some(given), None) => given.block_on(restart_async(home, shorts)),
        (None, None) => on_own_runtime(),
    }
}

async fn restart_async(home: &Home, shorts: &[String]) -> Vec<RestartOutcome> {
    let probe = match HubClient::for_home(home) {
        Ok(probe) => probe,
        Err(e) => {
            return shorts
                .iter()
                .map(|s| RestartOutcome::Failed {
                    short: s.clone(),
                    detail: e.to_string(),
                })
                .collect();
        }
    };
    if !probe.is_up(Duration::from_millis(1500)).await {
        return shorts
            .iter()
            .map(|s| RestartOutcome::NotRunning { short: s.clone() })
            .collect();
    }
    let client = match HubClient::with_operator_token(home).await {
        Ok(client) => client,
        Err(e) => {
            return shorts
                .iter()
                .map(|s| RestartOutcome::Failed {
                    short: s.clone(),
                    detail: e.to_string(),
                })
                .collect();
        }
    };
    let mut out = Vec::new();
    for short in shorts {
        let outcome = match client.restart_module(short).await {
            Ok(_) => RestartOutcome::Restarted {
                short: short.clone(),
            },
            Err(ClientError::Api {
                status: 404, error, ..
            }) if error == "not_supervised" || error == "unknown_module" => {
                RestartOutcome::NotRunning {
                    short: short.clone(),
                }
            }
            Err(e) => RestartOutcome::Failed {
                short: short.clone(),
                detail: e.to_string(),
            },
        };
        out.push(outcome);
    }
    out
}

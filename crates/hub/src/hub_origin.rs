//! Changing the `hub_origin` setting and everything that follows from it.
//!
//! Steps of [`set_hub_origin`], in order:
//! 1. Remember the origin every running module was started with (the configured part of the
//!    issuer rule, else its own `.env` line).
//! 2. Store the setting (or delete it), then emit [`HubEvent::HubOriginChanged`].
//! 3. Re-issue `operator.token` under the new issuer (the rule with the loopback fallback, what
//!    the CLI mints for), so the CLI's token follows every other token.
//! 4. When what modules are told changed: write the new origin into the `.env` of the modules
//!    that depend on it (a loopback or absent origin removes the line), as exposure does.
//! 5. Restart every running module whose origin changed, through the module service, so it
//!    runs with the new one at once (the supervisor resolves the environment afresh).
//!
//! Nothing after step 2 undoes the setting: a step that fails becomes a warning naming the
//! command that finishes the job by hand.

use parachute_auth::{ResolvedIssuer, SETTING_HUB_ORIGIN, is_loopback_origin, reissue_for_issuer};
use parachute_home::{env_origin_of, origin_dependent_modules, write_module_origin};
use parachute_protocol::{HubEvent, HubOriginAnswer, IssuerSource};
use parachute_supervisor::ModuleStatus;

use crate::auth::{issuer_layers, module_origin};
use crate::service::{ModuleError, ModuleService};
use crate::state::AppState;

/// The setting could not be stored (nothing changed).
#[derive(Debug, thiserror::Error)]
#[error("cannot store the hub_origin setting in hub.db ({0}); nothing was changed")]
pub struct StoreError(#[from] parachute_auth::AuthError);

/// The protocol's word for where an origin came from.
pub fn wire_source(source: parachute_auth::IssuerSource) -> IssuerSource {
    match source {
        parachute_auth::IssuerSource::Settings => IssuerSource::Settings,
        parachute_auth::IssuerSource::Env => IssuerSource::Env,
        parachute_auth::IssuerSource::Exposure => IssuerSource::Exposure,
        parachute_auth::IssuerSource::Request => IssuerSource::Request,
    }
}

/// Stores `origin` (already validated and normalised; `None` clears the setting) and
/// propagates it (see the module docs). `request_origin` is the origin the change was asked
/// on, for the answer's `resolved_issuer`.
pub async fn set_hub_origin(
    state: &AppState,
    origin: Option<String>,
    request_origin: &str,
) -> Result<HubOriginAnswer, StoreError> {
    let before = module_origin(&issuer_layers(state));
    let started_with = running_modules(state)
        .into_iter()
        .map(|short| {
            let origin = before
                .clone()
                .or_else(|| env_origin_of(state.home(), &short));
            (short, origin)
        })
        .collect::<Vec<_>>();

    match &origin {
        Some(o) => state.db().set_setting(SETTING_HUB_ORIGIN, o)?,
        None => {
            state.db().delete_setting(SETTING_HUB_ORIGIN)?;
        }
    }
    tracing::info!(
        hub_origin = origin.as_deref().unwrap_or("(cleared)"),
        "hub origin setting changed"
    );
    state.emit(HubEvent::HubOriginChanged {
        hub_origin: origin.clone(),
    });

    let layers = issuer_layers(state);
    let after = module_origin(&layers);
    let mut warnings = Vec::new();
    let loopback = format!("http://127.0.0.1:{}", state.port());
    let operator_token_reissued =
        reissue_operator(state, &layers.as_layers().resolve(&loopback), &mut warnings);
    if after != before {
        update_env_files(state, after.as_deref(), &mut warnings);
    }
    let changed: Vec<String> = started_with
        .into_iter()
        .filter(|(short, old)| {
            let new = after.clone().or_else(|| env_origin_of(state.home(), short));
            &new != old
        })
        .map(|(short, _)| short)
        .collect();
    let restarted = restart(state, changed, &mut warnings).await;
    let resolved = layers.as_layers().resolve(request_origin);
    Ok(HubOriginAnswer {
        hub_origin: origin,
        resolved_issuer: Some(resolved.origin),
        source: Some(wire_source(resolved.source)),
        module_origin: after,
        restarted,
        operator_token_reissued,
        warnings,
    })
}

/// Modules the supervisor is running (or bringing up) now.
fn running_modules(state: &AppState) -> Vec<String> {
    state
        .supervisor()
        .snapshots()
        .into_iter()
        .filter(|m| {
            matches!(
                m.status,
                ModuleStatus::Running | ModuleStatus::Starting | ModuleStatus::Restarting
            )
        })
        .map(|m| m.short)
        .collect()
}

/// Step 3: `operator.token` under `issuer`.
fn reissue_operator(state: &AppState, issuer: &ResolvedIssuer, warnings: &mut Vec<String>) -> bool {
    let path = state.home().operator_token();
    match reissue_for_issuer(state.db(), &path, &issuer.origin) {
        Ok(done) => {
            if done {
                tracing::info!(issuer = %issuer.origin, "re-issued operator.token for the new hub origin");
            }
            done
        }
        Err(e) => {
            warnings.push(format!(
                "{} still carries the old issuer and could not be re-issued ({e}); run `parachute auth rotate-operator`",
                path.display()
            ));
            false
        }
    }
}

/// Step 4: the origin line of each dependent module's `.env`.
fn update_env_files(state: &AppState, origin: Option<&str>, warnings: &mut Vec<String>) {
    let origin = origin.filter(|o| !is_loopback_origin(o));
    for short in origin_dependent_modules(state.home()) {
        match write_module_origin(state.home(), &short, origin) {
            Ok(true) => tracing::info!(module = %short, origin = origin.unwrap_or("(removed)"), "updated the hub origin in the module's .env"),
            Ok(false) => {}
            Err(e) => warnings.push(format!(
                "{e}; {short} keeps the old origin in that file. Fix its permissions, then run `parachute restart {short}`"
            )),
        }
    }
}

/// Step 5: restarts `shorts` (all at once); returns those that were restarted.
async fn restart(state: &AppState, shorts: Vec<String>, warnings: &mut Vec<String>) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for short in shorts {
        let service = ModuleService::new(state.clone());
        tasks.spawn(async move {
            let result = service.restart(&short).await;
            (short, result)
        });
    }
    let mut restarted = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((short, Ok(_))) => restarted.push(short),
            // Stopped between the snapshot and now: it reads the new origin when it starts.
            Ok((_, Err(ModuleError::NotSupervised { .. }))) => {}
            Ok((short, Err(e))) => warnings.push(format!(
                "{short} could not be restarted ({e}); it keeps the old origin until `parachute restart {short}`"
            )),
            Err(e) => warnings.push(format!("a module restart did not finish ({e})")),
        }
    }
    restarted.sort();
    restarted
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parachute_auth::{HubDb, OperatorScopeSet, mint_operator};
    use parachute_home::Home;
    use parachute_supervisor::{Supervisor, SupervisorConfig};

    use super::*;

    /// A hub state over a temp home with an admin and an operator token for loopback.
    fn hub(vars: &[(&str, &str)]) -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let db = Arc::new(HubDb::open(&home.hub_db()).unwrap());
        db.create_or_reset_admin("owner", "correct horse battery staple")
            .unwrap();
        mint_operator(
            &db,
            OperatorScopeSet::Admin,
            "http://127.0.0.1:1939",
            &home.operator_token(),
        )
        .unwrap();
        let log_dir = dir.path().to_path_buf();
        let supervisor = Supervisor::new(
            SupervisorConfig::default(),
            Arc::new(|_: &str| {}),
            Arc::new(move |short: &str| log_dir.join(format!("{short}.log"))),
        );
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = crate::HubConfig::from_vars(vars, home).unwrap();
        let state = AppState::new(
            &config,
            supervisor,
            db,
            1939,
            parachute_protocol::AdminState::Exists,
        );
        (dir, state)
    }

    fn operator_iss(state: &AppState) -> String {
        let file = parachute_auth::OperatorToken::load(&state.home().operator_token())
            .unwrap()
            .unwrap();
        state
            .db()
            .validate_ignoring_issuer(&file.token, state.db().now())
            .unwrap()
            .iss
            .unwrap()
    }

    #[tokio::test]
    async fn a_change_is_stored_announced_and_followed_by_the_operator_token_and_env_files() {
        let (_dir, state) = hub(&[("PARACHUTE_HUB_ORIGIN", "https://env.example")]);
        // The vault depends on the origin even before it is installed, once configured.
        std::fs::create_dir_all(state.home().module_dir("vault")).unwrap();
        std::fs::write(state.home().module_env("vault"), "A=1\n").unwrap();
        let mut events = state.events().subscribe();

        let answer = set_hub_origin(
            &state,
            Some("https://set.example".into()),
            "http://127.0.0.1:1939",
        )
        .await
        .unwrap();
        assert_eq!(answer.hub_origin.as_deref(), Some("https://set.example"));
        assert_eq!(answer.source, Some(IssuerSource::Settings));
        assert_eq!(answer.module_origin.as_deref(), Some("https://set.example"));
        assert!(answer.operator_token_reissued && answer.warnings.is_empty());
        assert!(answer.restarted.is_empty(), "nothing was running");
        assert_eq!(
            crate::auth::stored_hub_origin(state.db()).as_deref(),
            Some("https://set.example")
        );
        assert_eq!(operator_iss(&state), "https://set.example");
        assert_eq!(
            std::fs::read_to_string(state.home().module_env("vault")).unwrap(),
            "A=1\nPARACHUTE_HUB_ORIGIN=https://set.example\n"
        );
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            event.event,
            HubEvent::HubOriginChanged {
                hub_origin: Some("https://set.example".into())
            }
        );

        // Cleared: the environment's origin is what everything falls back to.
        let answer = set_hub_origin(&state, None, "http://127.0.0.1:1939")
            .await
            .unwrap();
        assert_eq!(answer.hub_origin, None);
        assert_eq!(answer.source, Some(IssuerSource::Env));
        assert_eq!(answer.module_origin.as_deref(), Some("https://env.example"));
        assert_eq!(operator_iss(&state), "https://env.example");
        assert_eq!(crate::auth::stored_hub_origin(state.db()), None);
        assert!(
            std::fs::read_to_string(state.home().module_env("vault"))
                .unwrap()
                .ends_with("PARACHUTE_HUB_ORIGIN=https://env.example\n")
        );
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.event, HubEvent::HubOriginChanged { hub_origin: None });
    }

    #[tokio::test]
    async fn with_nothing_else_configured_clearing_goes_back_to_loopback_and_removes_the_line() {
        let (_dir, state) = hub(&[]);
        std::fs::create_dir_all(state.home().module_dir("vault")).unwrap();
        std::fs::write(state.home().module_env("vault"), "A=1\n").unwrap();
        set_hub_origin(
            &state,
            Some("https://set.example".into()),
            "http://127.0.0.1:1939",
        )
        .await
        .unwrap();
        let answer = set_hub_origin(&state, None, "http://localhost:1939")
            .await
            .unwrap();
        assert_eq!(answer.module_origin, None);
        assert_eq!(answer.source, Some(IssuerSource::Request));
        assert_eq!(
            answer.resolved_issuer.as_deref(),
            Some("http://localhost:1939")
        );
        assert_eq!(operator_iss(&state), "http://127.0.0.1:1939");
        let env = std::fs::read_to_string(state.home().module_env("vault")).unwrap();
        assert!(!env.contains("PARACHUTE_HUB_ORIGIN"), "{env}");
    }
}

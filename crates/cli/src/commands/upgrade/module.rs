//! Module upgrades, through the running hub's module API: `POST /api/modules/<short>/upgrade`
//! (`{"channel", "allow_downgrade"}`, both optional) answers `202 {operation_id}`, the hub
//! reinstalls the package from its channel and restarts the module, and `GET
//! /api/modules/operations/<id>` is polled until it ends.
//!
//! The hub decides everything about a module upgrade (package manager, channel, the downgrade
//! guard, whether a restart is needed: see `crates/hub/src/service/module_upgrade.rs`); the
//! CLI asks, prints the operation's lines as they come, and ends with its outcome: "✓ vault
//! upgraded and restarted (pid N)", "✓ vault is already at V; not restarted", or "✗ vault:
//! refusing to downgrade …" (exit 1).

use std::time::{Duration, Instant};

use parachute_client::{ClientError, HubClient};
use parachute_home::Home;
use parachute_upgrade::Channel;
use serde_json::{Value, json};

/// How long a module upgrade may take before the CLI stops waiting (the hub goes on).
const OPERATION_LIMIT: Duration = Duration::from_secs(300);

/// What a module upgrade asks the hub for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModuleAsk {
    /// The channel (else the hub's rule).
    pub channel: Option<Channel>,
    /// Accept an older version than the installed one.
    pub allow_downgrade: bool,
}

/// Upgrades one module; returns the exit code.
pub async fn upgrade(home: &Home, short: &str, ask: ModuleAsk) -> i32 {
    let client = match HubClient::with_operator_token(home).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("✗ {short}: {e}");
            return 1;
        }
    };
    match drive(&client, short, ask).await {
        Ok(outcome) => {
            println!("✓ {outcome}.");
            0
        }
        Err(message) => {
            eprintln!("✗ {short}: {message}");
            1
        }
    }
}

/// Upgrades every module row of `services.json` in order; the first failure's exit code.
pub async fn upgrade_all(home: &Home, ask: ModuleAsk) -> i32 {
    let manifest = match parachute_home::services::read_strict(home) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("✗ {e}");
            return 1;
        }
    };
    let shorts: Vec<String> = manifest
        .module_rows()
        .iter()
        .map(|row| crate::commands::hub_access::module_short(&row.name))
        .collect();
    let mut code = 0;
    for short in shorts {
        let c = upgrade(home, &short, ask).await;
        if code == 0 {
            code = c;
        }
    }
    code
}

/// Sends the request and follows the operation; its outcome sentence on success, its error
/// on failure (the lines before it are printed as they arrive).
async fn drive(client: &HubClient, short: &str, ask: ModuleAsk) -> Result<String, String> {
    let mut body = json!({});
    if let Some(c) = ask.channel {
        body["channel"] = json!(c.as_str());
    }
    if ask.allow_downgrade {
        body["allow_downgrade"] = json!(true);
    }
    let accepted = client
        .post(&format!("/api/modules/{short}/upgrade"), &body)
        .await
        .map_err(describe)?;
    let id = accepted.body["operation_id"]
        .as_str()
        .ok_or("the hub accepted the upgrade without an operation id")?
        .to_string();
    let started = Instant::now();
    let mut printed = 0;
    loop {
        let op = client
            .get(&format!("/api/modules/operations/{id}"))
            .await
            .map_err(describe)?
            .body;
        let log: Vec<&str> = op["log"]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let status = op["status"].as_str();
        let ended = matches!(status, Some("succeeded" | "failed"));
        // The last line of an ended operation is its outcome, printed as the verdict instead.
        let shown = if ended {
            log.len().saturating_sub(1)
        } else {
            log.len()
        };
        for line in log.iter().take(shown).skip(printed) {
            println!("  {line}");
        }
        printed = printed.max(shown);
        match status {
            Some("succeeded") => {
                return Ok(log
                    .last()
                    .map_or_else(|| format!("{short} upgraded"), |l| l.to_string()));
            }
            Some("failed") => {
                return Err(op["error"]
                    .as_str()
                    .unwrap_or("the upgrade failed")
                    .to_string());
            }
            _ => {}
        }
        if started.elapsed() > OPERATION_LIMIT {
            return Err(format!(
                "still running after {}s (operation {id}); the hub goes on with it",
                OPERATION_LIMIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The hub's refusal as it says it; a request that got no answer with the way to find out why.
fn describe(e: ClientError) -> String {
    match e.code() {
        Some(_) => e.to_string(),
        None => format!("{e} (is the hub running? `parachute status`)"),
    }
}

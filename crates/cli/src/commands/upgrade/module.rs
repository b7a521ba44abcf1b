//! Module upgrades, through the running hub's module API: `POST /api/modules/<short>/upgrade`
//! (`{"channel"}` optional) answers `202 {operation_id}`, the hub reinstalls the package from
//! its channel and restarts the module, and `GET /api/modules/operations/<id>` is polled until
//! it ends.
//!
//! This is the seam for the module side of `parachute upgrade`: the hub decides everything
//! about a module upgrade (package manager, channel resolution, downgrade policy, restart);
//! the CLI only asks and reports. Extending it (a downgrade guard, `--tag`) belongs in the
//! hub's `routes/modules/install.rs` and this file's request body.

use std::time::{Duration, Instant};

use parachute_client::{ClientError, HubClient};
use parachute_home::Home;
use parachute_upgrade::Channel;
use serde_json::{Value, json};

/// How long a module upgrade may take before the CLI stops waiting (the hub goes on).
const OPERATION_LIMIT: Duration = Duration::from_secs(300);

/// Upgrades one module; returns the exit code.
pub async fn upgrade(home: &Home, short: &str, channel: Option<Channel>) -> i32 {
    let client = match HubClient::with_operator_token(home).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("✗ {short}: {e}");
            return 1;
        }
    };
    match drive(&client, short, channel).await {
        Ok(log) => {
            println!(
                "✓ {short} upgraded{}.",
                log.map(|l| format!(": {l}")).unwrap_or_default()
            );
            0
        }
        Err(message) => {
            eprintln!("✗ {short}: {message}");
            1
        }
    }
}

/// Upgrades every module row of `services.json` in order; the first failure's exit code.
pub async fn upgrade_all(home: &Home, channel: Option<Channel>) -> i32 {
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
        let c = upgrade(home, &short, channel).await;
        if code == 0 {
            code = c;
        }
    }
    code
}

/// Sends the request and follows the operation; the last log line on success.
async fn drive(
    client: &HubClient,
    short: &str,
    channel: Option<Channel>,
) -> Result<Option<String>, String> {
    let body = match channel {
        Some(c) => json!({"channel": c.as_str()}),
        None => json!({}),
    };
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
        for line in log.iter().skip(printed) {
            println!("  {line}");
        }
        printed = log.len();
        match op["status"].as_str() {
            Some("succeeded") => return Ok(log.last().map(|l| l.to_string())),
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
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn describe(e: ClientError) -> String {
    match e.code() {
        Some("not_installable") | Some("unknown_module") => e.to_string(),
        _ => format!("{e} (is the hub running? `parachute status`)"),
    }
}

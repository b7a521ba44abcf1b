//! `parachute status [--json]`: one row per module (manifest order), the hub row last.
//!
//! Reads `services.json` strictly (a malformed file is exit 1 with the file named), probes the
//! hub's `/health` (1.5 s), and while the hub answers reads `GET /api/modules` with the
//! operator token (3 s) and times a health request straight to every module's port (1.5 s,
//! all concurrently). The hub row combines the service manager's view of the hub unit with
//! `/health`. Every step is bounded, so `status` finishes within a few seconds even when the
//! hub accepts connections and never answers.
//!
//! Exit 1 when a row is unhealthy (a crashed module, a failing hub); stopped, inactive and
//! pending rows never count.
//!
//! # `--json`
//!
//! ```json
//! {
//!   "hub": { "port": 1939, "up": true, "manager": "active" },
//!   "services": [
//!     { "service": "parachute-vault", "short": "vault", "port": 1940, "version": "0.4.1",
//!       "state": "active", "pid": 4242, "uptime_ms": 75000, "latency_ms": 1.5,
//!       "source": "npm (0.4.1)", "url": "http://127.0.0.1:1940/vault/default/mcp",
//!       "notes": [], "unhealthy": false, "supervisor_status": "running" },
//!     { "service": "parachute-hub (internal)", "short": "hub", … }
//!   ],
//!   "exit_code": 0
//! }
//! ```
//!
//! `state` is one of `active|pending|inactive|failing`; `pid`, `uptime_ms`, `latency_ms` and
//! `supervisor_status` are `null` when unknown; `notes` are the `  ! …` lines of the table and
//! the hub row is always last. `manager` is the hub unit's state as the service manager reports
//! it (`active`, `activating`, `failed`, `inactive`, `unknown`, `no-unit`, `no-manager`).

mod render;

use parachute_client::hub_port;
use parachute_control::status::gather;

use crate::args::StatusArgs;
use crate::commands::hub_access;

/// Runs `status`; returns the exit code.
pub fn run(args: &StatusArgs) -> i32 {
    let home = match hub_access::home() {
        Ok(home) => home,
        Err(e) => {
            eprintln!("parachute status: {e}");
            return 1;
        }
    };
    let manifest = match parachute_home::services::read_strict_noted(&home) {
        Ok(read) => {
            for note in read.notes {
                eprintln!("parachute status: {note}");
            }
            read.manifest
        }
        Err(e) => {
            eprintln!("parachute status: {e}");
            return 1;
        }
    };
    let runtime = match hub_access::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("parachute status: {e}");
            return 1;
        }
    };
    let port = match hub_port(&home) {
        Ok(port) => port,
        Err(e) => {
            eprintln!("parachute status: {e}");
            return 1;
        }
    };
    let units = hub_access::unit_manager().ok();
    let report = runtime.block_on(gather(&home, &manifest, port, units));
    if args.json {
        match serde_json::to_string_pretty(&report.to_protocol()) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("parachute status: cannot encode the report: {e}");
                return 1;
            }
        }
    } else {
        for line in render::table(&report.rows) {
            println!("{line}");
        }
    }
    report.exit_code()
}

//! Fake `tailscale` for the black-box suites (see TOOL-FORMATS.md §1).
//!
//! Verbs: `version`, `status --json`, `serve|funnel --bg --https=<p> --set-path=<m> <target>`,
//! `serve|funnel --https=<p> --set-path=<m> off`, `serve|funnel status [--json]`, answering on
//! the same streams with the same exit codes as tailscale ≥ 1.86.
//!
//! State under `<state>/tailscale/`:
//! - `node.json` (optional, written by tests): `{"dnsName": "box.tail1a2b3c.ts.net.",
//!   "loggedIn": true, "https": true, "funnel": true, "daemonDown": false}` — these are the
//!   defaults when the file or a key is absent.
//! - `serve.json`: the ServeConfig the daemon keeps (`TCP`, `Web`, `AllowFunnel`), exactly as
//!   `serve status --json` prints it.
//!
//! Failure injection: lines `<verb> <exit> <text>` in `<state>/tailscale.fail`, verbs
//! `version`, `status`, `serve-up`, `serve-off`, `serve`, `funnel-up`, `funnel-off`, `funnel`
//! (the specific `-up`/`-off` form is checked first).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

const DEFAULT_DNS: &str = "mybox.tail1a2b3c.ts.net.";

struct Node {
    dns_name: String,
    logged_in: bool,
    https: bool,
    funnel: bool,
    daemon_down: bool,
}

fn dir(state: &Path) -> PathBuf {
    state.join("tailscale")
}

fn node(state: &Path) -> Node {
    let v: Value = std::fs::read_to_string(dir(state).join("node.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let flag = |k: &str, d: bool| v.get(k).and_then(Value::as_bool).unwrap_or(d);
    Node {
        dns_name: v
            .get("dnsName")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_DNS)
            .to_string(),
        logged_in: flag("loggedIn", true),
        https: flag("https", true),
        funnel: flag("funnel", true),
        daemon_down: flag("daemonDown", false),
    }
}

fn load_serve(state: &Path) -> Map<String, Value> {
    std::fs::read_to_string(dir(state).join("serve.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

fn save_serve(state: &Path, cfg: &Map<String, Value>) {
    std::fs::create_dir_all(dir(state)).unwrap();
    let path = dir(state).join("serve.json");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(cfg).unwrap() + "\n").unwrap();
    std::fs::rename(tmp, path).unwrap();
}

fn daemon_down_exit(what: &str) -> ! {
    eprintln!(
        "{what}Failed to connect to local Tailscale daemon for /localapi/v0/serve-config; not running? Error: dial unix /var/run/tailscale/tailscaled.sock: connect: no such file or directory"
    );
    std::process::exit(1);
}

fn status_json(n: &Node) -> Value {
    let mut caps = Map::new();
    if n.logged_in && n.https {
        caps.insert("https".into(), Value::Null);
        if n.funnel {
            caps.insert("funnel".into(), Value::Null);
            caps.insert(
                "https://tailscale.com/cap/funnel-ports?ports=443,8443,10000".into(),
                Value::Null,
            );
        }
    }
    let fqdn = n.dns_name.trim_end_matches('.').to_string();
    let mut me = json!({
        "ID": "nT2rsJ4CNTRL",
        "PublicKey": "nodekey:6a1c00000000000000000000000000000000000000000000000000000000beef",
        "HostName": "mybox",
        "DNSName": if n.logged_in { n.dns_name.clone() } else { String::new() },
        "OS": "linux",
        "UserID": 123456789,
        "TailscaleIPs": if n.logged_in { json!(["100.101.102.103", "fd7a:115c:a1e0::1f01:6667"]) } else { Value::Null },
        "Online": n.logged_in,
        "InNetworkMap": n.logged_in,
        "InMagicSock": false,
        "InEngine": false
    });
    if !caps.is_empty() {
        me["CapMap"] = Value::Object(caps);
    }
    let suffix = fqdn
        .split_once('.')
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    json!({
        "Version": "1.86.2-t3c1f9e2a7-g5d4c6e8f0",
        "TUN": true,
        "BackendState": if n.logged_in { "Running" } else { "NeedsLogin" },
        "HaveNodeKey": true,
        "AuthURL": "",
        "TailscaleIPs": if n.logged_in { json!(["100.101.102.103"]) } else { Value::Null },
        "Self": me,
        "Health": Value::Null,
        "MagicDNSSuffix": if n.logged_in { suffix.clone() } else { String::new() },
        "CurrentTailnet": if n.logged_in { json!({"Name": "alice@example.com", "MagicDNSSuffix": suffix, "MagicDNSEnabled": true}) } else { Value::Null },
        "CertDomains": if n.logged_in && n.https { json!([fqdn]) } else { Value::Null },
        "Peer": Value::Null,
        "User": Value::Null
    })
}

/// `--https=443` / `--set-path=/` style flags.
fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    args.iter().find_map(|a| a.strip_prefix(&prefix))
}

fn serve_cmd(state: &Path, verb: &str, args: &[String]) -> ! {
    let funnel = verb == "funnel";
    if args.first().map(String::as_str) == Some("status") {
        fake_service::fail_if_injected(state, "tailscale", verb);
        if node(state).daemon_down {
            daemon_down_exit("getting serve config: ");
        }
        let cfg = load_serve(state);
        if args.iter().any(|a| a == "--json") {
            println!(
                "{}",
                serde_json::to_string_pretty(&Value::Object(cfg)).unwrap()
            );
        } else if cfg.is_empty() {
            println!("No serve config");
        } else {
            println!(
                "{}",
                serde_json::to_string_pretty(&Value::Object(cfg)).unwrap()
            );
        }
        std::process::exit(0);
    }
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let off = positional.last().map(|s| s.as_str()) == Some("off");
    let kind = if off { "off" } else { "up" };
    fake_service::fail_if_injected(state, "tailscale", &format!("{verb}-{kind}"));
    fake_service::fail_if_injected(state, "tailscale", verb);
    if positional.len() > 2 {
        eprintln!("Error: invalid number of arguments ({})", positional.len());
        eprintln!("try `tailscale {verb} --help` for usage info");
        std::process::exit(1);
    }
    let n = node(state);
    if n.daemon_down {
        daemon_down_exit("error getting serve config: getting serve config: ");
    }
    if !n.logged_in {
        eprintln!("Logged out.");
        std::process::exit(1);
    }
    if funnel && !(n.https && n.funnel) {
        eprintln!(
            "Funnel not available; \"funnel\" node attribute not set. See https://tailscale.com/s/no-funnel."
        );
        std::process::exit(1);
    }
    let port = flag_value(args, "--https").unwrap_or("443").to_string();
    let mount = flag_value(args, "--set-path").unwrap_or("/").to_string();
    let fqdn = n.dns_name.trim_end_matches('.').to_string();
    let hostport = format!("{fqdn}:{port}");
    let mut cfg = load_serve(state);
    if off {
        let removed = cfg
            .get_mut("Web")
            .and_then(|w| w.get_mut(&hostport))
            .and_then(|h| h.get_mut("Handlers"))
            .and_then(Value::as_object_mut)
            .and_then(|h| h.remove(&mount))
            .is_some();
        if !removed {
            eprintln!("error: failed to remove web serve: handler does not exist");
            eprintln!();
            eprintln!("try `tailscale {verb} --help` for usage info");
            std::process::exit(1);
        }
        let empty = cfg["Web"][&hostport]["Handlers"]
            .as_object()
            .is_none_or(Map::is_empty);
        if empty {
            for key in ["Web", "AllowFunnel"] {
                if let Some(m) = cfg.get_mut(key).and_then(Value::as_object_mut) {
                    m.remove(&hostport);
                }
            }
            if let Some(m) = cfg.get_mut("TCP").and_then(Value::as_object_mut) {
                m.remove(&port);
            }
            cfg.retain(|_, v| !v.as_object().is_some_and(Map::is_empty));
        }
        save_serve(state, &cfg);
        std::process::exit(0);
    }
    let Some(target) = positional.first() else {
        std::process::exit(0);
    };
    if !funnel
        && cfg
            .get("AllowFunnel")
            .and_then(|a| a.get(&hostport))
            .is_some()
    {
        eprintln!("Removing Funnel for {fqdn}:{hostport}");
        if let Some(m) = cfg.get_mut("AllowFunnel").and_then(Value::as_object_mut) {
            m.remove(&hostport);
        }
        cfg.retain(|_, v| !v.as_object().is_some_and(Map::is_empty));
    }
    let tcp = cfg.entry("TCP").or_insert_with(|| json!({}));
    tcp[&port] = json!({"HTTPS": true});
    let web = cfg.entry("Web").or_insert_with(|| json!({}));
    if web.get(&hostport).is_none() {
        web[&hostport] = json!({"Handlers": {}});
    }
    web[&hostport]["Handlers"][&mount] = json!({"Proxy": target});
    if funnel {
        let allow = cfg.entry("AllowFunnel").or_insert_with(|| json!({}));
        allow[&hostport] = json!(true);
    }
    save_serve(state, &cfg);
    let shown = if port == "443" {
        format!("https://{fqdn}{mount}")
    } else {
        format!("https://{fqdn}:{port}{mount}")
    };
    if funnel {
        println!("Available on the internet:");
    } else {
        println!("Available within your tailnet:");
    }
    println!();
    println!("{shown}");
    println!("|-- proxy {target}");
    println!();
    if funnel {
        println!("Funnel started and running in the background.");
    } else {
        println!("Serve started and running in the background.");
    }
    println!("To disable the proxy, run: tailscale {verb} --https={port} off");
    std::process::exit(0);
}

fn main() {
    let (state, args) = parachute_tests::fake::record_invocation("tailscale");
    let verb = args.first().cloned().unwrap_or_default();
    let rest = &args[args.len().min(1)..];
    match verb.as_str() {
        "version" => {
            fake_service::fail_if_injected(&state, "tailscale", "version");
            if !rest.is_empty() {
                eprintln!("too many non-flag arguments: {rest:?}");
                std::process::exit(1);
            }
            println!("1.86.2");
            println!("  tailscale commit: 3c1f9e2a7b5d4c6e8f0a1b2c3d4e5f60718293a4");
            println!("  long version: 1.86.2-t3c1f9e2a7-g5d4c6e8f0");
            println!("  go version: go1.24.4");
        }
        "status" => {
            fake_service::fail_if_injected(&state, "tailscale", "status");
            let n = node(&state);
            if n.daemon_down {
                eprintln!(
                    "failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)"
                );
                std::process::exit(1);
            }
            if rest.iter().any(|a| a == "--json") {
                print!(
                    "{}",
                    serde_json::to_string_pretty(&status_json(&n)).unwrap()
                );
            } else if n.logged_in {
                println!("100.101.102.103  mybox  alice@  linux  -");
            } else {
                println!("Logged out.");
                std::process::exit(1);
            }
        }
        "serve" | "funnel" => serve_cmd(&state, &verb, rest),
        other => {
            eprintln!("tailscale: unknown subcommand {other:?}");
            std::process::exit(1);
        }
    }
}

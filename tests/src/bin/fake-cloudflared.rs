//! Fake `cloudflared` for the black-box suites (see TOOL-FORMATS.md §2).
//!
//! Verbs: `--version`/`version`, `tunnel list --output json`, `tunnel create <name>`,
//! `tunnel route dns [--overwrite-dns] <name|uuid> <host>`, `tunnel --config <file> run`,
//! answering on the same streams with the same exit codes as cloudflared 2024.x–2026.x. The
//! account lives under `<state>/cloudflared/`: `tunnels.json` (what `tunnel list` shows),
//! `dns.json` (hostname → tunnel id) and `connectors/<pid>.json` (running connectors, which
//! also show up as `connections` in `tunnel list`).
//!
//! Login: the origin certificate is `$HOME/.cloudflared/cert.pem` (or `$TUNNEL_ORIGIN_CERT`);
//! without it the API verbs fail like the real tool. `tunnel create` writes the credentials
//! file `<uuid>.json` (mode 0400) next to it. `run` checks the credentials file named in the
//! config, logs its start-up lines on stderr and then serves until signalled.
//!
//! Failure injection: lines `<verb> <exit> <text>` in `<state>/cloudflared.fail`, verbs
//! `version`, `list`, `create`, `route`, `run`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn dir(state: &Path) -> PathBuf {
    state.join("cloudflared")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn log(level: &str, msg: &str) {
    eprintln!("{} {level} {msg}", now());
}

fn load(state: &Path, file: &str, default: Value) -> Value {
    std::fs::read_to_string(dir(state).join(file))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(default)
}

fn save(state: &Path, file: &str, v: &Value) {
    std::fs::create_dir_all(dir(state)).unwrap();
    let path = dir(state).join(file);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
    std::fs::rename(tmp, path).unwrap();
}

fn cert_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TUNNEL_ORIGIN_CERT") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cloudflared").join("cert.pem")
}

/// Exits like the real tool when there is no origin certificate.
fn require_cert(prefix: &str) -> PathBuf {
    let cert = cert_path();
    if !cert.is_file() {
        log(
            "ERR",
            "Cannot determine default origin certificate path. No file cert.pem in [~/.cloudflared ~/.cloudflare-warp ~/cloudflare-warp /etc/cloudflared /usr/local/etc/cloudflared]. You need to specify the origin certificate path by specifying the origincert option in the configuration file, or set TUNNEL_ORIGIN_CERT environment variable originCertPath=",
        );
        eprintln!("{prefix}Error locating origin cert: client didn't specify origincert path");
        std::process::exit(1);
    }
    cert
}

fn new_uuid() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn live_connections(state: &Path, tunnel_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir(state).join("connectors")) else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !fake_service::pid_alive(pid) {
            continue;
        }
        let v: Value = std::fs::read_to_string(e.path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if v["tunnel"] == tunnel_id {
            out.push(json!({
                "colo_name": "lax01",
                "id": v["connection"],
                "is_pending_reconnect": false,
                "origin_ip": "203.0.113.7",
                "opened_at": v["opened_at"],
            }));
        }
    }
    out
}

fn tunnel_cmd(state: &Path, args: &[String]) {
    let sub = args.first().map(String::as_str).unwrap_or("");
    match sub {
        "list" => {
            fake_service::fail_if_injected(state, "cloudflared", "list");
            require_cert("");
            let tunnels = load(state, "tunnels.json", json!([]));
            let list: Vec<Value> = tunnels
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut t| {
                    let id = t["id"].as_str().unwrap_or_default().to_string();
                    t["connections"] = Value::Array(live_connections(state, &id));
                    t
                })
                .collect();
            if args.iter().any(|a| a == "json") {
                if list.is_empty() {
                    println!("null");
                } else {
                    println!("{}", serde_json::to_string_pretty(&list).unwrap());
                }
            } else if list.is_empty() {
                println!(
                    "No tunnels were found for the given filter flags. You can use 'cloudflared tunnel create' to create a tunnel."
                );
            } else {
                println!("ID                                   NAME");
                for t in &list {
                    println!(
                        "{} {}",
                        t["id"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or("")
                    );
                }
            }
        }
        "create" => {
            fake_service::fail_if_injected(state, "cloudflared", "create");
            if args.len() != 2 {
                eprintln!(
                    "\"cloudflared tunnel create\" requires exactly 1 argument, the name of tunnel to create."
                );
                eprintln!("See 'cloudflared tunnel create --help'.");
                std::process::exit(255);
            }
            let cert = require_cert(
                "failed to create tunnel: couldn't create client to talk to Cloudflare Tunnel backend: ",
            );
            let name = &args[1];
            if is_uuid(name) {
                eprintln!(
                    "failed to create tunnel: Create Tunnel API call failed: you cannot use UUIDs as tunnel names"
                );
                std::process::exit(1);
            }
            let mut tunnels = load(state, "tunnels.json", json!([]));
            let list = tunnels.as_array_mut().unwrap();
            if list.iter().any(|t| t["name"] == name.as_str()) {
                eprintln!(
                    "failed to create tunnel: Create Tunnel API call failed: tunnel with name already exists"
                );
                std::process::exit(1);
            }
            let id = new_uuid();
            list.push(json!({
                "id": id,
                "name": name,
                "created_at": now(),
                "deleted_at": "0001-01-01T00:00:00Z",
                "connections": [],
            }));
            save(state, "tunnels.json", &tunnels);
            let creds = cert.parent().unwrap().join(format!("{id}.json"));
            let body = json!({"AccountTag": "0123456789abcdef", "TunnelSecret": "c2VjcmV0", "TunnelID": id, "Endpoint": ""});
            std::fs::write(&creds, body.to_string()).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o400)).unwrap();
            println!(
                "Tunnel credentials written to {}. cloudflared chose this file based on where your origin certificate was found. Keep this file secret. To revoke these credentials, delete the tunnel.",
                creds.display()
            );
            println!();
            println!("Created tunnel {name} with id {id}");
        }
        "route" => {
            fake_service::fail_if_injected(state, "cloudflared", "route");
            let rest: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with("--")).collect();
            let overwrite = args.iter().any(|a| a == "--overwrite-dns" || a == "-f");
            if rest.first().map(|s| s.as_str()) != Some("dns") || rest.len() != 3 {
                eprintln!("\"cloudflared tunnel route dns\" requires exactly 2 arguments");
                std::process::exit(255);
            }
            require_cert("");
            let (who, host) = (rest[1].as_str(), rest[2].as_str());
            let tunnels = load(state, "tunnels.json", json!([]));
            let Some(t) = tunnels
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == who || t["id"] == who)
            else {
                eprintln!("{who} is neither the ID nor the name of any of your tunnels");
                std::process::exit(1);
            };
            let id = t["id"].as_str().unwrap().to_string();
            if !host.contains('.') || host.contains(['/', ' ']) {
                eprintln!("{host} is not a valid hostname");
                std::process::exit(1);
            }
            let mut dns = load(state, "dns.json", json!({}));
            match dns.get(host).and_then(Value::as_str) {
                Some(current) if current == id => {
                    log(
                        "INF",
                        &format!(
                            "{host} is already configured to route to your tunnel tunnelID={id}"
                        ),
                    );
                    return;
                }
                Some(_) if !overwrite => {
                    eprintln!(
                        "Failed to add route: code: 1003, reason: An A, AAAA, or CNAME record with that host already exists."
                    );
                    std::process::exit(1);
                }
                _ => {}
            }
            dns[host] = json!(id);
            save(state, "dns.json", &dns);
            log(
                "INF",
                &format!("Added CNAME {host} which will route to this tunnel tunnelID={id}"),
            );
        }
        _ => {
            eprintln!("cloudflared tunnel: unknown subcommand {sub:?}");
            eprintln!("See 'cloudflared tunnel --help'.");
            std::process::exit(255);
        }
    }
}

/// `tunnel --config <file> run`: the connector.
fn run_connector(state: &Path, config: &Path) -> ! {
    fake_service::fail_if_injected(state, "cloudflared", "run");
    let text = std::fs::read_to_string(config).unwrap_or_else(|e| {
        eprintln!("Cannot read config file {}: {e}", config.display());
        std::process::exit(1);
    });
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let tunnel = field("tunnel");
    let creds = field("credentials-file");
    if !Path::new(&creds).is_file() {
        eprintln!("Tunnel credentials file '{creds}' doesn't exist or is not a file");
        std::process::exit(1);
    }
    log("INF", &format!("Starting tunnel tunnelID={tunnel}"));
    log("INF", "Version 2024.8.2 (Checksum 8734f79d)");
    log(
        "INF",
        &format!(
            "Settings: map[config:{} cred-file:{creds}]",
            config.display()
        ),
    );
    let connection = new_uuid();
    let record = json!({
        "tunnel": tunnel,
        "config": config,
        "connection": connection,
        "opened_at": now(),
    });
    let cdir = dir(state).join("connectors");
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::write(
        cdir.join(format!("{}.json", std::process::id())),
        record.to_string(),
    )
    .unwrap();
    log(
        "INF",
        &format!(
            "Registered tunnel connection connIndex=0 connection={connection} event=0 ip=198.41.192.67 location=lax01 protocol=quic"
        ),
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn main() {
    let (state, args) = parachute_tests::fake::record_invocation("cloudflared");
    match args.first().map(String::as_str).unwrap_or("") {
        "--version" | "version" | "-v" | "-V" => {
            fake_service::fail_if_injected(&state, "cloudflared", "version");
            println!("cloudflared version 2024.8.2 (built 2024-08-27-1543 UTC)");
        }
        "tunnel" => {
            let rest = &args[1..];
            if let Some(i) = rest.iter().position(|a| a == "--config")
                && rest.last().map(String::as_str) == Some("run")
            {
                let config = PathBuf::from(rest.get(i + 1).cloned().unwrap_or_default());
                run_connector(&state, &config);
            }
            tunnel_cmd(&state, rest);
        }
        other => {
            eprintln!("cloudflared: unknown command {other:?}");
            std::process::exit(255);
        }
    }
}

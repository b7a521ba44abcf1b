//! The `cloudflared` commands exposure runs, how their answers are read (TOOL-FORMATS.md §2),
//! and the tunnel's `config.yml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parachute_os::{CommandOutput, CommandRunner};
use serde_json::Value;

use crate::error::ExposeError;

/// How long one `cloudflared tunnel …` API command may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// A tunnel as `cloudflared tunnel list` or `create` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// The tunnel UUID.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// Runs `cloudflared` through a [`CommandRunner`].
pub(crate) struct Cloudflared<'a> {
    /// The runner every call goes through.
    runner: &'a dyn CommandRunner,
}

impl<'a> Cloudflared<'a> {
    /// A wrapper over `runner`.
    pub(crate) fn new(runner: &'a dyn CommandRunner) -> Self {
        Self { runner }
    }

    /// Runs `cloudflared args…`; a tool that cannot run reads as a failure explaining why.
    fn run(&self, args: &[&str]) -> CommandOutput {
        tracing::debug!(?args, "running cloudflared");
        self.runner
            .run_with_timeout("cloudflared", args, TOOL_TIMEOUT)
            .unwrap_or_else(|e| CommandOutput {
                code: None,
                stdout: String::new(),
                stderr: e.to_string(),
            })
    }

    /// `cloudflared --version` exits 0; returns its first line.
    pub(crate) fn check_installed(&self) -> Result<String, ExposeError> {
        let out = self.run(&["--version"]);
        if out.success() {
            Ok(out
                .stdout
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string())
        } else {
            Err(ExposeError::CloudflaredMissing {
                detail: out.failure_detail(),
                hint: install_hint(),
            })
        }
    }

    /// `cloudflared tunnel list --output json`.
    pub(crate) fn list(&self) -> Result<Vec<Tunnel>, ExposeError> {
        let args = ["tunnel", "list", "--output", "json"];
        let out = self.run(&args);
        if !out.success() {
            return Err(failed(&args, &out, LOGIN_ADVICE));
        }
        parse_list(&out.stdout).map_err(|detail| ExposeError::Cloudflared {
            command: command(&args),
            detail,
            advice: "Upgrade cloudflared, then re-run.".into(),
        })
    }

    /// `cloudflared tunnel create <name>`; the UUID is read from its stdout.
    pub(crate) fn create(&self, name: &str) -> Result<Tunnel, ExposeError> {
        let args = ["tunnel", "create", name];
        let out = self.run(&args);
        if !out.success() {
            return Err(failed(&args, &out, LOGIN_ADVICE));
        }
        match find_uuid(&out.stdout) {
            Some(id) => Ok(Tunnel {
                id,
                name: name.to_string(),
            }),
            None => Err(ExposeError::Cloudflared {
                command: command(&args),
                detail: format!("no tunnel id in its output: {}", out.stdout.trim()),
                advice: "Check `cloudflared tunnel list`, then re-run.".into(),
            }),
        }
    }

    /// `cloudflared tunnel route dns --overwrite-dns <name> <host>`; returns what it logged.
    pub(crate) fn route_dns(&self, name: &str, host: &str) -> Result<String, ExposeError> {
        let args = ["tunnel", "route", "dns", "--overwrite-dns", name, host];
        let out = self.run(&args);
        if !out.success() {
            let zone = guess_zone(host);
            return Err(failed(
                &args,
                &out,
                &format!(
                    "Check that {zone} is a zone on the Cloudflare account you logged in with (https://dash.cloudflare.com → Add site) and that no conflicting record for {host} is locked, then re-run."
                ),
            ));
        }
        Ok(out.stderr.trim().to_string())
    }
}

/// What to do when a tunnel API command fails.
const LOGIN_ADVICE: &str = "If it mentions the origin certificate, run `cloudflared tunnel login`; otherwise check your network and Cloudflare account, then re-run.";

fn command(args: &[&str]) -> String {
    format!("cloudflared {}", args.join(" "))
}

fn failed(args: &[&str], out: &CommandOutput, advice: &str) -> ExposeError {
    ExposeError::Cloudflared {
        command: command(args),
        detail: last_line(&out.failure_detail()),
        advice: advice.to_string(),
    }
}

/// The last non-empty line (cloudflared logs first, then prints the fatal error).
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

/// Parses `tunnel list --output json` (`null` when there are none). Entries without an id or
/// name, and deleted tunnels, are skipped.
pub(crate) fn parse_list(text: &str) -> Result<Vec<Tunnel>, String> {
    let doc: Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("its output is not JSON ({e})"))?;
    let items = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err("its output is not a JSON array".into()),
    };
    Ok(items
        .iter()
        .filter(|t| {
            t.get("deleted_at")
                .and_then(Value::as_str)
                .is_none_or(|d| d.starts_with("0001-01-01"))
        })
        .filter_map(|t| {
            Some(Tunnel {
                id: t.get("id")?.as_str()?.to_string(),
                name: t.get("name")?.as_str()?.to_string(),
            })
        })
        .collect())
}

/// The first UUID (8-4-4-4-12 hex) in `text`.
pub(crate) fn find_uuid(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let shape = [8usize, 4, 4, 4, 12];
    let total = 36;
    (0..bytes.len().saturating_sub(total - 1)).find_map(|start| {
        let cand = text.get(start..start + total)?;
        let mut parts = cand.split('-');
        let ok = shape.iter().all(|len| {
            parts
                .next()
                .is_some_and(|p| p.len() == *len && p.bytes().all(|b| b.is_ascii_hexdigit()))
        }) && parts.next().is_none();
        let boundary_before = start == 0 || !bytes[start - 1].is_ascii_hexdigit();
        let boundary_after = bytes
            .get(start + total)
            .is_none_or(|b| !b.is_ascii_hexdigit());
        (ok && boundary_before && boundary_after).then(|| cand.to_ascii_lowercase())
    })
}

/// The last two labels of a hostname: a guess at its Cloudflare zone, for advice only.
pub(crate) fn guess_zone(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() <= 2 {
        host.to_string()
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

/// `<cloudflared home>/<uuid>.json`: where `tunnel create` wrote the credentials.
pub(crate) fn credentials_path(cloudflared_home: &Path, uuid: &str) -> PathBuf {
    cloudflared_home.join(format!("{uuid}.json"))
}

/// The tunnel's `config.yml`: all traffic for `hostname` to the hub on loopback, everything
/// else 404 (cloudflared requires a catch-all last rule). The origin is `127.0.0.1`, not
/// `localhost` as the original wrote: the hub binds IPv4 loopback only, and `localhost` may
/// resolve to `::1` first.
pub(crate) fn render_config(uuid: &str, credentials: &Path, hostname: &str, port: u16) -> String {
    let creds = credentials
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "# Written by `parachute expose cloudflare`; it is rewritten on every run, so edit the command instead.\n\
         tunnel: {uuid}\n\
         credentials-file: \"{creds}\"\n\
         \n\
         ingress:\n  \
           - hostname: {hostname}\n    \
             service: http://127.0.0.1:{port}\n  \
           - service: http_status:404\n"
    )
}

/// How to install cloudflared on this platform.
pub(crate) fn install_hint() -> String {
    if cfg!(target_os = "macos") {
        "Install it with `brew install cloudflared` (or download it from https://github.com/cloudflare/cloudflared/releases/latest).".into()
    } else {
        let arch = match std::env::consts::ARCH {
            "x86_64" => Some("amd64"),
            "aarch64" => Some("arm64"),
            "arm" => Some("arm"),
            _ => None,
        };
        match arch {
            Some(arch) => format!(
                "Install the static binary: `curl -fsSL -o /usr/local/bin/cloudflared https://github.com/cloudflare/cloudflared/releases/latest/download/cloudflared-linux-{arch} && chmod +x /usr/local/bin/cloudflared`."
            ),
            None => {
                "Download it from https://github.com/cloudflare/cloudflared/releases/latest.".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parses_tunnels_null_and_skips_deleted() {
        assert_eq!(parse_list("null\n").unwrap(), vec![]);
        let text = r#"[
  {"id": "2b58e7e5-2fd2-4def-b495-0cea1ff34361", "name": "a", "created_at": "2026-05-02T10:14:07Z", "deleted_at": "0001-01-01T00:00:00Z", "connections": []},
  {"id": "11111111-2fd2-4def-b495-0cea1ff34361", "name": "gone", "deleted_at": "2026-05-03T00:00:00Z"},
  {"name": "no-id"}
]"#;
        assert_eq!(
            parse_list(text).unwrap(),
            vec![Tunnel {
                id: "2b58e7e5-2fd2-4def-b495-0cea1ff34361".into(),
                name: "a".into()
            }]
        );
        assert!(parse_list("{}").is_err());
        assert!(parse_list("nope").is_err());
    }

    #[test]
    fn create_output_yields_the_uuid() {
        let out = "Tunnel credentials written to /home/alice/.cloudflared/2b58e7e5-2fd2-4def-b495-0cea1ff34361.json. cloudflared chose this file based on where your origin certificate was found.\n\nCreated tunnel t with id 2b58e7e5-2fd2-4def-b495-0cea1ff34361\n";
        assert_eq!(
            find_uuid(out).as_deref(),
            Some("2b58e7e5-2fd2-4def-b495-0cea1ff34361")
        );
        assert_eq!(find_uuid("no id here"), None);
        assert_eq!(find_uuid("12b58e7e5-2fd2-4def-b495-0cea1ff34361"), None);
    }

    #[test]
    fn config_routes_the_host_to_the_hub_with_a_catch_all() {
        let text = render_config(
            "2b58e7e5-2fd2-4def-b495-0cea1ff34361",
            Path::new("/home/John Doe/.cloudflared/x.json"),
            "hub.example.com",
            1939,
        );
        assert!(text.contains("\ntunnel: 2b58e7e5-2fd2-4def-b495-0cea1ff34361\n"));
        assert!(text.contains("credentials-file: \"/home/John Doe/.cloudflared/x.json\"\n"));
        assert!(text.ends_with(
            "ingress:\n  - hostname: hub.example.com\n    service: http://127.0.0.1:1939\n  - service: http_status:404\n"
        ));
        assert_eq!(guess_zone("a.b.example.com"), "example.com");
        assert_eq!(guess_zone("example.com"), "example.com");
    }
}

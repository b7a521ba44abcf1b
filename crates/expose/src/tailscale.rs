//! The `tailscale` commands exposure runs, and how their answers are read (TOOL-FORMATS.md §1).

use std::time::Duration;

use parachute_os::{CommandOutput, CommandRunner};
use serde_json::Value;

use crate::error::ExposeError;

/// How long one `tailscale` command may take. `serve`/`funnel` block while they wait for the
/// owner to enable HTTPS or Funnel in the admin console; we give up after this long.
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// The capability keys that mean Funnel is allowed (newer builds use the bare name).
const FUNNEL_CAPS: [&str; 2] = ["funnel", "https://tailscale.com/cap/funnel"];

/// What `tailscale status --json` says about this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailscaleStatus {
    /// `Self.DNSName` without its trailing dot; `None` when logged out.
    pub fqdn: Option<String>,
    /// `Self.CapMap` has `https` (HTTPS certificates, needed by serve).
    pub https: bool,
    /// `Self.CapMap` allows Funnel.
    pub funnel: bool,
}

/// Runs `tailscale` through a [`CommandRunner`].
pub(crate) struct Tailscale<'a> {
    /// The runner every call goes through.
    runner: &'a dyn CommandRunner,
}

impl<'a> Tailscale<'a> {
    /// A wrapper over `runner`.
    pub(crate) fn new(runner: &'a dyn CommandRunner) -> Self {
        Self { runner }
    }

    /// Runs `tailscale args…`; a tool that cannot run reads as a failure explaining why.
    pub(crate) fn run(&self, args: &[&str]) -> CommandOutput {
        tracing::debug!(?args, "running tailscale");
        self.runner
            .run_with_timeout("tailscale", args, TOOL_TIMEOUT)
            .unwrap_or_else(|e| CommandOutput {
                code: None,
                stdout: String::new(),
                stderr: e.to_string(),
            })
    }

    /// `tailscale version` exits 0 (it does not need the daemon).
    pub(crate) fn check_installed(&self) -> Result<(), ExposeError> {
        let out = self.run(&["version"]);
        if out.success() {
            Ok(())
        } else {
            Err(ExposeError::TailscaleMissing {
                detail: out.failure_detail(),
            })
        }
    }

    /// Reads `tailscale status --json`.
    pub(crate) fn status(&self) -> Result<TailscaleStatus, ExposeError> {
        let out = self.run(&["status", "--json"]);
        if !out.success() {
            return Err(ExposeError::TailscaleStatus {
                detail: out.failure_detail(),
            });
        }
        parse_status(&out.stdout).map_err(|detail| ExposeError::TailscaleStatus { detail })
    }

    /// The node's DNS name (logged in), else an error saying to log in.
    pub(crate) fn fqdn(&self) -> Result<(String, TailscaleStatus), ExposeError> {
        let status = self.status()?;
        match status.fqdn.clone() {
            Some(fqdn) => Ok((fqdn, status)),
            None => Err(ExposeError::TailscaleStatus {
                detail: "this machine is not logged in to a tailnet (Self.DNSName is empty)".into(),
            }),
        }
    }
}

/// Parses the `status --json` document.
pub(crate) fn parse_status(text: &str) -> Result<TailscaleStatus, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        format!("`tailscale status --json` printed something that is not JSON ({e})")
    })?;
    let me = doc.get("Self").cloned().unwrap_or(Value::Null);
    let fqdn = me
        .get("DNSName")
        .and_then(Value::as_str)
        .map(|s| s.trim_end_matches('.').to_string())
        .filter(|s| !s.is_empty());
    let caps = me.get("CapMap").and_then(Value::as_object);
    let has = |key: &str| caps.is_some_and(|c| c.contains_key(key));
    Ok(TailscaleStatus {
        https: has("https"),
        funnel: fqdn.is_some() && FUNNEL_CAPS.iter().any(|k| has(k)),
        fqdn,
    })
}

/// `serve` for the tailnet, `funnel` for the internet.
fn verb(funnel: bool) -> &'static str {
    if funnel { "funnel" } else { "serve" }
}

/// `tailscale serve|funnel --bg --https=<port> --set-path=<mount> <target>` (without the
/// program name).
pub(crate) fn bringup_args(funnel: bool, port: u16, mount: &str, target: &str) -> Vec<String> {
    vec![
        verb(funnel).into(),
        "--bg".into(),
        format!("--https={port}"),
        format!("--set-path={mount}"),
        target.into(),
    ]
}

/// `tailscale serve|funnel --https=<port> --set-path=<mount> off` (without the program name).
pub(crate) fn teardown_args(funnel: bool, port: u16, mount: &str) -> Vec<String> {
    vec![
        verb(funnel).into(),
        format!("--https={port}"),
        format!("--set-path={mount}"),
        "off".into(),
    ]
}

/// True when a failed `… off` only means the handler was already gone (every version since
/// 1.52 says "does not exist" on stderr).
pub(crate) fn already_gone(out: &CommandOutput) -> bool {
    out.stderr.to_ascii_lowercase().contains("does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_the_dns_name_and_capabilities() {
        let s = parse_status(
            r#"{"BackendState":"Running","Self":{"DNSName":"mybox.tail1a2b3c.ts.net.","CapMap":{"https":null,"funnel":null}}}"#,
        )
        .unwrap();
        assert_eq!(s.fqdn.as_deref(), Some("mybox.tail1a2b3c.ts.net"));
        assert!(s.https && s.funnel);
        let s = parse_status(r#"{"BackendState":"NeedsLogin","Self":{"DNSName":""}}"#).unwrap();
        assert_eq!(s.fqdn, None);
        assert!(!s.https && !s.funnel);
        let s = parse_status(
            r#"{"Self":{"DNSName":"a.b.ts.net.","CapMap":{"https://tailscale.com/cap/funnel":null}}}"#,
        )
        .unwrap();
        assert!(s.funnel && !s.https);
        assert!(parse_status("oops").is_err());
    }

    #[test]
    fn argv_shapes() {
        assert_eq!(
            bringup_args(false, 443, "/", "http://127.0.0.1:1939/"),
            [
                "serve",
                "--bg",
                "--https=443",
                "--set-path=/",
                "http://127.0.0.1:1939/"
            ]
        );
        assert_eq!(
            teardown_args(true, 443, "/"),
            ["funnel", "--https=443", "--set-path=/", "off"]
        );
        let gone = CommandOutput {
            code: Some(1),
            stdout: String::new(),
            stderr: "error: failed to remove web serve: handler does not exist\n".into(),
        };
        assert!(already_gone(&gone));
    }
}

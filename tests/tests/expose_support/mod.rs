//! Shared by the `expose_*` and `host_allowlist` suites: a temp home, fake tools, a user home
//! for cloudflared, a real `parachute serve` supervising a vault stand-in, and a way to run
//! `parachute expose …` against all of it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use parachute_tests::hub::{HubOptions, HubProcess, add_row, pids_matching};
use parachute_tests::{FakeTools, TestHome, bin, free_port, wait_for};
use serde_json::Value;

/// The tailnet name the fake tailscale reports by default.
pub const FQDN: &str = "mybox.tail1a2b3c.ts.net";

/// The vault's origin line as the test module prints it (through the supervisor's prefix).
pub fn vault_origin_line(origin: &str) -> String {
    format!("[vault] env PARACHUTE_HUB_ORIGIN={origin}")
}

/// Everything one test needs.
pub struct Stand {
    /// `PARACHUTE_HOME`.
    pub home: TestHome,
    /// Fake tools and their state.
    pub fakes: FakeTools,
    /// The user's home directory (`HOME`): `~/.cloudflared` lives here.
    pub user: tempfile::TempDir,
    /// The running hub, once started.
    pub hub: Option<HubProcess>,
    /// The vault stand-in's port.
    pub vault_port: u16,
}

/// A finished CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0, with both streams in the message.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    /// Asserts exit 1, with both streams in the message.
    pub fn failed(&self) -> &Self {
        assert_eq!(self.code, 1, "expected failure:\n{self:#?}");
        self
    }
}

impl Stand {
    /// A stand with the given fakes linked in.
    pub fn new(tools: &[&str]) -> Self {
        let user = tempfile::Builder::new()
            .prefix("parachute-user-")
            .tempdir()
            .unwrap();
        Self {
            home: TestHome::new(),
            fakes: FakeTools::new(tools),
            user,
            hub: None,
            vault_port: free_port(),
        }
    }

    /// The home root.
    pub fn root(&self) -> &Path {
        self.home.path()
    }

    /// Adds a `parachute-vault` row whose command (`parachute-vault serve`, found on the hub's
    /// PATH) runs the test module printing its `PARACHUTE_HUB_ORIGIN` at start.
    pub fn with_vault(&self) {
        let script = format!(
            "#!/bin/sh\nexec '{}' --print-env PARACHUTE_HUB_ORIGIN\n",
            bin("test-module").display()
        );
        self.fakes.add_script("parachute-vault", &script);
        add_row(
            self.root(),
            serde_json::json!({
                "name": "parachute-vault",
                "port": self.vault_port,
                "paths": ["/vault/default"],
                "health": "/health",
                "version": "1.0.0",
            }),
        );
    }

    /// Starts `parachute serve` (fakes first on its PATH), waits for the vault to print its
    /// origin, and writes an admin operator token.
    pub fn start_hub(&mut self) -> &HubProcess {
        self.start_hub_with(Vec::new())
    }

    /// [`Stand::start_hub`] with extra hub environment.
    pub fn start_hub_with(&mut self, extra: Vec<(String, String)>) -> &HubProcess {
        let mut env = vec![("PATH".to_string(), self.fakes.path_env())];
        env.extend(extra);
        let hub = HubProcess::start_with(
            self.root(),
            HubOptions {
                env,
                ..Default::default()
            },
        );
        parachute_tests::auth::operator_token(self.root(), hub.port);
        if self.root().join("services.json").exists() {
            hub.wait_for_line("[vault] env PARACHUTE_HUB_ORIGIN=", Duration::from_secs(60));
        }
        self.hub = Some(hub);
        self.hub.as_ref().unwrap()
    }

    /// The hub.
    pub fn hub(&self) -> &HubProcess {
        self.hub.as_ref().expect("hub started")
    }

    /// How many captured hub lines equal `line` exactly.
    pub fn count_lines(&self, line: &str) -> usize {
        self.hub()
            .output()
            .iter()
            .filter(|l| l.as_str() == line)
            .count()
    }

    /// Waits until the hub has printed `line` (exactly) at least `n` times.
    pub fn wait_count(&self, line: &str, n: usize) {
        let seen = wait_for(Duration::from_secs(60), || {
            (self.count_lines(line) >= n).then_some(())
        });
        assert!(
            seen.is_some(),
            "expected {n}x {line:?}; hub output:\n{}",
            self.hub().output_text()
        );
    }

    /// Puts `cert.pem` where cloudflared looks for it (logs cloudflared in).
    pub fn login_cloudflared(&self) {
        let dir = self.cloudflared_home();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), "-----BEGIN ARGO TUNNEL TOKEN-----\n").unwrap();
    }

    /// `~/.cloudflared`.
    pub fn cloudflared_home(&self) -> PathBuf {
        self.user.path().join(".cloudflared")
    }

    /// Where the connector unit files go.
    pub fn unit_dir(&self) -> PathBuf {
        self.user.path().join("units")
    }

    /// Configures the fake tailscale node (`node.json`).
    pub fn tailscale_node(&self, node: Value) {
        let dir = self.fakes.state_dir().join("tailscale");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("node.json"), node.to_string()).unwrap();
    }

    /// Makes `tool` fail for the verbs in `lines` (`<verb> <exit> <text>` each).
    pub fn inject(&self, tool: &str, lines: &[&str]) {
        std::fs::write(
            self.fakes.state_dir().join(format!("{tool}.fail")),
            lines.join("\n") + "\n",
        )
        .unwrap();
    }

    /// Removes the failure injection of `tool`.
    pub fn clear_injection(&self, tool: &str) {
        let _ = std::fs::remove_file(self.fakes.state_dir().join(format!("{tool}.fail")));
    }

    /// Recorded calls of `tool`.
    pub fn calls(&self, tool: &str) -> Vec<Vec<String>> {
        self.fakes.calls(tool)
    }

    /// Forgets recorded calls of every tool.
    pub fn clear_calls(&self) {
        for tool in [
            "tailscale",
            "cloudflared",
            "systemctl",
            "loginctl",
            "journalctl",
        ] {
            self.fakes.clear_calls(tool);
        }
    }

    /// Runs `parachute <args…>` with a clean environment: the fakes on PATH, this stand's
    /// homes, user-scope units in the stand, plus `extra`.
    pub fn cli_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut cmd = parachute_tests::cli::private_command(
            args,
            self.root(),
            self.user.path(),
            &self.fakes,
            &self.unit_dir(),
        );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = parachute_tests::cli::run_bounded(cmd, args);
        Run {
            code: out.code,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    /// Runs `parachute <args…>`.
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_with(args, &[])
    }

    /// Reads a JSON file under the home (`None` when absent).
    pub fn json(&self, rel: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.root().join(rel)).ok()?;
        Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}: {text}")))
    }

    /// The value of `PARACHUTE_HUB_ORIGIN` in `vault/.env`, if any.
    pub fn vault_env_origin(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.root().join("vault/.env")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("PARACHUTE_HUB_ORIGIN="))
            .map(str::to_string)
    }

    /// The `iss` claim of `operator.token`.
    pub fn operator_iss(&self) -> String {
        let token = std::fs::read_to_string(self.root().join("operator.token")).unwrap();
        let payload = token.trim().split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&base64url(payload)).unwrap();
        claims["iss"].as_str().unwrap().to_string()
    }

    /// `GET path` on the hub with a `Host` header.
    pub fn get_as(&self, host: &str, path: &str) -> parachute_tests::http::Response {
        parachute_tests::http::request(self.hub().port, "GET", path, &[("host", host)], None)
            .expect("hub answers")
    }

    /// Live connector pids of this stand (their command line names this home).
    pub fn connectors(&self) -> Vec<u32> {
        let needle = self.root().join("cloudflared").display().to_string();
        pids_matching(&needle)
            .into_iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| c.ends_with(b"\0run\0"))
                    .unwrap_or(false)
            })
            .collect()
    }
}

/// Kills every connector and fake-manager monitor this stand started.
impl Drop for Stand {
    fn drop(&mut self) {
        let mut pids = pids_matching(&self.root().join("cloudflared").display().to_string());
        pids.extend(pids_matching(&self.fakes.state_dir().display().to_string()));
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// `args` as owned strings.
pub fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Decodes unpadded base64url (a JWT segment).
fn base64url(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

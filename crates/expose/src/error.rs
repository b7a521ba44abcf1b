//! Why an exposure could not be brought up or taken down. Every message says what is wrong and
//! what to do next.

use std::path::PathBuf;

use parachute_home::{ServicesError, StateError};

/// An exposure operation failed. Nothing the caller needs to undo: each variant documents what
/// state it leaves behind (always a state a plain re-run can continue from).
#[derive(Debug, thiserror::Error)]
pub enum ExposeError {
    /// `tailscale version` did not run or exited non-zero; nothing was changed.
    #[error(
        "tailscale is not installed or not on PATH ({detail}). Install it from https://tailscale.com/download, run `tailscale up`, then re-run."
    )]
    TailscaleMissing {
        /// What running `tailscale version` produced.
        detail: String,
    },
    /// `tailscale status --json` failed or named no DNS name; nothing was changed.
    #[error(
        "tailscale cannot tell this machine's tailnet name: {detail}. Make sure tailscaled is running and logged in (`tailscale up`), then re-run."
    )]
    TailscaleStatus {
        /// The tool's answer, or what was missing from it.
        detail: String,
    },
    /// There is no module to expose; nothing was changed.
    #[error(
        "no modules are installed yet, so there is nothing to expose. Install one first through the hub (for the vault: `{install}`), then re-run."
    )]
    NoServices {
        /// The command that installs the vault on this box.
        install: String,
    },
    /// `services.json` is malformed (strict read); nothing was changed.
    #[error(transparent)]
    Services(#[from] ServicesError),
    /// `expose-state.json` or `cloudflared-state.json` is malformed or could not be written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A tunnel of that name exists but its credentials file is not on this machine (it was
    /// created elsewhere); nothing was changed.
    #[error(
        "Cloudflare tunnel {name} already exists, but its credentials ({}) are not on this machine, so a connector here could not run it. Copy that file from the machine that created the tunnel, or pick another name with --tunnel-name (or delete the old tunnel with `cloudflared tunnel delete {name}`), then re-run.",
        path.display()
    )]
    TunnelCredentialsMissing {
        /// The tunnel's name.
        name: String,
        /// Where its credentials should be.
        path: std::path::PathBuf,
    },
    /// The hub is not running and could not be started; nothing was changed.
    #[error("the hub is not up, so exposing it would only publish errors: {message}")]
    HubDown {
        /// The ensure-hub-up explanation, with its next step.
        message: String,
    },
    /// `tailscale serve|funnel … <target>` failed. Any previous exposure was already taken
    /// down and its record removed; re-running retries from a clean slate.
    #[error(
        "bringing the exposure up failed: `{command}` said: {detail}. Nothing is exposed right now; fix the cause and re-run."
    )]
    Bringup {
        /// The command that failed, space-joined.
        command: String,
        /// Its error output.
        detail: String,
    },
    /// A teardown command failed for a reason other than "already gone". The state file is
    /// left in place so the same `off` can be retried.
    #[error(
        "tearing the exposure down failed: `{command}` said: {detail}. The state file was left in place; fix the cause and re-run the same command."
    )]
    Teardown {
        /// The command that failed, space-joined.
        command: String,
        /// Its error output.
        detail: String,
    },
    /// `cloudflared --version` did not run; nothing was changed.
    #[error(
        "cloudflared is not installed or not on PATH ({detail}). {hint} Then run `cloudflared tunnel login` and re-run."
    )]
    CloudflaredMissing {
        /// What running `cloudflared --version` produced.
        detail: String,
        /// Platform-specific install instructions.
        hint: String,
    },
    /// `~/.cloudflared/cert.pem` is missing; nothing was changed.
    #[error(
        "cloudflared is not logged in: {cert} does not exist. Run `cloudflared tunnel login` (it opens a browser where you pick a domain on your Cloudflare account), then re-run."
    )]
    CloudflaredNotLoggedIn {
        /// The certificate we looked for.
        cert: PathBuf,
    },
    /// The Cloudflare path routes to the vault, which is not installed; nothing was changed.
    #[error(
        "the vault is not installed, so a Cloudflare tunnel would have nothing to serve. Install it through the hub (`{install}`), then re-run."
    )]
    VaultNotInstalled {
        /// The command that installs the vault on this box.
        install: String,
    },
    /// `--domain` is not a usable DNS name; nothing was changed.
    #[error(
        "{hostname:?} is not a valid hostname: {reason}. Pass a full name inside a zone on your Cloudflare account, e.g. --domain hub.example.com."
    )]
    InvalidHostname {
        /// What was given.
        hostname: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// `--tunnel-name` breaks Cloudflare's naming rules; nothing was changed.
    #[error(
        "{name:?} is not a valid tunnel name: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit."
    )]
    InvalidTunnelName {
        /// What was given.
        name: String,
    },
    /// `--hub-origin` is not a plain http(s) origin; nothing was changed.
    #[error(
        "{origin:?} is not a usable hub origin: {reason}. Pass scheme and host only, e.g. --hub-origin https://hub.example.com."
    )]
    InvalidHubOrigin {
        /// What was given.
        origin: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A `cloudflared tunnel …` step failed; nothing after it was done.
    #[error("`{command}` failed: {detail}. {advice}")]
    Cloudflared {
        /// The command, space-joined.
        command: String,
        /// The tool's error output.
        detail: String,
        /// What to do about it.
        advice: String,
    },
    /// A file we write could not be written.
    #[error("cannot write {path}: {source}. Check the permissions of that directory, then re-run.")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `expose public` without a provider flag found both providers ready and cannot ask.
    #[error(
        "both Tailscale Funnel and a Cloudflare tunnel are set up on this machine, so `expose public` cannot pick one for you. Choose explicitly: `parachute expose public --tailnet` or `parachute expose public --cloudflare --domain <hostname>`."
    )]
    AmbiguousProvider,
    /// `expose public` without a provider flag found no ready provider.
    #[error("no way to reach the internet is set up on this machine yet.\n{pointers}")]
    NoProvider {
        /// What each provider still needs, one step per line.
        pointers: String,
    },
    /// The Cloudflare path needs a hostname.
    #[error(
        "a Cloudflare tunnel needs the public hostname to route: add --domain <hostname> (its apex must be a zone on your Cloudflare account), e.g. `parachute expose public --cloudflare --domain hub.example.com`."
    )]
    DomainRequired,
}

impl ExposeError {
    /// The error for a failed write of `path`.
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ExposeError::Write {
            path: path.into(),
            source,
        }
    }
}

//! Command-line flags, parsed and validated before any verb acts (ripgrep style).

use clap::{Args, Parser, Subcommand, ValueEnum};
use parachute_auth::OperatorScopeSet;

/// Run and manage your personal Parachute hub.
#[derive(Debug, Parser)]
#[command(
    name = "parachute",
    version,
    about = "Run and manage your personal Parachute hub.",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version.
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,

    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every verb.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub and every module in the foreground (what the hub unit runs).
    Serve,
    /// Show every module and the hub: state, pid, uptime, latency.
    Status(StatusArgs),
    /// Start the hub (through its unit) or one module (through the running hub).
    Start(LifecycleArgs),
    /// Stop the hub (through its unit) or one module.
    Stop(LifecycleArgs),
    /// Restart the hub (through its unit) or one module.
    Restart(LifecycleArgs),
    /// Show a module's output (from the running hub, else from its log file).
    Logs(LogsArgs),
    /// Operator token, signing keys, tokens and the admin password.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Install and start the hub unit, mint the operator token, offer exposure.
    Init(InitArgs),
    /// Move a legacy install to the supervised hub, or tidy old files away.
    #[command(after_help = "\
Without --to-supervised or --teardown, known leftovers of older installs (logs and databases
of retired modules) move into .archive-YYYY-MM-DD/ after you confirm; nothing is deleted.
--to-supervised stops the old detached daemons and installs the hub unit; if it stops
half-way, run it again.")]
    Migrate(MigrateArgs),
    /// Make the hub reachable on your tailnet, the internet, or a Cloudflare tunnel (or stop).
    #[command(after_help = "\
Examples:
  parachute expose tailnet                               your devices on your tailnet
  parachute expose public --tailnet                      the internet, through Tailscale Funnel
  parachute expose cloudflare --domain hub.example.com   the internet, through a Cloudflare tunnel
  parachute expose cloudflare off                        take that layer down (the hub keeps running)")]
    Expose(ExposeArgs),
    /// Upgrade the hub (a signed release, health-gated, rolled back if it fails) or a module.
    #[command(after_help = "\
The hub's new binary comes from the signed release feed (PARACHUTE_UPDATE_URL overrides it).
Under the hub unit it is swapped in, the unit restarted once, and the new hub must answer with
its version and finish booting, or the previous binary is put back. A hub started by hand gets
the verified swap and is told to restart. Modules upgrade through the running hub.")]
    Upgrade(UpgradeArgs),
    /// Install a module (or `all` of them) through the running hub, which starts it.
    #[command(after_help = "\
The hub installs the module's package (bun add -g), registers it in services.json and starts
it; this command follows the operation until it is done. Without --channel the hub's own
channel applies (its PARACHUTE_INSTALL_CHANNEL, else its stored setting, else latest).")]
    Install(InstallArgs),
    /// Run `parachute-vault` with these arguments (tokens, config, …); its exit code is ours.
    #[command(disable_help_flag = true)]
    Vault(VaultArgs),
}

/// `install` flags.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A module's short name (`vault`, `scribe`, `runner`, `surface`, `channel`, `notes`) or
    /// `all` for every one in turn.
    pub service: String,
    /// Package channel to install from.
    #[arg(long, value_enum)]
    pub channel: Option<UpgradeChannel>,
}

/// `vault` arguments: everything after the verb, passed on untouched.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// Arguments for `parachute-vault`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `upgrade` flags.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// `hub` (the default), a module's short name, or `all` (the hub, then every module).
    pub target: Option<String>,
    /// Release channel to follow (remembered for next time).
    #[arg(long, value_enum)]
    pub channel: Option<UpgradeChannel>,
    /// Accept a release older than the running one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Only say whether an update is available (nothing is downloaded).
    #[arg(long, conflicts_with_all = ["detach", "status", "apply"])]
    pub check: bool,
    /// Run the hub upgrade in the background, outside this terminal (follow it with --status).
    #[arg(long, conflicts_with_all = ["status", "apply"])]
    pub detach: bool,
    /// Show the last hub upgrade's status (as JSON).
    #[arg(long, conflicts_with = "apply")]
    pub status: bool,
    /// Run accepted upgrade operation OPERATION (what the background helper runs).
    #[arg(long, value_name = "OPERATION", hide = true)]
    pub apply: Option<String>,
}

/// Release channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpgradeChannel {
    /// Stable releases.
    Latest,
    /// Release candidates.
    Rc,
}

/// `status` flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print machine-readable JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `start|stop|restart` flags.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// A module's short name (`vault`, `scribe`, …) or `hub`; omit for the hub.
    pub service: Option<String>,
    /// Origin the hub is reached at, for validating the operator token's issuer.
    #[arg(long, value_name = "URL")]
    pub hub_origin: Option<String>,
}

/// `logs` flags.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The module's short name, or `hub` (without one, the known names are listed).
    pub service: Option<String>,
    /// Keep printing new lines as they arrive.
    #[arg(short, long)]
    pub follow: bool,
    /// How many of the latest lines to show first.
    #[arg(short = 'n', long, default_value_t = 200)]
    pub lines: usize,
}

/// `auth` verbs.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Mint a fresh operator token into operator.token (mode 0600).
    RotateOperator {
        /// Which scopes the token carries: install, start, expose, auth, vault or admin.
        #[arg(long, value_parser = parse_scope_set, default_value = "admin")]
        scope_set: OperatorScopeSet,
    },
    /// Retire the active signing key and create a new one (old tokens stay valid for 24 h).
    RotateKey,
    /// Mint a token a module accepts (stdout = the token), e.g. `--scope vault:default:read
    /// --ephemeral`.
    #[command(after_help = "\
The audience defaults from the scopes as OAuth does: a named vault:<name>:<verb> gives
vault.<name>, otherwise the first scope's service (scribe:transcribe gives scribe), else hub.
Lifetime: 90 days by default, --ephemeral for 1 hour, --expires-in <seconds> up to 365 days
(--ttl <duration> is the deprecated spelling). The token carries the hub's origin as issuer
(the hub_origin setting, else PARACHUTE_HUB_ORIGIN, else the exposed origin, else loopback).")]
    MintToken {
        /// Space-separated scopes (commas also separate).
        #[arg(long, required = true)]
        scope: String,
        /// Audience (`vault.<name>`, `scribe`, …); inferred from the scopes when omitted.
        #[arg(long)]
        aud: Option<String>,
        /// Short-lived token (1 hour), the right choice for scripts.
        #[arg(long, conflicts_with_all = ["expires_in", "ttl"])]
        ephemeral: bool,
        /// Lifetime in seconds (e.g. 86400 for a day; at most 365 days).
        #[arg(long, value_name = "SECONDS", value_parser = parse_expires_in, conflicts_with = "ttl")]
        expires_in: Option<std::time::Duration>,
        /// Deprecated spelling of the lifetime (`90d`, `24h`, `30m`, `60s`); use --expires-in.
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
        /// Subject (default: the operator token's user).
        #[arg(long)]
        sub: Option<String>,
        /// Fine-grained constraints as a JSON object, carried as the `permissions` claim, e.g.
        /// '{"vault":{"default":{"write_tags":["health"]}}}'.
        #[arg(long, value_name = "JSON", value_parser = parse_permissions_flag)]
        permissions: Option<serde_json::Value>,
    },
    /// Revoke a token by its `jti`.
    RevokeToken {
        /// The token id.
        jti: String,
    },
    /// Create the hub's account (or another with --allow-multi), or reset a password.
    #[command(after_help = "\
The first account is called \"owner\" unless --username says otherwise; later runs reset the
password of the account --username names (default: the first one). The password is typed
twice at a terminal, or given with --password <pw> or --password-stdin for scripts.")]
    SetPassword {
        /// Account name (default `owner` on first run, else the existing account).
        #[arg(long)]
        username: Option<String>,
        /// The password itself (scripts; it is visible to other local users in the process
        /// list, so prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Create an additional account when --username names one that does not exist yet.
        #[arg(long)]
        allow_multi: bool,
    },
    /// List user accounts.
    ListUsers,
    /// List OAuth clients that registered themselves and wait for approval.
    PendingClients,
    /// Approve a pending OAuth client so it can complete sign-in.
    ApproveClient {
        /// The client's id (from `pending-clients`).
        client_id: String,
    },
    /// List the apps an account approved (consent is skipped for them next time).
    ListGrants {
        /// Account (default: the hub's admin).
        #[arg(long)]
        username: Option<String>,
    },
    /// Forget an app's approval, so it asks for consent again (its tokens stay valid; revoke
    /// them with revoke-token).
    RevokeGrant {
        /// The client's id (from `list-grants`).
        client_id: String,
        /// Account (default: the hub's admin).
        #[arg(long)]
        username: Option<String>,
    },
    /// Two-step sign-in (TOTP) for the hub's login page: status, enroll, disenroll.
    #[command(name = "2fa")]
    TwoFactor {
        /// What to do (default: status).
        #[command(subcommand)]
        action: Option<TwoFactorAction>,
    },
}

/// `auth 2fa` actions.
#[derive(Debug, Clone, Subcommand)]
pub enum TwoFactorAction {
    /// Show whether the account signs in with a second factor, and its backup codes left.
    Status {
        /// Account (default: the hub's admin).
        #[arg(long)]
        username: Option<String>,
    },
    /// Turn it on: prints the secret and otpauth:// URI for an authenticator app, reads one
    /// current code from standard input to confirm, then prints ten backup codes once.
    Enroll {
        /// Account (default: the hub's admin).
        #[arg(long)]
        username: Option<String>,
    },
    /// Turn it off (the secret and backup codes are deleted).
    Disenroll {
        /// Account (default: the hub's admin).
        #[arg(long)]
        username: Option<String>,
    },
}

/// `--expires-in`: a whole number of seconds, more than zero and at most 365 days.
pub fn parse_expires_in(raw: &str) -> Result<std::time::Duration, String> {
    let max = parachute_auth::tokens::MINT_MAX_TTL.as_secs();
    let secs: u64 = raw
        .trim()
        .parse()
        .ok()
        .filter(|_| raw.trim().bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            format!("expected a whole number of seconds such as 86400 (one day), got {raw:?}")
        })?;
    if secs == 0 {
        return Err("the lifetime must be more than zero seconds".into());
    }
    if secs > max {
        return Err(format!(
            "{secs} seconds is longer than the 365 days ({max} seconds) a minted token may live"
        ));
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// `--permissions`: a JSON object, canonicalised as the original does.
pub fn parse_permissions_flag(raw: &str) -> Result<serde_json::Value, String> {
    parachute_auth::parse_permissions(raw).map_err(|e| e.to_string())
}

/// Reads a `--scope-set` value straight into the auth crate's type (one list of sets, kept
/// there).
pub fn parse_scope_set(raw: &str) -> Result<OperatorScopeSet, String> {
    raw.parse::<OperatorScopeSet>().map_err(|_| {
        let names: Vec<&str> = OperatorScopeSet::ALL.iter().map(|s| s.name()).collect();
        format!(
            "{raw:?} is not a scope set; use one of {}",
            names.join(", ")
        )
    })
}

/// `init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Exposure to set up without asking.
    #[arg(long, value_enum)]
    pub expose: Option<InitExpose>,
    /// Never ask about exposure.
    #[arg(long)]
    pub no_expose_prompt: bool,
    /// Do not offer to open the dashboard in a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// `init --expose` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitExpose {
    /// Loopback only.
    None,
    /// Your tailnet (tailscale serve).
    Tailnet,
    /// A Cloudflare named tunnel.
    Cloudflare,
}

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List what the archive sweep would move, change nothing.
    #[arg(long, conflicts_with_all = ["to_supervised", "teardown"])]
    pub list: bool,
    /// Show what would happen, change nothing.
    #[arg(long, conflicts_with_all = ["to_supervised", "teardown"])]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Cut a legacy install over to the supervised hub unit.
    #[arg(long, conflicts_with = "teardown")]
    pub to_supervised: bool,
    /// Stop and remove the hub unit (your data stays).
    #[arg(long)]
    pub teardown: bool,
}

/// `expose` flags.
#[derive(Debug, Args)]
pub struct ExposeArgs {
    /// `tailnet`, `public` or `cloudflare`.
    #[arg(value_enum)]
    pub layer: ExposeLayer,
    /// `off` to tear the layer down.
    #[arg(value_parser = ["off"])]
    pub off: Option<String>,
    /// Origin to advertise instead of the one derived from the layer.
    #[arg(long, value_name = "URL")]
    pub hub_origin: Option<String>,
    /// Use a Cloudflare named tunnel.
    #[arg(long, conflicts_with = "tailnet")]
    pub cloudflare: bool,
    /// Use Tailscale (Funnel for `public`).
    #[arg(long, alias = "tailscale")]
    pub tailnet: bool,
    /// Skip checking which providers are ready (uses Funnel).
    #[arg(long)]
    pub skip_provider_check: bool,
    /// Public hostname for a Cloudflare tunnel.
    #[arg(long, value_name = "HOST")]
    pub domain: Option<String>,
    /// Cloudflare tunnel name (default derived from the hostname).
    #[arg(long, value_name = "NAME")]
    pub tunnel_name: Option<String>,
}

/// Exposure layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExposeLayer {
    /// Your tailnet only.
    Tailnet,
    /// The public internet.
    Public,
    /// The public internet through a Cloudflare tunnel.
    Cloudflare,
}

// Generated from crates/protocol by scripts/gen-protocol: do not edit by hand.
// The hub's wire types (see crates/protocol/src/lib.rs for the compatibility rules).

export type ErrorBody = { 
/**
 * Machine-readable code (`unauthenticated`, `not_installed`, `unknown_module`, …).
 */
error: string, 
/**
 * One or more sentences for a person: what is wrong and what to do.
 */
error_description: string, };

export type ModuleStatus = "starting" | "running" | "stopped" | "crashed" | "restarting";

export type ExitInfo = { 
/**
 * Exit code when it exited normally.
 */
code: number | null, 
/**
 * Signal number when a signal killed it.
 */
signal: number | null, };

export type StartError = { 
/**
 * `missing_dependency`, `started_but_unbound`, `crash_loop`, `spawn_failed`,
 * `unresolvable`, `port_in_use`, `no_start_cmd`, `unsafe_home`.
 */
error_type: string, 
/**
 * What happened and what to do (may span lines: a crash loop quotes the last output).
 */
error_description: string, 
/**
 * The missing program, for `missing_dependency`.
 */
binary?: string | null, 
/**
 * When it was recorded (epoch ms).
 */
at: number, };

export type ModuleState = { 
/**
 * The module's short name (`vault`, `scribe`, a third-party row name).
 */
short: string, 
/**
 * Where it is in its lifecycle.
 */
status: ModuleStatus, 
/**
 * Pid (= process group id) of the current process, while one exists.
 */
pid: number | null, 
/**
 * The port it was told to listen on (`PORT`).
 */
port: number | null, 
/**
 * True once it accepted a TCP connection on its port since its last spawn.
 */
ready: boolean, 
/**
 * When the current process was spawned (epoch ms).
 */
started_at: number | null, 
/**
 * The original's key: the same instant as an ISO-8601 string.
 */
startedAt: string | null, 
/**
 * Consecutive crashes counted towards giving up (reset after a healthy run).
 */
consecutive_crashes: number, 
/**
 * The original's key for the crashes counted towards giving up.
 */
restartsInWindow: number, 
/**
 * Every respawn since the module was last started by hand.
 */
total_restarts: number, 
/**
 * When it last exited unexpectedly (epoch ms).
 */
last_crash_at: number | null, 
/**
 * The original's key: the same instant as an ISO-8601 string.
 */
lastCrashAt: string | null, 
/**
 * How it last exited unexpectedly.
 */
last_exit: ExitInfo | null, 
/**
 * The original's key: the exit code of the last unexpected exit.
 */
lastExitCode: number | null, 
/**
 * When the next respawn is due, while `restarting` (epoch ms).
 */
next_retry_at: number | null, 
/**
 * Why it is not running properly, if it is not.
 */
start_error: StartError | null, 
/**
 * The original's key for the same start error.
 */
startError: StartError | null, };

export type ModuleStates = { 
/**
 * One entry per supervised module, by short name.
 */
modules: Array<ModuleState>, };

export type ModuleAnswer = { 
/**
 * The module.
 */
short: string, 
/**
 * Its state after the operation.
 */
state: ModuleState, };

export type RestartAction = "restarted" | "started";

export type RestartAnswer = { 
/**
 * The module.
 */
short: string, 
/**
 * Its state afterwards.
 */
state: ModuleState, 
/**
 * Which of the two happened.
 */
action: RestartAction, };

export type StopAnswer = { 
/**
 * The module.
 */
short: string, 
/**
 * False when the hub was not running it (nothing to stop).
 */
stopped: boolean, 
/**
 * Its state after the stop, when it was supervised.
 */
state?: ModuleState | null, };

export type ModuleLogs = { 
/**
 * The module.
 */
short: string, 
/**
 * Buffered lines, oldest first, as the original sends them: `[short] <line>\n`.
 */
lines: Array<string>, 
/**
 * The same lines joined into one text.
 */
text: string, };

export type Channel = "latest" | "rc";

export type UiEntry = { 
/**
 * The slug (its key in `uis`).
 */
name: string, 
/**
 * What to call it.
 */
display_name: string, 
/**
 * Where it is served, under the hub.
 */
path: string | null, 
/**
 * One line about it.
 */
tagline: string | null, 
/**
 * Its icon.
 */
icon_url: string | null, 
/**
 * Its version.
 */
version: string | null, 
/**
 * The OAuth client it signs in with.
 */
oauth_client_id: string | null, 
/**
 * `active|pending|inactive|failing` (the original's aliases normalised).
 */
status: string | null, };

export type ModuleSummary = { 
/**
 * Short name (`vault`, a third-party row name, …).
 */
short: string, 
/**
 * Its `services.json` row name, when installed.
 */
name: string | null, 
/**
 * The registry package it installs from, when the hub knows one.
 */
package: string | null, 
/**
 * What to call it.
 */
display_name: string, 
/**
 * One line about it.
 */
tagline: string, 
/**
 * Whether the hub can install it from a registry.
 */
available: boolean, 
/**
 * Whether `services.json` has a row for it.
 */
installed: boolean, 
/**
 * The version its row records.
 */
installed_version: string | null, 
/**
 * The newest version on the install channel (`null` when unknown or not asked).
 */
latest_version: string | null, 
/**
 * Its port, when installed.
 */
port: number | null, 
/**
 * The supervisor's status word, when the hub runs it.
 */
supervisor_status: ModuleStatus | null, 
/**
 * Its pid while a process exists.
 */
pid: number | null, 
/**
 * When the current process was spawned (epoch ms).
 */
supervisor_started_at: number | null, 
/**
 * Whether it answers on its port.
 */
supervisor_ready: boolean | null, 
/**
 * Respawns since it was last started by hand.
 */
supervisor_restarts: number | null, 
/**
 * Why it is not running properly.
 */
supervisor_start_error: StartError | null, 
/**
 * Where it is installed.
 */
install_dir: string | null, 
/**
 * The interfaces it declares.
 */
uis: Array<UiEntry>, 
/**
 * Where the dashboard's "Open" button goes.
 */
management_url: string | null, };

export type ModulesList = { 
/**
 * Curated first-party modules first, then every other row, then orphans the supervisor
 * still runs.
 */
modules: Array<ModuleSummary>, 
/**
 * Always true for this hub (the original could run without a supervisor).
 */
supervisor_available: boolean, 
/**
 * The channel installs and upgrades use.
 */
module_install_channel: Channel | null, };

export type ChannelAnswer = { 
/**
 * The stored setting.
 */
channel: Channel, 
/**
 * What installs use now (an install channel in the hub's environment wins).
 */
effective_channel: Channel, };

export type OperationKind = "install" | "upgrade" | "restart" | "uninstall";

export type OperationStatus = "pending" | "running" | "succeeded" | "failed";

export type Operation = { 
/**
 * Random id handed to the client.
 */
id: string, 
/**
 * What it does.
 */
kind: OperationKind, 
/**
 * The module it acts on.
 */
short: string, 
/**
 * Where it is.
 */
status: OperationStatus, 
/**
 * Progress lines for a person, oldest first.
 */
log: Array<string>, 
/**
 * Why it failed.
 */
error?: string | null, 
/**
 * Machine-readable failure detail (exit code and output tail, or a start error).
 */
error_detail?: unknown, 
/**
 * When it was accepted (ISO 8601, UTC).
 */
startedAt: string, 
/**
 * When it ended (ISO 8601, UTC).
 */
finishedAt?: string | null, };

export type OperationAccepted = { 
/**
 * Poll `GET /api/modules/operations/<id>`, or watch `operation` events.
 */
operation_id: string, };

export type Health = { 
/**
 * Always `ok` while the hub answers.
 */
status: string, 
/**
 * Always `parachute-hub`.
 */
service: string, 
/**
 * The hub's version.
 */
version: string, };

export type Ready = { 
/**
 * Boot finished and every module is up.
 */
ready: boolean, 
/**
 * Ours: true until every `services.json` row has been handed to the supervisor. The
 * upgrade's health gate uses this (stopped modules do not count against a hub).
 */
booting: boolean, 
/**
 * Modules answering on their port.
 */
ready_modules: Array<string>, 
/**
 * Modules on their way up.
 */
transient_modules: Array<string>, 
/**
 * Modules that stay down until someone acts.
 */
persistent_modules: Array<string>, };

export type BootProgress = { 
/**
 * Rows in `services.json` that boot looks at.
 */
total: number, 
/**
 * Rows dealt with so far (started, or skipped as CLI-only or unresolvable).
 */
done: number, 
/**
 * True once every row is dealt with.
 */
finished: boolean, };

export type AdminState = "exists" | "seeded" | "needs-setup";

export type UpgradePhase = "pending" | "running" | "downloading" | "verifying" | "swapping" | "restarting" | "succeeded" | "failed" | "rolled-back" | "redeploy-required";

export type UpgradeMode = "in-place" | "redeploy-required";

export type UpgradeRestart = "unit" | "manual";

export type HubUpdate = { 
/**
 * True when the channel offers a version newer than the running one.
 */
available: boolean, 
/**
 * The version the channel offers (`null` until a check succeeded).
 */
version: string | null, 
/**
 * The channel read: the remembered one, else the running version's.
 */
channel: Channel, 
/**
 * When the feed was last asked (ISO 8601; `null`: never since the hub started).
 */
checked_at: string | null, 
/**
 * When the offered version was published.
 */
pub_date: string | null, 
/**
 * Its release notes.
 */
notes: string | null, 
/**
 * True when the channel offers an older version (only an explicit downgrade installs it).
 */
downgrade: boolean, 
/**
 * Why the last check failed (the feed unreachable, a bad signature, …).
 */
error: string | null, };

export type RedeployAdvice = { 
/**
 * Why it cannot upgrade in place.
 */
reason: string, 
/**
 * What upgrades it.
 */
command: string, };

export type HubUpgradeAccepted = { 
/**
 * The operation to follow in `GET /api/hub/upgrade/status` and `hub_upgrade` events.
 */
operation_id: string, 
/**
 * The version it installs.
 */
target_version: string, 
/**
 * The channel it follows.
 */
channel: Channel, 
/**
 * In place, or redeploy-required (nothing runs; see `redeploy`).
 */
mode: UpgradeMode, 
/**
 * The version running now.
 */
current_version: string | null, 
/**
 * How the new binary gets to run (`null` for redeploy-required).
 */
restart: UpgradeRestart | null, 
/**
 * Why and how to upgrade a redeploy-required install.
 */
redeploy?: RedeployAdvice | null, 
/**
 * The release notes.
 */
notes?: string | null, };

export type HubUpgradeStatus = { 
/**
 * Random id of the operation.
 */
operation_id: string, 
/**
 * Where it is.
 */
phase: UpgradePhase, 
/**
 * In place or redeploy.
 */
mode: UpgradeMode, 
/**
 * The version running when it started.
 */
current_version: string, 
/**
 * The version it installs (`null` when unknown).
 */
target_version: string | null, 
/**
 * The channel it follows.
 */
channel: Channel, 
/**
 * Progress lines for a person, oldest first.
 */
log: Array<string>, 
/**
 * Why it failed or rolled back.
 */
error?: string, 
/**
 * When it was accepted (ISO 8601).
 */
started_at: string, 
/**
 * When it ended.
 */
finished_at?: string, 
/**
 * Bytes downloaded so far.
 */
bytes_done: number, 
/**
 * Bytes to download (0 until known).
 */
bytes_total: number, 
/**
 * Where the previous binary is kept once the swap began.
 */
previous_binary: string | null, 
/**
 * One sentence on how it ended (or what to do next).
 */
reason: string | null, 
/**
 * The binary being replaced.
 */
binary: string | null, 
/**
 * How the new binary gets to run.
 */
restart: UpgradeRestart | null, 
/**
 * The command that upgrades a redeploy-required install.
 */
redeploy_command?: string, 
/**
 * When the in-flight lock lapses without progress (`null` once it ended).
 */
lock_expires_at: string | null, };

export type HubUpgradeProgress = { 
/**
 * The operation.
 */
operation_id: string, 
/**
 * Where it is now.
 */
phase: UpgradePhase, 
/**
 * The version running when it started.
 */
current_version: string, 
/**
 * The version it installs.
 */
target_version: string | null, 
/**
 * Bytes downloaded so far.
 */
bytes_done: number, 
/**
 * Bytes to download (0 until known).
 */
bytes_total: number, 
/**
 * The newest progress line.
 */
message: string | null, 
/**
 * How it ended (terminal phases).
 */
reason: string | null, };

export type ModuleUpgradeRequest = { 
/**
 * The dist-tag to install from (else the pinned or stored install channel, else the
 * channel of the installed version: `-rc.N` follows `rc`).
 */
channel?: Channel, 
/**
 * Install even when the channel's version is older than the installed one (the hub
 * reads an absent member as `false`).
 */
allow_downgrade: boolean, };

export type HubInfo = { 
/**
 * The hub's version.
 */
version: string, 
/**
 * When this hub process started serving (ISO 8601).
 */
started_at: string | null, 
/**
 * How long it has been serving.
 */
uptime_ms: number, 
/**
 * `binary`, `desktop` (embedded in the desktop app) or `container`.
 */
source: string, 
/**
 * The executable serving.
 */
executable: string | null, 
/**
 * Its pid.
 */
pid: number | null, 
/**
 * The port it listens on.
 */
port: number | null, 
/**
 * The config home it serves.
 */
parachute_home: string | null, 
/**
 * How many modules the supervisor has entries for.
 */
modules: number, 
/**
 * Build time of a container image (`PARACHUTE_BUILD_TIME`).
 */
container_build_time?: string | null, 
/**
 * Render's commit, in a Render container.
 */
render_commit?: string | null, 
/**
 * Render's branch, in a Render container.
 */
render_branch?: string | null, 
/**
 * Ours: whether a newer hub is offered, from the last check of the release feed (the
 * hub never fetches the feed to answer this; `POST /api/hub/upgrade/check` asks now).
 */
update?: HubUpdate | null, };

export type ExposureLayer = "tailnet" | "funnel" | "cloudflare";

export type TunnelSummary = { 
/**
 * Tunnel name.
 */
name: string, 
/**
 * The public hostname it serves.
 */
hostname: string, 
/**
 * Whether its connector runs as a managed unit.
 */
service_managed: boolean, };

export type ExposureSnapshot = { 
/**
 * The live layer, `null` when the hub is on loopback only.
 */
layer: ExposureLayer | null, 
/**
 * Where the hub is reached on that layer (`https://<host>`).
 */
url: string | null, 
/**
 * The hub origin advertised to modules and OAuth clients on that layer.
 */
hub_origin: string | null, 
/**
 * Cloudflare tunnels recorded.
 */
tunnels: Array<TunnelSummary>, 
/**
 * A state file that could not be read, named with the fix.
 */
problem?: string | null, };

export type ExposeTarget = "tailnet" | "funnel" | "cloudflare";

export type ExposeRequest = { 
/**
 * The layer to change.
 */
layer: ExposeTarget, 
/**
 * `true` brings it up, `false` takes it down.
 */
enable: boolean, 
/**
 * Cloudflare: the public hostname (required to bring a tunnel up).
 */
domain?: string | null, 
/**
 * Cloudflare: the tunnel's name (default: derived from the hostname).
 */
tunnel_name?: string | null, 
/**
 * Advertise this origin instead of `https://<host>` (the CLI's `--hub-origin`).
 */
hub_origin?: string | null, };

export type ExposeAnswer = { 
/**
 * What is exposed now.
 */
exposure: ExposureSnapshot, 
/**
 * The progress lines, in order, as the CLI renders them.
 */
lines: Array<string>, 
/**
 * Whether the request changed nothing (taking down a layer that was not live).
 */
nothing_to_do: boolean, };

export type HubSnapshot = { 
/**
 * The hub process.
 */
hub: HubInfo, 
/**
 * Whether an admin exists.
 */
admin: AdminState, 
/**
 * Every supervised module, in start order.
 */
modules: Array<ModuleState>, 
/**
 * What is exposed, from the state files.
 */
exposure: ExposureSnapshot, 
/**
 * How far boot has got.
 */
boot: BootProgress, };

export type HubEvent = { "type": "listening", 
/**
 * The port it listens on.
 */
port: number, 
/**
 * Its version.
 */
version: string, 
/**
 * Whether an admin exists.
 */
admin: AdminState, } | { "type": "boot_progress", 
/**
 * Progress so far.
 */
progress: BootProgress, } | { "type": "module_state", 
/**
 * The new state.
 */
state: ModuleState, } | { "type": "crash_loop", 
/**
 * The module.
 */
short: string, 
/**
 * What happened, with its last output.
 */
reason: string, 
/**
 * How it last exited.
 */
exit: ExitInfo | null, } | { "type": "output_dropped", 
/**
 * Lines dropped since the last such event.
 */
count: number, } | { "type": "operation", 
/**
 * The operation as it stands now.
 */
operation: Operation, } | { "type": "services_changed", 
/**
 * The module short names it now lists.
 */
modules: Array<string>, } | { "type": "exposure_changed", 
/**
 * The exposure now.
 */
exposure: ExposureSnapshot, } | { "type": "channel_changed", 
/**
 * The stored setting.
 */
channel: Channel, } | { "type": "hub_origin_changed", 
/**
 * The new setting.
 */
hub_origin: string | null, } | { "type": "hub_upgrade", 
/**
 * The upgrade as it stands now.
 */
upgrade: HubUpgradeProgress, } | { "type": "update_checked", 
/**
 * The answer.
 */
update: HubUpdate, } | { "type": "notice", 
/**
 * Who says it (`supervisor`, `hub`).
 */
source: string, 
/**
 * `info` or `warn`.
 */
level: string, 
/**
 * The sentence.
 */
message: string, } | { "type": "lagged", 
/**
 * How many events it missed.
 */
missed: number, } | { "type": "stopping" };

export type EventEnvelope = { 
/**
 * Increases by one per event the hub emits (a gap means events were missed).
 */
seq: number, 
/**
 * When it was emitted (epoch ms).
 */
at: number, 
/**
 * What happened.
 */
event: HubEvent, };

export type RowState = "active" | "pending" | "inactive" | "failing";

export type StatusRow = { 
/**
 * The `services.json` row name, or `parachute-hub (internal)`.
 */
service: string, 
/**
 * The module's short name (`hub` for the hub row).
 */
short: string, 
/**
 * Its port.
 */
port: number, 
/**
 * The version its row records (the hub's own for the hub row).
 */
version: string, 
/**
 * What to show.
 */
state: RowState, 
/**
 * The process, when one exists.
 */
pid: number | null, 
/**
 * How long the current process has run.
 */
uptime_ms: number | null, 
/**
 * A health request straight to the port, in milliseconds (one decimal).
 */
latency_ms: number | null, 
/**
 * Where it was installed from (`npm (1.2.3)`, `bun-linked → <dir>`, `unknown`).
 */
source: string, 
/**
 * Where it is reached directly.
 */
url: string, 
/**
 * Things to look at, one sentence each (the table's `  ! …` lines).
 */
notes: Array<string>, 
/**
 * Whether this row makes `status` exit 1 (crashed module, failing hub).
 */
unhealthy: boolean, 
/**
 * The supervisor's raw status word, when it tracks the module.
 */
supervisor_status: string | null, };

export type StatusHub = { 
/**
 * The port probed.
 */
port: number, 
/**
 * Whether `/health` answered.
 */
up: boolean, 
/**
 * The service manager's view of the hub unit (`active`, `activating`, `failed`,
 * `inactive`, `unknown`, `no-unit`, `no-manager`).
 */
manager: string, };

export type StatusReport = { 
/**
 * The hub.
 */
hub: StatusHub, 
/**
 * Module rows in manifest order, then the hub row.
 */
services: Array<StatusRow>, 
/**
 * 1 when any row is unhealthy, else 0.
 */
exit_code: number, };

export type IssuerSource = "settings" | "env" | "exposure" | "request";

export type HubOriginSetting = { 
/**
 * The stored setting, or `null` when none is stored.
 */
hub_origin: string | null, 
/**
 * The issuer tokens minted for this request carry (the rule applied to it).
 */
resolved_issuer: string, 
/**
 * Where [`HubOriginSetting::resolved_issuer`] came from.
 */
source: IssuerSource, };

export type HubOriginUpdate = { 
/**
 * The new origin, or `null` to clear it.
 */
hub_origin: string | null, };

export type HubOriginAnswer = { 
/**
 * The setting now stored (`null`: cleared).
 */
hub_origin: string | null, 
/**
 * Ours: the issuer tokens minted for this request now carry.
 */
resolved_issuer: string | null, 
/**
 * Ours: where that issuer comes from now.
 */
source: IssuerSource | null, 
/**
 * Ours: what modules are told as `PARACHUTE_HUB_ORIGIN` from now on (`null`: nothing, a
 * module keeps its own `.env` value or default).
 */
module_origin: string | null, 
/**
 * Ours: modules restarted so they run with the new origin.
 */
restarted: Array<string>, 
/**
 * Ours: whether `operator.token` was re-issued under the new issuer.
 */
operator_token_reissued: boolean, 
/**
 * Ours: what could not be done (a module that would not restart, a `.env` that could not
 * be written), each with the command that fixes it.
 */
warnings: Array<string>, };

export type RevocationList = { 
/**
 * When the list was made (ISO-8601, UTC, milliseconds).
 */
generated_at: string, 
/**
 * The revoked `jti`s.
 */
jtis: Array<string>, };

export type MintTokenRequest = { 
/**
 * Space-separated scopes to mint.
 */
scope: string, 
/**
 * `aud`; inferred from the scopes when absent (`vault:<n>:<verb>` → `vault.<n>`, else the
 * first scope's service, else `hub`).
 */
audience?: string | null, 
/**
 * Lifetime in seconds (default 90 days, at most 365 days).
 */
expires_in?: number | null, 
/**
 * `sub`; the bearer's own when absent.
 */
subject?: string | null, 
/**
 * Fine-grained constraints (a JSON object) carried as the `permissions` claim.
 */
permissions?: Record<string, unknown> | null, };

export type MintedTokenAnswer = { 
/**
 * Its `jti` (what `revoke-token` takes).
 */
jti: string, 
/**
 * The compact JWT.
 */
token: string, 
/**
 * Its expiry (ISO-8601).
 */
expires_at: string, 
/**
 * Its scopes, space-separated.
 */
scope: string, 
/**
 * The `permissions` claim, when one was given.
 */
permissions?: Record<string, unknown> | null, };

export type SetupStep = "welcome" | "account" | "vault" | "expose" | "done";

export type SetupState = { 
/**
 * The next step to do.
 */
step: SetupStep, 
/**
 * An admin account exists.
 */
hasAdmin: boolean, 
/**
 * A vault exists or the vault step was skipped.
 */
hasVault: boolean, 
/**
 * The exposure question was answered (`setup_expose_mode`).
 */
hasExposeMode: boolean, 
/**
 * The account step needs the one-shot bootstrap token the hub printed at start.
 */
requireBootstrapToken: boolean, 
/**
 * The double-submit CSRF token each step's POST carries as `__csrf`.
 */
csrfToken: string, };

export type SetupAnswer = { 
/**
 * The step setup is at now.
 */
step: SetupStep, 
/**
 * What the POST did, in words.
 */
message: string, 
/**
 * The vault step's install operation (`/api/modules/operations/<id>`), when one started.
 */
op_id?: string | null, 
/**
 * The expose step's operator token for the done screen's MCP command.
 */
minted_token?: string | null, };

export type SetupError = { 
/**
 * A short title (`Bootstrap token rejected`).
 */
error: string, 
/**
 * What to do about it.
 */
message: string, 
/**
 * The HTTP status, repeated.
 */
status: number, };

export type MeUser = { 
/**
 * The user's id (the `sub` of their tokens).
 */
id: string, 
/**
 * What to call them (their username).
 */
displayName: string, };

export type MeAnswer = { 
/**
 * Whether the request carried a live session cookie.
 */
hasSession: boolean, 
/**
 * The signed-in user (absent when signed out).
 */
user?: MeUser, 
/**
 * The double-submit CSRF token (absent when signed out).
 */
csrf?: string, 
/**
 * Ours: whether this user is the hub's admin (the first user), who may get a host-admin
 * token; other users have only their account pages.
 */
admin?: boolean, };

export type HostAdminToken = { 
/**
 * The compact JWT (a secret: keep it in memory only).
 */
token: string, 
/**
 * Its expiry (ISO-8601).
 */
expires_at: string, 
/**
 * The scopes it carries (`parachute:host:admin`, `parachute:host:auth`).
 */
scopes: Array<string>, };

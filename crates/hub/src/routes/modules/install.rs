//! `install`, `upgrade` and `uninstall` through the package manager, and operation polling.
//!
//! Install and upgrade answer `202 {operation_id}` and run in the background: `bun add -g
//! <package>@<channel>` on a blocking thread, then the `services.json` row (seeded for a
//! first-party module that has none), then the supervisor. A module is started only after its
//! package installed cleanly. Uninstall runs inline and answers `{short, log}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parachute_home::ServiceRow;
use parachute_home::services;
use parachute_supervisor::{ModuleState, ModuleStatus};
use serde_json::{Value, json};

use super::{Lookup, ok_json, origin_source, settle};
use crate::auth::{SCOPE_HOST_ADMIN, request_issuer, require_scope};
use crate::boot::start_request;
use crate::error::ApiError;
use crate::operations::{InFlight, OperationHandle, OperationKind};
use crate::packages::{
    Channel, FirstParty, PackageError, effective_channel, output_tail, package_for, package_version,
};
use crate::state::AppState;

/// `GET /api/modules/operations/{id}`: the operation, or `404 not_found`.
pub async fn operation(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_scope(&state, &headers, SCOPE_HOST_ADMIN)?;
    let Path(id) = id?;
    match state.operations().get(&id) {
        Some(op) => Ok(Json(op).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no operation with id {id:?}; operations are kept in memory and forgotten when the hub restarts"
            ),
        )),
    }
}

/// Parses an optional `{"channel": "rc"|"latest"}` body. An empty body means no channel.
pub fn parse_channel_body(body: &Bytes) -> Result<Option<Channel>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match channel_member(body)? {
        Value::Null => Ok(None),
        Value::String(raw) if Channel::parse(&raw).is_some() => Ok(Channel::parse(&raw)),
        other => Err(invalid_channel(&other)),
    }
}

/// The `channel` member of a JSON object body (`null` when absent); `400 invalid_request` when
/// the body is not a JSON object.
pub fn channel_member(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "the request body is not JSON ({e}); send an object such as {{\"channel\": \"rc\"}}"
            ),
        )
    })?;
    match value {
        Value::Object(mut object) => Ok(object.remove("channel").unwrap_or(Value::Null)),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body must be a JSON object such as {\"channel\": \"rc\"}",
        )),
    }
}

/// `400 invalid_channel` for `got`.
pub fn invalid_channel(got: &Value) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_channel",
        format!("channel must be \"latest\" or \"rc\", got {got}"),
    )
}

fn in_flight(err: InFlight) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "operation_in_flight", err.to_string())
        .with("operation_id", err.id)
}

fn not_installable(short: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_installable",
        format!(
            "{short} was not installed from a package registry (its installDir has no package.json naming the package), so the hub cannot install or upgrade it; update it the way it was installed"
        ),
    )
}

fn accepted(id: &str) -> Response {
    (StatusCode::ACCEPTED, Json(json!({"operation_id": id}))).into_response()
}

/// `POST …/install`: `202 {operation_id}`. A module that is installed and running succeeds at
/// once; otherwise the package is installed, the row added if missing, and the module started.
pub fn install(
    state: &AppState,
    headers: &HeaderMap,
    short: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let channel = parse_channel_body(body)?;
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    let package = package_for(short, lookup.row.as_ref()).ok_or_else(|| not_installable(short))?;
    let op = state
        .operations()
        .begin(OperationKind::Install, short)
        .map_err(in_flight)?;
    let id = op.id().to_string();
    let running = state
        .supervisor()
        .snapshot(short)
        .is_some_and(|s| s.status == ModuleStatus::Running);
    if lookup.row.is_some() && running {
        op.succeed(format!("{short} is already installed and running"));
        return Ok(accepted(&id));
    }
    tokio::spawn(Job::new(state, headers, op, short, package, channel).install());
    Ok(accepted(&id))
}

/// `POST …/upgrade`: `202 {operation_id}`; reinstalls the package from its channel, then
/// restarts the module.
pub fn upgrade(
    state: &AppState,
    headers: &HeaderMap,
    short: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let channel = parse_channel_body(body)?;
    let lookup = Lookup::resolve(state, short);
    if lookup.row.is_none() && !lookup.supervised {
        lookup.require_row()?;
    }
    let package = package_for(short, lookup.row.as_ref()).ok_or_else(|| not_installable(short))?;
    let op = state
        .operations()
        .begin(OperationKind::Upgrade, short)
        .map_err(in_flight)?;
    let id = op.id().to_string();
    tokio::spawn(Job::new(state, headers, op, short, package, channel).upgrade());
    Ok(accepted(&id))
}

/// `POST …/uninstall`: stops and forgets the module, drops its rows, removes its package
/// (the exit status is only logged) and answers `{short, log, operation_id}`.
pub async fn uninstall(
    state: &AppState,
    headers: &HeaderMap,
    short: &str,
) -> Result<Response, ApiError> {
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    let package = package_for(short, lookup.row.as_ref());
    let op = state
        .operations()
        .begin(OperationKind::Uninstall, short)
        .map_err(in_flight)?;
    let id = op.id().to_string();
    op.running(format!("uninstalling {short}"));
    match state.supervisor().remove(short).await {
        Some(_) => op.log(format!("stopped {short}")),
        None => op.log(format!("{short} was not running under this hub")),
    }
    let names: Vec<String> = services::read_lenient(state.home())
        .manifest
        .services
        .iter()
        .filter(|r| r.short() == short)
        .map(|r| r.name.clone())
        .collect();
    if names.is_empty() {
        op.log("services.json has no row for it");
    }
    for name in &names {
        match services::remove_row(state.home(), name) {
            Ok(_) => op.log(format!("removed {name} from services.json")),
            Err(err) => {
                let message = format!("could not remove {name} from services.json: {err}");
                op.fail(message.clone(), None);
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "uninstall_failed",
                    message,
                )
                .with("operation_id", id));
            }
        }
    }
    match package {
        Some(package) => {
            let packages = state.packages().clone();
            let pkg = package.clone();
            let result = tokio::task::spawn_blocking(move || packages.remove_global(&pkg)).await;
            match result {
                Ok(Ok(_)) => op.log(format!("bun remove -g {package} exited 0")),
                Ok(Err(err)) => op.log(format!("{err} (the package files may remain)")),
                Err(err) => op.log(format!("bun remove -g {package} did not finish: {err}")),
            }
        }
        None => op.log("no package to remove: it was not installed from a package registry"),
    }
    refresh_discovery(state, &request_issuer(state, headers), &op);
    op.succeed(format!("{short} uninstalled"));
    let log = state
        .operations()
        .get(&id)
        .map(|o| o.log)
        .unwrap_or_default();
    Ok(ok_json(
        json!({"short": short, "log": log, "operation_id": id}),
    ))
}

/// Rewrites `well-known/parachute.json` after the set of modules changed (logged, never fatal).
fn refresh_discovery(state: &AppState, origin: &str, op: &OperationHandle) {
    match crate::routes::discovery::write_well_known(state.home(), origin) {
        Ok(path) => op.log(format!("refreshed {}", path.display())),
        Err(err) => op.log(err.to_string()),
    }
}

/// One background install or upgrade.
struct Job {
    /// Hub state (supervisor, home, packages).
    state: AppState,
    /// The operation it reports to.
    op: OperationHandle,
    /// The module.
    short: String,
    /// The package to install.
    package: String,
    /// Channel from the request body, if any.
    channel: Option<Channel>,
    /// Origin the request reached us at (for the discovery document).
    issuer: String,
}

impl Job {
    /// A job reporting to `op`; the discovery origin is the one this request reached us at.
    fn new(
        state: &AppState,
        headers: &HeaderMap,
        op: OperationHandle,
        short: &str,
        package: String,
        channel: Option<Channel>,
    ) -> Self {
        Self {
            state: state.clone(),
            op,
            short: short.to_string(),
            package,
            channel,
            issuer: request_issuer(state, headers),
        }
    }

    async fn install(self) {
        if let Err(failure) = self.install_package().await {
            return self.op.fail(failure.0, failure.1);
        }
        let row = match self.ensure_row() {
            Ok(row) => row,
            Err(failure) => return self.op.fail(failure.0, failure.1),
        };
        if let Err(err) = super::require_start_command(&self.state, &row) {
            return self.op.fail(
                format!("the package installed, but {}", err.description),
                None,
            );
        }
        let request = start_request(self.state.home(), &row, origin_source(&self.state));
        let initial = self.state.supervisor().start(request);
        let module = settle(&self.state, &self.short, initial).await;
        self.finish(module, "installed and started");
    }

    async fn upgrade(self) {
        if let Err(failure) = self.install_package().await {
            return self.op.fail(failure.0, failure.1);
        }
        if let Some(row) = Lookup::resolve(&self.state, &self.short).row {
            self.stamp(&row);
        }
        let Some(initial) = self.state.supervisor().restart(&self.short).await else {
            return self.op.fail(
                format!(
                    "the package was upgraded, but {short} is not running under this hub; start it with POST /api/modules/{short}/start",
                    short = self.short
                ),
                None,
            );
        };
        let module = settle(&self.state, &self.short, initial).await;
        self.finish(module, "upgraded and restarted");
    }

    /// Succeeds, or fails with the module's start error when it could not start.
    fn finish(self, module: ModuleState, done: &str) {
        if module.status == ModuleStatus::Crashed {
            let (error, detail) = match &module.start_error {
                Some(e) => (
                    format!("{} could not start: {}", self.short, e.error_description),
                    serde_json::to_value(e).ok(),
                ),
                None => (format!("{} could not start", self.short), None),
            };
            return self.op.fail(error, detail);
        }
        refresh_discovery(&self.state, &self.issuer, &self.op);
        let pid = module
            .pid
            .map_or_else(|| "pid pending".to_string(), |p| format!("pid {p}"));
        self.op.succeed(format!("{} {done} ({pid})", self.short));
    }

    /// `bun add -g <package>@<channel>` unless the package is a `bun link` checkout.
    async fn install_package(&self) -> Result<(), (String, Option<Value>)> {
        let channel = self
            .channel
            .unwrap_or_else(|| effective_channel(self.state.db()));
        let spec = format!("{}@{}", self.package, channel.as_str());
        let packages = self.state.packages().clone();
        if packages.is_linked(&self.package) {
            self.op.running(format!(
                "{} is linked to a local checkout (bun link); not reinstalling it",
                self.package
            ));
            return Ok(());
        }
        self.op.running(format!("running bun add -g {spec}"));
        let package = self.package.clone();
        let result =
            tokio::task::spawn_blocking(move || packages.add_global(&package, channel)).await;
        match result {
            Ok(Ok(output)) => {
                let tail = output_tail(&output, 3);
                if !tail.is_empty() {
                    self.op.log(tail);
                }
                self.op.log(format!("installed {spec}"));
                Ok(())
            }
            Ok(Err(err @ PackageError::Failed { .. })) => {
                let detail = err.detail();
                Err((format!("{err}; nothing was started"), Some(detail)))
            }
            Ok(Err(err)) => Err((err.to_string(), Some(err.detail()))),
            Err(err) => Err((format!("bun add -g {spec} did not finish: {err}"), None)),
        }
    }

    /// The module's row after a successful install: the existing one (stamped with the
    /// installed directory and version), or a seeded first-party row.
    fn ensure_row(&self) -> Result<ServiceRow, (String, Option<Value>)> {
        if let Some(row) = Lookup::resolve(&self.state, &self.short).row {
            return Ok(self.stamp(&row));
        }
        let Some(first) = FirstParty::get(&self.short) else {
            return Err((
                format!(
                    "the package installed, but services.json has no row for {}; the module registers itself there, so check its install",
                    self.short
                ),
                None,
            ));
        };
        let mut row = first.seed_row();
        if let Some(dir) = self.state.packages().global_dir(&self.package) {
            if let Some(version) = package_version(&dir) {
                row.version = version;
            }
            row.install_dir = Some(dir);
        }
        services::upsert_row(self.state.home(), &row).map_err(|e| {
            (
                format!(
                    "the package installed, but its services.json row could not be written: {e}"
                ),
                None,
            )
        })?;
        self.op.log(format!(
            "added {} to services.json (port {})",
            row.name, row.port
        ));
        Ok(row)
    }

    /// Records where the package landed and its version on the row (first-party rows, or rows
    /// without an installDir; a third-party module's own installDir is never replaced).
    fn stamp(&self, row: &ServiceRow) -> ServiceRow {
        let Some(dir) = self.state.packages().global_dir(&self.package) else {
            return row.clone();
        };
        if !row.is_first_party() && row.install_dir.as_ref().is_some_and(|d| *d != dir) {
            return row.clone();
        }
        let version = package_version(&dir);
        let mut updated = row.clone();
        updated.install_dir = Some(dir);
        if let Some(v) = version {
            updated.version = v;
        }
        if updated == *row {
            return updated;
        }
        let stamped = updated.clone();
        match services::update_row(self.state.home(), &row.name, move |r| {
            r.install_dir = stamped.install_dir.clone();
            r.version = stamped.version.clone();
        }) {
            Ok(_) => self.op.log(format!(
                "recorded {} {} in services.json",
                row.name, updated.version
            )),
            Err(err) => self.op.log(format!("could not update {}: {err}", row.name)),
        }
        updated
    }
}

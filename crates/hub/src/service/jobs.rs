//! Install, upgrade and uninstall through the package manager.
//!
//! Install and upgrade run in the background, reporting to their operation: `bun add -g
//! <package>@<channel>` on a blocking thread (skipped for a `bun link` checkout), then the
//! `services.json` row (seeded for a first-party module that has none, stamped with where the
//! package landed), then the supervisor (start, or restart for an upgrade), then the
//! discovery document. A module is started only after its package installed cleanly.
//! An upgrade first picks its channel and checks for a downgrade, and restarts nothing when
//! the package manager left the installed version as it was ([`super::module_upgrade`]).
//! Uninstall runs inline: stop and forget the module, drop its rows, `bun remove -g` (its exit
//! status is only logged), refresh the discovery document.

use parachute_home::ServiceRow;
use parachute_home::services;
use parachute_protocol::Operation;
use parachute_supervisor::ModuleStatus;
use serde_json::Value;

use super::module_upgrade::{downgrade, upgrade_channel};
use super::{Lookup, ModuleError, require_start_command, settle};
use crate::boot::{SpawnContext, start_request};
use crate::operations::{OperationHandle, OperationKind};
use crate::packages::{
    Channel, FirstParty, PackageError, effective_channel, output_tail, package_for,
    package_version, stored_channel,
};
use crate::state::AppState;

/// Stops and forgets `short`, drops its rows and removes its package.
pub(super) async fn uninstall(
    state: &AppState,
    short: &str,
    issuer: String,
) -> Result<Operation, ModuleError> {
    let lookup = Lookup::resolve(state, short);
    lookup.require_known()?;
    let package = package_for(short, lookup.row.as_ref());
    let op = state.operations().begin(OperationKind::Uninstall, short)?;
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
        let removed = services::remove_row(state.home(), name);
        state.proxy().invalidate();
        match removed {
            Ok(_) => op.log(format!("removed {name} from services.json")),
            Err(err) => {
                let message = format!("could not remove {name} from services.json: {err}");
                op.fail(message.clone(), None);
                return Err(ModuleError::UninstallFailed {
                    message,
                    operation_id: id,
                });
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
    refresh_discovery(state, &issuer, &op);
    op.succeed(format!("{short} uninstalled"));
    Ok(state
        .operations()
        .get(&id)
        .expect("a finished operation stays in the registry"))
}

/// Rewrites `well-known/parachute.json` after the set of modules changed (logged, never fatal).
fn refresh_discovery(state: &AppState, origin: &str, op: &OperationHandle) {
    match crate::routes::discovery::write_well_known(state.home(), origin) {
        Ok(path) => op.log(format!("refreshed {}", path.display())),
        Err(err) => op.log(err.to_string()),
    }
}

/// Why a step failed: the sentence and optional structured detail.
type Failure = (String, Option<Value>);

/// One background install or upgrade.
pub(super) struct Job {
    /// Hub state (supervisor, home, packages).
    state: AppState,
    /// The operation it reports to.
    op: OperationHandle,
    /// The module.
    short: String,
    /// The package to install.
    package: String,
    /// Channel asked for, if any (else the hub's effective channel).
    channel: Option<Channel>,
    /// Origin the discovery document is rewritten for.
    issuer: String,
    /// An upgrade may install an older version than the installed one.
    allow_downgrade: bool,
}

impl Job {
    /// A job reporting to `op`.
    pub(super) fn new(
        state: &AppState,
        op: OperationHandle,
        short: &str,
        package: String,
        channel: Option<Channel>,
        issuer: String,
    ) -> Self {
        Self {
            state: state.clone(),
            op,
            short: short.to_string(),
            package,
            channel,
            issuer,
            allow_downgrade: false,
        }
    }

    /// Lets an upgrade install an older version than the installed one.
    pub(super) fn allowing_downgrade(mut self, allow: bool) -> Self {
        self.allow_downgrade = allow;
        self
    }

    pub(super) async fn install(self) {
        let channel = self
            .channel
            .unwrap_or_else(|| effective_channel(&self.state));
        if let Err(failure) = self.install_package(channel).await {
            return self.op.fail(failure.0, failure.1);
        }
        let row = match self.ensure_row() {
            Ok(row) => row,
            Err(failure) => return self.op.fail(failure.0, failure.1),
        };
        if let Err(err) = require_start_command(&self.state, &row) {
            return self
                .op
                .fail(format!("the package installed, but {err}"), None);
        }
        let request = start_request(&SpawnContext::of(&self.state), &row);
        let initial = self.state.supervisor().start(request);
        let module = settle(&self.state, &self.short, initial).await;
        self.finish(module, "installed and started");
    }

    pub(super) async fn upgrade(self) {
        let linked = self.state.packages().is_linked(&self.package);
        let before = self.installed_version();
        let channel = upgrade_channel(
            self.channel,
            self.state.pinned_channel(),
            stored_channel(self.state.db()),
            before.as_deref(),
        );
        if !linked && let Err(failure) = self.guard_downgrade(before.as_deref(), channel).await {
            return self.op.fail(failure.0, failure.1);
        }
        if let Err(failure) = self.install_package(channel).await {
            return self.op.fail(failure.0, failure.1);
        }
        if let Some(row) = Lookup::resolve(&self.state, &self.short).row {
            self.stamp(&row);
        }
        let after = self.installed_version();
        if !linked && let (Some(was), Some(now)) = (&before, &after) {
            if was == now {
                return self
                    .op
                    .succeed(format!("{} is already at {now}; not restarted", self.short));
            }
            self.op
                .log(format!("{}: {was} → {now}; restarting", self.short));
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
    fn finish(self, module: parachute_supervisor::ModuleState, done: &str) {
        if module.status == ModuleStatus::Crashed {
            let (error, detail) = match &module.start_error {
                Some(e) => (
                    format!("{} could not start: {}", self.short, e.error_description),
                    serde_json::to_value(crate::wire::start_error(e)).ok(),
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

    /// The version installed now: Bun's global copy of the package, else the row's
    /// `installDir` (`None` when neither has a `package.json` version).
    fn installed_version(&self) -> Option<String> {
        let packages = self.state.packages();
        packages
            .global_dir(&self.package)
            .and_then(|dir| package_version(&dir))
            .or_else(|| {
                let row = Lookup::resolve(&self.state, &self.short).row?;
                package_version(row.install_dir.as_ref()?)
            })
    }

    /// Refuses (unless allowed) when `channel` resolves to an older version than `installed`.
    /// Nothing to compare (no installed version, the registry silent) lets the upgrade go on.
    async fn guard_downgrade(
        &self,
        installed: Option<&str>,
        channel: Channel,
    ) -> Result<(), Failure> {
        let Some(installed) = installed else {
            return Ok(());
        };
        if self.allow_downgrade {
            self.op.running(format!(
                "downgrades allowed: not comparing with {installed}"
            ));
            return Ok(());
        }
        let spec = format!("{}@{}", self.package, channel.as_str());
        self.op.running(format!("checking what {spec} resolves to"));
        let packages = self.state.packages().clone();
        let package = self.package.clone();
        let target =
            tokio::task::spawn_blocking(move || packages.registry_version(&package, channel))
                .await
                .ok()
                .flatten();
        let Some(target) = target else {
            self.op.log(format!(
                "the registry did not say what {spec} resolves to; installing without the downgrade check"
            ));
            return Ok(());
        };
        match downgrade(installed, &target, channel) {
            None => {
                self.op.log(format!(
                    "{spec} resolves to {target} (installed: {installed})"
                ));
                Ok(())
            }
            Some(refused) => {
                for hint in refused.hints(&self.short) {
                    self.op.log(hint);
                }
                Err((refused.message(&self.short), Some(refused.detail())))
            }
        }
    }

    /// `bun add -g <package>@<channel>` unless the package is a `bun link` checkout.
    async fn install_package(&self, channel: Channel) -> Result<(), Failure> {
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
    fn ensure_row(&self) -> Result<ServiceRow, Failure> {
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
        let written = services::upsert_row(self.state.home(), &row);
        self.state.proxy().invalidate();
        written.map_err(|e| {
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
        let written = services::update_row(self.state.home(), &row.name, move |r| {
            r.install_dir = stamped.install_dir.clone();
            r.version = stamped.version.clone();
        });
        self.state.proxy().invalidate();
        match written {
            Ok(_) => self.op.log(format!(
                "recorded {} {} in services.json",
                row.name, updated.version
            )),
            Err(err) => self.op.log(format!("could not update {}: {err}", row.name)),
        }
        updated
    }
}

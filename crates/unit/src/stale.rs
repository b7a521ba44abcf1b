//! Per-module units from older installs, which would fight the supervised hub for ports.

use crate::env::{ManagerKind, UnitScope};
use crate::manager::ManagedUnit;
use crate::spec::UnitId;

/// `systemctl is-enabled` words that mean "this unit starts by itself".
const ENABLED_LIKE: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "static",
    "indirect",
    "linked",
    "linked-runtime",
    "generated",
    "alias",
];

/// What [`ManagedUnit::disable_stale_module_units`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaleUnitReport {
    /// Units we disabled and stopped (systemd unit names or launchd labels).
    pub disabled: Vec<String>,
    /// Units we found but could not or would not touch, each with the command that fixes it.
    pub warnings: Vec<String>,
}

impl ManagedUnit {
    /// Disables the legacy per-module units (`parachute-<short>.service`,
    /// `computer.parachute.<short>`) of the given modules, so they cannot grab the ports the
    /// supervised hub's children need.
    ///
    /// systemd: a user unit whose `is-enabled` word is enabled-like gets
    /// `systemctl --user disable --now`. An enabled system unit is disabled the same way when
    /// we are root; otherwise it becomes a warning with the `sudo` command. launchd: a job that
    /// `launchctl print` shows is booted out. Only the printed words are trusted, never exit
    /// codes. Invalid module names are skipped.
    pub fn disable_stale_module_units(&self, shorts: &[&str]) -> StaleUnitReport {
        let mut report = StaleUnitReport::default();
        for short in shorts {
            let Ok(id) = UnitId::legacy_module(short) else {
                tracing::warn!(short, "skipping a module name that cannot name a unit");
                continue;
            };
            match self.manager {
                ManagerKind::Systemd => self.stale_systemd(&id, &mut report),
                ManagerKind::Launchd => self.stale_launchd(&id, &mut report),
                ManagerKind::None => {}
            }
        }
        report
    }

    fn is_enabled_like(&self, scope: &UnitScope, unit: &str) -> bool {
        let mut args: Vec<&str> = scope.systemctl_flags().to_vec();
        args.extend(["is-enabled", unit]);
        let out = self.run("systemctl", &args);
        let word = out.stdout.lines().next().unwrap_or_default().trim();
        ENABLED_LIKE.contains(&word)
    }

    fn stale_systemd(&self, id: &UnitId, report: &mut StaleUnitReport) {
        let unit = id.unit_name.as_str();
        if self.is_enabled_like(&UnitScope::SystemdUser, unit) {
            let out = self.run("systemctl", &["--user", "disable", "--now", unit]);
            if out.success() {
                tracing::info!(unit, "disabled a stale per-module user unit");
                report.disabled.push(unit.to_string());
            } else {
                report.warnings.push(format!(
                    "Could not disable the old user unit {unit} ({}). Run `systemctl --user disable --now {unit}` yourself.",
                    out.failure_detail()
                ));
            }
        }
        if self.is_enabled_like(&UnitScope::SystemdSystem, unit) {
            if self.env.uid == 0 {
                let out = self.run("systemctl", &["disable", "--now", unit]);
                if out.success() {
                    tracing::info!(unit, "disabled a stale per-module system unit");
                    report.disabled.push(unit.to_string());
                    return;
                }
                report.warnings.push(format!(
                    "Could not disable the old system unit {unit} ({}). Run `systemctl disable --now {unit}` yourself.",
                    out.failure_detail()
                ));
            } else {
                report.warnings.push(format!(
                    "The old system unit {unit} is still enabled and may take the module's port. Disable it with `sudo systemctl disable --now {unit}`."
                ));
            }
        }
    }

    fn stale_launchd(&self, id: &UnitId, report: &mut StaleUnitReport) {
        let target = format!("gui/{}/{}", self.env.uid, id.label);
        let print = self.run("launchctl", &["print", &target]);
        if print.stdout.trim().is_empty() {
            return;
        }
        let out = self.run("launchctl", &["bootout", &target]);
        if out.success() {
            tracing::info!(label = %id.label, "booted out a stale per-module agent");
            report.disabled.push(id.label.clone());
        } else {
            report.warnings.push(format!(
                "Could not unload the old agent {} ({}). Run `launchctl bootout {target}` yourself.",
                id.label,
                out.failure_detail()
            ));
        }
    }
}

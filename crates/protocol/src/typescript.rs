//! The TypeScript definitions of every protocol type, as one module for the dashboard.
//!
//! `ui/src/api/protocol.ts` is generated from these types and committed; this crate's test
//! fails when it is out of date, and `scripts/gen-protocol` rewrites it.

use ts_rs::TS;

use crate::*;

/// The header of the generated file.
const HEADER: &str = "// Generated from crates/protocol by scripts/gen-protocol: do not edit by hand.\n// The hub's wire types (see crates/protocol/src/lib.rs for the compatibility rules).\n";

/// Every declaration, dependencies before their users, each `export`ed.
pub fn definitions() -> String {
    let decls = [
        ErrorBody::decl(),
        ModuleStatus::decl(),
        ExitInfo::decl(),
        StartError::decl(),
        ModuleState::decl(),
        ModuleStates::decl(),
        ModuleAnswer::decl(),
        RestartAction::decl(),
        RestartAnswer::decl(),
        StopAnswer::decl(),
        ModuleLogs::decl(),
        Channel::decl(),
        UiEntry::decl(),
        ModuleSummary::decl(),
        ModulesList::decl(),
        ChannelAnswer::decl(),
        OperationKind::decl(),
        OperationStatus::decl(),
        Operation::decl(),
        OperationAccepted::decl(),
        Health::decl(),
        Ready::decl(),
        BootProgress::decl(),
        AdminState::decl(),
        UpgradePhase::decl(),
        UpgradeMode::decl(),
        UpgradeRestart::decl(),
        HubUpdate::decl(),
        RedeployAdvice::decl(),
        HubUpgradeAccepted::decl(),
        HubUpgradeStatus::decl(),
        HubUpgradeProgress::decl(),
        ModuleUpgradeRequest::decl(),
        HubInfo::decl(),
        ExposureLayer::decl(),
        TunnelSummary::decl(),
        ExposureSnapshot::decl(),
        ExposeTarget::decl(),
        ExposeRequest::decl(),
        ExposeAnswer::decl(),
        HubSnapshot::decl(),
        HubEvent::decl(),
        EventEnvelope::decl(),
        RowState::decl(),
        StatusRow::decl(),
        StatusHub::decl(),
        StatusReport::decl(),
        IssuerSource::decl(),
        HubOriginSetting::decl(),
        HubOriginUpdate::decl(),
        HubOriginAnswer::decl(),
        RevocationList::decl(),
        MintTokenRequest::decl(),
        MintedTokenAnswer::decl(),
        SetupStep::decl(),
        SetupState::decl(),
        SetupAnswer::decl(),
        SetupError::decl(),
        MeUser::decl(),
        MeAnswer::decl(),
        HostAdminToken::decl(),
    ];
    let mut out = String::from(HEADER);
    for decl in decls {
        out.push('\n');
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push('\n');
    }
    out
}

/// Where the generated file lives, relative to this crate.
pub const GENERATED_PATH: &str = "../../ui/src/api/protocol.ts";

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when `ui/src/api/protocol.ts` does not match the Rust types; with
    /// `PARACHUTE_WRITE_PROTOCOL=1` (what `scripts/gen-protocol` sets) it rewrites the file.
    #[test]
    fn generated_typescript_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED_PATH);
        let want = definitions();
        if std::env::var_os("PARACHUTE_WRITE_PROTOCOL").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date with crates/protocol: run scripts/gen-protocol and commit the result",
            path.display()
        );
    }

    #[test]
    fn every_declaration_is_exported_once() {
        let text = definitions();
        for name in ["ModuleState", "HubEvent", "StatusReport", "Operation"] {
            let needle = format!("export type {name} ");
            assert_eq!(text.matches(&needle).count(), 1, "{name}:\n{text}");
        }
    }
}

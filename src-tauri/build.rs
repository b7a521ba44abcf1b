fn main() {
    // The app's commands get ACL permissions (`allow-<command>`), so a capability can grant
    // them to the dashboard's remote pages (added at run time for the hub's port) and the
    // bundled offer page its one command.
    let commands = &[
        "info",
        "expose",
        "module",
        "start_at_login",
        "check_for_updates",
        "upgrade",
        "migrate",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed");
}

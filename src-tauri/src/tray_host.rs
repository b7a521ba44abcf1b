//! Whether the desktop shows tray icons at all: a StatusNotifier host registered on the session
//! bus (KDE, GNOME with the AppIndicator extension, most panels), or an XEmbed system tray
//! (`_NET_SYSTEM_TRAY_S<screen>` owned: trayer, stalonetray, older panels), which
//! libayatana-appindicator falls back to.

/// What the window says when neither exists.
pub const NO_TRAY_HINT: &str = "No system tray was found, so Parachute opened this window. To get the tray icon: on GNOME install the \"AppIndicator and KStatusNotifierItem Support\" extension; elsewhere enable your panel's system tray (or run a tray such as trayer). Closing this window keeps Parachute running.";

/// True when a tray icon would be shown somewhere.
pub fn available(runtime: &tokio::runtime::Runtime) -> bool {
    let sni = runtime.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(2), sni_host_registered())
            .await
            .unwrap_or(false)
    });
    sni || xembed_tray_present()
}

async fn sni_host_registered() -> bool {
    let Ok(conn) = zbus::Connection::session().await else {
        return false;
    };
    let Ok(proxy) = zbus::Proxy::new(
        &conn,
        "org.kde.StatusNotifierWatcher",
        "/StatusNotifierWatcher",
        "org.kde.StatusNotifierWatcher",
    )
    .await
    else {
        return false;
    };
    proxy
        .get_property::<bool>("IsStatusNotifierHostRegistered")
        .await
        .unwrap_or(false)
}

#[cfg(target_os = "linux")]
fn xembed_tray_present() -> bool {
    use x11::xlib;
    let Ok(name) = std::ffi::CString::new("_NET_SYSTEM_TRAY_S0") else {
        return false;
    };
    // SAFETY: plain Xlib calls on a display we open and close here; every pointer passed is
    // either null (default display) or a live NUL-terminated string.
    unsafe {
        let dpy = xlib::XOpenDisplay(std::ptr::null());
        if dpy.is_null() {
            return false;
        }
        let atom = xlib::XInternAtom(dpy, name.as_ptr(), xlib::False);
        let owner = xlib::XGetSelectionOwner(dpy, atom);
        xlib::XCloseDisplay(dpy);
        owner != 0
    }
}

#[cfg(not(target_os = "linux"))]
fn xembed_tray_present() -> bool {
    // macOS always has the menu bar.
    true
}

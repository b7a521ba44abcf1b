//! The settings window: the dashboard served by the hub at `http://127.0.0.1:<port>/admin/`,
//! or the app's own page while no hub runs (the migrate offer, a start-up problem).
//!
//! Closing hides it (the app stays in the tray). Only the hub's sign-in and dashboard pages
//! load in it; any other link opens in the person's browser, so no module page ever runs
//! where the desktop bridge is. The bridge (`window.parachuteDesktop`, see ARCHITECTURE.md) is
//! injected into the dashboard's pages only.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use crate::actions::Desk;
use crate::host::Host;

/// The window's label (capabilities name it).
pub const LABEL: &str = "main";

/// The window's title (the end-to-end tests find it by this name).
pub const TITLE: &str = "Parachute";

/// The dashboard's address for the hub on `port`.
pub fn dashboard_url(port: u16) -> url::Url {
    url::Url::parse(&format!("http://127.0.0.1:{port}/admin/")).expect("a valid loopback URL")
}

/// What the window loads to show the dashboard signed in — the one place that hands the window
/// its sign-in. The in-process hub mints a one-time login URL (no password; it works once,
/// within a minute) that lands on the dashboard; an attached hub gets its sign-in page.
pub fn signed_in_url(host: &Host) -> url::Url {
    let plain = dashboard_url(host.port());
    let Some(handle) = host.handle() else {
        return plain;
    };
    match handle.mint_window_login() {
        Ok(login) => url::Url::parse(&format!("{}&next=/admin/", login.url)).unwrap_or(plain),
        // Nobody to sign in as yet: first-run setup (the bridge hands it the bootstrap token).
        Err(parachute_hub::WindowLoginError::NoAdmin) => plain.join("setup").unwrap_or(plain),
        Err(err) => {
            tracing::info!(%err, "no window sign-in; showing the dashboard's own sign-in");
            plain
        }
    }
}

/// Paths on the hub that may load in the window: the dashboard and its sign-in pages.
fn loads_in_window(url: &url::Url, port: u16) -> bool {
    let same_hub =
        url.scheme() == "http" && url.host_str() == Some("127.0.0.1") && url.port() == Some(port);
    let path = url.path();
    let ours = [
        "/admin", "/login", "/logout", "/auth", "/oauth", "/setup", "/signin",
    ]
    .iter()
    .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    (same_hub && ours) || url.scheme() == "tauri" || url.host_str() == Some("tauri.localhost")
}

/// The bridge and, when `note` is given, a banner at the top of the page saying it.
fn init_script(
    port: u16,
    note: Option<&str>,
    ask_login_item: bool,
    bootstrap: Option<&str>,
    e2e: Option<&str>,
) -> String {
    let note = serde_json::to_string(&note).unwrap_or_else(|_| "null".into());
    let bootstrap = serde_json::to_string(&bootstrap).unwrap_or_else(|_| "null".into());
    let mut script = format!(
        "{}\nwindow.__parachuteDesktopSetup({port}, {note}, {ask_login_item}, {bootstrap});",
        include_str!("bridge.js")
    );
    if let Some(e2e) = e2e {
        script.push_str(&format!("\nif (window.parachuteDesktop) {{ {e2e} }}"));
    }
    script
}

/// Shows the window (creating it on first use), with `note` as a banner.
pub fn open<R: Runtime>(app: &AppHandle<R>, desk: &Desk, note: Option<&str>) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
        return;
    }
    let host = desk.host().ok();
    let port = host.as_ref().map(|h| h.port());
    let url = match &host {
        Some(host) => WebviewUrl::External(signed_in_url(host)),
        None => WebviewUrl::App("index.html".into()),
    };
    let ask = crate::app::should_ask_login_item(desk);
    // First-run setup's one-shot token, while no admin exists (in-process hub only).
    let bootstrap = host
        .as_ref()
        .and_then(|h| h.handle())
        .and_then(|h| h.bootstrap_token());
    let opener = app.clone();
    let built = WebviewWindowBuilder::new(app, LABEL, url)
        .title(TITLE)
        .inner_size(1100.0, 760.0)
        .initialization_script(init_script(
            port.unwrap_or(0),
            note,
            ask,
            bootstrap.as_deref(),
            desk.e2e_eval.as_deref(),
        ))
        .on_navigation(move |url| {
            let allowed = port.is_none_or(|p| loads_in_window(url, p));
            if !allowed {
                open_in_browser(&opener, url);
            }
            allowed
        })
        .build();
    match built {
        Ok(window) => {
            let hide = window.clone();
            window.on_window_event(move |event| {
                if let WindowEvent::CloseRequested { api, .. } = event {
                    api.prevent_close();
                    let _ = hide.hide();
                }
            });
        }
        Err(err) => tracing::error!(%err, "cannot open the settings window"),
    }
}

/// Points the open window at the dashboard (after a hub appeared).
pub fn show_dashboard<R: Runtime>(app: &AppHandle<R>, host: &Host) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.navigate(signed_in_url(host));
    }
}

fn open_in_browser<R: Runtime>(_app: &AppHandle<R>, url: &url::Url) {
    crate::app::open_externally(url.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_and_sign_in_pages_load_in_the_window() {
        let ok = |u: &str| loads_in_window(&url::Url::parse(u).unwrap(), 4100);
        assert!(ok("http://127.0.0.1:4100/admin/"));
        assert!(ok("http://127.0.0.1:4100/login?next=/admin/"));
        assert!(ok("http://127.0.0.1:4100/oauth/authorize"));
        assert!(!ok("http://127.0.0.1:4100/vault/default/"));
        assert!(!ok("http://127.0.0.1:4100/administrator"));
        assert!(!ok("http://127.0.0.1:4101/admin/"));
        assert!(!ok("https://example.com/admin/"));
        assert_eq!(dashboard_url(4100).as_str(), "http://127.0.0.1:4100/admin/");
    }
}

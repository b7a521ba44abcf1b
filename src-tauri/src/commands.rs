//! The Tauri commands the dashboard calls when it runs inside the app (through
//! `window.parachuteDesktop`, see ARCHITECTURE.md "The desktop bridge").
//!
//! Each is a thin wrapper over [`crate::actions`] run on a blocking thread, and each first
//! checks the calling page ([`dashboard_page`]): only the dashboard's own pages
//! (`http://127.0.0.1:<port>/admin/…`) may call them, never a proxied module page on the same
//! origin. (Tauri's remote capability grants the IPC to the hub's origin; the IPC request
//! carries the origin only, so the path is checked here against the page the webview shows.)

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, Webview};

use crate::actions::{self, CommandError, Desk};
use crate::menu_model::{ExposeChoice, ModuleOp};

/// Whether `url` is one of the dashboard's pages on the hub at `port`.
pub fn dashboard_page(url: &url::Url, port: u16) -> bool {
    url.scheme() == "http"
        && url.host_str() == Some("127.0.0.1")
        && url.port() == Some(port)
        && (url.path() == "/admin" || url.path().starts_with("/admin/"))
}

fn guard<R: Runtime>(webview: &Webview<R>, desk: &Desk) -> Result<(), CommandError> {
    let port = desk.host()?.port();
    let url = webview
        .url()
        .map_err(|e| CommandError::NotAllowed(e.to_string()))?;
    if dashboard_page(&url, port) {
        Ok(())
    } else {
        Err(CommandError::NotAllowed(format!(
            "{url} may not use the desktop commands; only the dashboard (http://127.0.0.1:{port}/admin/) may"
        )))
    }
}

/// Runs `f` on a blocking thread with the app's state, after the page check.
async fn run<R: Runtime, T: Send + std::fmt::Debug + 'static>(
    app: AppHandle<R>,
    webview: Webview<R>,
    f: impl FnOnce(&Desk) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    guard(&webview, &desk)?;
    // The refresh may ask an attached hub over HTTP (blocking), so it runs off the runtime too.
    let refresher = app.clone();
    let result = tauri::async_runtime::spawn_blocking(move || {
        let result = f(&desk);
        crate::tray::refresh(&refresher);
        result
    })
    .await
    .map_err(|e| CommandError::HubDown(e.to_string()))?;
    match &result {
        Ok(done) => tracing::info!(?done, "desktop command done"),
        Err(err) => tracing::warn!(%err, "desktop command failed"),
    }
    result
}

/// What the bridge's `info()` answers.
#[derive(Debug, Clone, Serialize)]
pub struct DesktopInfo {
    /// Always true: the page runs inside Parachute Desktop.
    pub desktop: bool,
    /// The app's version.
    pub version: String,
    /// The hub port.
    pub port: u16,
    /// Whether the hub runs inside the app (false: attached to the unit's or another hub).
    pub embedded: bool,
    /// Whether the app starts at login.
    pub start_at_login: bool,
}

/// `info`: what the bridge reports about the app.
#[tauri::command]
pub async fn info<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
) -> Result<DesktopInfo, CommandError> {
    run(app, webview, |desk| {
        let host = desk.host()?;
        Ok(DesktopInfo {
            desktop: true,
            version: env!("CARGO_PKG_VERSION").into(),
            port: host.port(),
            embedded: host.handle().is_some(),
            start_at_login: actions::login_item()?.is_enabled().unwrap_or(false),
        })
    })
    .await
}

/// The exposure request: `layer` is `off`, `tailnet`, `public` or `cloudflare`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExposeRequest {
    /// The layer.
    pub layer: String,
    /// The Cloudflare hostname (asked once, then remembered by the tunnel state).
    #[serde(default)]
    pub hostname: Option<String>,
}

/// `expose`: switch the exposure layer.
#[tauri::command]
pub async fn expose<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    request: ExposeRequest,
) -> Result<String, CommandError> {
    let choice = match request.layer.as_str() {
        "off" => ExposeChoice::Off,
        "tailnet" => ExposeChoice::Tailnet,
        "public" | "funnel" => ExposeChoice::Public,
        "cloudflare" => ExposeChoice::Cloudflare,
        other => {
            return Err(CommandError::BadRequest(format!(
                "unknown exposure layer {other:?}: use off, tailnet, public or cloudflare"
            )));
        }
    };
    run(app, webview, move |desk| {
        actions::expose(desk, choice, request.hostname.as_deref())
    })
    .await
}

/// `module`: start, stop or restart one module (`op`: `start`, `stop`, `restart`).
#[tauri::command]
pub async fn module<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    short: String,
    op: String,
) -> Result<String, CommandError> {
    let op = match op.as_str() {
        "start" => ModuleOp::Start,
        "stop" => ModuleOp::Stop,
        "restart" => ModuleOp::Restart,
        other => {
            return Err(CommandError::BadRequest(format!(
                "unknown module operation {other:?}: use start, stop or restart"
            )));
        }
    };
    run(app, webview, move |desk| actions::module(desk, &short, op)).await
}

/// `start_at_login`: register or remove the login item.
#[tauri::command]
pub async fn start_at_login<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    enabled: bool,
) -> Result<bool, CommandError> {
    run(app, webview, move |desk| {
        actions::set_start_at_login(desk, enabled)
    })
    .await
}

/// `check_for_updates`: ask the release feed now.
#[tauri::command]
pub async fn check_for_updates<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
) -> Result<String, CommandError> {
    run(app, webview, actions::check_for_updates).await
}

/// `upgrade`: start the hub upgrade.
#[tauri::command]
pub async fn upgrade<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
) -> Result<String, CommandError> {
    run(app, webview, actions::upgrade).await
}

/// `migrate`: move a legacy install onto the supervised hub. Called from the app's own offer
/// page (bundled, local), so it skips the dashboard check.
#[tauri::command]
pub async fn migrate<R: Runtime>(app: AppHandle<R>) -> Result<Vec<String>, CommandError> {
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let messages = actions::migrate(&desk)?;
        crate::app::after_migrate(&handle);
        Ok(messages)
    })
    .await
    .map_err(|e| CommandError::Migrate(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_pages_of_this_hub_pass() {
        let ok = |u: &str| dashboard_page(&url::Url::parse(u).unwrap(), 4100);
        assert!(ok("http://127.0.0.1:4100/admin/"));
        assert!(ok("http://127.0.0.1:4100/admin"));
        assert!(ok("http://127.0.0.1:4100/admin/modules?x=1#y"));
        assert!(!ok("http://127.0.0.1:4100/vault/default/"));
        assert!(!ok("http://127.0.0.1:4100/administrator"));
        assert!(!ok("http://127.0.0.1:4101/admin/"));
        assert!(!ok("http://localhost:4100/admin/"));
        assert!(!ok("https://127.0.0.1:4100/admin/"));
        assert!(!ok("http://127.0.0.1:4100/proxy/admin/"));
    }
}

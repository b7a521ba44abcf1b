//! Host allowlist: the hub answers only for host names it is known by. This is the outermost
//! layer, so it guards every route, the setup gate and the module proxy alike.
//!
//! **Why.** A web page on any site can make the browser send requests to `127.0.0.1:1939`
//! under the page's own name (DNS rebinding: `evil.example` first resolves to the attacker,
//! then to 127.0.0.1, so the browser treats the hub as same-origin with the attacker's page).
//! Such a request always carries the attacker's name in `Host`. Refusing unknown names
//! defeats it, whether or not the hub is exposed.
//!
//! **Known names**, checked in this order (cheapest first):
//! 1. loopback names, with or without a port: `localhost`, `*.localhost`, `127.0.0.0/8`,
//!    `[::1]`;
//! 2. any IP literal (a rebinding page always uses a DNS name; containers and tailnet peers
//!    reach the hub by address);
//! 3. names listed in `PARACHUTE_ALLOWED_HOSTS` (comma-separated, read at start) for setups
//!    we cannot see, e.g. a reverse proxy of the owner's own;
//! 4. the exposed host names while their layer is up: `canonicalFqdn` and the `hubOrigin`
//!    host of `expose-state.json`, and every tunnel hostname in `cloudflared-state.json`
//!    (both re-read only when the files change);
//! 5. the host of the configured hub origin: the `hub_origin` setting and the environment
//!    origin (`PARACHUTE_HUB_ORIGIN`, `RENDER_EXTERNAL_URL`, `FLY_APP_NAME`).
//!
//! The name checked is `Host` (else the request target's authority): it is what a browser
//! sends for the page's own name and what Tailscale serve and cloudflared pass through. A
//! request with no host at all is let through: browsers always send one, so it cannot be a
//! rebinding attempt. `X-Forwarded-Host` is not checked: a page on a foreign name cannot set it
//! on a request to the hub (a cross-origin custom header needs a CORS preflight the hub never
//! grants), so only software already running on this machine can — and that is trusted.
//!
//! **Refusal**: `421 Misdirected Request` with the usual JSON error body, code
//! `unknown_host`, naming the host and how to allow it. 421 says "this server does not serve
//! that name" — exactly the situation — and clients do not retry it blindly.
//!
//! Authentication is not this layer's job: module operations and admin routes keep requiring
//! a bearer token on every layer.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parachute_home::{Home, cloudflared_state, expose_state};

use crate::error::ApiError;
use crate::routes::proxy::{is_loopback_host, split_bracketed};
use crate::state::AppState;

/// The environment variable listing extra allowed host names.
pub use crate::config::ALLOWED_HOSTS_ENV;

/// The allowlist's own state: configured names and the exposed-host cache.
#[derive(Debug, Default)]
pub struct HostGuard {
    /// Names from [`ALLOWED_HOSTS_ENV`], normalised.
    extra: Vec<String>,
    /// Host names of live exposure layers, with the file stamps they were read at.
    exposed: Mutex<ExposedCache>,
    /// Set once the home watcher runs: it calls [`HostGuard::invalidate`] when a state file is
    /// replaced, so requests stop `stat`ing both files (two system calls per exposed request).
    watched: AtomicBool,
    /// A state file changed (or may have) since the cache was filled; only read while watched.
    stale: AtomicBool,
}

/// Exposed host names and the stamps of the state files they came from.
#[derive(Debug, Default)]
struct ExposedCache {
    /// `(modified, length)` of `expose-state.json` and `cloudflared-state.json` when read;
    /// `None` means absent. The outer `None` means never read.
    stamps: Option<[Option<(SystemTime, u64)>; 2]>,
    /// Normalised host names.
    hosts: Vec<String>,
}

impl HostGuard {
    /// A guard allowing `extra` names on top of the built-in rules.
    pub fn new(extra: impl IntoIterator<Item = String>) -> Self {
        Self {
            extra: extra.into_iter().filter_map(|h| normalize(&h)).collect(),
            exposed: Mutex::new(ExposedCache::default()),
            watched: AtomicBool::new(false),
            stale: AtomicBool::new(true),
        }
    }

    /// From now on a watcher calls [`HostGuard::invalidate`] on every change of the exposure
    /// state files, so the allowlist stops checking them itself.
    pub fn watching(&self) {
        self.stale.store(true, Ordering::SeqCst);
        self.watched.store(true, Ordering::SeqCst);
    }

    /// An exposure state file changed (or may have): the next check re-reads them.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// Whether `raw` (a `Host` value) is a name this hub answers for.
    pub fn allows(&self, app: &AppState, raw: &str) -> bool {
        self.allows_with(app.home(), raw, || {
            [
                app.hub_origin_setting(),
                app.env_origin().map(str::to_string),
            ]
            .into_iter()
            .flatten()
            .collect()
        })
    }

    /// The rule, with the configured origins supplied lazily (they cost a database read).
    fn allows_with(&self, home: &Home, raw: &str, origins: impl FnOnce() -> Vec<String>) -> bool {
        if is_loopback_host(raw.trim()) {
            return true;
        }
        let Some(host) = normalize(raw) else {
            return false;
        };
        if host.parse::<IpAddr>().is_ok() || self.extra.contains(&host) {
            return true;
        }
        if self.exposed_hosts(home).contains(&host) {
            return true;
        }
        origins()
            .iter()
            .filter_map(|o| origin_host(o))
            .any(|h| h == host)
    }

    /// Host names of the live exposure layers, re-read when a state file changed.
    fn exposed_hosts(&self, home: &Home) -> Vec<String> {
        if self.watched.load(Ordering::Acquire) {
            let mut cache = self.exposed.lock().unwrap_or_else(|p| p.into_inner());
            // Cleared before the read, so a change racing it marks the cache stale again.
            if self.stale.swap(false, Ordering::SeqCst) || cache.stamps.is_none() {
                cache.hosts = read_exposed_hosts(home);
                cache.stamps = Some([None, None]);
            }
            return cache.hosts.clone();
        }
        let stamps = [
            stamp(&home.expose_state()),
            stamp(&home.cloudflared_state()),
        ];
        let mut cache = self.exposed.lock().unwrap_or_else(|p| p.into_inner());
        if cache.stamps != Some(stamps) {
            cache.hosts = read_exposed_hosts(home);
            cache.stamps = Some(stamps);
        }
        cache.hosts.clone()
    }
}

/// `(modified, length)` of a file, `None` when absent.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reads both state files (a malformed file contributes nothing: an unreadable exposure record
/// must not widen the allowlist). Such a file is named in the log (once per version of it, as
/// the caller re-reads only on change), since it makes the hub refuse the exposed host.
fn read_exposed_hosts(home: &Home) -> Vec<String> {
    let mut hosts = Vec::new();
    match expose_state::read(home) {
        Ok(Some(state)) => {
            hosts.extend(normalize(&state.canonical_fqdn));
            if let Some(origin) = &state.hub_origin {
                hosts.extend(origin_host(origin));
            }
        }
        Ok(None) => {}
        Err(err) => refused_because(&err),
    }
    match cloudflared_state::read(home) {
        Ok(Some(state)) => hosts.extend(
            state
                .tunnels
                .values()
                .filter_map(|t| normalize(&t.hostname)),
        ),
        Ok(None) => {}
        Err(err) => refused_because(&err),
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Logs why the exposed host names are not allowed: the state file and its fix.
fn refused_because(err: &parachute_home::StateError) {
    tracing::warn!(
        "{err} Until then the hub answers 421 to requests for the exposed host name (`parachute expose` rewrites the file)."
    );
}

/// The host of an `http(s)://host[:port]` origin, normalised.
fn origin_host(origin: &str) -> Option<String> {
    let rest = origin
        .trim()
        .strip_prefix("https://")
        .or_else(|| origin.trim().strip_prefix("http://"))?;
    normalize(rest.split(['/', '?', '#']).next().unwrap_or(""))
}

/// A `Host` value as a bare lowercase name: port, IPv6 brackets and a trailing dot removed.
/// `None` for values that cannot be a host name.
pub fn normalize(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let host = if raw.starts_with('[') {
        split_bracketed(raw)?
    } else if raw.matches(':').count() > 1 {
        raw // a bare IPv6 address
    } else {
        match raw.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return None,
            None => raw,
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    ok.then_some(host)
}

/// The host name a request is for: `Host`, else the URI authority (`Err` when `Host` is not
/// text).
fn claimed_host(headers: &HeaderMap, authority: Option<&str>) -> Result<Option<String>, ()> {
    match headers.get(header::HOST) {
        Some(v) => Ok(Some(v.to_str().map_err(|_| ())?.to_string())),
        None => Ok(authority.map(str::to_string)),
    }
}

/// The middleware: refuses requests for unknown host names with 421.
pub async fn host_allowlist(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_string());
    let refused = match claimed_host(request.headers(), authority.as_deref()) {
        Ok(host) => host.filter(|h| !app.hosts().allows(&app, h)),
        Err(()) => Some("(not valid text)".to_string()),
    };
    if let Some(host) = refused {
        tracing::warn!(%host, path = %request.uri().path(), "refused a request for an unknown host name");
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            format!(
                "this hub does not answer for the host name {host:?}. Use http://127.0.0.1:{}/ on this machine, or the address of an exposure layer while it is up (`parachute expose …`); to allow another name, add it to {ALLOWED_HOSTS_ENV} and restart the hub",
                app.port()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_strips_ports_brackets_and_case() {
        assert_eq!(
            normalize("Box.Example.COM:443").as_deref(),
            Some("box.example.com")
        );
        assert_eq!(normalize("box.ts.net.").as_deref(), Some("box.ts.net"));
        assert_eq!(normalize("[::1]:1939").as_deref(), Some("::1"));
        assert_eq!(normalize("fd7a::1").as_deref(), Some("fd7a::1"));
        assert_eq!(normalize("100.64.0.1:80").as_deref(), Some("100.64.0.1"));
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("a b"), None);
        assert_eq!(normalize("x:notaport"), None);
        assert_eq!(normalize("[evil.example]x"), None);
        assert_eq!(normalize("[::1]junk"), None);
        assert_eq!(
            origin_host("https://Hub.Example.com/").as_deref(),
            Some("hub.example.com")
        );
        assert_eq!(origin_host("http://h:8080").as_deref(), Some("h"));
        assert_eq!(origin_host("h"), None);
    }

    #[test]
    fn rules_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let guard = HostGuard::new(["Mine.Example:8443".to_string()]);
        let none = Vec::new;
        for ok in [
            "127.0.0.1:1939",
            "localhost",
            "[::1]:1",
            "a.localhost",
            "10.0.0.5:1939",
            "mine.example",
        ] {
            assert!(guard.allows_with(&home, ok, none), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:1939",
            "localhost.evil.example",
        ] {
            assert!(!guard.allows_with(&home, bad, none), "{bad}");
        }
        assert!(guard.allows_with(&home, "hub.example.com", || vec![
            "https://hub.example.com".into()
        ]));
    }

    #[test]
    fn exposed_hosts_follow_the_state_files() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let guard = HostGuard::new(Vec::new());
        assert!(!guard.allows_with(&home, "box.ts.net", Vec::new));
        std::fs::write(
            home.expose_state(),
            r#"{"version":1,"layer":"tailnet","mode":"path","canonicalFqdn":"box.ts.net","port":443,"funnel":false,"entries":[],"hubOrigin":"https://alias.example"}"#,
        )
        .unwrap();
        assert!(guard.allows_with(&home, "box.ts.net", Vec::new));
        assert!(guard.allows_with(&home, "alias.example", Vec::new));
        std::fs::write(
            home.cloudflared_state(),
            r#"{"version":2,"tunnels":{"t":{"pid":5,"tunnelUuid":"u","tunnelName":"t","hostname":"hub.example.com","startedAt":"x","configPath":"/c"}}}"#,
        )
        .unwrap();
        assert!(guard.allows_with(&home, "hub.example.com:443", Vec::new));
        std::fs::remove_file(home.expose_state()).unwrap();
        std::fs::remove_file(home.cloudflared_state()).unwrap();
        assert!(!guard.allows_with(&home, "box.ts.net", Vec::new));
        assert!(!guard.allows_with(&home, "hub.example.com", Vec::new));
    }

    #[test]
    fn a_watched_guard_rereads_only_when_told() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let guard = HostGuard::new(Vec::new());
        guard.watching();
        assert!(!guard.allows_with(&home, "box.ts.net", Vec::new));
        std::fs::write(
            home.expose_state(),
            r#"{"version":1,"layer":"tailnet","mode":"path","canonicalFqdn":"box.ts.net","port":443,"funnel":false,"entries":[]}"#,
        )
        .unwrap();
        // No watcher event yet: the cached answer stands (this is what saves the stat calls).
        assert!(!guard.allows_with(&home, "box.ts.net", Vec::new));
        guard.invalidate();
        assert!(guard.allows_with(&home, "box.ts.net", Vec::new));
        std::fs::remove_file(home.expose_state()).unwrap();
        guard.invalidate();
        assert!(!guard.allows_with(&home, "box.ts.net", Vec::new));
    }
}

//! The routing table: which `services.json` row serves a request path.
//!
//! Built from a lenient read of `services.json` and cached until the file changes (its inode,
//! modification time and length are compared on every lookup — one `stat`, no parsing), so a
//! module installed a second ago is routable at once while the hot path stays cheap.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use parachute_home::services::{self, ServiceRow};
use parachute_home::{Home, PublicExposure};

/// Identity of one version of `services.json`: an atomic rewrite changes the inode, an in-place
/// edit the modification time or length. `None` when the file does not exist.
type FileKey = Option<(u64, SystemTime, u64)>;

/// What a request path resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The row's registry name (`parachute-vault`, `scribe`, a third-party name).
    pub name: String,
    /// The module's short name, as the supervisor knows it.
    pub short: String,
    /// Loopback port to forward to.
    pub port: u16,
    /// The matched mount, normalised (no trailing `/`, `/` for a root mount).
    pub mount: String,
    /// Whether the mount is removed from the forwarded path.
    pub strip_prefix: bool,
    /// Whether only loopback callers may reach it (`publicExposure: loopback`).
    pub loopback_only: bool,
    /// The `Host` header of forwarded requests (`127.0.0.1:<port>`), made once per table.
    pub upstream_host: axum::http::HeaderValue,
}

impl RouteMatch {
    /// The path to forward: `path` itself, or with the mount removed (empty -> `/`).
    pub fn upstream_path<'a>(&self, path: &'a str) -> &'a str {
        if !self.strip_prefix || self.mount == "/" {
            return path;
        }
        match &path[self.mount.len().min(path.len())..] {
            "" => "/",
            rest => rest,
        }
    }
}

/// One mount point of one row, with the answer ready-made (lookups allocate nothing).
#[derive(Debug, Clone)]
struct Mount {
    /// What a path under this mount resolves to (`route.mount` is the normalised prefix).
    route: RouteMatch,
}

/// The mounts of every row, longest prefix first (file order among equal lengths).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// The rows of the lenient read, in file order.
    pub rows: Vec<ServiceRow>,
    /// Mounts of vault rows, answering `/vault/<name>/…`.
    vault_mounts: Vec<Mount>,
    /// Mounts of every other row.
    service_mounts: Vec<Mount>,
}

impl RouteTable {
    /// Indexes `rows`.
    pub fn new(rows: Vec<ServiceRow>) -> Self {
        let mut vault_mounts = Vec::new();
        let mut service_mounts = Vec::new();
        for row in &rows {
            let target = if row.is_vault() {
                &mut vault_mounts
            } else {
                &mut service_mounts
            };
            for path in &row.paths {
                target.push(Mount {
                    route: RouteMatch {
                        name: row.name.clone(),
                        short: row.short(),
                        port: row.port,
                        mount: normalise(path),
                        strip_prefix: row.effective_strip_prefix(),
                        loopback_only: row.effective_public_exposure() == PublicExposure::Loopback,
                        upstream_host: upstream_host(row.port),
                    },
                });
            }
        }
        // Stable: among equal lengths the earlier row keeps priority, as in the original.
        vault_mounts.sort_by_key(|m: &Mount| std::cmp::Reverse(m.route.mount.len()));
        service_mounts.sort_by_key(|m: &Mount| std::cmp::Reverse(m.route.mount.len()));
        Self {
            rows,
            vault_mounts,
            service_mounts,
        }
    }

    /// The row serving `path`: under `/vault/` only vault rows are considered (a vault nobody
    /// claims is a 404, never another module); anywhere else the longest matching mount of a
    /// non-vault row wins. A mount matches the path itself or the path continuing with `/`, so
    /// `/a` serves `/a` and `/a/x` but never `/ab`.
    pub fn resolve(&self, path: &str) -> Option<&RouteMatch> {
        let mounts = if path.starts_with("/vault/") {
            &self.vault_mounts
        } else {
            &self.service_mounts
        };
        mounts
            .iter()
            .find(|m| mount_matches(&m.route.mount, path))
            .map(|m| &m.route)
    }
}

/// `127.0.0.1:<port>` as a header value.
pub(crate) fn upstream_host(port: u16) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("127.0.0.1:{port}"))
        .expect("an address is a valid header value")
}

/// `/a/b/` -> `/a/b`; `/`, `` and `//` -> `/`.
fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Whether `prefix` (normalised) covers `path` at a `/` boundary. A root mount covers all.
fn mount_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The cached table plus the identity of the file it was built from.
#[derive(Default)]
struct Cached {
    /// Identity of the file the table reflects (`None` inside `Some`: no file).
    key: Option<FileKey>,
    /// The table.
    table: Arc<RouteTable>,
}

/// A [`RouteTable`] kept in step with `services.json`.
///
/// While the hub's home watcher runs ([`RouteCache::watching`]), a lookup costs no system call:
/// the watcher marks the table stale the moment the file is replaced, and the hub marks it
/// after its own writes. Without a watcher (inotify unavailable), every lookup `stat`s the file.
pub struct RouteCache {
    /// The file watched.
    path: PathBuf,
    /// Last table built.
    cached: RwLock<Cached>,
    /// True while a file watcher reports changes to `services.json`.
    watched: AtomicBool,
    /// Set when the file changed since the table was built (only read while `watched`).
    stale: AtomicBool,
}

impl RouteCache {
    /// A cache for `home`'s `services.json` (nothing is read until the first lookup).
    pub fn new(home: &Home) -> Self {
        Self {
            path: home.services_json(),
            cached: RwLock::new(Cached::default()),
            watched: AtomicBool::new(false),
            stale: AtomicBool::new(true),
        }
    }

    /// From now on a watcher calls [`RouteCache::invalidate`] on every change, so lookups
    /// stop checking the file themselves.
    pub fn watching(&self) {
        self.stale.store(true, Ordering::SeqCst);
        self.watched.store(true, Ordering::SeqCst);
    }

    /// The file changed (or may have): the next lookup rebuilds the table.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// The current table: the cached one when the file has not changed, else a fresh lenient
    /// read. The file is `stat`ed before it is read, so a change racing the read only costs an
    /// extra read on the next lookup, never a stale table.
    pub fn table(&self, home: &Home) -> Arc<RouteTable> {
        if self.watched.load(Ordering::Acquire) {
            if !self.stale.load(Ordering::Acquire) {
                return self
                    .cached
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .table
                    .clone();
            }
            // Cleared before the read, so a change racing it marks the table stale again.
            self.stale.store(false, Ordering::SeqCst);
        }
        let key = file_key(&self.path);
        {
            let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
            if cached.key == Some(key) {
                return cached.table.clone();
            }
        }
        let read = services::read_lenient(home);
        for warning in &read.warnings {
            tracing::warn!("services.json: {warning}");
        }
        // A cleanup rewrite by the read itself changes the key; take the key after the read in
        // that case so the next lookup does not read again for nothing.
        let key = if read.warnings.is_empty() {
            key
        } else {
            file_key(&self.path)
        };
        let table = Arc::new(RouteTable::new(read.manifest.services));
        let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
        *cached = Cached {
            key: Some(key),
            table: table.clone(),
        };
        table
    }
}

fn file_key(path: &std::path::Path) -> FileKey {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.ino(), meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: serde_json::Value) -> ServiceRow {
        ServiceRow::from_value(&v).unwrap()
    }

    fn table() -> RouteTable {
        RouteTable::new(vec![
            row(json!({"name":"a","port":2001,"paths":["/a"],"health":"/health","version":"1"})),
            row(
                json!({"name":"ab","port":2002,"paths":["/a/b/"],"health":"/health","version":"1","stripPrefix":true}),
            ),
            row(
                json!({"name":"parachute-vault","port":2003,"paths":["/vault/default","/vault/work"],"health":"/health","version":"1"}),
            ),
            row(
                json!({"name":"parachute-vault-x","port":2003,"paths":["/vault/x"],"health":"/health","version":"1"}),
            ),
            row(
                json!({"name":"vaultish","port":2004,"paths":["/vault"],"health":"/health","version":"1","publicExposure":"loopback"}),
            ),
        ])
    }

    #[test]
    fn longest_prefix_at_slash_boundaries() {
        let t = table();
        assert_eq!(t.resolve("/a").unwrap().name, "a");
        assert_eq!(t.resolve("/a/").unwrap().name, "a");
        assert_eq!(t.resolve("/a/bc").unwrap().name, "a");
        assert_eq!(t.resolve("/a/b").unwrap().name, "ab");
        assert_eq!(t.resolve("/a/b/c").unwrap().name, "ab");
        assert!(t.resolve("/ab").is_none());
        assert!(t.resolve("/").is_none());
    }

    #[test]
    fn vault_paths_only_route_to_vault_rows() {
        let t = table();
        assert_eq!(
            t.resolve("/vault/default/x").unwrap().name,
            "parachute-vault"
        );
        assert_eq!(t.resolve("/vault/work").unwrap().name, "parachute-vault");
        assert_eq!(
            t.resolve("/vault/x/health").unwrap().name,
            "parachute-vault-x"
        );
        assert!(t.resolve("/vault/nope/health").is_none());
        // `/vault` itself is not under `/vault/`: ordinary rows may claim it.
        let m = t.resolve("/vault").unwrap();
        assert_eq!(m.name, "vaultish");
        assert!(m.loopback_only);
    }

    #[test]
    fn strip_prefix_leaves_a_rooted_path() {
        let t = table();
        let m = t.resolve("/a/b/c").unwrap();
        assert_eq!(m.upstream_path("/a/b/c"), "/c");
        assert_eq!(m.upstream_path("/a/b"), "/");
        let keep = t.resolve("/a/x").unwrap();
        assert_eq!(keep.upstream_path("/a/x"), "/a/x");
    }

    #[test]
    fn root_mount_covers_everything_but_loses_to_longer_mounts() {
        let t = RouteTable::new(vec![
            row(json!({"name":"root","port":2001,"paths":["/"],"health":"/health","version":"1"})),
            row(json!({"name":"a","port":2002,"paths":["/a"],"health":"/health","version":"1"})),
        ]);
        assert_eq!(t.resolve("/anything").unwrap().name, "root");
        assert_eq!(t.resolve("/a/x").unwrap().name, "a");
    }

    #[test]
    fn cache_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let cache = RouteCache::new(&home);
        assert!(cache.table(&home).resolve("/a").is_none());
        let write = |paths: &str| {
            let doc = json!({"services":[{"name":"a","port":2001,"paths":[paths],"health":"/health","version":"1"}]});
            parachute_home::write_atomic(
                &home.services_json(),
                serde_json::to_string_pretty(&doc).unwrap().as_bytes(),
                None,
            )
            .unwrap();
        };
        write("/a");
        assert_eq!(cache.table(&home).resolve("/a").unwrap().port, 2001);
        let first = cache.table(&home);
        assert!(
            Arc::ptr_eq(&first, &cache.table(&home)),
            "unchanged file is not re-read"
        );
        write("/b");
        assert!(cache.table(&home).resolve("/a").is_none());
        assert!(cache.table(&home).resolve("/b").is_some());
    }
}

//! `services.json`: the module registry shared by the hub, the CLI and the modules themselves.
//!
//! Two readers: [`read_strict`] for CLI verbs (any bad row or duplicate port is an error naming
//! the file, the row and the fix) and [`read_lenient`] for the server (bad rows are skipped with
//! a warning, so one broken module never takes the others down). Both apply the read-time
//! cleanups of [`cleanup`] and persist them — but only when the cleaned file is fully valid: a
//! malformed file is never rewritten. Writers ([`upsert_row`], [`remove_row`], [`update_row`])
//! edit the raw JSON so rows they do not touch, even invalid ones, stay as they are.

mod cleanup;
mod known;
mod row;
mod start;

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Map, Value};

pub use known::{
    CANONICAL_PORTS, RETIRED_NAMES, canonical_port, is_vault_name, known_short,
    manifest_name_for_short,
};
pub use row::{InstallHints, PublicExposure, ServiceRow, StartErrorRecord, unsafe_name_problem};
pub use start::{ModuleJson, ModuleJsonError, StartCommand, module_json, start_command};

use crate::atomic::write_atomic;
use crate::error::ServicesError;
use crate::json::pretty;
use crate::paths::Home;

/// Serialises reads and read-modify-write cycles within this process (the hub handles API
/// calls concurrently); writers add a lock file for other processes ([`lock_registry`]).
static RMW_LOCK: Mutex<()> = Mutex::new(());

/// The in-process lock alone. Readers use it: every write is an atomic rename, so a reader in
/// another process always sees a whole file, and the cleanups a read may save are idempotent.
fn lock_in_process() -> std::sync::MutexGuard<'static, ()> {
    RMW_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held by writers: the in-process mutex plus an exclusive `flock` on
/// `<home>/.services.json.lock`, so a read-modify-write in the CLI and one in the hub never
/// lose each other's update. Released on drop (and by the kernel if the process dies).
struct RegistryGuard {
    /// The in-process lock.
    _mutex: std::sync::MutexGuard<'static, ()>,
    /// The locked lock file; `None` when it could not be opened (read-only home): the mutex
    /// still serialises this process and the registry is never left unusable.
    _file: Option<std::fs::File>,
}

/// Takes the registry lock for `home`, waiting for other processes that hold it.
fn lock_registry(home: &Home) -> RegistryGuard {
    let mutex = lock_in_process();
    let path = home.root().join(".services.json.lock");
    let file = (|| {
        crate::atomic::create_private_dir_all(home.root()).ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(crate::atomic::PRIVATE_FILE_MODE)
            .open(&path)
            .ok()?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own; blocks until other holders release it.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0;
        locked.then_some(file)
    })();
    if file.is_none() {
        tracing::debug!(path = %path.display(), "registry lock file unavailable; locking this process only");
    }
    RegistryGuard {
        _mutex: mutex,
        _file: file,
    }
}

/// The parsed registry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// Rows in file order.
    pub services: Vec<ServiceRow>,
    /// Top-level keys other than `services`, preserved in order.
    pub extra: Map<String, Value>,
}

impl Manifest {
    /// The manifest as JSON (`services` first, then preserved keys).
    pub fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert(
            "services".into(),
            Value::Array(self.services.iter().map(ServiceRow::to_value).collect()),
        );
        for (k, v) in &self.extra {
            if k != "services" {
                o.insert(k.clone(), v.clone());
            }
        }
        Value::Object(o)
    }

    /// The row named `name`.
    pub fn find(&self, name: &str) -> Option<&ServiceRow> {
        self.services.iter().find(|r| r.name == name)
    }

    /// The first row whose short name is `short` (e.g. `vault`).
    pub fn find_short(&self, short: &str) -> Option<&ServiceRow> {
        self.services.iter().find(|r| r.short() == short)
    }

    /// One row per short name, first row wins, in file order: what the supervisor runs (all
    /// vault rows are served by one vault process).
    pub fn module_rows(&self) -> Vec<&ServiceRow> {
        let mut seen = std::collections::HashSet::with_capacity(self.services.len());
        self.services
            .iter()
            .filter(|row| seen.insert(row.short()))
            .collect()
    }
}

/// Result of a lenient read: the usable rows plus what was skipped and why.
#[derive(Debug, Clone, Default)]
pub struct LenientRead {
    /// The valid rows (duplicates on a port dropped, later row loses).
    pub manifest: Manifest,
    /// One line per skipped row, dropped duplicate, unreadable file or cleanup performed.
    pub warnings: Vec<String>,
}

/// Result of a strict read with the cleanup notes the CLI prints on stderr.
#[derive(Debug, Clone, Default)]
pub struct StrictRead {
    /// The registry.
    pub manifest: Manifest,
    /// One line per cleanup performed (the file was rewritten when non-empty).
    pub notes: Vec<String>,
}

/// Strict read for CLI verbs: a missing file is an empty registry; unreadable JSON, a bad row or
/// a duplicate port is an error naming the file and the fix (the file is left untouched).
/// Cleanup notes are logged; use [`read_strict_noted`] to print them yourself.
pub fn read_strict(home: &Home) -> Result<Manifest, ServicesError> {
    let read = read_strict_noted(home)?;
    for note in &read.notes {
        tracing::warn!("{note}");
    }
    Ok(read.manifest)
}

/// [`read_strict`], returning the cleanup notes instead of logging them. When cleanups applied,
/// the file was rewritten; if that save failed, the last note says why (the read still succeeds).
pub fn read_strict_noted(home: &Home) -> Result<StrictRead, ServicesError> {
    let path = home.services_json();
    let (manifest, mut notes) = {
        let _guard = lock_in_process();
        let Some(mut raw) = load(&path)? else {
            return Ok(StrictRead::default());
        };
        let notes = cleanup::apply(&mut raw, &path);
        (validate_strict(&raw, &path)?, notes)
    };
    if !notes.is_empty()
        && let Err(e) = persist_cleanups(home)
    {
        // The cleaned registry is still right for this run; the next read retries the save.
        notes.push(e.to_string());
    }
    Ok(StrictRead { manifest, notes })
}

/// Saves the read-time cleanups as a writer: under the cross-process registry lock, on a fresh
/// read of the file (so a row another process wrote since our read is kept), and only while the
/// fresh copy still parses and still needs them.
fn persist_cleanups(home: &Home) -> Result<(), ServicesError> {
    let _guard = lock_registry(home);
    let path = home.services_json();
    let Some(mut raw) = load(&path)? else {
        return Ok(());
    };
    if root_rows(&raw, &path).is_err() {
        return Ok(());
    }
    if cleanup::apply(&mut raw, &path).is_empty() {
        return Ok(());
    }
    save(&path, &raw)
}

/// Lenient read for the server: never fails. Unreadable or unparseable file -> empty registry
/// plus a warning (the file is not touched); a bad row is skipped with a warning naming it and
/// what is wrong; a later row on an already-claimed port is dropped (vault rows may share).
pub fn read_lenient(home: &Home) -> LenientRead {
    let guard = lock_in_process();
    let path = home.services_json();
    let mut out = LenientRead::default();
    let mut raw = match load(&path) {
        Ok(Some(raw)) => raw,
        Ok(None) => return out,
        Err(e) => {
            out.warnings
                .push(format!("{e} Serving no modules until then."));
            return out;
        }
    };
    let notes = cleanup::apply(&mut raw, &path);
    let mut problems = Vec::new();
    let Some(rows) = root_rows(&raw, &path)
        .map_err(|e| problems.push(e.to_string()))
        .ok()
    else {
        out.warnings.extend(notes);
        out.warnings.extend(problems);
        return out;
    };
    let mut claimed: Vec<(u16, String)> = Vec::new();
    for (i, value) in rows.iter().enumerate() {
        let row = match ServiceRow::from_value(value) {
            Ok(row) => row,
            Err(detail) => {
                problems.push(format!(
                    "{}: skipping {}: {detail}",
                    path.display(),
                    row_label(i, value)
                ));
                continue;
            }
        };
        if let Some(first) = port_conflict(&claimed, &row) {
            problems.push(format!(
                "{}: skipping {}: port {} is already claimed by {first:?}",
                path.display(),
                row_label(i, value),
                row.port
            ));
            continue;
        }
        claimed.push((row.port, row.name.clone()));
        out.manifest.services.push(row);
    }
    out.manifest.extra = extra_of(&raw);
    drop(guard);
    if !notes.is_empty()
        && problems.is_empty()
        && let Err(e) = persist_cleanups(home)
    {
        problems.push(e.to_string());
    }
    out.warnings.extend(notes);
    out.warnings.extend(problems);
    out
}

/// Writes the whole registry (2-space JSON + newline, atomically). Refuses invalid rows and
/// duplicate ports, writing nothing.
pub fn write(home: &Home, m: &Manifest) -> Result<(), ServicesError> {
    let path = home.services_json();
    let mut claimed: Vec<(u16, String)> = Vec::new();
    for row in &m.services {
        row.validate().map_err(|detail| ServicesError::InvalidRow {
            path: path.clone(),
            name: row.name.clone(),
            detail,
        })?;
        if let Some(first) = port_conflict(&claimed, row) {
            return Err(ServicesError::DuplicatePort {
                path,
                port: row.port,
                first,
                second: row.name.clone(),
            });
        }
        claimed.push((row.port, row.name.clone()));
    }
    let _guard = lock_registry(home);
    save(&path, &m.to_value())
}

/// Adds `row`, or replaces the row with the same name, keeping its position. Other rows are kept
/// byte-for-byte as JSON values (even invalid ones). Refuses — writing nothing — when the file
/// is not valid JSON, when `row` is invalid, or when another row (other than vault rows sharing
/// a vault port) already claims `row.port`. Returns the registry as a lenient read sees it.
pub fn upsert_row(home: &Home, row: &ServiceRow) -> Result<Manifest, ServicesError> {
    let path = home.services_json();
    row.validate().map_err(|detail| ServicesError::InvalidRow {
        path: path.clone(),
        name: row.name.clone(),
        detail,
    })?;
    modify(home, |rows, path| {
        for other in rows.iter() {
            let name = other.get("name").and_then(Value::as_str);
            let port = other.get("port").and_then(row::port_of);
            if let (Some(name), Some(port)) = (name, port)
                && name != row.name
                && port == row.port
                && !(is_vault_name(name) && row.is_vault())
            {
                return Err(ServicesError::DuplicatePort {
                    path: path.to_path_buf(),
                    port,
                    first: name.to_string(),
                    second: row.name.clone(),
                });
            }
        }
        let value = row.to_value();
        match rows
            .iter()
            .position(|r| r.get("name").and_then(Value::as_str) == Some(&row.name))
        {
            Some(i) => {
                rows[i] = value;
                rows.retain_mut_after(i, &row.name);
            }
            None => rows.push(value),
        }
        Ok(true)
    })?;
    Ok(read_lenient(home).manifest)
}

/// Removes every row named `name`. `Ok(false)` when there was none (a missing file included).
/// Refuses to touch a file that is not valid JSON.
pub fn remove_row(home: &Home, name: &str) -> Result<bool, ServicesError> {
    if !home.services_json().exists() {
        return Ok(false);
    }
    let mut removed = false;
    modify(home, |rows, _| {
        let before = rows.len();
        rows.retain(|r| r.get("name").and_then(Value::as_str) != Some(name));
        removed = rows.len() != before;
        Ok(removed)
    })?;
    Ok(removed)
}

/// Applies `f` to the row named `name` and writes the result. `Ok(false)` when there is no such
/// row (or no file). Refuses when the file is not valid JSON, when that row is invalid, or when
/// `f` leaves it invalid.
pub fn update_row(
    home: &Home,
    name: &str,
    f: impl FnOnce(&mut ServiceRow),
) -> Result<bool, ServicesError> {
    if !home.services_json().exists() {
        return Ok(false);
    }
    let mut found = false;
    modify(home, |rows, path| {
        let Some(i) = rows
            .iter()
            .position(|r| r.get("name").and_then(Value::as_str) == Some(name))
        else {
            return Ok(false);
        };
        let invalid = |detail: String| ServicesError::InvalidRow {
            path: path.to_path_buf(),
            name: name.to_string(),
            detail,
        };
        let mut row = ServiceRow::from_value(&rows[i]).map_err(invalid)?;
        f(&mut row);
        row.validate().map_err(invalid)?;
        rows[i] = row.to_value();
        found = true;
        Ok(true)
    })?;
    Ok(found)
}

/// Persists a start failure on the row named `name` (no-op when absent), stamping `at` if unset.
pub fn record_start_error(
    home: &Home,
    name: &str,
    mut error: StartErrorRecord,
) -> Result<bool, ServicesError> {
    if error.at.is_none() {
        error.at = Some(crate::now_iso());
    }
    update_row(home, name, |row| row.last_start_error = Some(error))
}

/// Clears the persisted start failure of the row named `name` (no write when already clear).
pub fn clear_start_error(home: &Home, name: &str) -> Result<bool, ServicesError> {
    let has_error = read_lenient(home)
        .manifest
        .find(name)
        .is_some_and(|r| r.last_start_error.is_some());
    if !has_error {
        return Ok(false);
    }
    update_row(home, name, |row| row.last_start_error = None)
}

/// Read-modify-write on the raw rows: `edit` returns whether it changed anything; cleanups are
/// applied (and logged) too. A missing file starts as `{"services": []}`.
fn modify(
    home: &Home,
    edit: impl FnOnce(&mut Vec<Value>, &Path) -> Result<bool, ServicesError>,
) -> Result<(), ServicesError> {
    let _guard = lock_registry(home);
    let path = home.services_json();
    let mut raw = load(&path)?.unwrap_or_else(|| serde_json::json!({ "services": [] }));
    root_rows(&raw, &path)?;
    let notes = cleanup::apply(&mut raw, &path);
    for note in &notes {
        tracing::warn!("{note}");
    }
    let rows = raw
        .get_mut("services")
        .and_then(Value::as_array_mut)
        .expect("checked by root_rows");
    let changed = edit(rows, &path)?;
    if changed || !notes.is_empty() {
        save(&path, &raw)?;
    }
    Ok(())
}

/// Removes rows named `name` after index `i` (a replaced row must not survive twice).
trait RetainAfter {
    fn retain_mut_after(&mut self, i: usize, name: &str);
}

impl RetainAfter for Vec<Value> {
    fn retain_mut_after(&mut self, i: usize, name: &str) {
        let mut index = 0;
        self.retain(|r| {
            let keep = index <= i || r.get("name").and_then(Value::as_str) != Some(name);
            index += 1;
            keep
        });
    }
}

/// Reads and parses the file; `None` when it does not exist.
fn load(path: &Path) -> Result<Option<Value>, ServicesError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ServicesError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ServicesError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// Writes `value` in the original's format.
fn save(path: &Path, value: &Value) -> Result<(), ServicesError> {
    write_atomic(path, pretty(value).as_bytes(), None).map_err(|source| ServicesError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The `services` array, or an error when the top level has the wrong shape.
fn root_rows<'a>(raw: &'a Value, path: &Path) -> Result<&'a Vec<Value>, ServicesError> {
    let shape = |detail: &str| ServicesError::Shape {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let Some(o) = raw.as_object() else {
        return Err(shape(
            "the top level must be an object like {\"services\": []}",
        ));
    };
    o.get("services")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("\"services\" must be an array of rows"))
}

/// Top-level keys other than `services`.
fn extra_of(raw: &Value) -> Map<String, Value> {
    raw.as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| *k != "services")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Validates every row and the port rule, failing on the first problem.
fn validate_strict(raw: &Value, path: &Path) -> Result<Manifest, ServicesError> {
    let rows = root_rows(raw, path)?;
    let mut manifest = Manifest {
        services: Vec::with_capacity(rows.len()),
        extra: extra_of(raw),
    };
    let mut claimed: Vec<(u16, String)> = Vec::new();
    for (i, value) in rows.iter().enumerate() {
        let row = ServiceRow::from_value(value).map_err(|detail| ServicesError::Row {
            path: path.to_path_buf(),
            detail: format!("{}: {detail}", row_label(i, value)),
        })?;
        if let Some(first) = port_conflict(&claimed, &row) {
            return Err(ServicesError::DuplicatePort {
                path: path.to_path_buf(),
                port: row.port,
                first,
                second: row.name,
            });
        }
        claimed.push((row.port, row.name.clone()));
        manifest.services.push(row);
    }
    Ok(manifest)
}

/// The name of an earlier row already holding `row.port`, unless both are vault rows.
fn port_conflict(claimed: &[(u16, String)], row: &ServiceRow) -> Option<String> {
    claimed
        .iter()
        .find(|(port, name)| *port == row.port && !(is_vault_name(name) && row.is_vault()))
        .map(|(_, name)| name.clone())
}

/// `row 2 ("vault")` — 1-based, with the name when the row has a string one.
fn row_label(index: usize, value: &Value) -> String {
    match value.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => format!("row {} ({name:?})", index + 1),
        _ => format!("row {}", index + 1),
    }
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;

//! Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory.
//!
//! A reader sees either the old content or the new content, never a partial file, even if the
//! writer crashes halfway; a crash leaves at most a stray `<file>.tmp-<pid>-<ms>` next to it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinguishes temp files created by concurrent writers in the same process and millisecond.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically.
///
/// Creates missing parent directories. The temp file `<path>.tmp-<pid>-<ms>` (with a `-<n>`
/// suffix if that name is taken, e.g. by debris of an earlier crash, which is left alone) is
/// created in the same directory, written, fsynced, given `mode` (or, when `mode` is `None`, the
/// permissions of the file it replaces, if any), renamed over `path`, and the directory is
/// fsynced so the rename survives a power loss. On error the temp file is removed and `path` is
/// unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let mode = match mode {
        Some(m) => Some(m),
        None => match fs::metadata(path) {
            Ok(meta) => Some(meta.permissions().mode() & 0o7777),
            Err(_) => None,
        },
    };
    let (tmp, file) = create_temp(path, mode)?;
    let result = finish(&tmp, file, path, &dir, bytes, mode);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a fresh temp file next to `path` (never reusing an existing one).
fn create_temp(path: &Path, mode: Option<u32>) -> io::Result<(PathBuf, File)> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let base = format!("{}.tmp-{}-{}", path.display(), std::process::id(), ms);
    let mut attempt = 0u32;
    loop {
        let name = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
        };
        let tmp = PathBuf::from(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // Never let the temp file be more open than the final mode, even briefly.
        options.mode(mode.unwrap_or(0o666) & 0o777);
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Writes, syncs, sets the mode, renames and syncs the directory.
fn finish(
    tmp: &Path,
    mut file: File,
    path: &Path,
    dir: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(mode) = mode {
        // Explicit chmod: the create mode above is filtered by the umask.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Removes `path`, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

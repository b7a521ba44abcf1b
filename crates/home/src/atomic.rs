//! Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory.
//!
//! A reader sees either the old content or the new content, never a partial file, even if the
//! writer crashes halfway; a crash leaves at most a stray `<file>.tmp-<pid>-<ms>` next to it,
//! which [`crate::sweep_stale_temp_files`] removes once its writer is gone.
//!
//! Whatever the umask: a new file is private (`0600`) unless the caller asks for another mode,
//! and every directory the writer creates is `0700` (see [`create_private_dir_all`]).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinguishes temp files created by concurrent writers in the same process and millisecond.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Mode of a file [`write_atomic`] creates when the caller names none: only the owner may read
/// or write it (`services.json` decides what code runs; other files may hold secrets).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Mode of every directory this crate creates: only the owner may list, enter or change it.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The infix of our temp file names: `<file>.tmp-<pid>-<ms>[-<n>]`.
pub(crate) const TEMP_INFIX: &str = ".tmp-";

/// Creates `dir` and its missing parents with mode `0700` (the umask can only narrow it).
/// Directories that already exist keep their mode.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
}

/// Writes `bytes` to `path` atomically.
///
/// Creates missing parent directories (mode `0700`). The temp file `<path>.tmp-<pid>-<ms>` (with
/// a `-<n>` suffix if that name is taken, e.g. by debris of an earlier crash, which is left
/// alone) is created in the same directory, written, fsynced, given `mode` (or, when `mode` is
/// `None`, the permissions of the file it replaces, else [`PRIVATE_FILE_MODE`]), renamed over
/// `path`, and the directory is fsynced so the rename survives a power loss. On error the temp
/// file is removed and `path` is unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    write_atomic_at(path, bytes, mode, ms)
}

/// [`write_atomic`] with the clock reading used in the temp file name (tests pin it).
fn write_atomic_at(path: &Path, bytes: &[u8], mode: Option<u32>, ms: u128) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir_all(&dir)?;
    let mode = match mode {
        Some(m) => m,
        None => match fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(_) => PRIVATE_FILE_MODE,
        },
    };
    let (tmp, file) = create_temp(path, mode, ms)?;
    let result = finish(&tmp, file, path, &dir, bytes, mode);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a fresh temp file next to `path` (never reusing an existing one).
fn create_temp(path: &Path, mode: u32, ms: u128) -> io::Result<(PathBuf, File)> {
    let mut base = path.as_os_str().to_owned();
    base.push(format!("{TEMP_INFIX}{}-{ms}", std::process::id()));
    let mut attempt = 0u32;
    loop {
        let mut name = base.clone();
        if attempt > 0 {
            name.push(format!("-{}", COUNTER.fetch_add(1, Ordering::Relaxed)));
        }
        let tmp = PathBuf::from(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // Never let the temp file be more open than the final mode, even briefly.
        options.mode(mode & 0o777);
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
    mode: u32,
) -> io::Result<()> {
    file.write_all(bytes)?;
    // Explicit chmod: the create mode above is filtered by the umask.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file name in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_creates_parents_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/state.json");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(path.parent().unwrap()), vec!["state.json"]);
    }

    #[test]
    fn new_files_are_private_and_new_directories_too() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("hub/run/hub.port");
        write_atomic(&path, b"1939\n", None).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), PRIVATE_FILE_MODE);
        assert_eq!(mode(&tmp.path().join("hub")), PRIVATE_DIR_MODE);
        assert_eq!(mode(&tmp.path().join("hub/run")), PRIVATE_DIR_MODE);
        // An existing directory keeps its mode.
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&shared.join("f"), b"x", None).unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&shared.join("f")), PRIVATE_FILE_MODE);
        // An explicit mode wins over the default.
        write_atomic(&shared.join("unit"), b"x", Some(0o644)).unwrap();
        assert_eq!(mode(&shared.join("unit")), 0o644);
    }

    #[test]
    fn applies_mode_even_over_a_more_open_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("operator.token");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"secret\n", Some(0o600)).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"secret\n");
    }

    #[test]
    fn without_mode_keeps_the_replaced_files_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new", None).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn debris_of_a_crashed_write_never_reaches_the_target() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("services.json");
        fs::write(&path, "{\"services\": []}\n").unwrap();
        // A writer that crashed after creating its temp file, with the very name we will pick.
        let ms = 1_700_000_000_000u128;
        let debris = tmp
            .path()
            .join(format!("services.json.tmp-{}-{ms}", std::process::id()));
        fs::write(&debris, "{\"serv").unwrap();
        // The target is still the complete old file.
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"services\": []}\n");
        write_atomic_at(&path, b"{\"services\": [1]}\n", None, ms).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"services\": [1]}\n");
        // The debris was neither reused nor renamed over the target.
        assert_eq!(fs::read_to_string(&debris).unwrap(), "{\"serv");
        assert_eq!(names(tmp.path()).len(), 2);
    }

    #[test]
    fn a_failed_rename_removes_the_temp_file_and_keeps_the_target() {
        let tmp = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: rename(file, dir) fails.
        let path = tmp.path().join("target");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        assert!(write_atomic(&path, b"data", None).is_err());
        assert_eq!(names(tmp.path()), vec!["target"]);
        assert_eq!(fs::read_to_string(path.join("keep")).unwrap(), "x");
    }

    #[test]
    fn concurrent_writers_never_tear_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
        std::thread::scope(|s| {
            for c in &contents {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..5 {
                        write_atomic(path, c, None).unwrap();
                    }
                });
            }
        });
        let got = fs::read(&path).unwrap();
        assert!(
            contents.contains(&got),
            "file must hold exactly one writer's bytes"
        );
        assert_eq!(names(tmp.path()), vec!["f"]);
    }
}

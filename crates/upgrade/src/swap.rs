//! Putting a new binary in place atomically, keeping the previous one, and putting it back.
//!
//! Everything happens inside the binary's own directory, so every step is a `link` or a
//! `rename` on one file system: a reader (the service manager starting the hub) always finds
//! either the old or the new binary at the path, never a partial one. A running hub keeps
//! executing its old inode after the rename; only the next start picks up the new file.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where the previous binary is kept: `<binary>.previous`.
pub fn previous_path(binary: &Path) -> PathBuf {
    sibling(binary, "", ".previous")
}

/// Where a download goes: `.<name>.upgrade-<operation>.part`, beside the binary (same file
/// system, so the swap is a rename).
pub fn download_path(binary: &Path, operation_id: &str) -> PathBuf {
    let short: String = operation_id.chars().take(12).collect();
    sibling(binary, ".", &format!(".upgrade-{short}.part"))
}

fn sibling(binary: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "parachute".into());
    binary.with_file_name(format!("{prefix}{name}{suffix}"))
}

/// Makes `to` a copy of `from` atomically: a hard link (or, where links fail, a copy) under a
/// temp name, renamed over `to`.
fn replace_with_copy_of(from: &Path, to: &Path) -> std::io::Result<()> {
    let tmp = sibling(to, ".", ".tmp-link");
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(from, &tmp).is_err() {
        std::fs::copy(from, &tmp)?;
    }
    let renamed = std::fs::rename(&tmp, to);
    // Renaming one hard link over another of the same file succeeds and leaves both names,
    // so the temp name is removed in every case.
    let _ = std::fs::remove_file(&tmp);
    renamed?;
    sync_dir(to)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Keeps the current binary as `<binary>.previous` (replacing an older one) and returns that
/// path. The binary itself is untouched.
pub fn keep_previous(binary: &Path) -> std::io::Result<PathBuf> {
    let previous = previous_path(binary);
    replace_with_copy_of(binary, &previous)?;
    Ok(previous)
}

/// Moves the verified download over the binary (one rename), with the binary's permissions
/// (the download was private while it was unverified).
pub fn install(download: &Path, binary: &Path) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(binary) {
        std::fs::set_permissions(download, meta.permissions())?;
    }
    std::fs::rename(download, binary)?;
    sync_dir(binary)
}

/// Puts `<binary>.previous` back at the binary's path; the kept copy stays, so a second
/// rollback finds it too.
pub fn restore_previous(binary: &Path) -> std::io::Result<()> {
    replace_with_copy_of(&previous_path(binary), binary)
}

/// The sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_swap_keeps_the_previous_binary_and_a_rollback_restores_it_twice() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("parachute");
        std::fs::write(&binary, "old").unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let download = download_path(&binary, "0123456789abcdef");
        assert_eq!(
            download.file_name().unwrap(),
            ".parachute.upgrade-0123456789ab.part"
        );
        std::fs::write(&download, "new").unwrap();
        std::fs::set_permissions(&download, std::fs::Permissions::from_mode(0o700)).unwrap();

        let previous = keep_previous(&binary).unwrap();
        assert_eq!(previous, dir.path().join("parachute.previous"));
        install(&download, &binary).unwrap();
        assert_eq!(std::fs::read_to_string(&binary).unwrap(), "new");
        let mode = std::fs::metadata(&binary).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o755,
            "the new binary gets the old one's mode"
        );
        assert_eq!(std::fs::read_to_string(&previous).unwrap(), "old");
        assert!(!download.exists());

        restore_previous(&binary).unwrap();
        assert_eq!(std::fs::read_to_string(&binary).unwrap(), "old");
        let mode = std::fs::metadata(&binary).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "the kept binary keeps its mode");
        restore_previous(&binary).unwrap();
        assert_eq!(std::fs::read_to_string(&binary).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temp files left: {names:?}");
    }

    #[test]
    fn hashes_are_sha256_hex() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "hello\n").unwrap();
        assert_eq!(
            sha256_file(&f).unwrap(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
    }
}

//! Atomic file writes: temp file in the same directory, fsync, rename.

use std::path::Path;

use crate::error::UnitError;

/// Writes `contents` to `path` atomically, creating the parent directory, with `mode`.
///
/// A reader (or the service manager) sees either the old file or the whole new one, never a
/// half-written unit.
pub(crate) fn write_atomic(path: &Path, contents: &str, mode: u32) -> Result<(), UnitError> {
    parachute_home::write_atomic(path, contents.as_bytes(), Some(mode))
        .map_err(|e| UnitError::io("write", path, e))
}

/// Removes `path`; a file that is already gone is fine.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), UnitError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UnitError::io("remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/unit.service");
        write_atomic(&path, "one", 0o644).unwrap();
        write_atomic(&path, "two", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("unit.service")]);
        remove_if_present(&path).unwrap();
        remove_if_present(&path).unwrap();
        assert!(!path.exists());
    }
}

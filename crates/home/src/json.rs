//! JSON text in the original's format: 2-space indentation and a final newline.

use serde::Serialize;

/// Renders `value` as 2-space indented JSON followed by `\n` (what `JSON.stringify(v, null, 2)`
/// plus a newline produces for the values we write).
pub(crate) fn pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
    text.push('\n');
    text
}

/// Human description of a JSON value for error messages (`"abc"`, `null`, `an array`).
pub(crate) fn describe(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Reads and parses a state file; `Ok(None)` when it does not exist.
pub(crate) fn load_state(
    path: &std::path::Path,
) -> Result<Option<serde_json::Value>, crate::error::StateError> {
    use crate::error::StateError;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StateError::Malformed {
            path: path.to_path_buf(),
            detail: format!("not valid JSON ({e})"),
        })
}

/// Writes a state file atomically in the original's format.
pub(crate) fn save_state<T: Serialize>(
    path: &std::path::Path,
    value: &T,
    mode: Option<u32>,
) -> Result<(), crate::error::StateError> {
    crate::atomic::write_atomic(path, pretty(value).as_bytes(), mode).map_err(|source| {
        crate::error::StateError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Removes a state file; `Ok(false)` when it was already gone.
pub(crate) fn remove_state(path: &std::path::Path) -> Result<bool, crate::error::StateError> {
    crate::atomic::remove_if_exists(path).map_err(|source| crate::error::StateError::Write {
        path: path.to_path_buf(),
        source,
    })
}

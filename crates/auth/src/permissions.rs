//! The `permissions` claim: fine-grained constraints beyond scopes (a JSON object such as
//! `{"vault":{"default":{"write_tags":["health"]}}}`), interpreted by the module that reads it.
//!
//! Mints canonicalise it as the original does (`JSON.stringify(JSON.parse(text))`): no
//! whitespace, object keys in JavaScript's property order (array-index keys such as `"0"` first,
//! ascending, then the others in the order written; a repeated key keeps its first place and
//! its last value), integral numbers without a fraction. The same text is stored in the
//! token's registry row and the parsed object is carried as the claim.

use serde_json::{Map, Number, Value};

/// Why a `permissions` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionsError {
    /// Not JSON at all.
    #[error("permissions is not valid JSON ({0})")]
    NotJson(String),
    /// JSON, but not an object.
    #[error(
        "permissions must be a JSON object, e.g. '{{\"vault\":{{\"default\":{{\"write_tags\":[\"health\"]}}}}}}'"
    )]
    NotAnObject,
}

/// Parses `text` as a permissions object and canonicalises it.
pub fn parse_permissions(text: &str) -> Result<Value, PermissionsError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| PermissionsError::NotJson(e.to_string()))?;
    canonical_permissions(value)
}

/// Canonicalises an already parsed permissions value; refuses anything but an object.
pub fn canonical_permissions(value: Value) -> Result<Value, PermissionsError> {
    match value {
        Value::Object(_) => Ok(canonical(value)),
        _ => Err(PermissionsError::NotAnObject),
    }
}

/// The canonical text of a permissions object (what the registry row stores).
pub fn permissions_text(value: &Value) -> String {
    value.to_string()
}

fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(js_ordered(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Number(n) => Value::Number(js_number(n)),
        other => other,
    }
}

/// Array-index keys (canonical decimal integers below 2³² − 1) first in ascending order, then
/// the rest in insertion order: the order JavaScript enumerates an object's properties.
fn js_ordered(map: Map<String, Value>) -> Map<String, Value> {
    let mut indexed: Vec<(u32, String, Value)> = Vec::new();
    let mut named: Vec<(String, Value)> = Vec::new();
    for (key, value) in map {
        match array_index(&key) {
            Some(i) => indexed.push((i, key, canonical(value))),
            None => named.push((key, canonical(value))),
        }
    }
    indexed.sort_by_key(|(i, _, _)| *i);
    indexed
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .chain(named)
        .collect()
}

fn array_index(key: &str) -> Option<u32> {
    let n: u32 = key.parse().ok()?;
    (n != u32::MAX && n.to_string() == key).then_some(n)
}

/// `1.0` → `1` (JavaScript has one number type and prints integral values without a fraction).
fn js_number(n: Number) -> Number {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Number::from(f as i64)
        }
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_what_json_stringify_writes() {
        let v = parse_permissions(
            r#" { "vault" : { "default": { "write_tags": [ "health" ] } }, "b": 1.0, "10": true, "a": null, "2": [ {"z": 1, "1": 2} ] } "#,
        )
        .unwrap();
        assert_eq!(
            permissions_text(&v),
            r#"{"2":[{"1":2,"z":1}],"10":true,"vault":{"default":{"write_tags":["health"]}},"b":1,"a":null}"#
        );
        // A repeated key keeps its first place and its last value; "01" is not an index.
        let v = parse_permissions(r#"{"x": 1, "01": 2, "y": 3, "x": 4}"#).unwrap();
        assert_eq!(permissions_text(&v), r#"{"x":4,"01":2,"y":3}"#);
    }

    #[test]
    fn only_objects_are_permissions() {
        for bad in ["[]", "\"x\"", "3", "null"] {
            assert_eq!(
                parse_permissions(bad),
                Err(PermissionsError::NotAnObject),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_permissions("{nope"),
            Err(PermissionsError::NotJson(_))
        ));
        assert!(
            PermissionsError::NotAnObject
                .to_string()
                .contains("write_tags")
        );
    }
}

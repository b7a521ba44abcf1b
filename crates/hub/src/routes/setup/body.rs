//! A setup step's fields from a JSON object (the `setup-wizard` verb) or a urlencoded form
//! (a browser without the SPA), as strings.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// The submitted fields and how they came.
#[derive(Debug, Default)]
pub struct Fields {
    /// Field name → value (JSON strings as they are, other JSON scalars as their text).
    pub values: HashMap<String, String>,
    /// Whether the body was JSON (the answer is JSON too, as the original).
    pub json: bool,
}

impl Fields {
    /// The field `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.values
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// The field `name` exactly as sent (passwords are not trimmed).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Parses the body by its `Content-Type`; `None` when it cannot be read as either.
pub fn parse(headers: &HeaderMap, body: &Bytes) -> Option<Fields> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("application/json") {
        let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
            return None;
        };
        let values = map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Bool(_) | Value::Number(_) => Some((k, v.to_string())),
                _ => None,
            })
            .collect();
        return Some(Fields { values, json: true });
    }
    let values = url::form_urlencoded::parse(body).into_owned().collect();
    Some(Fields {
        values,
        json: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    #[test]
    fn json_and_forms_give_the_same_fields() {
        let j = parse(
            &headers("application/json"),
            &Bytes::from_static(br#"{"__csrf":"t","username":" owner ","n":1,"x":[1]}"#),
        )
        .unwrap();
        assert!(j.json);
        assert_eq!(j.get("username"), "owner");
        assert_eq!(j.raw("username"), Some(" owner "));
        assert_eq!(j.get("n"), "1");
        assert_eq!(j.get("x"), "");
        let f = parse(
            &headers("application/x-www-form-urlencoded"),
            &Bytes::from_static(b"__csrf=t&username=a%20b"),
        )
        .unwrap();
        assert!(!f.json);
        assert_eq!(f.get("username"), "a b");
        assert!(parse(&headers("application/json"), &Bytes::from_static(b"[1]")).is_none());
    }
}

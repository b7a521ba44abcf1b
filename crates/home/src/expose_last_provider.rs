//! `expose-last-provider.json`: which provider the last `expose` used, so `expose off` (without
//! a provider) knows what to tear down.

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::json::{remove_state, save_state};
use crate::paths::Home;

/// The record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposeLastProvider {
    /// Format version; always 1.
    pub version: u32,
    /// The provider used last.
    pub provider: Provider,
    /// When it was recorded (ISO 8601).
    pub written_at: String,
}

/// An exposure provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// `tailscale serve|funnel`.
    Tailscale,
    /// A `cloudflared` tunnel.
    Cloudflare,
}

/// The record, or `None` when absent or unusable (it is only a hint, as in the original).
pub fn read(home: &Home) -> Option<ExposeLastProvider> {
    let text = std::fs::read_to_string(home.expose_last_provider()).ok()?;
    let record: ExposeLastProvider = serde_json::from_str(&text).ok()?;
    (record.version == 1 && !record.written_at.is_empty()).then_some(record)
}

/// Records `provider` with the current time.
pub fn write(home: &Home, provider: Provider) -> Result<(), StateError> {
    let record = ExposeLastProvider {
        version: 1,
        provider,
        written_at: crate::now_iso(),
    };
    save_state(&home.expose_last_provider(), &record, None)
}

/// Removes the record; `Ok(false)` when there was none.
pub fn remove(home: &Home) -> Result<bool, StateError> {
    remove_state(&home.expose_last_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        assert_eq!(read(&home), None);
        write(&home, Provider::Cloudflare).unwrap();
        let text = std::fs::read_to_string(home.expose_last_provider()).unwrap();
        assert!(text.starts_with(
            "{\n  \"version\": 1,\n  \"provider\": \"cloudflare\",\n  \"writtenAt\": \""
        ));
        let record = read(&home).unwrap();
        assert_eq!(record.provider, Provider::Cloudflare);
        assert!(record.written_at.ends_with('Z'));
        assert!(remove(&home).unwrap());
        assert!(!remove(&home).unwrap());
    }

    #[test]
    fn unusable_records_read_as_absent() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        for text in [
            "nope",
            r#"{"version":2,"provider":"tailscale","writtenAt":"x"}"#,
            r#"{"version":1,"provider":"ngrok","writtenAt":"x"}"#,
            r#"{"version":1,"provider":"tailscale","writtenAt":""}"#,
        ] {
            std::fs::write(home.expose_last_provider(), text).unwrap();
            assert_eq!(read(&home), None, "{text}");
        }
    }
}

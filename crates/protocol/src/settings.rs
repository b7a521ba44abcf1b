//! `GET|PUT /api/settings/hub-origin`: the hub's canonical origin (the `iss` of every token it
//! mints and the `PARACHUTE_HUB_ORIGIN` modules are told).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which layer of the issuer rule (setting > environment > exposure > request) the resolved
/// origin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum IssuerSource {
    /// The stored `hub_origin` setting.
    Settings,
    /// The hub's environment (`PARACHUTE_HUB_ORIGIN`, `RENDER_EXTERNAL_URL`, `FLY_APP_NAME`).
    Env,
    /// Ours: the exposed origin recorded in `expose-state.json` (the original has no such
    /// layer; its exposed requests resolved as `request`).
    Exposure,
    /// Nothing configured: the origin the request came in on.
    Request,
}

/// `GET /api/settings/hub-origin` (scope `parachute:host:admin`), the original's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubOriginSetting {
    /// The stored setting, or `null` when none is stored.
    #[serde(default)]
    pub hub_origin: Option<String>,
    /// The issuer tokens minted for this request carry (the rule applied to it).
    pub resolved_issuer: String,
    /// Where [`HubOriginSetting::resolved_issuer`] came from.
    pub source: IssuerSource,
}

/// `PUT /api/settings/hub-origin` body: an `http(s)://host[:port]` origin (no path, query,
/// fragment or credentials; one trailing `/` is refused as the original does), or `null` (or
/// `""`) to clear the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubOriginUpdate {
    /// The new origin, or `null` to clear it.
    pub hub_origin: Option<String>,
}

/// The answer to a `PUT`: the original's `{hub_origin}` plus what the change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HubOriginAnswer {
    /// The setting now stored (`null`: cleared).
    #[serde(default)]
    pub hub_origin: Option<String>,
    /// Ours: the issuer tokens minted for this request now carry.
    #[serde(default)]
    pub resolved_issuer: Option<String>,
    /// Ours: where that issuer comes from now.
    #[serde(default)]
    pub source: Option<IssuerSource>,
    /// Ours: what modules are told as `PARACHUTE_HUB_ORIGIN` from now on (`null`: nothing, a
    /// module keeps its own `.env` value or default).
    #[serde(default)]
    pub module_origin: Option<String>,
    /// Ours: modules restarted so they run with the new origin.
    #[serde(default)]
    pub restarted: Vec<String>,
    /// Ours: whether `operator.token` was re-issued under the new issuer.
    #[serde(default)]
    pub operator_token_reissued: bool,
    /// Ours: what could not be done (a module that would not restart, a `.env` that could not
    /// be written), each with the command that fixes it.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_use_the_originals_words() {
        let words: Vec<String> = [
            IssuerSource::Settings,
            IssuerSource::Env,
            IssuerSource::Exposure,
            IssuerSource::Request,
        ]
        .iter()
        .map(|s| {
            serde_json::to_value(s)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
        assert_eq!(words, ["settings", "env", "exposure", "request"]);
        let got: HubOriginSetting = serde_json::from_value(serde_json::json!({
            "hub_origin": null, "resolved_issuer": "http://127.0.0.1:1939", "source": "request"
        }))
        .unwrap();
        assert_eq!(got.source, IssuerSource::Request);
        let answer: HubOriginAnswer =
            serde_json::from_value(serde_json::json!({"hub_origin": "https://h.example"})).unwrap();
        assert!(answer.restarted.is_empty() && answer.warnings.is_empty());
    }
}

//! The hub origin a CLI verb mints tokens for and validates the operator token against.

use parachute_auth::{HubDb, IssuerLayers, ResolvedIssuer};
use parachute_home::{Home, StateError, expose_state};

use crate::hub_port;

/// The issuer a token minted from this side of the hub carries (`auth mint-token`, operator
/// tokens): the issuer rule ([`IssuerLayers`]) with the `hub_origin` setting read from `db`,
/// `env_origin` (the environment layer the front end read, see
/// [`parachute_auth::env_origin_from`]), the exposed origin of `expose-state.json`, and
/// `http://127.0.0.1:<hub port>` when none is configured — the same origin the hub tells its
/// modules, so they accept the token.
///
/// A malformed `expose-state.json` or `hub/run/hub.port` is an error naming the file: guessing
/// an origin would mint tokens nobody accepts.
pub fn mint_issuer(
    home: &Home,
    db: &HubDb,
    env_origin: Option<&str>,
) -> Result<ResolvedIssuer, StateError> {
    let setting = db
        .setting(parachute_auth::SETTING_HUB_ORIGIN)
        .ok()
        .flatten();
    let exposure = expose_state::read(home)?.map(|s| s.advertised_origin());
    let loopback = format!("http://127.0.0.1:{}", hub_port(home)?);
    let layers = IssuerLayers {
        setting: setting.as_deref(),
        env: env_origin,
        exposure: exposure.as_deref(),
    };
    Ok(layers.resolve(&loopback))
}

/// The origin the hub is reached at, as the CLI sees it: `override_origin` (a verb's
/// `--hub-origin`), else the exposed origin recorded in `expose-state.json` (`hubOrigin`, else
/// `https://<canonicalFqdn>`), else `http://127.0.0.1:<hub port>`. Trailing `/` removed.
/// A malformed `hub/run/hub.port` is an error naming it, too.
///
/// A malformed `expose-state.json` is an error naming the file: guessing an origin would mint
/// tokens nobody accepts.
pub fn client_origin(home: &Home, override_origin: Option<&str>) -> Result<String, StateError> {
    if let Some(origin) = override_origin
        .map(parachute_auth::normalize_origin)
        .filter(|o| !o.is_empty())
    {
        return Ok(origin);
    }
    if let Some(state) = expose_state::read(home)? {
        if let Some(origin) = state
            .hub_origin
            .as_deref()
            .map(parachute_auth::normalize_origin)
            .filter(|o| !o.is_empty())
        {
            return Ok(origin);
        }
        if !state.canonical_fqdn.trim().is_empty() {
            return Ok(format!("https://{}", state.canonical_fqdn.trim()));
        }
    }
    Ok(format!("http://127.0.0.1:{}", hub_port(home)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(hub_origin: Option<&str>) -> String {
        let mut v = serde_json::json!({
            "version": 1, "layer": "tailnet", "mode": "path",
            "canonicalFqdn": "box.tail1.ts.net", "port": 443, "funnel": false, "entries": []
        });
        if let Some(o) = hub_origin {
            v["hubOrigin"] = o.into();
        }
        v.to_string()
    }

    #[test]
    fn precedence_is_override_then_exposure_then_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        assert_eq!(client_origin(&home, None).unwrap(), "http://127.0.0.1:1939");
        parachute_home::hub_port::write(&home, 4242).unwrap();
        assert_eq!(client_origin(&home, None).unwrap(), "http://127.0.0.1:4242");
        std::fs::write(home.expose_state(), state(None)).unwrap();
        assert_eq!(
            client_origin(&home, None).unwrap(),
            "https://box.tail1.ts.net"
        );
        std::fs::write(home.expose_state(), state(Some("https://hub.example.com/"))).unwrap();
        assert_eq!(
            client_origin(&home, None).unwrap(),
            "https://hub.example.com"
        );
        assert_eq!(
            client_origin(&home, Some("https://other.example/")).unwrap(),
            "https://other.example"
        );
        std::fs::write(home.expose_state(), "{not json").unwrap();
        assert!(client_origin(&home, None).is_err());
    }

    #[test]
    fn mints_follow_the_issuer_rule() {
        use parachute_auth::IssuerSource;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let db = HubDb::open(&home.hub_db()).unwrap();
        parachute_home::hub_port::write(&home, 4242).unwrap();
        let got = mint_issuer(&home, &db, None).unwrap();
        assert_eq!(got.origin, "http://127.0.0.1:4242");
        assert_eq!(got.source, IssuerSource::Request);
        std::fs::write(home.expose_state(), state(None)).unwrap();
        assert_eq!(
            mint_issuer(&home, &db, None).unwrap().origin,
            "https://box.tail1.ts.net"
        );
        let got = mint_issuer(&home, &db, Some("https://env.example")).unwrap();
        assert_eq!(
            (got.origin.as_str(), got.source),
            ("https://env.example", IssuerSource::Env)
        );
        db.set_setting(parachute_auth::SETTING_HUB_ORIGIN, "https://set.example")
            .unwrap();
        let got = mint_issuer(&home, &db, Some("https://env.example")).unwrap();
        assert_eq!(
            (got.origin.as_str(), got.source),
            ("https://set.example", IssuerSource::Settings)
        );
        std::fs::write(home.expose_state(), "{not json").unwrap();
        assert!(mint_issuer(&home, &db, None).is_err());
    }
}

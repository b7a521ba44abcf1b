//! Who can reach what once a layer is up: the summary a public layer prints so nobody exposes
//! more than they meant to.

use parachute_home::{Manifest, PublicExposure};

use crate::report::{Log, Reach};
use crate::state::Active;

/// The audience of a layer, as a phrase.
fn audience(active: &Active) -> &'static str {
    match active {
        Active::Tailnet { .. } => "devices on your tailnet",
        Active::Funnel { .. } | Active::Cloudflare { .. } => "anyone on the internet",
    }
}

/// One entry per reachable part: the hub's public pages, its protected APIs, and each module
/// by its exposure policy.
pub(crate) fn reach(manifest: &Manifest, url: &str, active: &Active) -> Vec<Reach> {
    let who = audience(active);
    let mut out = vec![
        Reach {
            what: "the hub page, sign-in and the discovery document".into(),
            url: Some(format!("{url}/")),
            who: who.into(),
        },
        Reach {
            what: "module operations and admin APIs (/api/…)".into(),
            url: Some(format!("{url}/api/")),
            who: format!("{who}, but only with an admin or operator token"),
        },
    ];
    for row in manifest.module_rows() {
        let Some(path) = row.paths.first() else {
            continue;
        };
        let paths = if row.is_vault() {
            manifest
                .services
                .iter()
                .filter(|r| r.is_vault())
                .flat_map(|r| r.paths.iter().cloned())
                .collect::<Vec<_>>()
        } else {
            vec![path.clone()]
        };
        for path in paths {
            let who = match row.effective_public_exposure() {
                PublicExposure::Allowed => {
                    format!("{who}; the module checks its own tokens")
                }
                PublicExposure::AuthRequired => {
                    format!("{who} with a token (the module requires authentication)")
                }
                PublicExposure::Loopback => "nobody from outside (this machine only)".into(),
            };
            out.push(Reach {
                what: format!("{} ({path})", row.short()),
                url: Some(format!("{url}{path}")),
                who,
            });
        }
    }
    out.push(Reach {
        what: "everything else on this machine (other ports, files)".into(),
        url: None,
        who: "nobody: only the hub is published".into(),
    });
    out
}

/// Prints the reach list under a heading.
pub(crate) fn print(log: &mut Log, reach: &[Reach]) {
    log.info("Who can reach what now:");
    for r in reach {
        match &r.url {
            Some(url) => log.info(format!("  {} — {url}: {}", r.what, r.who)),
            None => log.info(format!("  {}: {}", r.what, r.who)),
        }
    }
}

/// The warning for a public layer: sign-in is on the internet now.
pub(crate) fn public_login_warning(log: &mut Log, url: &str) {
    log.info("");
    log.warn(format!(
        "The sign-in page is now on the public internet ({url}/login): your password is all that stands between a stranger and your hub."
    ));
    log.info("  This hub has no second sign-in factor yet, so make the admin password a long,");
    log.info("  unique one (`parachute auth set-password`). If only your own devices need the");
    log.info("  hub, the tailnet layer keeps it off the internet (`parachute expose tailnet`).");
}

#[cfg(test)]
mod tests {
    use parachute_home::ServiceRow;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_public_warning_only_suggests_commands_that_exist() {
        let mut log = Log::default();
        public_login_warning(&mut log, "https://hub.example.com");
        let text: Vec<String> = log.into_lines().iter().map(|l| l.render()).collect();
        let text = text.join("\n");
        assert!(text.contains("https://hub.example.com/login"), "{text}");
        assert!(text.contains("parachute auth set-password"), "{text}");
        assert!(!text.contains("2fa"), "no `auth 2fa` verb exists: {text}");
    }

    #[test]
    fn modules_are_listed_by_policy() {
        let rows = [
            json!({"name": "parachute-vault", "port": 1940, "paths": ["/vault/default"], "health": "/health", "version": "1"}),
            json!({"name": "parachute-vault-work", "port": 1940, "paths": ["/vault/work"], "health": "/health", "version": "1"}),
            json!({"name": "parachute-scribe", "port": 1943, "paths": ["/scribe"], "health": "/health", "version": "1"}),
            json!({"name": "secret", "port": 2000, "paths": ["/secret"], "health": "/health", "version": "1", "publicExposure": "loopback"}),
        ];
        let manifest = Manifest {
            services: rows
                .iter()
                .map(|r| ServiceRow::from_value(r).unwrap())
                .collect(),
            extra: Default::default(),
        };
        let active = Active::Funnel {
            fqdn: "b.ts.net".into(),
        };
        let r = reach(&manifest, "https://b.ts.net", &active);
        let text: Vec<String> = r
            .iter()
            .map(|x| format!("{} | {}", x.what, x.who))
            .collect();
        assert!(text[0].ends_with("| anyone on the internet"), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("vault (/vault/work)")));
        assert!(
            text.iter()
                .any(|t| t.starts_with("scribe (/scribe)") && t.contains("requires authentication"))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("secret (/secret)") && t.contains("nobody from outside"))
        );
        let tailnet = reach(
            &manifest,
            "https://b.ts.net",
            &Active::Tailnet {
                fqdn: "b.ts.net".into(),
            },
        );
        assert_eq!(tailnet[0].who, "devices on your tailnet");
    }
}

//! The static discovery files the Tailscale layers leave under `well-known/`:
//! `parachute.json` (for inspection; the hub route rebuilds the document per request) and
//! `hub.html`.
//!
//! The document itself is the hub's ([`parachute_home::discovery::write_well_known`]),
//! written with the exposed origin so the file on disk matches what a client sees there.

use parachute_home::{Home, write_atomic};

use crate::error::ExposeError;

/// Path of the discovery document on every origin.
pub const DISCOVERY_PATH: &str = "/.well-known/parachute.json";

/// Writes `well-known/parachute.json` (for `origin`) and `well-known/hub.html`.
pub fn write_files(home: &Home, origin: &str) -> Result<(), ExposeError> {
    parachute_home::discovery::write_well_known(home, origin)
        .map_err(|e| ExposeError::write(e.path, e.source))?;
    let html = home.well_known_hub_html();
    write_atomic(&html, HUB_HTML.as_bytes(), None).map_err(|e| ExposeError::write(&html, e))?;
    Ok(())
}

/// Removes both files (absent files are fine).
pub fn remove_files(home: &Home) {
    for path in [home.well_known_parachute_json(), home.well_known_hub_html()] {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %e, "could not remove a discovery file");
        }
    }
}

/// A small static landing page: where to go from the hub's root.
const HUB_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parachute hub</title>
</head>
<body>
<h1>Parachute hub</h1>
<p>This machine runs a Parachute hub.</p>
<ul>
<li><a href="/admin/">Open the dashboard</a></li>
<li><a href="/.well-known/parachute.json">Discovery document</a> (the modules this hub serves)</li>
</ul>
</body>
</html>
"#;

//! Picks what `parachute-ui` embeds, without needing Node:
//!
//! 1. `ui/dist/index.html` exists (someone ran `scripts/ui-build` or `npm run build` in `ui/`):
//!    embed `ui/dist`.
//! 2. Otherwise write a one-page stand-in into `OUT_DIR` that says how to build the dashboard,
//!    and embed that.
//!
//! The chosen directory reaches `include_dir!` through `PARACHUTE_UI_DIR`, and
//! `PARACHUTE_UI_BUILT` tells the crate which one it got. Cargo re-runs this script when
//! `ui/dist` changes (or appears).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

const MISSING_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parachute Hub: dashboard not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:640px;margin:48px auto;padding:0 16px;line-height:1.5}code,pre{background:#f1f3f5;border-radius:6px}pre{padding:12px;overflow:auto}</style>
</head>
<body>
<h1>The dashboard was not built into this binary</h1>
<p>This <code>parachute</code> was compiled without <code>ui/dist</code>, so the hub runs but has no web dashboard. Everything else (the API, modules, the CLI) works.</p>
<p>To include it, build the dashboard (needs Node 18 or newer with npm) and then the binary again:</p>
<pre>scripts/ui-build
cargo build --release -p parachute</pre>
<p><code>scripts/run</code> does both.</p>
</body>
</html>
"#;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let (dir, built) = if dist.join("index.html").is_file() {
        (dist.canonicalize().unwrap_or(dist), true)
    } else {
        let out =
            PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("ui-missing");
        std::fs::create_dir_all(&out).expect("create OUT_DIR/ui-missing");
        std::fs::write(out.join("index.html"), MISSING_PAGE).expect("write the stand-in page");
        (out, false)
    };
    println!("cargo:rustc-env=PARACHUTE_UI_DIR={}", dir.display());
    println!("cargo:rustc-env=PARACHUTE_UI_BUILT={built}");
}

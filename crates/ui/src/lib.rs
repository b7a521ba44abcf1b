//! The dashboard's files, embedded at compile time so nothing is needed on disk at run time.
//!
//! `build.rs` embeds `ui/dist` when it was built (`scripts/ui-build`), else a single page
//! saying how to build it. This crate only finds files and names their content types; the
//! hub (`parachute-hub`, `routes/admin.rs`) maps them to HTTP under `/admin`.

use include_dir::{Dir, include_dir};

/// Everything the build put in `ui/dist` (or the stand-in page).
static DIST: Dir<'static> = include_dir!("$PARACHUTE_UI_DIR");

/// Whether the real dashboard is embedded (false: the how-to-build page).
pub const BUILT: bool = matches!(env!("PARACHUTE_UI_BUILT").as_bytes(), b"true");

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Whether its name carries a content hash (Vite's `assets/<name>-<hash>.<ext>`), so it
    /// may be cached for a year.
    pub immutable: bool,
}

/// The SPA's entry page (the fallback of every client-side route).
pub fn index() -> Asset {
    file("index.html").expect("build.rs always embeds an index.html")
}

/// The file at `path` (relative to the dashboard's root, no leading `/`), if embedded.
/// Paths with `..` or a leading `/` never match.
pub fn file(path: &str) -> Option<Asset> {
    if path.is_empty() || path.starts_with('/') || path.split('/').any(|s| s == "..") {
        return None;
    }
    let f = DIST.get_file(path)?;
    Some(Asset {
        bytes: f.contents(),
        content_type: content_type(path),
        immutable: path.starts_with("assets/"),
    })
}

/// Every embedded file's path (for the benchmark's size figure and tests).
pub fn paths() -> Vec<String> {
    fn walk(dir: &Dir<'static>, out: &mut Vec<String>) {
        for f in dir.files() {
            out.push(f.path().to_string_lossy().into_owned());
        }
        for d in dir.dirs() {
            walk(d, out);
        }
    }
    let mut out = Vec::new();
    walk(&DIST, &mut out);
    out.sort();
    out
}

/// The content type of a file name, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_always_embedded_as_html() {
        let index = index();
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        let text = std::str::from_utf8(index.bytes).unwrap();
        if BUILT {
            assert!(text.contains("/admin/assets/"), "{text}");
        } else {
            assert!(text.contains("scripts/ui-build"), "{text}");
        }
    }

    #[test]
    fn escaping_paths_never_match() {
        for p in ["", "/index.html", "../Cargo.toml", "assets/../../x"] {
            assert!(file(p).is_none(), "{p}");
        }
    }

    #[test]
    fn hashed_assets_are_immutable_with_their_types() {
        for path in paths() {
            let a = file(&path).unwrap();
            assert_eq!(a.immutable, path.starts_with("assets/"));
            if path.ends_with(".js") {
                assert_eq!(a.content_type, "text/javascript; charset=utf-8");
            }
        }
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}

//! Fake `npm` for the black-box suites: `npm view <pkg> dist-tags --json` and
//! `npm view <pkg>@<tag> version`.
//!
//! Answers from `<state>/npm.dist-tags.json`, an object mapping package names to their
//! dist-tags (`{"@openparachute/vault": {"latest": "1.2.0", "rc": "1.3.0-rc.1"}}`): the tags
//! printed the way npm prints them, or the one version a tag points at on a line of its own
//! (npm prints nothing, exit 0, for a tag the package does not have). A package missing from
//! that file gets npm's 404 answer (JSON error on stdout, `npm error` lines on stderr, exit 1).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

use parachute_tests::fake::record_invocation;

fn main() {
    let (state, args) = record_invocation("npm");
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let (package, tag) = match words.as_slice() {
        ["view", package, "dist-tags", "--json"] => (*package, None),
        ["view", spec, "version"] => match spec.rfind('@') {
            Some(i) if i > 0 => (&spec[..i], Some(&spec[i + 1..])),
            _ => (*spec, Some("latest")),
        },
        _ => {
            eprintln!(
                "fake npm: only `npm view <pkg> dist-tags --json` and `npm view <pkg>@<tag> version` are supported"
            );
            std::process::exit(2);
        }
    };
    let tags = std::fs::read_to_string(state.join("npm.dist-tags.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|all| all.get(package).cloned());
    match (tags, tag) {
        (Some(tags), None) => println!("{}", serde_json::to_string_pretty(&tags).unwrap()),
        (Some(tags), Some(tag)) => {
            if let Some(version) = tags.get(tag).and_then(|v| v.as_str()) {
                println!("{version}");
            }
        }
        (None, _) => {
            let error = serde_json::json!({"error": {
                "code": "E404",
                "summary": format!("Not Found - GET https://registry.npmjs.org/{package} - Not found"),
                "detail": format!("'{package}@*' is not in this registry."),
            }});
            println!("{}", serde_json::to_string_pretty(&error).unwrap());
            eprintln!("npm error code E404");
            eprintln!(
                "npm error 404 Not Found - GET https://registry.npmjs.org/{package} - Not found"
            );
            std::process::exit(1);
        }
    }
}

//! Fake `npm` for the black-box suites: `npm view <pkg> dist-tags --json` only.
//!
//! Answers from `<state>/npm.dist-tags.json`, an object mapping package names to their
//! dist-tags (`{"@openparachute/vault": {"latest": "1.2.0", "rc": "1.3.0-rc.1"}}`), printed
//! the way npm prints them. A package missing from that file gets npm's 404 answer (JSON error
//! on stdout, `npm error` lines on stderr, exit 1).

use parachute_tests::fake::STATE_ENV;

fn main() {
    let (state, args) = record("npm");
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let ["view", package, "dist-tags", "--json"] = words.as_slice() else {
        eprintln!("fake npm: only `npm view <pkg> dist-tags --json` is supported");
        std::process::exit(2);
    };
    let tags = std::fs::read_to_string(state.join("npm.dist-tags.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|all| all.get(*package).cloned());
    match tags {
        Some(tags) => println!("{}", serde_json::to_string_pretty(&tags).unwrap()),
        None => {
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

/// Appends this invocation's argv to `<state>/npm.calls.jsonl` in ONE write, so concurrent
/// invocations never interleave their lines (the format `FakeTools::calls` reads).
fn record(tool: &str) -> (std::path::PathBuf, Vec<String>) {
    use std::io::Write;
    let state = std::env::var_os(STATE_ENV)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("fake {tool}: {STATE_ENV} is not set");
            std::process::exit(97);
        });
    let args: Vec<String> = std::env::args().skip(1).collect();
    let line = serde_json::to_string(&args).unwrap() + "\n";
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join(format!("{tool}.calls.jsonl")))
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .expect("append to the calls log");
    (state, args)
}

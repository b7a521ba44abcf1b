//! Fake `loginctl` for the black-box suites (see TOOL-FORMATS.md §5).
//!
//! `enable-linger [user]` / `disable-linger [user]` record `<state>/loginctl/linger/<user>`;
//! `show-user <user> -p Linger` prints `Linger=yes|no`. Failure injection: each line
//! `<verb> <exit> <stderr text>` of `<state>/loginctl.fail` makes that verb fail.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

fn main() {
    let (state, args) = parachute_tests::fake::record_invocation("loginctl");
    let words: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let Some(verb) = words.first().map(|s| s.as_str()) else {
        eprintln!("loginctl (fake): a verb is required");
        std::process::exit(1);
    };
    fake_service::fail_if_injected(&state, "loginctl", verb);
    let linger = state.join("loginctl/linger");
    std::fs::create_dir_all(&linger).expect("state dir");
    let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let user = words.get(1).map(|s| s.to_string()).unwrap_or(me);
    let code = match verb {
        "enable-linger" => {
            std::fs::write(linger.join(&user), "").expect("write linger marker");
            0
        }
        "disable-linger" => {
            let _ = std::fs::remove_file(linger.join(&user));
            0
        }
        "show-user" => {
            let on = linger.join(&user).exists();
            let value_only = args.iter().any(|a| a == "--value");
            let yes = if on { "yes" } else { "no" };
            if value_only {
                println!("{yes}");
            } else {
                println!("Linger={yes}");
            }
            0
        }
        other => {
            eprintln!("Unknown command verb '{other}'.");
            1
        }
    };
    std::process::exit(code);
}

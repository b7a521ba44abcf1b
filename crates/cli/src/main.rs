#![allow(clippy::print_stdout, clippy::print_stderr)] // the CLI is the front end that prints.
fn main() {
    std::process::exit(parachute::run());
}

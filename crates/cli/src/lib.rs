//! The GUI-free parachute binary: every CLI verb plus serve.

/// Runs the CLI with the process arguments and returns the exit code.
pub fn run() -> i32 {
    0
}

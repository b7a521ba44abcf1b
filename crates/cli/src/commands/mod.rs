//! One module per verb. Each `run` returns the process exit code.

pub mod serve;

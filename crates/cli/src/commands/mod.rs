//! One module per verb. Each `run` returns the process exit code.

pub mod auth;
pub mod expose;
pub mod hub_access;
pub mod init;
pub mod install;
pub mod lifecycle;
pub mod logs;
pub mod migrate;
pub mod public_2fa;
pub mod serve;
pub mod status;
pub mod terminal;
pub mod upgrade;
pub mod vault;

//! First-run setup at `/admin/setup` (account → vault → exposure), as the original's wizard.
//! The browser gets the dashboard's setup page; `Accept: application/json` gets the JSON form
//! the original's `setup-wizard` verb speaks.

/// Setting: the vault step was skipped (the original's key).
pub const VAULT_SKIPPED: &str = "setup_vault_skipped";

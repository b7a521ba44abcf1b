//! `hub_settings`: small key/value preferences of the hub (`hub_origin`,
//! `module_install_channel`, `setup_expose_mode`, …).

use rusqlite::OptionalExtension;

use crate::clock::format_timestamp;
use crate::db::HubDb;
use crate::error::AuthError;

/// Setting: the operator-chosen public origin of the hub (token issuer).
pub const SETTING_HUB_ORIGIN: &str = "hub_origin";
/// Setting: `latest` or `rc`, the dist-tag module installs use.
pub const SETTING_MODULE_INSTALL_CHANNEL: &str = "module_install_channel";
/// Setting: how the wizard was told the hub will be reached.
pub const SETTING_SETUP_EXPOSE_MODE: &str = "setup_expose_mode";

impl HubDb {
    /// The value of `key`, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, AuthError> {
        self.lock()
            .query_row(
                "SELECT value FROM hub_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(AuthError::sql("reading a hub setting"))
    }

    /// Sets `key` to `value` (insert or replace), stamping `updated_at`.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), AuthError> {
        let stamp = format_timestamp(self.now());
        self.lock()
            .execute(
                "INSERT INTO hub_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                rusqlite::params![key, value, stamp],
            )
            .map_err(AuthError::sql("saving a hub setting"))?;
        Ok(())
    }

    /// Removes `key`; returns whether it was set.
    pub fn delete_setting(&self, key: &str) -> Result<bool, AuthError> {
        let n = self
            .lock()
            .execute("DELETE FROM hub_settings WHERE key = ?1", [key])
            .map_err(AuthError::sql("deleting a hub setting"))?;
        Ok(n > 0)
    }
}

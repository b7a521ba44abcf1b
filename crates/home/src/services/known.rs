//! First-party module knowledge: short names, canonical ports, defaults.

use super::row::{PublicExposure, ServiceRow};

/// Canonical ports of the hub and the first-party modules, by short name.
pub const CANONICAL_PORTS: &[(&str, u16)] = &[
    ("hub", 1939),
    ("vault", 1940),
    ("channel", 1941),
    ("notes", 1942),
    ("scribe", 1943),
    ("runner", 1945),
    ("surface", 1946),
];

/// Registry names of first-party modules and their short names (`parachute-lens` is the
/// short-lived old name of notes, kept so such installs stay manageable).
const KNOWN_NAMES: &[(&str, &str)] = &[
    ("parachute-vault", "vault"),
    ("parachute-scribe", "scribe"),
    ("parachute-runner", "runner"),
    ("parachute-surface", "surface"),
    ("parachute-notes", "notes"),
    ("parachute-channel", "channel"),
    ("parachute-lens", "notes"),
];

/// Retired module names: rows with these names are dropped on read.
pub const RETIRED_NAMES: &[&str] = &["agent", "parachute-agent", "app", "parachute-app"];

/// Whether `name` is a vault row (`parachute-vault` or `parachute-vault-<name>`): one vault
/// process serves every vault, so these rows may share a port.
pub fn is_vault_name(name: &str) -> bool {
    name == "parachute-vault" || name.starts_with("parachute-vault-")
}

/// The short name of a first-party registry name, if it is one.
pub fn known_short(name: &str) -> Option<&'static str> {
    if is_vault_name(name) {
        return Some("vault");
    }
    KNOWN_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
}

/// The registry name of a first-party short name (`vault` -> `parachute-vault`).
pub fn manifest_name_for_short(short: &str) -> Option<&'static str> {
    KNOWN_NAMES
        .iter()
        .find(|(_, s)| *s == short)
        .map(|(n, _)| *n)
}

/// The canonical port of a short name (`hub` included).
pub fn canonical_port(short: &str) -> Option<u16> {
    CANONICAL_PORTS
        .iter()
        .find(|(s, _)| *s == short)
        .map(|(_, p)| *p)
}

impl ServiceRow {
    /// The module's short name: its directory under the home, its `[short]` log prefix and its
    /// name in the module API. First-party rows map to their short (`parachute-vault` -> `vault`);
    /// every `parachute-vault-<name>` row maps to `vault` too, because one vault process serves
    /// them all (the original used the full row name there and so could not manage those rows).
    /// Any other row's short is its name.
    pub fn short(&self) -> String {
        known_short(&self.name).map_or_else(|| self.name.clone(), str::to_string)
    }

    /// Whether this row is first-party (known short name).
    pub fn is_first_party(&self) -> bool {
        known_short(&self.name).is_some()
    }

    /// Whether this is a vault row (may share its port with other vault rows).
    pub fn is_vault(&self) -> bool {
        is_vault_name(&self.name)
    }

    /// The canonical port of this row's module, when first-party.
    pub fn canonical_port(&self) -> Option<u16> {
        known_short(&self.name).and_then(canonical_port)
    }

    /// The exposure policy in force: the row's value, else `auth-required` for scribe (it has no
    /// auth gate of its own) and `allowed` for everything else.
    pub fn effective_public_exposure(&self) -> PublicExposure {
        match self.public_exposure {
            Some(p) => p,
            None if known_short(&self.name) == Some("scribe") => PublicExposure::AuthRequired,
            None => PublicExposure::Allowed,
        }
    }

    /// Whether the hub proxy strips the matched mount prefix before forwarding.
    ///
    /// The row's `stripPrefix` wins. Without it, only scribe strips (it serves bare paths such
    /// as `/health`, and its own manifest declares `stripPrefix: true`). Everything else keeps
    /// the prefix: vault routes by `/vault/<name>/…`, runner and surface declare
    /// `stripPrefix: false`, notes and channel mount themselves under their path, and the
    /// original proxy never strips an unmarked third-party row.
    pub fn effective_strip_prefix(&self) -> bool {
        match self.strip_prefix {
            Some(b) => b,
            None => known_short(&self.name) == Some("scribe"),
        }
    }
}

//! The scope vocabulary: which scopes exist, which OAuth clients may ask for, and what each
//! means in plain words for the consent page.
//!
//! Shapes (as the original): `<service>:<verb>` (`vault:read`, `scribe:transcribe`, `hub:admin`),
//! the per-vault form `vault:<name>:<read|write|admin>` that tokens actually carry, and the
//! operator-only `parachute:host:*` scopes. A [`ScopeRegistry`] holds every scope the hub is
//! willing to sign: the first-party list below plus whatever the installed modules declare in
//! their `module.json` (`scopes.defines`; the caller reads those files and passes them in). A
//! named scope is known when its collapsed `<service>:<verb>` form is (so `vault:work:read` is
//! known through `vault:read`).

use std::collections::HashSet;

/// How much a scope lets its holder do; the consent page highlights `Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeLevel {
    /// Reads data.
    Read,
    /// Changes data.
    Write,
    /// Changes configuration or other people's access.
    Admin,
    /// Sends messages on the person's behalf.
    Send,
}

/// The plain-words description of a scope for the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeExplanation {
    /// One sentence saying what the app will be able to do.
    pub label: &'static str,
    /// How powerful the scope is.
    pub level: ScopeLevel,
}

const fn explained(label: &'static str, level: ScopeLevel) -> ScopeExplanation {
    ScopeExplanation { label, level }
}

/// Every first-party scope with its explanation, sorted by name.
pub const FIRST_PARTY_SCOPES: &[(&str, ScopeExplanation)] = &[
    (
        "channel:send",
        explained("Post messages to your Channel.", ScopeLevel::Send),
    ),
    (
        "hub:admin",
        explained(
            "Manage the hub itself: accounts, signing keys and connected apps.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:admin",
        explained(
            "Administer everything on this computer, including creating and removing vaults.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:auth",
        explained(
            "Issue access tokens and manage accounts on this computer.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:expose",
        explained(
            "Put this hub on your tailnet or the public internet, or take it off.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:install",
        explained(
            "Install and upgrade modules on this computer.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:start",
        explained(
            "Start, stop and restart modules on this computer.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "parachute:host:vault",
        explained(
            "Create, configure and delete vaults on this computer.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "scribe:admin",
        explained(
            "Change Scribe's settings: providers, keys, models and limits.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "scribe:transcribe",
        explained("Send audio to Scribe to be transcribed.", ScopeLevel::Write),
    ),
    (
        "vault:admin",
        explained(
            "Everything in the vault, plus its settings and the tokens that open it.",
            ScopeLevel::Admin,
        ),
    ),
    (
        "vault:read",
        explained(
            "See your notes, tags, attachments and vault settings.",
            ScopeLevel::Read,
        ),
    ),
    (
        "vault:write",
        explained(
            "Create, change and delete notes, tags and attachments.",
            ScopeLevel::Write,
        ),
    ),
];

/// Scopes only the operator on the box may hold (operator token, session-minted admin
/// tokens); the public OAuth flow refuses them and does not advertise them.
pub const NON_REQUESTABLE_SCOPES: &[&str] = &[
    "parachute:host:admin",
    "parachute:host:install",
    "parachute:host:start",
    "parachute:host:expose",
    "parachute:host:auth",
    "parachute:host:vault",
];

/// Optional modules whose first-party scopes are advertised only when the module is installed:
/// (scope prefix, `services.json` service name).
pub const OPTIONAL_MODULE_SCOPES: &[(&str, &str)] = &[
    ("scribe:", "parachute-scribe"),
    ("channel:", "parachute-channel"),
];

/// The three vault verbs, weakest first.
pub const VAULT_VERBS: &[&str] = &["read", "write", "admin"];

/// Splits a scope parameter on any whitespace run, dropping empties (RFC 6749 §3.3, tolerant
/// of tabs and CRLF from mangled form posts).
pub fn parse_scope_string(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

/// Whether `name` is a well-formed vault name (`[A-Za-z0-9_-]+`).
pub fn is_valid_vault_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// The parts of a `vault:<name>:<verb>` scope with a valid name and a known verb.
pub fn named_vault_scope(scope: &str) -> Option<(&str, &str)> {
    let mut parts = scope.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("vault"), Some(name), Some(verb), None)
            if is_valid_vault_name(name) && VAULT_VERBS.contains(&verb) =>
        {
            Some((name, verb))
        }
        _ => None,
    }
}

/// The vault a `vault:<name>:<verb>` scope names, if it has that shape.
pub fn vault_scope_name(scope: &str) -> Option<&str> {
    named_vault_scope(scope).map(|(name, _)| name)
}

/// The verb of an unnamed `vault:<verb>` scope (which the consent picker or a resource binds
/// to one vault before anything is minted).
pub fn unnamed_vault_verb(scope: &str) -> Option<&str> {
    scope
        .strip_prefix("vault:")
        .filter(|verb| VAULT_VERBS.contains(verb))
}

/// The request's scopes after the person picked `vault` on the consent page: every unnamed
/// `vault:<verb>` becomes `vault:<vault>:<verb>`; everything else is kept as it is.
pub fn pick_vault<S: AsRef<str>>(scopes: &[S], vault: &str) -> Vec<String> {
    scopes
        .iter()
        .map(|s| match unnamed_vault_verb(s.as_ref()) {
            Some(verb) => format!("vault:{vault}:{verb}"),
            None => s.as_ref().to_owned(),
        })
        .collect()
}

/// Whether `scope` is `vault:<name>:admin`.
pub fn is_vault_admin_scope(scope: &str) -> bool {
    named_vault_scope(scope).is_some_and(|(_, verb)| verb == "admin")
}

/// Refuses strings that try the named vault shape but get it wrong (`vault:work:ADMIN`,
/// `vault::admin`, `vault:a:read:x`, `VAULT:a:read`); everything else passes.
pub fn is_well_formed_or_non_vault_scope(scope: &str) -> bool {
    let segments = scope.split(':').count();
    let first = scope.split(':').next().unwrap_or("");
    if !first.eq_ignore_ascii_case("vault") || segments < 3 {
        return true;
    }
    named_vault_scope(scope).is_some()
}

/// Whether the public OAuth flow refuses `scope` (the operator-only host scopes).
pub fn is_non_requestable_scope(scope: &str) -> bool {
    NON_REQUESTABLE_SCOPES.contains(&scope)
}

/// Whether an OAuth client may ask for `scope`.
pub fn is_requestable_scope(scope: &str) -> bool {
    !is_non_requestable_scope(scope)
}

/// The consent-page explanation of `scope`: direct for first-party scopes, the matching
/// `vault:<verb>` text for `vault:<name>:<verb>` and the display form `vault:*:<verb>`; `None`
/// for module scopes (shown verbatim).
pub fn explain_scope(scope: &str) -> Option<ScopeExplanation> {
    if let Some((_, explanation)) = FIRST_PARTY_SCOPES.iter().find(|(name, _)| *name == scope) {
        return Some(*explanation);
    }
    let verb = match named_vault_scope(scope) {
        Some((_, verb)) => verb,
        None => scope
            .strip_prefix("vault:*:")
            .filter(|v| VAULT_VERBS.contains(v))?,
    };
    explain_scope(&format!("vault:{verb}"))
}

/// Whether `scope` is admin-level (so consent is never skipped for it automatically).
/// Module-declared scopes are never admin here, as in the original.
pub fn scope_is_admin(scope: &str) -> bool {
    explain_scope(scope).is_some_and(|e| e.level == ScopeLevel::Admin)
}

/// Every scope the hub is willing to sign: first-party plus module-declared.
#[derive(Debug, Clone)]
pub struct ScopeRegistry {
    /// Declared scopes in the order they were added (first-party first, sorted).
    declared: Vec<String>,
    /// The same, for lookups.
    index: HashSet<String>,
}

impl Default for ScopeRegistry {
    fn default() -> Self {
        Self::first_party()
    }
}

impl ScopeRegistry {
    /// Only the first-party scopes.
    pub fn first_party() -> Self {
        let mut registry = Self {
            declared: Vec::new(),
            index: HashSet::new(),
        };
        registry.declare(FIRST_PARTY_SCOPES.iter().map(|(name, _)| *name));
        registry
    }

    /// First-party scopes plus the ones installed modules declare.
    pub fn with_module_scopes<I, S>(module_scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut registry = Self::first_party();
        registry.declare(module_scopes);
        registry
    }

    /// Adds scopes (duplicates and empty strings ignored).
    pub fn declare<I, S>(&mut self, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for scope in scopes {
            let scope = scope.as_ref().trim();
            if !scope.is_empty() && self.index.insert(scope.to_owned()) {
                self.declared.push(scope.to_owned());
            }
        }
    }

    /// Every declared scope, in declaration order.
    pub fn declared(&self) -> &[String] {
        &self.declared
    }

    /// Whether `scope` is declared, directly or through its collapsed `<first>:<last>` form.
    /// Declaring `vault:admin` does not make `vault:read` known: no inheritance at mint time.
    pub fn is_known(&self, scope: &str) -> bool {
        if self.index.contains(scope) {
            return true;
        }
        let parts: Vec<&str> = scope.split(':').collect();
        parts.len() >= 3
            && self
                .index
                .contains(&format!("{}:{}", parts[0], parts[parts.len() - 1]))
    }

    /// The scopes of `scopes` that are not declared, in order.
    pub fn unknown<S: AsRef<str>>(&self, scopes: &[S]) -> Vec<String> {
        scopes
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !self.is_known(s))
            .map(str::to_owned)
            .collect()
    }

    /// The `scopes_supported` list of the discovery documents: requestable declared scopes,
    /// without an optional module's scopes while that module is not installed.
    pub fn advertised<S: AsRef<str>>(&self, installed_services: &[S]) -> Vec<String> {
        let installed: HashSet<&str> = installed_services.iter().map(AsRef::as_ref).collect();
        self.declared
            .iter()
            .filter(|s| is_requestable_scope(s))
            .filter(|s| {
                OPTIONAL_MODULE_SCOPES
                    .iter()
                    .all(|(prefix, service)| !s.starts_with(prefix) || installed.contains(service))
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_party_list_is_sorted_and_complete() {
        let names: Vec<&str> = FIRST_PARTY_SCOPES.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 13);
        for scope in NON_REQUESTABLE_SCOPES {
            assert!(names.contains(scope), "{scope}");
            assert!(crate::tokens::is_operator_only_scope(scope), "{scope}");
        }
    }

    #[test]
    fn parsing_and_shapes() {
        assert_eq!(
            parse_scope_string(" vault:read\tvault:write\r\nhub:admin  "),
            vec!["vault:read", "vault:write", "hub:admin"]
        );
        assert_eq!(named_vault_scope("vault:work:read"), Some(("work", "read")));
        assert_eq!(named_vault_scope("vault:work:delete"), None);
        assert_eq!(named_vault_scope("vault:../x:read"), None);
        assert_eq!(
            vault_scope_name("vault:my_vault-2:admin"),
            Some("my_vault-2")
        );
        assert_eq!(unnamed_vault_verb("vault:write"), Some("write"));
        assert_eq!(unnamed_vault_verb("vault:work:write"), None);
        assert!(is_vault_admin_scope("vault:work:admin"));
        assert!(!is_vault_admin_scope("vault:admin"));
        for bad in [
            "vault:work:ADMIN",
            "vault::admin",
            "vault:work:read:admin",
            "VAULT:work:admin",
        ] {
            assert!(!is_well_formed_or_non_vault_scope(bad), "{bad}");
        }
        for good in [
            "vault:work:admin",
            "vault:read",
            "vault",
            "scribe:transcribe",
            "x:y:z",
        ] {
            assert!(is_well_formed_or_non_vault_scope(good), "{good}");
        }
    }

    #[test]
    fn picking_a_vault_names_only_unnamed_vault_scopes() {
        assert_eq!(
            pick_vault(
                &["vault:read", "vault:home:write", "scribe:transcribe"],
                "work"
            ),
            vec!["vault:work:read", "vault:home:write", "scribe:transcribe"]
        );
    }

    #[test]
    fn explanations_cover_named_and_display_forms() {
        assert_eq!(
            explain_scope("vault:work:read"),
            explain_scope("vault:read")
        );
        assert_eq!(explain_scope("vault:*:admin"), explain_scope("vault:admin"));
        assert!(explain_scope("runner:admin").is_none());
        assert!(scope_is_admin("vault:work:admin"));
        assert!(scope_is_admin("hub:admin"));
        assert!(!scope_is_admin("vault:work:write"));
        assert!(
            !scope_is_admin("runner:admin"),
            "module scopes are not admin here"
        );
        assert!(is_requestable_scope("hub:admin"));
        assert!(!is_requestable_scope("parachute:host:admin"));
    }

    #[test]
    fn registry_knows_collapsed_forms_and_module_scopes() {
        let registry = ScopeRegistry::with_module_scopes(["agent:run", "vault:read", " "]);
        assert!(registry.is_known("vault:read"));
        assert!(registry.is_known("vault:default:read"));
        assert!(registry.is_known("agent:run"));
        assert!(registry.is_known("agent:main:run"));
        assert!(!registry.is_known("agent:admin"));
        assert!(!registry.is_known("vault:default:delete"));
        assert_eq!(
            registry.unknown(&["vault:read", "bogus:x", "vault:a:b:c"]),
            vec!["bogus:x", "vault:a:b:c"]
        );
        assert_eq!(registry.declared().len(), 14);
        assert_eq!(
            registry.declared().last().map(String::as_str),
            Some("agent:run")
        );
    }

    #[test]
    fn advertised_scopes_hide_operator_and_missing_modules() {
        let registry = ScopeRegistry::first_party();
        let vault_only = registry.advertised(&["parachute-vault"]);
        assert_eq!(
            vault_only,
            vec!["hub:admin", "vault:admin", "vault:read", "vault:write"]
        );
        let with_scribe = registry.advertised(&["parachute-vault", "parachute-scribe"]);
        assert!(with_scribe.contains(&"scribe:transcribe".to_owned()));
        assert!(!with_scribe.contains(&"channel:send".to_owned()));
        assert!(!with_scribe.iter().any(|s| s.starts_with("parachute:host:")));
    }
}

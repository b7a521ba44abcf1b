//! The pages a person sees during `/oauth/authorize`: the consent page (which app, which
//! vault, which scopes in plain words, `Approve` and `Deny`), the page for an app waiting for
//! the admin's approval, and the error page for requests that cannot go back to the app.

use parachute_auth::scopes::{ScopeLevel, explain_scope, named_vault_scope, unnamed_vault_verb};

use crate::routes::signin::pages::{csrf_field, document, escape};

/// What the consent page shows and carries.
pub struct ConsentView<'a> {
    /// The app's registered name (or its id).
    pub client_name: &'a str,
    /// Host the browser returns to afterwards.
    pub redirect_host: &'a str,
    /// The scopes to grant (after resource binding).
    pub scopes: &'a [String],
    /// The vault the resource indicator named, if any.
    pub bound_vault: Option<&'a str>,
    /// Vaults the person may pick from, when an unnamed `vault:<verb>` is asked for.
    pub pickable_vaults: &'a [String],
    /// Whether the app is not approved yet (approving it is part of this consent).
    pub new_client: bool,
    /// The CSRF token.
    pub csrf: &'a str,
    /// The authorization request as hidden fields (`name`, value).
    pub hidden: &'a [(&'static str, String)],
}

/// The consent page.
pub fn consent_page(view: &ConsentView<'_>) -> String {
    let needs_pick = view.scopes.iter().any(|s| unnamed_vault_verb(s).is_some());
    let items: String = view
        .scopes
        .iter()
        .map(|s| scope_item(s))
        .collect::<Vec<_>>()
        .join("");
    let items = if items.is_empty() {
        "<li>Confirm who you are (no access to your data).</li>".to_owned()
    } else {
        items
    };
    let vault_line = match view.bound_vault {
        Some(v) => format!("<p>Only the vault <b>{}</b> on this hub.</p>", escape(v)),
        None => String::new(),
    };
    let picker = if needs_pick {
        vault_picker(view.pickable_vaults)
    } else {
        String::new()
    };
    let new_client = if view.new_client {
        "<p class=\"notice\">This app has not connected to your hub before. Approving also \
         registers it as trusted; you can remove it later from the hub's settings.</p>"
    } else {
        ""
    };
    let hidden: String = view
        .hidden
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                escape(v)
            )
        })
        .collect();
    let body = format!(
        "<h1>Connect {name}?</h1>\
<p><b>{name}</b> wants to use your Parachute hub. If you approve, it will be able to:</p>\
<ul class=\"plain\">{items}</ul>{vault_line}{new_client}\
<form method=\"post\" action=\"/oauth/authorize\">{csrf}{hidden}{picker}\
<p class=\"muted\">Afterwards you go back to <code>{host}</code>.</p>\
<div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></div></form>",
        name = escape(view.client_name),
        csrf = csrf_field(view.csrf),
        host = escape(view.redirect_host),
    );
    document(&format!("Connect {}", view.client_name), &body)
}

/// One scope in plain words, with its raw name for the curious.
fn scope_item(scope: &str) -> String {
    let label = explain_scope(scope).map_or_else(
        || format!("Use the permission {scope}."),
        |e| e.label.to_owned(),
    );
    let strong = explain_scope(scope).is_some_and(|e| e.level == ScopeLevel::Admin);
    let vault = named_vault_scope(scope).map_or_else(String::new, |(v, _)| {
        format!(" (vault <b>{}</b>)", escape(v))
    });
    let label = if strong {
        format!("<b>{}</b>", escape(&label))
    } else {
        escape(&label)
    };
    format!(
        "<li>{label}{vault} <span class=\"muted\"><code>{}</code></span></li>",
        escape(scope)
    )
}

/// The vault select for an unnamed `vault:<verb>` request.
fn vault_picker(vaults: &[String]) -> String {
    if vaults.is_empty() {
        return "<p class=\"error\" role=\"alert\">This hub has no vault you can give access to. \
                Create a vault (or ask the hub's admin to assign you one), then try again.</p>"
            .to_owned();
    }
    let options: String = vaults
        .iter()
        .map(|v| format!("<option value=\"{0}\">{0}</option>", escape(v)))
        .collect();
    format!(
        "<label for=\"vault_pick\">Vault</label><select id=\"vault_pick\" name=\"vault_pick\" \
         required style=\"width:100%;padding:.6rem;font:inherit;border-radius:8px\">{options}</select>"
    )
}

/// The page for an app nobody approved yet, seen by someone who cannot approve it.
pub fn waiting_for_admin_page(client_name: &str, client_id: &str) -> String {
    let body = format!(
        "<h1>Waiting for approval</h1>\
<p><b>{name}</b> asked to connect to this hub, but only the hub's admin can approve new apps.</p>\
<p class=\"muted\">Ask them to approve it (on the hub's sign-in page, or with \
<code>parachute auth approve-client {id}</code>), then try connecting again.</p>",
        name = escape(client_name),
        id = escape(client_id),
    );
    document("Waiting for approval", &body)
}

/// An authorization request that cannot be sent back to the app (unknown app, unregistered
/// redirect address, …): said to the person, never redirected.
pub fn request_error_page(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{title}</h1><p class=\"error\" role=\"alert\">{message}</p>\
<p class=\"muted\">Nothing was shared with the app. Close this page and connect again from the app.</p>",
        title = escape(title),
        message = escape(message),
    );
    document(title, &body)
}

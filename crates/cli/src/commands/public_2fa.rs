//! After a public layer comes up: says whether two-step sign-in protects the hub's admin,
//! since `/login` is now reachable from the whole internet (the original's warning, in our
//! words). Reads `hub.db` only; never fails the exposure.

use parachute_auth::HubDb;
use parachute_home::Home;

/// The lines to print for `url` (empty when the admin's state cannot be read).
pub fn lines(home: &Home, url: &str) -> Vec<String> {
    let Ok(db) = HubDb::open(&home.hub_db()) else {
        return Vec::new();
    };
    let Ok(Some(admin)) = db.first_user() else {
        return Vec::new();
    };
    let Ok(status) = db.two_factor_status(&admin.id) else {
        return Vec::new();
    };
    let login = format!("{}/login", url.trim_end_matches('/'));
    if status.enrolled {
        return vec![format!(
            "✓ {login} is public; two-step sign-in protects {} ({} backup codes left).",
            admin.username, status.backup_codes_remaining
        )];
    }
    vec![
        String::new(),
        format!(
            "⚠ {login} is now reachable from the internet, and {} signs in with a password alone.",
            admin.username
        ),
        "  Turn on two-step sign-in (a code from an authenticator app on top of the password):"
            .into(),
        "    parachute auth 2fa enroll".into(),
        "  and make sure the password is a strong one: parachute auth set-password".into(),
    ]
}

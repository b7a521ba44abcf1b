//! `parachute auth pending-clients`: OAuth clients that registered themselves and wait for
//! the operator's approval (a pending client gets no code and no token).

use parachute_auth::clients::ClientStatus;
use parachute_home::Home;

use super::open_db;

/// Lists them, newest last.
pub fn run(home: &Home) -> Result<(), String> {
    let db = open_db(home)?;
    let clients = db
        .clients_with_status(ClientStatus::Pending)
        .map_err(|e| e.to_string())?;
    if clients.is_empty() {
        println!("No OAuth clients are waiting for approval.");
        return Ok(());
    }
    println!("CLIENT ID                             NAME  (registered; redirect URIs)");
    for c in &clients {
        println!(
            "{}  {}  ({}; {})",
            c.client_id,
            c.client_name.as_deref().unwrap_or("(unnamed)"),
            c.registered_at,
            c.redirect_uris.join(", ")
        );
    }
    println!("Approve one with `parachute auth approve-client <client id>`.");
    Ok(())
}

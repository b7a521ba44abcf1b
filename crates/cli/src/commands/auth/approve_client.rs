//! `parachute auth approve-client <id>`: lets a pending OAuth client complete sign-in.

use parachute_home::Home;

use super::open_db;

/// Approves the client (already approved is fine).
pub fn run(home: &Home, client_id: &str) -> Result<(), String> {
    let db = open_db(home)?;
    let client_id = client_id.trim();
    let changed = db.approve_client(client_id).map_err(|e| e.to_string())?;
    let name = db
        .client(client_id)
        .map_err(|e| e.to_string())?
        .and_then(|c| c.client_name)
        .unwrap_or_else(|| "(unnamed)".into());
    if changed {
        println!("Approved OAuth client {client_id} ({name}). It can now finish signing in.");
    } else {
        println!("OAuth client {client_id} ({name}) was already approved.");
    }
    Ok(())
}

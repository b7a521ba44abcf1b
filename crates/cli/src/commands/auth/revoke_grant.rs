//! `parachute auth revoke-grant <client id> [--username <name>]`: forgets an approval so the
//! app must ask for consent again. As in the original, tokens already issued keep working
//! until they expire or are revoked (`parachute auth revoke-token <jti>`).

use parachute_home::Home;

use super::{account, open_db};

/// Deletes the grant row.
pub fn run(home: &Home, client_id: &str, username: Option<&str>) -> Result<(), String> {
    let db = open_db(home)?;
    let user = account(&db, username)?;
    let client_id = client_id.trim();
    if !db
        .revoke_grant(&user.id, client_id)
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "{} has no approval for client {client_id}; `parachute auth list-grants` shows them",
            user.username
        ));
    }
    println!(
        "Forgot {}'s approval of {client_id}: it will ask for consent next time. Tokens it already holds stay valid until they expire or you revoke them.",
        user.username
    );
    Ok(())
}

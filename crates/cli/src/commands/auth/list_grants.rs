//! `parachute auth list-grants [--username <name>]`: the apps an account approved; consent is
//! skipped when such an app asks again for scopes inside its grant.

use parachute_home::Home;

use super::{account, open_db};

/// Lists the account's grants, newest first.
pub fn run(home: &Home, username: Option<&str>) -> Result<(), String> {
    let db = open_db(home)?;
    let user = account(&db, username)?;
    let grants = db.list_grants(&user.id).map_err(|e| e.to_string())?;
    if grants.is_empty() {
        println!("{} has approved no apps.", user.username);
        return Ok(());
    }
    println!("Apps {} approved:", user.username);
    for g in &grants {
        println!(
            "  {}  {}  scopes: {}  (approved {})",
            g.grant.client_id,
            g.client_name.as_deref().unwrap_or("(client removed)"),
            g.grant.scopes.join(" "),
            g.grant.granted_at
        );
    }
    println!("Forget one with `parachute auth revoke-grant <client id>`.");
    Ok(())
}

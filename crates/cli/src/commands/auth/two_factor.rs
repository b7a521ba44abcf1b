//! `parachute auth 2fa [status|enroll|disenroll] [--username <name>]`: two-step sign-in for
//! the hub's login page, on the same `users` columns the original and `/account/2fa` use.
//!
//! Enrolment: a new secret is shown (base32 for manual entry, the `otpauth://` URI for a QR
//! code); one current code read from standard input confirms it; only then are the secret
//! and ten backup codes stored, and the codes are printed once.

use std::io::BufRead as _;

use parachute_home::Home;

use super::{account, open_db};
use crate::args::TwoFactorAction;

/// Runs one action (none: status).
pub fn run(home: &Home, action: Option<&TwoFactorAction>) -> Result<(), String> {
    match action {
        None => status(home, None),
        Some(TwoFactorAction::Status { username }) => status(home, username.as_deref()),
        Some(TwoFactorAction::Enroll { username }) => enroll(home, username.as_deref()),
        Some(TwoFactorAction::Disenroll { username }) => disenroll(home, username.as_deref()),
    }
}

fn status(home: &Home, username: Option<&str>) -> Result<(), String> {
    let db = open_db(home)?;
    let user = account(&db, username)?;
    let s = db.two_factor_status(&user.id).map_err(|e| e.to_string())?;
    if s.enrolled {
        println!(
            "Two-step sign-in is on for {} (since {}); {} backup codes left.",
            user.username,
            s.enrolled_at.as_deref().unwrap_or("an unknown time"),
            s.backup_codes_remaining
        );
    } else {
        println!(
            "Two-step sign-in is off for {}. Turn it on with `parachute auth 2fa enroll`.",
            user.username
        );
    }
    Ok(())
}

fn enroll(home: &Home, username: Option<&str>) -> Result<(), String> {
    let db = open_db(home)?;
    let user = account(&db, username)?;
    let pending = db
        .begin_two_factor_enrolment(&user.id)
        .map_err(|e| e.to_string())?;
    println!("Add this account to your authenticator app:");
    println!("  secret: {}", pending.secret);
    println!("  uri:    {}", pending.otpauth_uri);
    println!("Then type the 6-digit code it shows and press Enter:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the code from standard input: {e}"))?;
    let enrolment = db
        .confirm_two_factor_enrolment(&user.id, &pending.secret, line.trim())
        .map_err(|e| format!("{e}; nothing was stored, run `parachute auth 2fa enroll` again"))?;
    println!("Two-step sign-in is on for {}.", user.username);
    println!(
        "Backup codes (each works once; store them somewhere safe, they are not shown again):"
    );
    for code in &enrolment.backup_codes {
        println!("  {code}");
    }
    Ok(())
}

fn disenroll(home: &Home, username: Option<&str>) -> Result<(), String> {
    let db = open_db(home)?;
    let user = account(&db, username)?;
    if db
        .disenrol_two_factor(&user.id)
        .map_err(|e| e.to_string())?
    {
        println!(
            "Two-step sign-in is off for {}; its secret and backup codes are deleted.",
            user.username
        );
    } else {
        println!("Two-step sign-in was already off for {}.", user.username);
    }
    Ok(())
}

//! `parachute auth mint-token`: a scope-narrow token against the operator's identity, with the
//! original's flags (`--scope`, `--aud` inferred when omitted, `--ephemeral`, `--expires-in`,
//! the deprecated `--ttl`, `--sub`, `--permissions`).
//!
//! Steps: lifetime and scopes are checked first (the operator-only host scopes are not
//! requestable here, as in the original), then the operator token must verify and carry
//! `parachute:host:auth`, then the token is minted for the issuer the rule gives, recorded in
//! the registry (`cli_mint`, with the canonical permissions text) and printed alone on stdout.

use std::time::Duration;

use parachute_auth::scopes::{is_non_requestable_scope, is_well_formed_or_non_vault_scope};
use parachute_auth::tokens::{MINT_DEFAULT_TTL, MINT_EPHEMERAL_TTL, MINT_MAX_TTL};
use parachute_auth::{MintRequest, infer_audience};
use parachute_home::Home;
use serde_json::Value;

use super::{authorize_operator, issuer, open_db};

/// The flags of one `mint-token` run (already parsed by `args`).
pub struct MintFlags<'a> {
    /// `--scope`.
    pub scope: &'a str,
    /// `--aud`.
    pub aud: Option<&'a str>,
    /// `--ephemeral`.
    pub ephemeral: bool,
    /// `--expires-in`.
    pub expires_in: Option<Duration>,
    /// `--ttl` (deprecated).
    pub ttl: Option<&'a str>,
    /// `--sub`.
    pub sub: Option<&'a str>,
    /// `--permissions`, canonicalised.
    pub permissions: Option<&'a Value>,
}

/// Mints the token and prints it.
pub fn mint_token(home: &Home, flags: &MintFlags<'_>) -> Result<(), String> {
    let scopes = parse_scopes(flags.scope)?;
    let ttl = lifetime(flags)?;
    let aud = match flags.aud.map(str::trim) {
        Some("") => return Err("--aud must not be empty, e.g. --aud vault.default".into()),
        Some(aud) => aud.to_string(),
        None => infer_audience(&scopes),
    };
    let db = open_db(home)?;
    let issuer = issuer(home, &db)?.origin;
    let operator_sub = authorize_operator(home, &db, &issuer)?;
    let sub = flags
        .sub
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&operator_sub);
    let mut request = MintRequest::cli(sub, scopes, &aud, &issuer, ttl);
    request.permissions = flags.permissions.cloned();
    let minted = db.mint(&request).map_err(|e| e.to_string())?;
    println!("{}", minted.token);
    Ok(())
}

/// `--ephemeral` (1 h), else `--expires-in`, else the deprecated `--ttl` (with a notice on
/// stderr), else 90 days. (`args` already refuses two of them together.)
fn lifetime(flags: &MintFlags<'_>) -> Result<Duration, String> {
    if flags.ephemeral {
        return Ok(MINT_EPHEMERAL_TTL);
    }
    if let Some(ttl) = flags.expires_in {
        return Ok(ttl);
    }
    match flags.ttl {
        Some(text) => {
            eprintln!(
                "parachute auth mint-token: --ttl is deprecated; use --expires-in <seconds> instead (it will be removed in a future release)"
            );
            parse_ttl(text)
        }
        None => Ok(MINT_DEFAULT_TTL),
    }
}

/// Parses a `--ttl` lifetime: `90d`, `12h`, `15m`, `30s`, or plain seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!(
            "--ttl {text:?} is not a lifetime; use a number with d, h, m or s, e.g. 30d, 12h, 15m"
        )
    })?;
    let secs = match unit {
        'd' => n.checked_mul(86_400),
        'h' => n.checked_mul(3_600),
        'm' => n.checked_mul(60),
        's' => Some(n),
        _ => None,
    }
    .ok_or_else(|| {
        format!("--ttl {text:?} is not a lifetime; use d, h, m or s, e.g. 30d, 12h, 15m")
    })?;
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() {
        return Err("--ttl must be longer than zero".into());
    }
    if ttl > MINT_MAX_TTL {
        return Err(format!(
            "--ttl {text} is longer than the {} days a minted token may live; pick a shorter lifetime",
            MINT_MAX_TTL.as_secs() / 86_400
        ));
    }
    Ok(ttl)
}

/// The scopes of `--scope`: separated by spaces or commas. The operator-only host scopes are
/// not requestable here (the original's guard), and a string that tries the named vault shape
/// but gets it wrong (`vault:work:ADMIN`) is refused rather than recorded.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let scopes: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err("--scope needs at least one scope, e.g. --scope vault:default:read".into());
    }
    let blocked: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| is_non_requestable_scope(s))
        .collect();
    if !blocked.is_empty() {
        return Err(format!(
            "scope {} is not requestable via mint-token: it is carried only by the operator token; mint that with `parachute auth rotate-operator --scope-set …` instead",
            blocked.join(", ")
        ));
    }
    let malformed: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !is_well_formed_or_non_vault_scope(s))
        .collect();
    if !malformed.is_empty() {
        return Err(format!(
            "malformed vault scope {}; a vault scope is vault:<name>:<read|write|admin>",
            malformed.join(", ")
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units() {
        assert_eq!(parse_ttl("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_ttl("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_ttl("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("45S").unwrap(), Duration::from_secs(45));
        for bad in ["", "d", "10w", "-5m", "0h", "400d", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_split_on_spaces_and_commas_and_refuse_what_is_not_requestable() {
        assert_eq!(
            parse_scopes("vault:default:read, vault:default:write scribe:transcribe").unwrap(),
            vec![
                "vault:default:read",
                "vault:default:write",
                "scribe:transcribe"
            ]
        );
        assert!(parse_scopes(" , ").is_err());
        let err = parse_scopes("vault:default:read parachute:host:admin").unwrap_err();
        assert!(
            err.contains("parachute:host:admin") && err.contains("not requestable"),
            "{err}"
        );
        let err = parse_scopes("vault:work:ADMIN").unwrap_err();
        assert!(err.contains("malformed"), "{err}");
        assert!(parse_scopes("vault:read hub:admin").is_ok());
    }

    #[test]
    fn lifetime_flags_pick_one() {
        let flags = |ephemeral, expires_in, ttl| MintFlags {
            scope: "x:y",
            aud: None,
            ephemeral,
            expires_in,
            ttl,
            sub: None,
            permissions: None,
        };
        assert_eq!(
            lifetime(&flags(false, None, None)).unwrap(),
            MINT_DEFAULT_TTL
        );
        assert_eq!(
            lifetime(&flags(true, None, None)).unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime(&flags(false, Some(Duration::from_secs(86_400)), None)).unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            lifetime(&flags(false, None, Some("2h"))).unwrap(),
            Duration::from_secs(7200)
        );
    }
}

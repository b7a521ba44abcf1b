//! The hub's port: its default and the one rule for reading `PORT`.

/// The hub's port when nothing says otherwise (SPEC canonical ports: 1939 hub).
pub const DEFAULT_HUB_PORT: u16 = 1939;

/// A `PORT` value that is not a port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PORT must be a number from 1 to 65535, got {0:?}; unset it to use {DEFAULT_HUB_PORT}")]
pub struct BadPort(pub String);

/// Reads a `PORT` value: absent or blank → the default; otherwise 1..=65535 or an error that
/// quotes what was given.
pub fn parse_port(raw: Option<&str>) -> Result<u16, BadPort> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(DEFAULT_HUB_PORT),
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(BadPort(raw.unwrap_or_default().to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_blank_and_valid_ports() {
        assert_eq!(parse_port(None), Ok(1939));
        assert_eq!(parse_port(Some("  ")), Ok(1939));
        assert_eq!(parse_port(Some(" 41234 ")), Ok(41234));
        for bad in ["0", "65536", "abc", "-1", "19.39"] {
            let err = parse_port(Some(bad)).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}

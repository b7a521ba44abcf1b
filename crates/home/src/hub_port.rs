//! `hub/run/hub.port`: the port of the running hub (`<port>\n`), read by the CLI to find it.
//!
//! Every `serve` rewrites it when it binds. A file that does not hold a port is an error naming
//! the file, never silently read as "absent": a CLI that quietly fell back to port 1939 would
//! talk to whatever listens there.

use std::io;

use crate::atomic::{remove_if_exists, write_atomic};
use crate::error::StateError;
use crate::paths::Home;

/// The recorded port: `Ok(None)` when the file does not exist, an error naming the file when it
/// cannot be read or does not hold a port 1..65535.
pub fn read(home: &Home) -> Result<Option<u16>, StateError> {
    let path = home.hub_port_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::Read { path, source }),
    };
    match text.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(Some(port)),
        _ => Err(StateError::Malformed {
            detail: format!(
                "it holds {:?} instead of the hub's port number (1..65535; `parachute serve` \
                 rewrites it when it starts)",
                shorten(text.trim())
            ),
            path,
        }),
    }
}

/// At most 40 characters of `text`, for messages about a file that may hold anything.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Records `port` atomically.
pub fn write(home: &Home, port: u16) -> io::Result<()> {
    write_atomic(&home.hub_port_file(), format!("{port}\n").as_bytes(), None)
}

/// Removes the record (no error when absent).
pub fn remove(home: &Home) -> io::Result<()> {
    remove_if_exists(&home.hub_port_file()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        assert_eq!(read(&home).unwrap(), None);
        write(&home, 41234).unwrap();
        assert_eq!(
            std::fs::read_to_string(home.hub_port_file()).unwrap(),
            "41234\n"
        );
        assert_eq!(read(&home).unwrap(), Some(41234));
        remove(&home).unwrap();
        remove(&home).unwrap();
        assert_eq!(read(&home).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error_naming_the_file_never_a_default() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        let long = "9".repeat(200);
        for text in ["", "abc\n", "0\n", "70000\n", "-5\n", "1939 1940\n", &long] {
            std::fs::create_dir_all(home.hub_port_file().parent().unwrap()).unwrap();
            std::fs::write(home.hub_port_file(), text).unwrap();
            let err = read(&home).unwrap_err().to_string();
            assert!(err.contains("hub/run/hub.port"), "{text:?}: {err}");
            assert!(err.contains("Fix or remove the file"), "{text:?}: {err}");
            assert!(err.len() < 400, "the file's content is shortened: {err}");
        }
        std::fs::write(home.hub_port_file(), " 4242 \n").unwrap();
        assert_eq!(read(&home).unwrap(), Some(4242), "whitespace is tolerated");
    }
}

//! `hub/run/hub.port`: the port of the running hub (`<port>\n`), read by the CLI to find it.

use std::io;

use crate::atomic::{remove_if_exists, write_atomic};
use crate::paths::Home;

/// The recorded port, if the file exists and holds a port 1..65535.
pub fn read(home: &Home) -> Option<u16> {
    let text = std::fs::read_to_string(home.hub_port_file()).ok()?;
    text.trim().parse::<u16>().ok().filter(|p| *p != 0)
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
        assert_eq!(read(&home), None);
        write(&home, 41234).unwrap();
        assert_eq!(
            std::fs::read_to_string(home.hub_port_file()).unwrap(),
            "41234\n"
        );
        assert_eq!(read(&home), Some(41234));
        remove(&home).unwrap();
        remove(&home).unwrap();
        assert_eq!(read(&home), None);
    }

    #[test]
    fn garbage_reads_as_absent() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::at(tmp.path());
        for text in ["", "abc\n", "0\n", "70000\n"] {
            std::fs::create_dir_all(home.hub_port_file().parent().unwrap()).unwrap();
            std::fs::write(home.hub_port_file(), text).unwrap();
            assert_eq!(read(&home), None, "{text:?}");
        }
    }
}

//! Port probes: is anything listening, can we bind, and who holds a port.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::process;

/// True when something accepts a TCP connection on `127.0.0.1:port` within `timeout`.
pub fn is_listening(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// True when we could bind `127.0.0.1:port` right now (the listener is dropped at once).
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A process that holds a listening socket on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    /// The holder's pid.
    pub pid: u32,
    /// Its command line, when readable (another user's process may hide it).
    pub command: Option<String>,
}

impl std::fmt::Display for PortHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.command {
            Some(cmd) => write!(f, "pid {} ({cmd})", self.pid),
            None => write!(f, "pid {}", self.pid),
        }
    }
}

/// The processes listening on TCP `port` (any address), as far as this user can see.
///
/// On Linux this reads `/proc/net/tcp{,6}` and matches socket inodes against `/proc/*/fd`;
/// elsewhere it asks `lsof`. An empty list means "nobody we can see", not "free".
pub fn listeners(port: u16) -> Vec<PortHolder> {
    let pids = if cfg!(target_os = "linux") {
        linux_listener_pids(port)
    } else {
        lsof_listener_pids(port)
    };
    pids.into_iter()
        .map(|pid| PortHolder {
            pid,
            command: process::command_line(pid),
        })
        .collect()
}

fn linux_listener_pids(port: u16) -> Vec<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut pids: Vec<u32> = process::all_pids()
        .into_iter()
        .filter(|pid| {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                return false;
            };
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .map(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
                    .unwrap_or(false)
            })
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Parses a `/proc/net/tcp`-format table and returns the inodes of LISTEN sockets on `port`.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const TCP_LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (local_port == port && *state == TCP_LISTEN && inode != 0).then_some(inode)
        })
        .collect()
}

fn lsof_listener_pids(port: u16) -> Vec<u32> {
    let Ok(out) = std::process::Command::new("lsof")
        .args(["-ti", &format!(":{port}"), "-sTCP:LISTEN"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_rows_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0793 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:0793 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 1939), vec![12345]);
        assert!(listening_inodes(table, 1940).is_empty());
    }

    #[test]
    fn finds_our_own_listener() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(is_listening(port, Duration::from_secs(1)));
        assert!(!is_free(port));
        let holders = listeners(port);
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert_eq!(holders[0].pid, std::process::id());
        drop(listener);
        assert!(is_free(port));
    }
}

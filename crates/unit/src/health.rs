//! A tiny blocking `GET /health` over loopback: is a hub answering on this port?

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// True when `GET http://127.0.0.1:<port>/health` answers with a 2xx status within `timeout`.
///
/// Connection refused, a non-2xx status, garbage or silence all read as "not up". The timeout
/// bounds the whole exchange so a wedged process holding the port cannot hang the caller.
pub fn probe_health(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: parachute\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    if stream
        .set_write_timeout(Some(remaining().max(Duration::from_millis(1))))
        .is_err()
        || stream.write_all(request.as_bytes()).is_err()
    {
        return false;
    }
    // Read just enough for the status line.
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        let left = remaining();
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return false,
        }
    }
    status_is_2xx(&buf)
}

/// Parses `HTTP/1.x NNN …` and says whether NNN is 2xx.
fn status_is_2xx(head: &[u8]) -> bool {
    let line = String::from_utf8_lossy(head);
    let mut parts = line.lines().next().unwrap_or_default().split_whitespace();
    let proto_ok = parts.next().is_some_and(|p| p.starts_with("HTTP/1."));
    let code: Option<u16> = parts.next().and_then(|c| c.parse().ok());
    proto_ok && code.is_some_and(|c| (200..300).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(response: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 512];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&req).into_owned()
        });
        (port, handle)
    }

    #[test]
    fn a_200_is_up_and_the_request_is_well_formed() {
        let (port, h) = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert!(probe_health(port, Duration::from_secs(5)));
        let req = h.join().unwrap();
        assert!(req.starts_with("GET /health HTTP/1.1\r\n"), "{req}");
        assert!(
            req.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
            "{req}"
        );
    }

    #[test]
    fn a_503_is_not_up() {
        let (port, h) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert!(!probe_health(port, Duration::from_secs(5)));
        h.join().unwrap();
    }

    #[test]
    fn nothing_listening_is_not_up() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(!probe_health(port, Duration::from_millis(500)));
    }

    #[test]
    fn a_silent_listener_is_not_up() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!probe_health(port, Duration::from_millis(300)));
        drop(listener);
    }

    #[test]
    fn status_lines_are_parsed_strictly() {
        assert!(status_is_2xx(b"HTTP/1.1 204 No Content\r\n"));
        assert!(!status_is_2xx(b"HTTP/1.1 301 Moved\r\n"));
        assert!(!status_is_2xx(b"SSH-2.0-OpenSSH\r\n"));
        assert!(!status_is_2xx(b""));
    }
}

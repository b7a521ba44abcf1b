//! A stand-in for `parachute serve`: listens on `PARACHUTE_BIND_HOST:PORT` (default 127.0.0.1)
//! and logs each request line on stdout. Any arguments are ignored, so it can be a unit's
//! `ExecStart=<it> serve`.
//!
//! - `GET /health` answers like a hub (`{"status":"ok","service":"parachute-hub",…}`); every
//!   other request answers `200 ok` — it is not a hub and cannot prove it is one.
//! - `FAKE_HUB_LISTENER_RECORD=<file>`: appends one JSON line per request,
//!   `{"request": "<request line>", "authorization": <header value or null>}`, so a test can
//!   check that no credential ever reached it.
//! - `FAKE_HUB_LISTENER_RELAY=<port>`: forwards every request to `127.0.0.1:<port>` (a real
//!   hub) and passes its answer back, recording as above: the relay a stale `hub.port` could
//!   point at.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("fake-hub-listener: PORT must be set to a port number");
            std::process::exit(2);
        });
    let host = std::env::var("PARACHUTE_BIND_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let listener = TcpListener::bind((host.as_str(), port)).unwrap_or_else(|e| {
        eprintln!("fake-hub-listener: cannot bind {host}:{port}: {e}");
        std::process::exit(1);
    });
    let record = std::env::var("FAKE_HUB_LISTENER_RECORD").ok();
    let relay: Option<u16> = std::env::var("FAKE_HUB_LISTENER_RELAY")
        .ok()
        .and_then(|p| p.parse().ok());
    println!(
        "fake-hub-listener: listening on {host}:{port} (PARACHUTE_HOME={})",
        std::env::var("PARACHUTE_HOME").unwrap_or_default()
    );
    for stream in listener.incoming().flatten() {
        let record = record.clone();
        std::thread::spawn(move || serve_one(stream, record.as_deref(), relay));
    }
}

/// A request as read: its line, raw header lines, the `Authorization` value and the body.
struct Request {
    line: String,
    headers: Vec<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        // A connection that only checked the port.
        return None;
    }
    let mut headers = Vec::new();
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" {
            break;
        }
        let trimmed = header.trim_end().to_string();
        if let Some((name, value)) = trimmed.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "authorization" {
                authorization = Some(value.trim().to_string());
            }
            if name == "content-length" {
                length = value.trim().parse().unwrap_or(0);
            }
            if name != "connection" {
                headers.push(trimmed);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        line: line.trim_end().to_string(),
        headers,
        authorization,
        body,
    })
}

fn serve_one(stream: TcpStream, record: Option<&str>, relay: Option<u16>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    println!("{}", request.line);
    if let Some(path) = record {
        let entry = serde_json::json!({
            "request": request.line,
            "authorization": request.authorization,
        });
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{entry}");
        }
    }
    let mut out = &stream;
    if let Some(target) = relay {
        let _ = forward(&request, target, &mut out);
        return;
    }
    let health = request.line.starts_with("GET /health ");
    let (kind, body): (&str, &str) = if health {
        (
            "application/json",
            r#"{"status":"ok","service":"parachute-hub","version":"0.0.0-fake"}"#,
        )
    } else {
        ("text/plain", "ok")
    };
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Sends `request` to `127.0.0.1:<port>` and copies the whole answer to `out`.
fn forward(request: &Request, port: u16, out: &mut &TcpStream) -> std::io::Result<()> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port))?;
    let mut head = format!("{}\r\n", request.line);
    for header in &request.headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&request.body)?;
    std::io::copy(&mut upstream, out)?;
    Ok(())
}

//! A stand-in for `parachute serve` in unit tests: listens on `PARACHUTE_BIND_HOST:PORT`
//! (default 127.0.0.1) and answers every request with `200 ok`, logging each request line on
//! stdout. Any arguments are ignored, so it can be a unit's `ExecStart=<it> serve`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

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
    println!(
        "fake-hub-listener: listening on {host}:{port} (PARACHUTE_HOME={})",
        std::env::var("PARACHUTE_HOME").unwrap_or_default()
    );
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                return;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            println!("{}", request_line.trim_end());
            let mut s = &stream;
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        });
    }
}

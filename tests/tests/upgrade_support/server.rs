//! A loopback static file server for feeds and artifacts (HTTP/1.1, GET only, one thread per
//! connection, `Connection: close`) that records every path asked for. Stops when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Serves the files of one directory on `127.0.0.1:<port>`.
pub struct FileServer {
    /// The served directory.
    pub dir: PathBuf,
    /// The port.
    pub port: u16,
    /// Tells the accept loop to end.
    stop: Arc<AtomicBool>,
    /// Every request path, oldest first.
    asked: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    /// Starts serving `dir`.
    pub fn start(dir: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let root = dir.to_path_buf();
        let flag = stop.clone();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let root = root.clone();
                let log = log.clone();
                std::thread::spawn(move || answer(conn, &root, &log));
            }
        });
        Self {
            dir: dir.to_path_buf(),
            port,
            stop,
            asked,
        }
    }

    /// Every path asked for so far, oldest first.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    /// Forgets the paths asked so far.
    pub fn forget_asked(&self) {
        self.asked.lock().unwrap().clear();
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(conn: std::net::TcpStream, root: &Path, asked: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    asked.lock().unwrap().push(path.to_string());
    let name = path.trim_start_matches('/');
    let mut conn = conn;
    let file = (!name.contains("..") && !name.is_empty())
        .then(|| std::fs::read(root.join(name)).ok())
        .flatten();
    let _ = match file {
        Some(body) => conn
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|_| conn.write_all(&body)),
        None => conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
    };
}

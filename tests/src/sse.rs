//! A minimal server-sent-events reader over a raw loopback socket, for `/api/events`.
//!
//! Raw on purpose: the lag test needs a reader that stops reading (a tiny receive buffer, no
//! client library buffering ahead), and the others want every frame as the hub sent it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One event as it came over the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `id:` field, when present.
    pub id: Option<u64>,
    /// The `event:` field.
    pub event: String,
    /// The `data:` field parsed as JSON.
    pub data: serde_json::Value,
}

/// An open `/api/events` stream.
pub struct SseStream {
    /// The de-chunked body, buffered.
    reader: BufReader<Chunked>,
    /// The same socket, to bound each read by the caller's deadline.
    socket: TcpStream,
    /// The response status.
    pub status: u16,
}

/// The body of a `Transfer-Encoding: chunked` response, as plain bytes.
struct Chunked {
    /// The socket, buffered (headers already read).
    inner: BufReader<TcpStream>,
    /// Bytes left in the current chunk.
    left: usize,
    /// Set after the last (zero-size) chunk.
    done: bool,
}

impl std::io::Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut size = String::new();
            if self.inner.read_line(&mut size)? == 0 {
                self.done = true;
                return Ok(0);
            }
            let size = size.trim();
            let size = size.split(';').next().unwrap_or(size);
            self.left = usize::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n;
        if self.left == 0 {
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(n)
    }
}

impl SseStream {
    /// Opens `path` on `127.0.0.1:port` with `headers`; `recv_buffer` shrinks the socket's
    /// receive buffer (bytes) so a reader that stops reading backs up quickly.
    pub fn open(
        port: u16,
        path: &str,
        headers: &[(&str, &str)],
        recv_buffer: Option<usize>,
    ) -> std::io::Result<SseStream> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        if let Some(bytes) = recv_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        socket.connect_timeout(&addr.into(), Duration::from_secs(5))?;
        let mut stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let handle = stream.try_clone()?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        let mut head = BufReader::new(stream);
        let mut status_line = String::new();
        head.read_line(&mut status_line)?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        loop {
            let mut line = String::new();
            if head.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
        }
        let body = Chunked {
            inner: head,
            left: 0,
            done: false,
        };
        Ok(SseStream {
            reader: BufReader::new(body),
            socket: handle,
            status,
        })
    }

    /// The next event (keep-alive comments skipped), `None` at the end of the stream.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        let (mut id, mut event, mut data) = (None, String::new(), String::new());
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if event.is_empty() && data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
                return Some(SseEvent { id, event, data });
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }

    /// Reads events until `pick` returns `Some` or `within` passes; the events read before.
    pub fn until<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&SseEvent) -> Option<T>,
    ) -> Result<T, Vec<SseEvent>> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            // Keep-alive comments arrive every 15 s: bound every read, not just every event.
            let _ = self.socket.set_read_timeout(Some(left));
            let Some(event) = self.next_event() else {
                return Err(seen);
            };
            if let Some(found) = pick(&event) {
                return Ok(found);
            }
            seen.push(event);
        }
        Err(seen)
    }
}

//! Black-box: the hub's slow-client limits (`PARACHUTE_HTTP_HEADER_TIMEOUT_MS`,
//! `PARACHUTE_HTTP_IDLE_TIMEOUT_MS`, `PARACHUTE_HTTP_MAX_CONNECTIONS`, set short here) against
//! raw loopback sockets: a half-sent request and an idle keep-alive connection are closed, a
//! long `/api/events` stream and a proxied stream with silent gaps outlive the idle timeout,
//! and past the connection limit new connections are closed while an open one keeps working.

#![allow(clippy::print_stdout, clippy::print_stderr)] // suites report to their own output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use parachute_tests::auth::bearer;
use parachute_tests::hub::{HubOptions, HubProcess, add_test_module};
use parachute_tests::sse::SseStream;
use parachute_tests::{TestHome, free_port, http, wait_for};

/// A hub with one test module `echo` (mounted at `/echo`, the mount stripped so its own routes
/// answer), the given limits, and an admin.
fn hub(header_ms: u64, idle_ms: u64, max: Option<u32>) -> (TestHome, HubProcess) {
    let home = TestHome::new();
    add_test_module(home.path(), "echo", free_port(), &[]);
    let mut doc: serde_json::Value = serde_json::from_str(&home.read("services.json")).unwrap();
    doc["services"][0]["stripPrefix"] = true.into();
    home.write("services.json", &doc.to_string());
    parachute_tests::auth::ensure_admin(home.path());
    let mut env = vec![
        (
            "PARACHUTE_HTTP_HEADER_TIMEOUT_MS".into(),
            header_ms.to_string(),
        ),
        ("PARACHUTE_HTTP_IDLE_TIMEOUT_MS".into(), idle_ms.to_string()),
    ];
    if let Some(max) = max {
        env.push(("PARACHUTE_HTTP_MAX_CONNECTIONS".into(), max.to_string()));
    }
    let hub = HubProcess::start_with(
        home.path(),
        HubOptions {
            env,
            ..Default::default()
        },
    );
    (home, hub)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// True when the hub closes `stream` (EOF or reset) before the 15 s read timeout.
fn closed_by_hub(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
        ),
    }
}

/// One keep-alive `GET path` on `stream`; the status, or `None` when the connection failed.
fn get_on(stream: &mut TcpStream, port: u16, path: &str) -> Option<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut status = String::new();
    reader.read_line(&mut status).ok()?;
    let status = status.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    // Nothing else was sent, so the buffered reader holds nothing of a later response.
    Some(status)
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let (_home, hub) = hub(300, 60_000, None);
    let mut slow = connect(hub.port);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    assert!(closed_by_hub(&mut slow), "a half-sent request stays open");
    // A client that sends its request at once is served.
    let mut quick = connect(hub.port);
    assert_eq!(get_on(&mut quick, hub.port, "/health"), Some(200));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (_home, hub) = hub(60_000, 300, None);
    let mut conn = connect(hub.port);
    assert_eq!(get_on(&mut conn, hub.port, "/health"), Some(200));
    assert_eq!(
        get_on(&mut conn, hub.port, "/health"),
        Some(200),
        "keep-alive works"
    );
    assert!(closed_by_hub(&mut conn), "an idle connection stays open");
}

#[test]
fn event_streams_and_proxied_streams_outlive_the_idle_timeout() {
    let (home, hub) = hub(300, 300, None);
    let token = parachute_tests::auth::operator_token(home.path(), hub.port);
    let auth = bearer(&token);
    let mut events =
        SseStream::open(hub.port, "/api/events", &[("Authorization", &auth)], None).unwrap();
    assert_eq!(events.status, 200);
    // A proxied response that is silent for longer than the idle timeout between chunks.
    let mut proxied = connect(hub.port);
    let request = format!(
        "GET /echo/stream?chunks=3&gap_ms=800 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        hub.port
    );
    proxied.write_all(request.as_bytes()).unwrap();
    let mut body = String::new();
    proxied.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("chunk 2"),
        "the proxied stream was cut: {body}"
    );
    // The event stream, open for well past both timeouts, still delivers.
    let stopped = http::request(
        hub.port,
        "POST",
        "/api/modules/echo/stop",
        &[("Authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(stopped.status, 200);
    let seen = events.until(Duration::from_secs(20), |e| {
        (e.event == "module_state" && e.data["state"]["short"] == "echo").then_some(())
    });
    assert!(seen.is_ok(), "the event stream was closed: {seen:?}");
}

#[test]
fn past_the_connection_limit_new_connections_are_closed_and_open_ones_still_work() {
    let (_home, hub) = hub(60_000, 60_000, Some(4));
    // Four served keep-alive connections (a leftover of the start-up probe may still be
    // closing: retry until each one is served).
    let open: Vec<TcpStream> = (0..4)
        .map(|_| {
            wait_for(Duration::from_secs(10), || {
                let mut conn = connect(hub.port);
                (get_on(&mut conn, hub.port, "/health") == Some(200)).then_some(conn)
            })
            .expect("a connection under the limit is served")
        })
        .collect();
    let mut past = connect(hub.port);
    let _ = past.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert!(closed_by_hub(&mut past), "a fifth connection was served");
    let mut open = open;
    assert_eq!(
        get_on(&mut open[0], hub.port, "/health"),
        Some(200),
        "an open connection stops working at the limit"
    );
    // Closing one makes room again.
    drop(open.pop());
    let served = wait_for(Duration::from_secs(10), || {
        let mut conn = connect(hub.port);
        (get_on(&mut conn, hub.port, "/health") == Some(200)).then_some(())
    });
    assert!(
        served.is_some(),
        "the hub never accepted again after the limit"
    );
}

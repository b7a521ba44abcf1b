use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

// `hello\n`, signed with the real minisign tool (see signature.rs).
const PUBLIC: &str = "RWT9qv+5tCW0614Usv+mhqGw0hF5Rhvt2iXIqT12/g7YBU5e3Z4zqyFs";
const SIGNATURE: &str = "untrusted comment: signature from minisign secret key\nRUT9qv+5tCW06xObizTazG/6JVgj0cw0VXjYp0AbMfBHdaO/R17f7AbJ8G98dBQ59Z5Oo1qFSjgG52oMMGPhN6hfMHkL9pnXzQ4=\ntrusted comment: timestamp:1796217771\tfile:f\thashed\nwsaN4Lbq/JmVQMvDN7DwJm5ADxHKRyuPtbMdo7Nf+1itiMmhtI5eCKMY9KU7RGAl7YKVJwe0T/5R61qhGsu8DQ==\n";
const SHA: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

/// Answers every request with a redirect to `location`.
async fn redirect_to(location: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = sock.write_all(head.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

/// Serves `body` for every request, announcing `length` (or the real length) as
/// Content-Length, and returns the base URL.
async fn serve(body: &'static [u8], length: Option<usize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    length.unwrap_or(body.len())
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn artifact(url: String, size: u64, sha: &str) -> Artifact {
    Artifact {
        url,
        size,
        sha256: sha.into(),
        signature: SIGNATURE.into(),
    }
}

async fn fetch(
    art: &Artifact,
) -> (
    Result<String, DownloadError>,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("new.part");
    let key = TrustedKey::parse(PUBLIC).unwrap();
    let client = http_client().unwrap();
    let mut last = (0, 0);
    let out = download(&client, art, &key, &dest, |d, t| {
        last = (d, t);
        true
    })
    .await;
    if out.is_ok() {
        assert_eq!(last, (art.size, art.size));
    }
    (out, dest, dir)
}

#[test]
fn only_https_and_loopback_http_are_fetched() {
    for ok in [
        "https://example.org/feed",
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://[::1]:9/x",
    ] {
        assert!(check_url(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
    }
    for bad in [
        "http://example.org/feed",
        "http://10.0.0.1/x",
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "http://127.0.0.1.example.org/x",
    ] {
        assert!(check_url(&Url::parse(bad).unwrap()).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_redirect_off_https_is_refused_without_following_it() {
    // 192.0.2.0/24 is TEST-NET-1: nothing is ever contacted there, the policy stops first.
    let base = redirect_to("http://192.0.2.1/latest.json").await;
    let client = http_client().unwrap();
    let err = get_document(&client, &format!("{base}/latest.json"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("neither https nor loopback"), "{err}");
}

#[tokio::test]
async fn a_good_download_is_hashed_and_its_signature_checked() {
    let base = serve(b"hello\n", None).await;
    let (out, dest, _dir) = fetch(&artifact(format!("{base}/p"), 6, SHA)).await;
    assert_eq!(out.unwrap(), SHA);
    assert_eq!(std::fs::read(&dest).unwrap(), b"hello\n");
}

#[tokio::test]
async fn a_wrong_hash_a_bad_signature_a_short_and_a_long_download_are_refused() {
    let base = serve(b"hello\n", None).await;
    let (out, ..) = fetch(&artifact(format!("{base}/p"), 6, &"0".repeat(64))).await;
    assert!(
        matches!(out, Err(DownloadError::HashMismatch { .. })),
        "{out:?}"
    );

    let tampered = serve(b"hellO\n", None).await;
    let sha_of_tampered = format!("{:x}", Sha256::digest(b"hellO\n"));
    let (out, ..) = fetch(&artifact(format!("{tampered}/p"), 6, &sha_of_tampered)).await;
    assert_eq!(out, Err(DownloadError::Signature(SignatureError::Mismatch)));

    let (out, ..) = fetch(&artifact(format!("{base}/p"), 10, SHA)).await;
    assert_eq!(
        out,
        Err(DownloadError::Truncated {
            got: 6,
            expected: 10
        })
    );

    let (out, ..) = fetch(&artifact(format!("{base}/p"), 4, SHA)).await;
    assert_eq!(out, Err(DownloadError::Oversized { expected: 4 }));

    // A server that announces the right length but keeps sending is cut off too.
    let liar = serve(b"hello\nand more bytes", Some(6)).await;
    let (out, _, _dir) = fetch(&artifact(format!("{liar}/p"), 6, SHA)).await;
    assert_eq!(out.unwrap(), SHA, "only the announced bytes are read");
}

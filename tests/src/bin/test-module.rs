//! A small module for the black-box suites: an HTTP server on `$PORT` that prints lines and
//! misbehaves on request.
//!
//! ```text
//! test-module [--exit-after-ms N] [--exit-code C] [--crash-if-exists PATH] [--ignore-sigterm]
//!             [--no-bind] [--bind-delay-ms N] [--grandchild] [--print-env K1,K2] [--say TEXT]
//!             [--tick-ms N] [--setsid-grandchild] [--flood N] [--flood-width W]
//!             [--flood-after PATH] [--require-bearer]
//!
//! Routes: `/health`, `POST /echo`, `/redirect`, `/stream` (chunks), `…/page` (an HTML page;
//! `?stream=1` chunked), anything else described as JSON.
//! ```
//!
//! At start it prints `test-module up pid=<pid> port=<PORT> cwd=<cwd>` on stdout, one
//! `env K=V` line per `--print-env` key, each `--say` text, and `test-module stderr hello` on
//! stderr. `--grandchild` leaves the serving to a re-spawned copy of itself (printing
//! `grandchild pid=<pid>`), the way a module that forks a worker behaves. `--tick-ms N` prints
//! `tick <n>` (n = 1, 2, …) every N ms, for tests that need output after they started reading.
//! `--setsid-grandchild` is `--grandchild` with the copy in a session of its own (`setsid`), the
//! way a daemonising module escapes its process group. `--flood N` prints `flood <i> …` lines
//! (i = 1..=N, each `--flood-width` bytes with its newline, default 64) as fast as a buffered
//! writer can, then `flood done`; with `--flood-after PATH` it waits for PATH to exist first.
//!
//! `--require-bearer` makes it a protected resource the way the vault is one (through the
//! original's token library): every route but `/health` needs `Authorization: Bearer <jwt>`
//! signed by a key in the hub's JWKS, with `iss` equal to `PARACHUTE_HUB_ORIGIN` (default
//! `http://127.0.0.1:1939`), an unexpired `exp`, a `sub`, a `jti`, and a `jti` absent from
//! the hub's revocation list (`{"jtis": [...]}`; an unreadable list refuses every token). Keys
//! and the list are fetched from `TEST_MODULE_HUB_URL` when set (the loopback hub standing in
//! for a proxy in front of a public origin), else from the origin itself, on every request.
//! Refusals are `401 {"error":"invalid_token","code":…,"message":…}` (codes as the library's:
//! `signature`, `issuer`, `expired`, `kid`, `jwks`, `shape`, `revoked`,
//! `revocation_unavailable`, `audience`); accepted requests get the description below plus
//! `claims`. Every refusal carries an RFC 6750 challenge, `WWW-Authenticate: Bearer
//! realm="test-module"` plus `error="invalid_token"` when a token was presented and, when
//! `TEST_MODULE_RESOURCE_METADATA` is set, `resource_metadata="<that URL>"` (RFC 9728: how an
//! MCP client finds the authorization server). `TEST_MODULE_AUDIENCE` makes `aud` required to
//! contain that value (a vault checks `vault.<name>`).
//!
//! Routes: `GET /health` → `{"ok":true}`; `POST /echo` streams the body back; `GET /redirect` →
//! 302 to `/elsewhere`; `GET /stream` sends three chunks 100 ms apart (`?chunks=N&gap_ms=M` for
//! other counts and gaps); anything else → a JSON
//! description of the request (method, path, query, headers, body length) and of the
//! module (`PORT`, `PARACHUTE_HUB_ORIGIN`, pid).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

#[derive(Default)]
struct Options {
    exit_after_ms: Option<u64>,
    exit_code: i32,
    crash_if_exists: Option<String>,
    ignore_sigterm: bool,
    no_bind: bool,
    bind_delay_ms: u64,
    grandchild: bool,
    as_grandchild: bool,
    print_env: Vec<String>,
    say: Vec<String>,
    tick_ms: Option<u64>,
    setsid_grandchild: bool,
    flood: Option<u64>,
    flood_width: usize,
    flood_after: Option<String>,
    require_bearer: bool,
}

fn parse() -> Options {
    let mut o = Options {
        exit_code: 3,
        flood_width: 64,
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--exit-after-ms" => o.exit_after_ms = Some(value().parse().expect("ms")),
            "--exit-code" => o.exit_code = value().parse().expect("code"),
            "--crash-if-exists" => o.crash_if_exists = Some(value()),
            "--ignore-sigterm" => o.ignore_sigterm = true,
            "--no-bind" => o.no_bind = true,
            "--bind-delay-ms" => o.bind_delay_ms = value().parse().expect("ms"),
            "--grandchild" => o.grandchild = true,
            "--as-grandchild" => o.as_grandchild = true,
            "--print-env" => o.print_env = value().split(',').map(String::from).collect(),
            "--say" => o.say.push(value()),
            "--tick-ms" => o.tick_ms = Some(value().parse().expect("ms")),
            "--setsid-grandchild" => o.setsid_grandchild = true,
            "--flood" => o.flood = Some(value().parse().expect("lines")),
            "--flood-width" => o.flood_width = value().parse().expect("bytes"),
            "--flood-after" => o.flood_after = Some(value()),
            "--require-bearer" => o.require_bearer = true,
            other => {
                eprintln!("test-module: unknown argument {other}");
                std::process::exit(64);
            }
        }
    }
    o
}

fn main() {
    let o = parse();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    if o.as_grandchild {
        println!("grandchild serving pid={} port={port}", std::process::id());
        serve(port, 0, false, false);
        return;
    }
    if o.ignore_sigterm {
        // SAFETY: setting a signal disposition to SIG_IGN.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    println!(
        "test-module up pid={} port={port} cwd={}",
        std::process::id(),
        cwd.display()
    );
    for key in &o.print_env {
        println!("env {key}={}", std::env::var(key).unwrap_or_default());
    }
    for text in &o.say {
        println!("{text}");
    }
    eprintln!("test-module stderr hello");
    if let Some(ms) = o.tick_ms {
        std::thread::spawn(move || {
            for n in 1u64.. {
                std::thread::sleep(Duration::from_millis(ms));
                println!("tick {n}");
            }
        });
    }
    if let Some(path) = &o.crash_if_exists
        && std::path::Path::new(path).exists()
    {
        println!("test-module crashing because {path} exists");
        std::process::exit(4);
    }
    if let Some(ms) = o.exit_after_ms {
        let code = o.exit_code;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            println!("test-module exiting with code {code}");
            std::process::exit(code);
        });
    }
    if let Some(lines) = o.flood {
        let (width, after) = (o.flood_width, o.flood_after.clone());
        std::thread::spawn(move || flood(lines, width, after.as_deref()));
    }
    if o.grandchild || o.setsid_grandchild {
        let me = std::env::current_exe().expect("current_exe");
        let mut cmd = std::process::Command::new(me);
        cmd.arg("--as-grandchild");
        if o.setsid_grandchild {
            use std::os::unix::process::CommandExt;
            // SAFETY: setsid is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setsid() == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawn grandchild");
        println!("grandchild pid={}", child.id());
        std::mem::forget(child);
        park();
    }
    if o.no_bind {
        park();
    }
    serve(port, o.bind_delay_ms, o.ignore_sigterm, o.require_bearer);
}

/// Prints `lines` numbered lines of `width` bytes (newline included) through one buffered
/// writer, then `flood done`; waits for `after` to exist first when given.
fn flood(lines: u64, width: usize, after: Option<&str>) {
    use std::io::Write;
    if let Some(path) = after {
        while !std::path::Path::new(path).exists() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut line = String::with_capacity(width);
    for i in 1..=lines {
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(line, "flood {i} ");
        while line.len() + 1 < width {
            line.push('x');
        }
        line.push('\n');
        if out.write_all(line.as_bytes()).is_err() {
            return;
        }
    }
    let _ = writeln!(out, "flood done");
    let _ = out.flush();
}

fn park() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn serve(port: u16, delay_ms: u64, ignore_sigterm: bool, require_bearer: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| {
                eprintln!("test-module: cannot bind 127.0.0.1:{port}: {e}");
                std::process::exit(5);
            });
        let app = Router::new()
            .route(
                "/health",
                get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
            )
            .route("/echo", post(echo))
            .route("/redirect", get(redirect))
            .route("/stream", get(stream))
            .fallback(any(describe));
        let app = if require_bearer {
            app.layer(axum::middleware::from_fn(guard::require_bearer))
        } else {
            app
        };
        let shutdown = async move {
            if ignore_sigterm {
                // Installing a handler would undo SIG_IGN: never resolve instead.
                std::future::pending::<()>().await;
            }
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("sigterm handler");
            term.recv().await;
            println!("test-module got SIGTERM, exiting");
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .expect("serve");
    });
}

async fn echo(req: Request) -> Response {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    let body = Body::from_stream(req.into_body().into_data_stream());
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn redirect() -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, "/elsewhere")],
        "moved",
    )
        .into_response()
}

/// `GET …/page`: a small complete HTML page (with a length); `?stream=1` sends the same page
/// in chunks without one, the way a streamed answer comes.
async fn page(req: Request) -> Response {
    const PAGE: &str = "<!doctype html><html><head><title>module page</title></head><body class=\"m\"><p>module page</p></body></html>";
    let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    if req.uri().query() == Some("stream=1") {
        let parts = PAGE
            .as_bytes()
            .chunks(16)
            .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>();
        return (html, Body::from_stream(futures_util::stream::iter(parts))).into_response();
    }
    (html, PAGE).into_response()
}

async fn stream(req: Request) -> Response {
    let param = |key: &str, default: u64| {
        req.uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (count, gap) = (
        param("chunks", 3),
        Duration::from_millis(param("gap_ms", 100)),
    );
    let chunks = futures_util::stream::unfold(0u64, move |n| async move {
        if n == count {
            return None;
        }
        tokio::time::sleep(gap).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from(format!("chunk {n}\n"))),
            n + 1,
        ))
    });
    Body::from_stream(chunks).into_response()
}

async fn describe(req: Request) -> Response {
    // Mounted modules see their mount in the path (no prefix stripping): `/<mount>/page`.
    if req.uri().path().ends_with("/page") {
        return page(req).await;
    }
    let claims = req
        .extensions()
        .get::<guard::Verified>()
        .map(|v| v.0.clone());
    let (parts, body) = req.into_parts();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let description = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_len": body.len(),
        "module": {
            "pid": std::process::id(),
            "port": std::env::var("PORT").ok(),
            "hub_origin": std::env::var("PARACHUTE_HUB_ORIGIN").ok(),
        },
        "claims": claims,
    });
    axum::Json(description).into_response()
}

/// `--require-bearer`: hub tokens checked the way the original's token library checks them.
mod guard {
    use axum::extract::Request;
    use axum::http::{StatusCode, header};
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jwt_simple::prelude::*;
    use serde_json::Value;

    /// The claims of an accepted token, for the route to echo.
    #[derive(Clone)]
    pub struct Verified(pub Value);

    /// A refusal: the library's error code and a sentence.
    struct Refusal(&'static str, String);

    impl IntoResponse for Refusal {
        fn into_response(self) -> Response {
            let body =
                serde_json::json!({"error": "invalid_token", "code": self.0, "message": self.1});
            let mut challenge = String::from("Bearer realm=\"test-module\"");
            if self.0 != "missing" {
                challenge.push_str(", error=\"invalid_token\"");
            }
            if let Some(url) = std::env::var("TEST_MODULE_RESOURCE_METADATA")
                .ok()
                .filter(|u| !u.is_empty())
            {
                challenge.push_str(&format!(", resource_metadata=\"{url}\""));
            }
            let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }

    pub async fn require_bearer(mut req: Request, next: Next) -> Response {
        if req.uri().path() == "/health" {
            return next.run(req).await;
        }
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let Some(token) = token else {
            return Refusal("missing", "no bearer token".into()).into_response();
        };
        match verify(&token).await {
            Ok(claims) => {
                req.extensions_mut().insert(Verified(claims));
                next.run(req).await
            }
            Err(refusal) => refusal.into_response(),
        }
    }

    /// The origin tokens must come from, and where its documents are fetched.
    fn origins() -> (String, String) {
        let issuer = std::env::var("PARACHUTE_HUB_ORIGIN")
            .ok()
            .map(|o| o.trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| "http://127.0.0.1:1939".into());
        let fetch_from = std::env::var("TEST_MODULE_HUB_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| issuer.clone());
        (issuer, fetch_from)
    }

    async fn fetch(url: &str) -> Result<(u16, Value), String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    async fn verify(token: &str) -> Result<Value, Refusal> {
        let (issuer, base) = origins();
        let kid = Token::decode_metadata(token)
            .map_err(|e| Refusal("signature", e.to_string()))?
            .key_id()
            .map(str::to_string)
            .ok_or_else(|| Refusal("kid", "the token names no key".into()))?;
        let jwks = match fetch(&format!("{base}/.well-known/jwks.json")).await {
            Ok((200, body)) => body,
            Ok((status, _)) => return Err(Refusal("jwks", format!("JWKS answered {status}"))),
            Err(e) => return Err(Refusal("jwks", e)),
        };
        let key = jwks["keys"]
            .as_array()
            .ok_or_else(|| Refusal("jwks", "the JWKS has no keys array".into()))?
            .iter()
            .find(|k| k["kid"] == kid.as_str() && k["kty"] == "RSA")
            .ok_or_else(|| Refusal("kid", format!("no key {kid} in the JWKS")))?;
        let part = |name: &str| {
            key[name]
                .as_str()
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or_else(|| Refusal("jwks", format!("key {kid} has no usable {name}")))
        };
        let public = RS256PublicKey::from_components(&part("n")?, &part("e")?)
            .map_err(|e| Refusal("jwks", e.to_string()))?;
        let audience = std::env::var("TEST_MODULE_AUDIENCE")
            .ok()
            .filter(|a| !a.is_empty());
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from_strings(&[issuer.as_str()])),
            allowed_audiences: audience.as_deref().map(|a| HashSet::from_strings(&[a])),
            time_tolerance: Some(Duration::from_secs(0)),
            ..Default::default()
        };
        let claims = public
            .verify_token::<Value>(token, Some(options))
            .map_err(|e| {
                let text = e.to_string();
                let code = if text.contains("issuer") {
                    "issuer"
                } else if text.to_lowercase().contains("audience") {
                    "audience"
                } else if text.contains("expired") {
                    "expired"
                } else {
                    "signature"
                };
                Refusal(code, format!("{text} (expected issuer {issuer})"))
            })?;
        if claims.subject.as_deref().is_none_or(str::is_empty) {
            return Err(Refusal("shape", "no sub claim".into()));
        }
        let Some(jti) = claims.jwt_id.clone().filter(|j| !j.is_empty()) else {
            return Err(Refusal("shape", "no jti claim".into()));
        };
        let revoked = match fetch(&format!("{base}/.well-known/parachute-revocation.json")).await {
            Ok((200, body)) => body["jtis"]
                .as_array()
                .filter(|list| list.iter().all(Value::is_string))
                .cloned()
                .ok_or_else(|| {
                    Refusal(
                        "revocation_unavailable",
                        format!("the revocation list has no jtis array of strings: {body}"),
                    )
                })?,
            Ok((status, _)) => {
                return Err(Refusal(
                    "revocation_unavailable",
                    format!("the revocation list answered {status}"),
                ));
            }
            Err(e) => return Err(Refusal("revocation_unavailable", e)),
        };
        if revoked.iter().any(|j| j == jti.as_str()) {
            return Err(Refusal("revoked", format!("jti {jti} is revoked")));
        }
        let mut out = claims.custom.clone();
        if let Value::Object(map) = &mut out {
            map.insert("iss".into(), Value::from(claims.issuer.clone()));
            map.insert("sub".into(), Value::from(claims.subject.clone()));
            map.insert("jti".into(), Value::from(jti));
            let aud = claims.audiences.clone().map(|a| a.into_set());
            map.insert(
                "aud".into(),
                serde_json::to_value(aud).unwrap_or(Value::Null),
            );
        }
        Ok(out)
    }
}

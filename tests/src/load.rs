//! A small HTTP load generator for the benchmarks: N keep-alive connections hammering one URL
//! for a fixed time, recording every request's latency.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Completed requests with a 2xx answer.
    pub ok: u64,
    /// Requests that failed or got a non-2xx answer.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Per-request latencies, sorted ascending.
    pub latencies: Vec<Duration>,
}

impl LoadReport {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q`-quantile latency (0.5 = median).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i]
    }
}

/// Sends `GET path` to `127.0.0.1:port` over `connections` keep-alive HTTP/1.1 connections for
/// `duration`, each connection one request at a time.
pub fn run(port: u16, path: &str, connections: usize, duration: Duration) -> LoadReport {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let start = Instant::now();
        let deadline = start + duration;
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let path = path.to_string();
            tasks.push(tokio::spawn(async move {
                connection(port, &path, deadline).await
            }));
        }
        let mut report = LoadReport {
            ok: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        };
        for task in tasks {
            let (ok, errors, mut lat) = task.await.expect("load task");
            report.ok += ok;
            report.errors += errors;
            report.latencies.append(&mut lat);
        }
        report.elapsed = start.elapsed();
        report.latencies.sort_unstable();
        report
    })
}

async fn connection(port: u16, path: &str, deadline: Instant) -> (u64, u64, Vec<Duration>) {
    let mut ok = 0;
    let mut errors = 0;
    let mut latencies = Vec::new();
    'outer: while Instant::now() < deadline {
        let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
        else {
            errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < deadline {
            let req = hyper::Request::get(path)
                .header("host", format!("127.0.0.1:{port}"))
                .body(Empty::new())
                .expect("request");
            let t0 = Instant::now();
            match sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    let _ = resp.into_body().collect().await;
                    if status.is_success() {
                        ok += 1;
                        latencies.push(t0.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                Err(_) => {
                    errors += 1;
                    continue 'outer;
                }
            }
        }
    }
    (ok, errors, latencies)
}

//! Fetching the feed and the binary: https only (plain http from loopback addresses, for
//! tests and local mirrors), bounded sizes, and hashing while the bytes arrive.
//!
//! Feed steps: GET `<feed>/<channel>.json` and `.minisig` (each at most 1 MiB) → verify the
//! signature over the exact bytes with the trusted key → parse and check every field → refuse
//! a document older than the newest one this machine verified (replay).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use parachute_home::Home;
use reqwest::Url;
use sha2::{Digest, Sha256};

use crate::error::UpgradeError;
use crate::feed::{self, Artifact, FeedProblem, Release};
use crate::prefs::{self, SeenFeed};
use crate::signature::{SignatureError, TrustedKey};
use crate::version::Channel;

/// The largest feed document or signature accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A download stalled for this long is given up.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Refuses anything but https, and http to a loopback address.
pub fn check_url(url: &Url) -> Result<(), UpgradeError> {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(UpgradeError::InsecureUrl {
            url: url.to_string(),
        }),
    }
}

/// The HTTP client for release files: rustls, every redirect hop held to [`check_url`].
pub fn http_client() -> Result<reqwest::Client, UpgradeError> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("more than 5 redirects")
        } else if check_url(attempt.url()).is_err() {
            let to = attempt.url().to_string();
            attempt.error(format!(
                "redirect to {to}, which is neither https nor loopback"
            ))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(STALL_TIMEOUT)
        .user_agent(concat!("parachute-upgrade/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpgradeError::Config(format!("cannot build the HTTP client: {e}")))
}

async fn get_document(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, UpgradeError> {
    let unreachable = |detail: String| UpgradeError::FeedUnreachable {
        url: url.to_string(),
        detail,
    };
    let parsed = Url::parse(url).map_err(|e| unreachable(e.to_string()))?;
    check_url(&parsed)?;
    let resp = client
        .get(parsed)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| unreachable(describe(&e)))?;
    if !resp.status().is_success() {
        return Err(unreachable(format!("HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unreachable(describe(&e)))?;
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(unreachable(format!(
                "larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What [`fetch_release`] needs.
#[derive(Debug, Clone, Copy)]
pub struct FeedRequest<'a> {
    /// Feed base URL.
    pub feed_url: &'a str,
    /// Trusted key.
    pub key: &'a TrustedKey,
    /// Channel to read.
    pub channel: Channel,
    /// This machine's platform key.
    pub platform: &'a str,
    /// Largest artifact a feed may announce.
    pub max_size: u64,
}

/// Fetches, verifies and checks the channel's feed; records it as the newest seen.
pub async fn fetch_release(
    client: &reqwest::Client,
    home: &Home,
    req: FeedRequest<'_>,
) -> Result<Release, UpgradeError> {
    let url = format!("{}/{}.json", req.feed_url, req.channel.as_str());
    let doc = get_document(client, &url).await?;
    let sig_text = get_document(client, &format!("{url}.minisig")).await?;
    let bad_sig = |detail: String| UpgradeError::FeedSignature {
        url: url.clone(),
        detail,
    };
    let sig_text =
        String::from_utf8(sig_text).map_err(|_| bad_sig("the .minisig is not text".into()))?;
    let signature =
        crate::signature::decode_signature(&sig_text).map_err(|e| bad_sig(e.to_string()))?;
    req.key
        .verify(&doc, &signature)
        .map_err(|e| bad_sig(e.to_string()))?;
    let release = match feed::parse(&doc, req.channel, req.platform, req.max_size) {
        Ok(r) => r,
        Err(FeedProblem::Invalid(detail)) => {
            return Err(UpgradeError::FeedInvalid { url, detail });
        }
        Err(FeedProblem::NoBuild) => {
            let version = serde_json::from_slice::<serde_json::Value>(&doc)
                .ok()
                .and_then(|v| v["version"].as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(UpgradeError::NoBuildForPlatform {
                version,
                platform: req.platform.to_string(),
            });
        }
    };
    let offered = SeenFeed {
        version: release.feed.version.clone(),
        pub_date: release.feed.pub_date.clone(),
    };
    if let Err(seen) = prefs::check_and_record(home, req.channel, &offered, release.published)? {
        return Err(UpgradeError::FeedReplayed {
            url,
            offered: offered.version,
            offered_date: offered.pub_date,
            seen: seen.version,
            seen_date: seen.pub_date,
        });
    }
    Ok(release)
}

/// Why a download was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// The transfer failed.
    #[error("the download from {url} failed: {detail}")]
    Transfer {
        /// Source.
        url: String,
        /// Why.
        detail: String,
    },
    /// More bytes arrived than the release announces.
    #[error("the download is larger than the release says ({expected} bytes); refusing it")]
    Oversized {
        /// The announced size.
        expected: u64,
    },
    /// The transfer ended early.
    #[error("the download ended after {got} of {expected} bytes")]
    Truncated {
        /// Bytes received.
        got: u64,
        /// The announced size.
        expected: u64,
    },
    /// The content's sha256 is not the announced one.
    #[error("the downloaded file's sha256 is {got}, the release says {expected}")]
    HashMismatch {
        /// Computed.
        got: String,
        /// Announced.
        expected: String,
    },
    /// The content's signature does not verify with the trusted key.
    #[error("the downloaded binary's signature is not valid: {0}")]
    Signature(SignatureError),
    /// The caller stopped it (the operation was taken away).
    #[error("the download was stopped")]
    Cancelled,
    /// Writing the temp file failed.
    #[error("could not write {path}: {detail}")]
    Write {
        /// The temp file.
        path: String,
        /// The OS error.
        detail: String,
    },
}

/// Downloads `artifact` into `dest` (created, mode 0700), checking size, sha256 and signature
/// as the bytes arrive. `progress(done, total)` is called after every chunk; returning false
/// stops the download.
pub async fn download(
    client: &reqwest::Client,
    artifact: &Artifact,
    key: &TrustedKey,
    dest: &Path,
    mut progress: impl FnMut(u64, u64) -> bool,
) -> Result<String, DownloadError> {
    let transfer = |detail: String| DownloadError::Transfer {
        url: artifact.url.clone(),
        detail,
    };
    let signature = feed::artifact_signature(artifact).map_err(DownloadError::Signature)?;
    let mut check = key.stream(&signature).map_err(DownloadError::Signature)?;
    let url = Url::parse(&artifact.url).map_err(|e| transfer(e.to_string()))?;
    check_url(&url).map_err(|e| transfer(e.to_string()))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| transfer(describe(&e)))?;
    if !resp.status().is_success() {
        return Err(transfer(format!("HTTP {}", resp.status())));
    }
    if let Some(len) = resp.content_length()
        && len > artifact.size
    {
        return Err(DownloadError::Oversized {
            expected: artifact.size,
        });
    }
    let write_err = |e: std::io::Error| DownloadError::Write {
        path: dest.display().to_string(),
        detail: e.to_string(),
    };
    let mut file = create_private(dest).map_err(write_err)?;
    let mut hasher = Sha256::new();
    let mut done: u64 = 0;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| transfer(describe(&e)))?;
        done += chunk.len() as u64;
        if done > artifact.size {
            return Err(DownloadError::Oversized {
                expected: artifact.size,
            });
        }
        hasher.update(&chunk);
        check.update(&chunk);
        file.write_all(&chunk).map_err(write_err)?;
        if !progress(done, artifact.size) {
            return Err(DownloadError::Cancelled);
        }
    }
    if done < artifact.size {
        return Err(DownloadError::Truncated {
            got: done,
            expected: artifact.size,
        });
    }
    file.sync_all().map_err(write_err)?;
    let sha = format!("{:x}", hasher.finalize());
    if !sha.eq_ignore_ascii_case(&artifact.sha256) {
        return Err(DownloadError::HashMismatch {
            got: sha,
            expected: artifact.sha256.to_lowercase(),
        });
    }
    check.finish().map_err(DownloadError::Signature)?;
    Ok(sha)
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o700)
        .open(path)
}

/// A short reason for a transport error, with its innermost cause.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;

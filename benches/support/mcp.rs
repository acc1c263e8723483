//! An MCP client for the load benches: sessions over Streamable HTTP, and
//! timed runs of many clients sending one request in a loop ([`load`]).

// Each bench uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use docspace_mcp_client::reqwest;

use super::process::cpu_seconds;

/// The client of one server's `/mcp`.
#[derive(Clone)]
pub(crate) struct Mcp {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
}

impl Mcp {
    /// A POST of `body` to `/mcp`, on `session` when there is one.
    pub(crate) fn request(&self, session: Option<&str>, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        match session {
            Some(s) => req.header("mcp-session-id", s).header("mcp-protocol-version", "2025-06-18"),
            None => req,
        }
    }

    pub(crate) async fn post(&self, session: Option<&str>, body: String) -> (String, String) {
        let r = self.request(session, body).send().await.unwrap();
        let session = r.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        (session, text)
    }

    pub(crate) async fn open(&self) -> String {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
        let (session, _) = self.post(None, init.to_owned()).await;
        self.post(Some(&session), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned()).await;
        session
    }
}

pub(crate) const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
pub(crate) const CALL: &str =
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_self_profile","arguments":{}}}"#;
pub(crate) const STATELESS_CALL: &str = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_self_profile","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"}}}}"#;

/// One throughput run: requests per second, latency percentiles, and the
/// server's CPU time per request (its user + system time over the measured
/// window, from `/proc`, divided by the requests answered in it).
pub(crate) struct Run {
    pub(crate) rps: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) cpu_per_request: Duration,
    /// Requests answered in the measured window.
    pub(crate) requests: u64,
    /// Requests answered in all, the warm-up second and the stop included.
    pub(crate) total: u64,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>8.0} req/s  p50 {}  p99 {}  server CPU {:.3} ms/req",
            self.rps,
            ms(self.p50),
            ms(self.p99),
            self.cpu_per_request.as_secs_f64() * 1e3
        )
    }
}

/// `clients` loops sending `body` for `seconds` to the server `pid`.
pub(crate) async fn load(
    mcp: &Mcp,
    pid: u32,
    clients: usize,
    seconds: u64,
    body: &'static str,
    stateless: bool,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (mcp, stop, count) = (mcp.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let session = if stateless { None } else { Some(mcp.open().await) };
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let req = match &session {
                    Some(s) => mcp.request(Some(s), body),
                    None => mcp
                        .request(None, body)
                        .header("mcp-protocol-version", "2026-07-28")
                        .header("mcp-method", "tools/call")
                        .header("mcp-name", "get_self_profile"),
                };
                let r = req.send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let text = r.text().await.unwrap();
                assert!(text.contains("\"result\""), "{text}");
                samples.push(started.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            samples
        }));
    }
    // Warm-up second, then the measured window.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start_count = count.load(Ordering::Relaxed);
    let start_cpu = cpu_seconds(pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let done = count.load(Ordering::Relaxed) - start_count;
    let cpu = cpu_seconds(pid) - start_cpu;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 - 1.0) * q).round() as usize];
    Run {
        rps: done as f64 / elapsed.as_secs_f64(),
        p50: p(0.5),
        p99: p(0.99),
        cpu_per_request: Duration::from_secs_f64(cpu / done.max(1) as f64),
        requests: done,
        total: count.load(Ordering::Relaxed),
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

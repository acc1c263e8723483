//! What an anonymous caller can make the server spend, measured (release
//! build: `cargo bench --bench attack`). The server runs as its own process
//! with its default limits against the sandbox portal, which runs in this
//! process beside the attackers — all on 127.0.0.1, on the same machine.
//!
//! - **Body flood**: with the rate limit and session caps off (the worst
//!   case), `ATTACKERS` connections send maximal request bodies to
//!   `/mcp` (each a valid `initialize` padded to `DOCSPACE_HTTP_MAX_BODY_BYTES`,
//!   declared with `Content-Length`, or chunked), and to `/register` with the
//!   OAuth proxy on (8 MiB, declared and chunked), for `BENCH_SECONDS`: the
//!   server's peak resident memory (VmHWM) and the answers by status.
//! - **CPU**: two attackers loop on requests carrying a 289 KB
//!   `X-Mcp-Enabled-Tools` header of unknown names; meanwhile `/health`
//!   latency (p50, p99, max).
//! - **Slowloris**: 200 connections each send half a request head and stop;
//!   meanwhile `/health` latency, then how many of them the server closed
//!   after its header timeout.
//!
//! `BENCH_SECONDS` (default 10) sets the length of each run; `ATTACK_BIN` runs
//! another build of the server (an older one, for a before-and-after).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::reqwest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/process.rs"]
mod process;

use process::{BIN, http_server, hwm_kib, rss_kib};

const ATTACKERS: usize = 64;

/// The size of the `/mcp` flood's bodies: `DOCSPACE_HTTP_MAX_BODY_BYTES`'s
/// default, or `ATTACK_BODY_MIB`.
fn max_body() -> usize {
    std::env::var("ATTACK_BODY_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(4) * 1024 * 1024
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Starts the server with its default limits and `settings`; its address (`host:port`).
fn server(settings: &[(&str, &str)]) -> (Child, String) {
    let bin = std::env::var("ATTACK_BIN").unwrap_or_else(|_| BIN.to_owned());
    let (child, url) = http_server(&bin, settings);
    (child, url.trim_start_matches("http://").to_owned())
}

/// Sends `head` and then `body` (if any) on a fresh connection; the status, or 0 for a close.
async fn exchange(address: &str, head: &str, body: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(address).await else { return 0 };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    // A server that refuses early may close while the body is still going out.
    let _ = stream.write_all(body).await;
    let mut buf = [0u8; 256];
    match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 12 => std::str::from_utf8(&buf[9..12]).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
        _ => 0,
    }
}

/// `attackers` connections, one request after another for `seconds`, each
/// the (head, body) `request` gives for the attacker's number; the answers
/// by status (0: closed without one).
async fn attack(
    address: &str,
    attackers: usize,
    seconds: u64,
    request: impl Fn(usize) -> (String, Vec<u8>) + Send + Sync + 'static,
) -> BTreeMap<u16, u64> {
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
    let request = Arc::new(request);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..attackers)
        .map(|i| {
            let (address, statuses, request) = (address.to_owned(), statuses.clone(), request.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let (head, body) = request(i);
                    let status = exchange(&address, &head, &body).await;
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(statuses).unwrap().into_inner().unwrap()
}

/// [`ATTACKERS`] connections POSTing `body` to `path` for `seconds`: half
/// declare its length, half send it chunked (the server cannot know the size
/// up front).
async fn flood(address: &str, path: &str, body: Vec<u8>, seconds: u64) -> BTreeMap<u16, u64> {
    let start = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nconnection: close\r\n"
    );
    let declared = (format!("{start}content-length: {}\r\n\r\n", body.len()), body.clone());
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let chunked = (format!("{start}transfer-encoding: chunked\r\n\r\n"), chunked);
    attack(address, ATTACKERS, seconds, move |i| if i % 2 == 0 { declared.clone() } else { chunked.clone() }).await
}

/// Latency percentiles of `/health` polled every 20 ms until `stop`.
async fn health_latency(address: String, stop: Arc<AtomicBool>) -> (Duration, Duration, Duration, usize) {
    let client = docspace_mcp_client::tls::builder().pool_max_idle_per_host(1).build().unwrap();
    let mut samples = Vec::new();
    let mut failed = 0;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match client.get(format!("http://{address}/health")).timeout(Duration::from_secs(30)).send().await {
            Ok(r) if r.status().is_success() => samples.push(started.elapsed()),
            _ => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    samples.sort();
    let at = |q: f64| samples.get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1))).copied();
    (at(0.5).unwrap_or_default(), at(0.99).unwrap_or_default(), samples.last().copied().unwrap_or_default(), failed)
}

/// The settings of a server with the sandbox as its own portal, and `more`.
fn operator<'a>(portal: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("DOCSPACE_BASE_URL", portal), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    all.extend_from_slice(more);
    all
}

async fn body_flood(portal: &str, seconds: u64) {
    // The worst case: no rate limit and no session caps, so that every
    // request opens a session and its whole body is read.
    let (mut child, address) = server(&operator(
        portal,
        &[
            ("DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", "0"),
            ("DOCSPACE_MAX_SESSIONS", "0"),
            ("DOCSPACE_MAX_SESSIONS_PER_IP", "0"),
        ],
    ));
    let pid = child.id();
    let start = rss_kib(pid);
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"flood","version":"0"}}}"#;
    let mut body = init.as_bytes().to_vec();
    body.resize(max_body(), b' ');
    let statuses = flood(&address, "/mcp", body, seconds).await;
    let peak = hwm_kib(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let alive = reqwest::get(format!("http://{address}/health")).await.is_ok_and(|r| r.status().is_success());
    println!(
        "body flood, /mcp, {ATTACKERS} connections × {} MiB bodies (half chunked), {seconds} s: resident {} at start, \
         peak {}, {} 2 s after; answers {:?} (0 = closed); alive: {alive}",
        max_body() / 1024 / 1024,
        mib(start),
        mib(peak),
        mib(after),
        statuses
    );
    child.kill().ok();
    child.wait().ok();
}

async fn register_flood(portal: &Sandbox, seconds: u64) {
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef";
    let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let base = format!("http://127.0.0.1:{port}");
    portal.allow_oauth_redirect(&format!("{base}/oauth/callback"));
    let port = port.to_string();
    let (mut child, address) = server(&[
        ("DOCSPACE_PORT", &port),
        ("DOCSPACE_OAUTH_BASE_URL", portal.base_url()),
        ("DOCSPACE_SERVER_BASE_URL", &base),
        ("DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY", key),
        ("DOCSPACE_OAUTH_CLIENT_ID", sandbox::oauth::CLIENT_ID),
        ("DOCSPACE_OAUTH_CLIENT_SECRET", sandbox::oauth::CLIENT_SECRET),
        ("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_REGISTER_CAPACITY", "0"),
    ]);
    let pid = child.id();
    let start = rss_kib(pid);
    let mut body = br#"{"redirect_uris":["http://127.0.0.1:9/cb"],"client_name":""#.to_vec();
    body.resize(8 * 1024 * 1024 - 2, b'x');
    body.extend_from_slice(b"\"}");
    let statuses = flood(&address, "/register", body, seconds).await;
    println!(
        "body flood, /register (OAuth on), {ATTACKERS} connections × 8 MiB bodies (half chunked), {seconds} s: \
         resident {} at start, peak {}; answers {:?}",
        mib(start),
        mib(hwm_kib(pid)),
        statuses
    );
    child.kill().ok();
    child.wait().ok();
}

async fn cpu(portal: &str, seconds: u64) {
    let (mut child, address) = server(&operator(portal, &[("DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", "0")]));
    let names: Vec<String> = (0..10_000).map(|i| format!("no_such_tool_{i:08}_abcdefgh")).collect();
    let header = names.join(",");
    assert!(header.len() > 280_000, "{}", header.len());
    let head = Arc::new(format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nx-mcp-enabled-tools: {header}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n"
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let latency = tokio::spawn(health_latency(address.clone(), stop.clone()));
    let head_kb = head.len() / 1000;
    let sent = attack(&address, 2, seconds, move |_| ((*head).clone(), b"{}".to_vec())).await;
    stop.store(true, Ordering::Relaxed);
    let (p50, p99, max, failed) = latency.await.unwrap();
    println!(
        "CPU: 2 attackers × {} KB X-Mcp-Enabled-Tools headers, {seconds} s, answers {:?}: /health p50 {p50:?}, \
         p99 {p99:?}, max {max:?}, failed {failed}",
        head_kb, sent
    );
    child.kill().ok();
    child.wait().ok();
}

async fn slowloris(portal: &str, seconds: u64) {
    let (mut child, address) = server(&operator(portal, &[]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&address).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ").await.unwrap();
        held.push(s);
    }
    let latency = tokio::spawn(health_latency(address.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(seconds.max(12))).await;
    stop.store(true, Ordering::Relaxed);
    let (p50, p99, max, failed) = latency.await.unwrap();
    let mut closed = 0;
    for s in &mut held {
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    println!(
        "slowloris: 200 half-sent request heads held {} s: /health p50 {p50:?}, p99 {p99:?}, max {max:?}, failed \
         {failed}; the server closed {closed} of 200 (DOCSPACE_HTTP_HEADER_TIMEOUT 10 s)",
        seconds.max(12)
    );
    child.kill().ok();
    child.wait().ok();
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
        body_flood(portal.base_url(), seconds).await;
        register_flood(&portal, seconds).await;
        cpu(portal.base_url(), seconds).await;
        slowloris(portal.base_url(), seconds).await;
    });
}

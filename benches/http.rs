//! Load benchmarks for the HTTP transports (release build: `cargo bench --bench http`).
//!
//! The server runs as its own process (`docspace-mcp --transport http`, rate limit off) against
//! the sandbox portal, which runs in this process on 127.0.0.1 beside the load generator — all on
//! the same machine, so the figures include the client's and the portal's share of the CPU.
//!
//! - the server's resident memory after 1k and after 50k tool calls;
//! - `tools/list` (the default catalogue, ~26 KB) over Streamable HTTP sessions, 8 concurrent clients;
//! - `tools/call get_self_profile` (one DocSpace request each), 64 concurrent clients, p50/p99;
//! - the same through the 2026-07-28 stateless protocol (no session);
//! - for each throughput run, the server's own CPU time per request (user +
//!   system time from `/proc/<pid>/stat`, 10 ms resolution, over thousands of
//!   requests), which the load generator and the portal do not share;
//! - the server's resident memory with 10,000 sessions just opened, and once they are idle
//!   (hibernated: their workers stopped, the sessions still open).
//!
//! `BENCH_SECONDS` (default 5) sets the length of each throughput run; `BENCH_BIN`
//! runs another build of the server (to compare before and after a change);
//! `BENCH_TOOLSETS` is the server's `DOCSPACE_TOOLSETS` (default: the default catalogue);
//! `BENCH_METRICS=1` runs it with Prometheus metrics on (`DOCSPACE_METRICS`), to
//! measure what counting costs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/process.rs"]
mod process;

use mcp::{CALL, LIST, Mcp, STATELESS_CALL, load};
use process::{BIN, http_server, rss_kib};

/// Seconds before a quiet session hibernates (the server's default is 300;
/// shorter here so that the idle-session figure needs no five-minute wait).
const HIBERNATE_AFTER: u64 = 3;

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Starts the server; its base URL.
fn server(portal: &str) -> (Child, String) {
    let hibernate = HIBERNATE_AFTER.to_string();
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let toolsets = std::env::var("BENCH_TOOLSETS").unwrap_or_default();
    let metrics = if std::env::var_os("BENCH_METRICS").is_some() { "1" } else { "0" };
    http_server(
        &bin,
        &[
            ("DOCSPACE_METRICS", metrics),
            ("DOCSPACE_BASE_URL", portal),
            ("DOCSPACE_API_KEY", sandbox::API_KEY),
            ("DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", "0"),
            ("DOCSPACE_MAX_SESSIONS", "0"),
            // Every load-generating client is 127.0.0.1: no per-address caps.
            ("DOCSPACE_MAX_SESSIONS_PER_IP", "0"),
            ("DOCSPACE_HTTP_MAX_CONNECTIONS_PER_IP", "0"),
            ("DOCSPACE_SESSION_HIBERNATE_AFTER", &hibernate),
            ("DOCSPACE_TOOLSETS", &toolsets),
        ],
    )
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
        let (mut child, base) = server(portal.base_url());
        let pid = child.id();
        let http = docspace_mcp_client::tls::builder().pool_max_idle_per_host(256).build().unwrap();
        let mcp = Mcp { http, url: format!("{base}/mcp") };
        println!("server: {base} (pid {pid}), {} s per run, 2 worker threads in the load generator", seconds);
        println!("resident memory at start: {}", mib(rss_kib(pid)));

        // Memory over requests (first, so that no earlier load's garbage is counted):
        // 1k, then 50k tool calls, 16 in flight on one session.
        let session = mcp.open().await;
        let calls = |n: usize| {
            let mcp = mcp.clone();
            let session = session.clone();
            async move {
                // Requests in flight on one session need distinct JSON-RPC ids.
                let per = n / 16;
                let tasks: Vec<_> = (0..16)
                    .map(|task| {
                        let (mcp, session) = (mcp.clone(), session.clone());
                        tokio::spawn(async move {
                            for i in 0..per {
                                let id = 1_000_000 + task * per + i;
                                mcp.post(Some(&session), CALL.replace("\"id\":3", &format!("\"id\":{id}"))).await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        };
        calls(1_000).await;
        let after_1k = rss_kib(pid);
        calls(49_000).await;
        let after_50k = rss_kib(pid);
        println!(
            "resident memory after 1k calls: {}, after 50k: {} ({:+.1}%)",
            mib(after_1k),
            mib(after_50k),
            (after_50k as f64 / after_1k as f64 - 1.0) * 100.0
        );

        println!("tools/list, 8 clients (sessions):        {}", load(&mcp, pid, 8, seconds, LIST, false).await);
        println!("tools/call, 64 clients (sessions):       {}", load(&mcp, pid, 64, seconds, CALL, false).await);
        println!(
            "tools/call, 64 clients (2026 stateless): {}",
            load(&mcp, pid, 64, seconds, STATELESS_CALL, true).await
        );

        // Idle sessions.
        let before = rss_kib(pid);
        let opened = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (mcp, opened) = (mcp.clone(), opened.clone());
                tokio::spawn(async move {
                    for _ in 0..625 {
                        mcp.open().await;
                        opened.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let opened_at = Instant::now();
        let health: serde_json::Value =
            mcp.http.get(format!("{base}/health")).send().await.unwrap().json().await.unwrap();
        let with_sessions = rss_kib(pid);
        println!(
            "{} sessions just opened ({} open, {} live per /health): resident memory {} (was {} before)",
            opened.load(Ordering::Relaxed),
            health["sessions"],
            health["live_sessions"],
            mib(with_sessions),
            mib(before)
        );
        // Hibernation, then the allocator's decay (jemalloc returns unused pages after ~10 s).
        tokio::time::sleep(Duration::from_secs(HIBERNATE_AFTER + 15).saturating_sub(opened_at.elapsed())).await;
        let health: serde_json::Value =
            mcp.http.get(format!("{base}/health")).send().await.unwrap().json().await.unwrap();
        println!(
            "the same sessions idle (hibernated after {HIBERNATE_AFTER} s; {} open, {} live): resident memory {}",
            health["sessions"],
            health["live_sessions"],
            mib(rss_kib(pid))
        );
        let _ = child.kill();
        let _ = child.wait();
    });
}

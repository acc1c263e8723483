//! What the shared state store costs (release build: `cargo bench --bench store`;
//! needs `redis-server` or `valkey-server` on PATH, which scripts/test installs).
//!
//! The same server runs twice against the sandbox portal (in this process):
//! with its state in its own memory, and with `DOCSPACE_STATE_URL` pointing
//! at a real `redis-server` on 127.0.0.1 (started here, persistence off).
//! Each time, with the MCP rate limit on (a capacity no run reaches, so every
//! request is counted: in the store, one Lua call):
//!
//! - `tools/list` over Streamable HTTP sessions, 8 clients;
//! - `tools/call get_self_profile` on sessions, 64 clients;
//! - the same through the 2026-07-28 stateless protocol;
//! - whole OAuth sign-ins (a second server, the proxy in front of the
//!   sandbox's authorization server): authorize, consent, the sandbox's
//!   sign-in, callback and code exchange, 8 at a time (the endpoints' rate
//!   limits on, out of reach, as for MCP);
//!
//! and prints requests per second, p50/p99 latency, the server's CPU time
//! per request, and with the store: round trips to it per request (the
//! server's own count, `docspace_mcp_store_command_duration_seconds_count`
//! on `/metrics`) and bytes to and from it per request (`INFO stats`), and
//! the store memory one open session takes (`INFO memory`, over 2,000).
//!
//! `BENCH_SECONDS` (default 5) sets the length of each run; `BENCH_BIN` runs
//! another build of the server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub,
    dead_code
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};

#[path = "support/mcp.rs"]
mod mcp;
#[path = "../tests/common/oauth.rs"]
mod oauth;
#[path = "support/process.rs"]
mod process;
#[path = "../tests/common/store.rs"]
mod store;

use mcp::{CALL, LIST, Mcp, Run, STATELESS_CALL, load, ms};
use process::{BIN, cpu_seconds, http_server};
use store::Redis;

const STATE_KEY: &str = "a-bench-state-key-of-at-least-32-bytes!!";

/// What the store saw, and what the server counted of it, at one moment.
#[derive(Clone, Copy, Default)]
struct StoreCounts {
    round_trips: f64,
    bytes: u64,
}

async fn store_counts(redis: Option<&Redis>, metrics: &str) -> StoreCounts {
    let Some(redis) = redis else { return StoreCounts::default() };
    let exposition =
        docspace_mcp_client::tls::builder().build().unwrap().get(metrics).send().await.unwrap().text().await.unwrap();
    let round_trips = exposition
        .lines()
        .filter(|l| l.starts_with("docspace_mcp_store_command_duration_seconds_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let info: String = redis.query(redis::cmd("INFO").arg("stats")).await;
    let field = |name: &str| {
        info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    StoreCounts { round_trips, bytes: field("total_net_input_bytes") + field("total_net_output_bytes") }
}

/// The server's environment: the common part, the store's when there is one.
fn settings<'a>(redis_url: Option<&'a str>, own: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("DOCSPACE_METRICS", "1"),
        // On, but out of reach: every request is counted.
        ("DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", "1000000000"),
        ("DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW", "1000"),
        ("DOCSPACE_MAX_SESSIONS", "0"),
        ("DOCSPACE_MAX_SESSIONS_PER_IP", "0"),
        ("DOCSPACE_MAX_SESSIONS_PER_IDENTITY", "0"),
        ("DOCSPACE_HTTP_MAX_CONNECTIONS_PER_IP", "0"),
    ];
    if let Some(url) = redis_url {
        env.extend([("DOCSPACE_STATE_URL", url), ("DOCSPACE_STATE_SECRET_KEY", STATE_KEY)]);
    }
    env.extend_from_slice(own);
    env
}

fn with_store(run: &Run, before: StoreCounts, after: StoreCounts, requests: u64) -> String {
    if after.bytes == 0 {
        return run.to_string();
    }
    let n = requests.max(1) as f64;
    format!(
        "{run}  store: {:.2} round trips, {:.0} bytes/req",
        (after.round_trips - before.round_trips) / n,
        (after.bytes - before.bytes) as f64 / n
    )
}

/// MCP requests on an operator-credentials server.
async fn mcp_runs(portal: &Sandbox, redis: Option<&Redis>, seconds: u64) {
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let url = redis.map(Redis::url);
    let env =
        settings(url.as_deref(), &[("DOCSPACE_BASE_URL", portal.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)]);
    let (mut child, base) = http_server(&bin, &env);
    let pid = child.id();
    let http = docspace_mcp_client::tls::builder().pool_max_idle_per_host(256).build().unwrap();
    let mcp = Mcp { http, url: format!("{base}/mcp") };
    let metrics = format!("{base}/metrics");
    for (label, clients, body, stateless) in [
        ("tools/list, 8 clients (sessions):       ", 8, LIST, false),
        ("tools/call, 64 clients (sessions):      ", 64, CALL, false),
        ("tools/call, 64 clients (2026 stateless):", 64, STATELESS_CALL, true),
    ] {
        let before = store_counts(redis, &metrics).await;
        let run = load(&mcp, pid, clients, seconds, body, stateless).await;
        let after = store_counts(redis, &metrics).await;
        // The counts span the warm-up and the stop too: divided by every request made then
        // (the clients' `initialize` and `initialized`, a few dozen, are left out).
        println!("{label} {}", with_store(&run, before, after, run.total));
    }
    if let Some(redis) = redis {
        // What one open session holds in the store.
        let used = |info: String| {
            info.lines().find_map(|l| l.strip_prefix("used_memory:")?.trim().parse::<u64>().ok()).unwrap_or(0)
        };
        let before = used(redis.query(redis::cmd("INFO").arg("memory")).await);
        let sessions = 2_000;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let mcp = mcp.clone();
                tokio::spawn(async move {
                    for _ in 0..sessions / 16 {
                        mcp.open().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let after = used(redis.query(redis::cmd("INFO").arg("memory")).await);
        println!(
            "{sessions} sessions opened: the store's used memory grew by {:.0} bytes per session",
            after.saturating_sub(before) as f64 / f64::from(sessions)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whole OAuth sign-ins, `concurrency` at a time, for `seconds`.
async fn oauth_runs(portal: &Sandbox, redis: Option<&Redis>, seconds: u64) {
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let url = redis.map(Redis::url);
    let env = settings(
        url.as_deref(),
        &[
            ("DOCSPACE_OAUTH_BASE_URL", portal.base_url()),
            ("DOCSPACE_OAUTH_CLIENT_ID", sandbox::oauth::CLIENT_ID),
            ("DOCSPACE_OAUTH_CLIENT_SECRET", sandbox::oauth::CLIENT_SECRET),
            ("DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY", oauth::KEY),
            // On, out of reach (as the MCP limit): each step is counted.
            ("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_AUTHORIZE_CAPACITY", "1000000000"),
            ("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_CALLBACK_CAPACITY", "1000000000"),
            ("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_CAPACITY", "1000000000"),
            ("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_REGISTER_CAPACITY", "1000000000"),
        ],
    );
    let (mut child, base) = http_server(&bin, &env);
    let pid = child.id();
    portal.allow_oauth_redirect(&format!("{base}/oauth/callback"));
    let client = oauth::register(&base, &[oauth::REDIRECT], "bench").await;
    let metrics = format!("{base}/metrics");
    let concurrency = 8;
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (stop, count, base, client) = (stop.clone(), count.clone(), base.clone(), client.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let flow = oauth::Flow::new(&client, oauth::REDIRECT);
                    let tokens = oauth::tokens(&base, &flow).await;
                    assert!(tokens["access_token"].is_string(), "{tokens}");
                    samples.push(started.elapsed());
                    count.fetch_add(1, Ordering::Relaxed);
                }
                samples
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start_count, start_cpu) = (count.load(Ordering::Relaxed), cpu_seconds(pid));
    let before = store_counts(redis, &metrics).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let done = count.load(Ordering::Relaxed) - start_count;
    let cpu = cpu_seconds(pid) - start_cpu;
    let after = store_counts(redis, &metrics).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 - 1.0) * q).round() as usize];
    let flows = done as f64 / elapsed.as_secs_f64();
    let mut line = format!(
        "OAuth sign-ins, {concurrency} at a time:       {flows:>8.1} flows/s  p50 {}  p99 {}  server CPU {:.3} ms/flow",
        ms(p(0.5)),
        ms(p(0.99)),
        cpu / done.max(1) as f64 * 1e3
    );
    if redis.is_some() {
        // The window's counts (the scrape itself is not a store round trip).
        let n = done.max(1) as f64;
        line.push_str(&format!(
            "  store: {:.1} round trips, {:.0} bytes/flow",
            (after.round_trips - before.round_trips) / n,
            (after.bytes - before.bytes) as f64 / n
        ));
    }
    println!("{line}");
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
        let redis = Redis::start().expect("redis-server or valkey-server on PATH");
        println!("{seconds} s per run; the load generator, the portal and redis-server share the machine");
        println!("-- state in the server's memory");
        mcp_runs(&portal, None, seconds).await;
        oauth_runs(&portal, None, seconds).await;
        println!("-- shared store (redis-server on 127.0.0.1)");
        mcp_runs(&portal, Some(&redis), seconds).await;
        oauth_runs(&portal, Some(&redis), seconds).await;
        let keys: i64 = redis.query(&redis::cmd("DBSIZE")).await;
        let memory: String = redis.query(redis::cmd("INFO").arg("memory")).await;
        let used = memory.lines().find_map(|l| l.strip_prefix("used_memory_human:")).unwrap_or("?").trim().to_owned();
        println!("store after the runs: {keys} keys, {used} used");
    });
}

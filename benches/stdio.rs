//! Benchmarks for the stdio server (release build: `cargo bench --bench stdio`).
//!
//! - cold start: process spawn -> `initialize` response, over 50 spawns;
//! - per-call overhead: `tools/call get_file_info` through MCP minus a bare
//!   HTTP GET of the same DocSpace operation on the same sandbox, 2,000 each;
//! - resident memory of the server after 100 tool calls (and after 2,000).
//!
//! Everything runs on 127.0.0.1 against the embedded sandbox portal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};

#[path = "support/process.rs"]
mod process;

use process::{BIN, rss_kib};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn spawn(base_url: &str) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = Command::new(BIN)
        .env_clear()
        .env("DOCSPACE_BASE_URL", base_url)
        .env("DOCSPACE_API_KEY", sandbox::API_KEY)
        .env("DOCSPACE_LOG_LEVEL", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

fn rpc(stdin: &mut ChildStdin, stdout: &mut BufReader<ChildStdout>, line: &str) -> String {
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
    let mut reply = String::new();
    stdout.read_line(&mut reply).unwrap();
    reply
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;

/// A bare keep-alive HTTP/1.1 GET, to time the upstream round trip alone.
fn http_get(stream: &mut TcpStream, host: &str, path: &str) {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\r\n", sandbox::API_KEY)
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap();
            if buf.len() >= end + 4 + len {
                return;
            }
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let portal = rt.block_on(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))).unwrap();
    let base = portal.base_url().to_owned();
    let file_id =
        portal.inspect(|s| s.entries.values().find(|e| e.title == "Welcome.txt").map(|e| e.id)).flatten().unwrap();

    // Cold start.
    let mut starts = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let (mut child, mut stdin, mut stdout) = spawn(&base);
        let reply = rpc(&mut stdin, &mut stdout, INIT);
        starts.push(t.elapsed());
        assert!(reply.contains("protocolVersion"), "{reply}");
        drop(stdin);
        child.wait().unwrap();
    }
    let (p50, p95) = (percentile(&mut starts, 0.5), percentile(&mut starts, 0.95));
    println!("cold start (spawn -> initialize response), 50 runs: p50 {}  p95 {}", us(p50), us(p95));

    // Per-call overhead.
    let (mut child, mut stdin, mut stdout) = spawn(&base);
    rpc(&mut stdin, &mut stdout, INIT);
    writeln!(stdin, r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#).unwrap();
    let call = |id: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"get_file_info","arguments":{{"fileId":{file_id}}}}}}}"#
        )
    };
    let mut mcp = Vec::new();
    for i in 1..=2100 {
        let t = Instant::now();
        let reply = rpc(&mut stdin, &mut stdout, &call(i));
        if i > 100 {
            mcp.push(t.elapsed());
        }
        assert!(reply.contains("Welcome.txt") && !reply.contains("\"isError\":true"), "{reply}");
        if i == 100 {
            println!("server resident memory after 100 tool calls: {} KiB", rss_kib(child.id()));
        }
    }
    println!("server resident memory after 2,100 tool calls: {} KiB", rss_kib(child.id()));
    let host = base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).unwrap();
    stream.set_nodelay(true).unwrap();
    let path = format!("/api/2.0/files/file/{file_id}");
    let mut direct = Vec::new();
    for i in 0..2100 {
        let t = Instant::now();
        http_get(&mut stream, &host, &path);
        if i >= 100 {
            direct.push(t.elapsed());
        }
    }
    let (m50, m99) = (percentile(&mut mcp, 0.5), percentile(&mut mcp, 0.99));
    let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
    println!("tools/call get_file_info via MCP stdio, 2,000 calls: p50 {}  p99 {}", us(m50), us(m99));
    println!("bare HTTP GET of the same operation,      2,000 calls: p50 {}  p99 {}", us(d50), us(d99));
    println!("per-call overhead at p50: {}", us(m50.saturating_sub(d50)));
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
}

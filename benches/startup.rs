//! Start-up of the stdio server for each kind of tool selection (release
//! build: `cargo bench --bench startup`).
//!
//! For the default catalogue, every tool (`DOCSPACE_TOOLSETS=all`), dynamic
//! mode and a narrow selection, over `BENCH_SPAWNS` spawns (default 30):
//! - spawn → `initialize` response, p50 and p95;
//! - the server's resident memory right after that response (VmRSS);
//! - the first `tools/list` response after it (time and size), and the
//!   resident memory then.
//!
//! `BENCH_BIN` runs another build of the server (before/after a change). The
//! server is pointed at a closed port: start-up makes no DocSpace request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/process.rs"]
mod process;

use process::{BIN, rss_kib};

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

fn rpc(stdin: &mut ChildStdin, stdout: &mut BufReader<ChildStdout>, line: &str) -> String {
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
    let mut reply = String::new();
    stdout.read_line(&mut reply).unwrap();
    reply
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

struct Sample {
    initialize: Duration,
    rss_initialize: u64,
    list: Duration,
    list_bytes: usize,
    rss_list: u64,
}

fn once(bin: &str, settings: &[(&str, &str)]) -> Sample {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        // A closed port: nothing at start-up may need the portal.
        .env("DOCSPACE_BASE_URL", "http://127.0.0.1:9")
        .env("DOCSPACE_API_KEY", "bench")
        .env("DOCSPACE_LOG_LEVEL", "error")
        .envs(settings.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let reply = rpc(&mut stdin, &mut stdout, INIT);
    let initialize = started.elapsed();
    let rss_initialize = rss_kib(child.id());
    assert!(reply.contains("protocolVersion"), "{reply}");
    writeln!(stdin, "{INITIALIZED}").unwrap();
    let listed = Instant::now();
    let reply = rpc(&mut stdin, &mut stdout, LIST);
    let list = listed.elapsed();
    let rss_list = rss_kib(child.id());
    assert!(reply.contains("\"tools\""), "{reply}");
    drop(stdin);
    child.wait().unwrap();
    Sample { initialize, rss_initialize, list, list_bytes: reply.len(), rss_list }
}

fn main() {
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let spawns: usize = std::env::var("BENCH_SPAWNS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let selections: [(&str, &[(&str, &str)]); 4] = [
        ("default catalogue", &[]),
        ("every tool (DOCSPACE_TOOLSETS=all)", &[("DOCSPACE_TOOLSETS", "all")]),
        ("dynamic mode over every tool", &[("DOCSPACE_TOOLSETS", "all"), ("DOCSPACE_DYNAMIC", "true")]),
        ("one toolset (DOCSPACE_TOOLSETS=files_files)", &[("DOCSPACE_TOOLSETS", "files_files")]),
    ];
    println!("{bin}, {spawns} spawns per selection");
    for (name, settings) in selections {
        // One spawn to warm the page cache, not counted.
        once(&bin, settings);
        let samples: Vec<Sample> = (0..spawns).map(|_| once(&bin, settings)).collect();
        let mut init: Vec<Duration> = samples.iter().map(|s| s.initialize).collect();
        let mut list: Vec<Duration> = samples.iter().map(|s| s.list).collect();
        let mut rss_init: Vec<u64> = samples.iter().map(|s| s.rss_initialize).collect();
        let mut rss_list: Vec<u64> = samples.iter().map(|s| s.rss_list).collect();
        rss_init.sort_unstable();
        rss_list.sort_unstable();
        println!(
            "{name}: spawn -> initialize p50 {}  p95 {}, RSS {}; first tools/list ({} KB) p50 {}, RSS {}",
            ms(percentile(&mut init, 0.5)),
            ms(percentile(&mut init, 0.95)),
            mib(rss_init[rss_init.len() / 2]),
            samples[0].list_bytes / 1000,
            ms(percentile(&mut list, 0.5)),
            mib(rss_list[rss_list.len() / 2]),
        );
    }
}

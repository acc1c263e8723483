//! JSON-RPC over stdio (target 2): arbitrary lines — JSON-RPC messages,
//! bytes, text that never closes, lines past the length limit — into the
//! server's own stdio loop (`stdio::serve_streams`) over an in-memory pipe,
//! after a proper handshake or before any. The server must not panic or
//! hang, and after a handshake it must still answer `ping` and `tools/list`
//! once the input is through.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use clap::Parser;
use docspace_mcp::{Cli, Config, DocSpaceServer, Selection, Setup, sandbox, stdio};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{self, CI_ITERATIONS, CI_TIME, MAX_LEN};
use crate::input;

/// The longest line the fuzzed server reads (small, so lines past it are
/// drawn often; the default is 64 MiB).
const MAX_LINE: usize = 64 * 1024;

/// What a client writes.
#[derive(Debug)]
pub struct Lines {
    /// Whether it opens with `initialize` and `notifications/initialized`.
    pub handshake: bool,
    /// The lines (each sent with a newline after it, unless `cut`).
    pub lines: Vec<input::Bytes>,
    /// A line past the length limit, at this position.
    pub long_line: Option<usize>,
}

impl<'a> Arbitrary<'a> for Lines {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let handshake = u.ratio(5, 6)?;
        let n = u.int_in_range(1..=8)?;
        let mut lines = Vec::new();
        for _ in 0..n {
            let mut line = input::body(u)?;
            // A newline inside a line splits it, as it would on a real pipe.
            if u.ratio(1, 10)? {
                let at = u.int_in_range(0..=line.len())?;
                line.insert(at, b'\n');
            }
            lines.push(input::Bytes(line));
        }
        let long_line = if u.ratio(1, 10)? { Some(u.int_in_range(0..=n)?) } else { None };
        Ok(Self { handshake, lines, long_line })
    }
}

/// The operator's setup, pointed at the sandbox, as `run::serve` builds it for stdio.
fn setup(portal: &str) -> Setup {
    let argv = [
        "docspace-mcp",
        "--base-url",
        portal,
        "--api-key",
        sandbox::API_KEY,
        "--request-timeout",
        "3",
        "--operation-timeout",
        "1",
    ];
    let config = Config::from_args(Cli::try_parse_from(argv).expect("flags").serve).expect("settings");
    Setup::new(Arc::new(Selection::new(config.tools.tools, config.tools.options)), config.portal.client)
}

/// Writes `lines` into a fresh server and checks it still answers.
async fn drive(setup: &Setup, input: &Lines) {
    // One pipe each way, so that closing the input is the end of input.
    let (mut to_server, server_in) = tokio::io::duplex(256 * 1024);
    let (server_out, from_server) = tokio::io::duplex(256 * 1024);
    let server =
        tokio::spawn(stdio::serve_streams(DocSpaceServer::new(setup.clone()), server_in, server_out, MAX_LINE));
    // Read everything the server says, so it never blocks on a full pipe.
    let (said_tx, mut said) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(from_server).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {line}"));
            if said_tx.send(value).is_err() {
                break;
            }
        }
    });
    if input.handshake {
        send(&mut to_server, input::initialize("2025-06-18").to_string().as_bytes()).await;
        send(&mut to_server, json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string().as_bytes())
            .await;
    }
    for (i, line) in input.lines.iter().enumerate() {
        if input.long_line == Some(i) {
            send(&mut to_server, &vec![b'x'; MAX_LINE + 10]).await;
        }
        send(&mut to_server, &line.0).await;
    }
    if input.handshake {
        // The server still answers, to ids no fuzzed line used.
        send(&mut to_server, json!({"jsonrpc": "2.0", "id": "probe-ping", "method": "ping"}).to_string().as_bytes())
            .await;
        send(
            &mut to_server,
            json!({"jsonrpc": "2.0", "id": "probe-list", "method": "tools/list"}).to_string().as_bytes(),
        )
        .await;
        let mut waiting = vec!["probe-ping", "probe-list"];
        while !waiting.is_empty() {
            let Some(message) = said.recv().await else {
                panic!("the server stopped before answering {waiting:?}");
            };
            if let Some(id) = message.get("id").and_then(Value::as_str)
                && let Some(at) = waiting.iter().position(|w| *w == id)
            {
                assert!(message.get("result").is_some(), "{id} failed: {message}");
                if id == "probe-list" {
                    assert!(message["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "no tools");
                }
                waiting.remove(at);
            }
        }
    }
    // End of input ends the server, cleanly or with an error, never a panic.
    drop(to_server);
    match server.await {
        Ok(_) => {}
        Err(e) => panic!("the stdio server task failed: {e}"),
    }
    reader.await.expect("the reader");
}

/// Writes one line; a server that stopped reading (it may, on a protocol
/// error before `initialize`) is no failure.
async fn send(to_server: &mut (impl AsyncWriteExt + Unpin), line: &[u8]) {
    let _ = to_server.write_all(line).await;
    let _ = to_server.write_all(b"\n").await;
}

#[test]
fn stdio_lines() {
    let rt = harness::runtime("stdio_lines");
    let portal = rt.block_on(sandbox::Sandbox::start(([127, 0, 0, 1], 0).into())).expect("the sandbox portal");
    let setup = setup(portal.base_url());
    let (rt, setup) = (AssertUnwindSafe(rt), AssertUnwindSafe(setup));
    bolero::check!()
        .with_arbitrary::<Lines>()
        .with_iterations(CI_ITERATIONS)
        .with_test_time(CI_TIME)
        .with_max_len(MAX_LEN)
        .for_each(|input| harness::run(&rt, "stdio_lines", "the stdio session", drive(&setup, input)));
}

/// Replays `lines` after a handshake (the probes check the session).
fn replay(lines: &[&str]) {
    let rt = harness::runtime("stdio_replay");
    let portal = rt.block_on(sandbox::Sandbox::start(([127, 0, 0, 1], 0).into())).expect("the sandbox portal");
    let setup = setup(portal.base_url());
    let input = Lines {
        handshake: true,
        lines: lines.iter().map(|l| input::Bytes(l.as_bytes().to_vec())).collect(),
        long_line: None,
    };
    harness::run(&rt, "stdio_replay", "the replay", drive(&setup, &input));
}

/// Found by `stdio_lines`: a second `initialize` naming 2026-07-28 switched
/// the session to that protocol, where `ping` is no method.
#[test]
fn a_second_initialize_leaves_the_session_as_it_was() {
    replay(&[
        r#"{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}"#,
    ]);
}

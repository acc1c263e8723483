//! Soak under faults (release build: `cargo bench --bench soak`).
//!
//! The server runs as its own process (`docspace-mcp --transport http`, both
//! transports, rate limit and per-address session cap off, 1 s request
//! timeout) against the sandbox portal, which runs in this process on
//! 127.0.0.1 beside the load generator. `SOAK_CLIENTS` concurrent clients
//! (default 48) send `SOAK_REQUESTS` HTTP requests (default 50,000) in a mix:
//!
//! - Streamable HTTP sessions: `initialize`, `tools/list`, `ping`, read tools,
//!   write tools (`create_folder`, `create_room`, `upload_file`, each with a
//!   unique title), `DELETE`; some pause past hibernation and go on;
//! - stateless (2026-07-28) `tools/call` and `tools/list`;
//! - legacy SSE sessions: `GET /sse`, `POST /messages`, replies read on the stream;
//! - client faults: connections dropped while a slow call is in flight (Streamable
//!   HTTP) or while its reply is due on the SSE stream, abandoned sessions of
//!   both transports, bodies over the limit (with and without `Content-Length`),
//!   malformed JSON and JSON-RPC, unknown sessions, garbage bytes, a truncated
//!   body and a stalled request head on raw TCP connections.
//!
//! Meanwhile an upstream fault is injected into the portal for every
//! `SOAK_FAULT_EVERY` requests (default 10), in turn: HTTP 500, a dropped
//! connection, a timeout, a slow body within the timeout, a slow body past it,
//! malformed JSON, and HTTP 200 with DocSpace's error envelope.
//!
//! Then it checks, and exits non-zero saying why when a check fails: the
//! server is up and `/health` answers; every request got an HTTP answer or a
//! clean close (no client-side timeouts, no other transport errors, no 5xx,
//! no answer of the wrong kind); every write the server reported as done is in
//! the portal exactly once, none it reported as failed (other than by a
//! timeout) is there, none is there twice, and every uploaded file holds what
//! was sent; no tool call failed without a fault to explain it; abandoned
//! sessions expire; the server logs no error but rmcp's "client gone" ones
//! and does not panic; the server's resident memory over the last 2 s of load
//! is at most 10% above its mean over 2 s after warm-up (the first 10% of the
//! requests, and at least the first 10 s). What counts as what is in
//! `docs/testing.md` (Benchmarks).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Fault, Sandbox};
use docspace_mcp_client::reqwest;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/process.rs"]
mod process;

use process::{BIN, rss_kib};

/// The server's settings that the soak depends on.
const REQUEST_TIMEOUT_S: u64 = 1;
/// Above the longest pause a session makes (past hibernation) plus its
/// longest call (an upload meeting two timeouts): the server counts idle time
/// from a request's start.
const IDLE_TIMEOUT_S: u64 = 6;
const HIBERNATE_AFTER_S: u64 = 2;
const HEADER_TIMEOUT_S: u64 = 3;
const BODY_TIMEOUT_S: u64 = 2;
const MAX_BODY: usize = 256 * 1024;

/// Longest a client waits for any answer before counting a client-side timeout.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most untargeted upstream faults waiting for a request at once.
const MAX_PENDING_FAULTS: usize = 6;
/// Where untargeted faults apply, in turn (the chunk uploads included).
const FAULT_PATHS: [&str; 3] = ["/api/2.0/files/", "/api/2.0/people/", "/ChunkedUploader.ashx"];
/// Where the delays that keep a call in flight for a disconnect apply: no
/// untargeted fault matches it, so each is taken by its own call.
const TARGETED_PATH: &str = "/api/2.0/group/";

/// What rmcp logs at ERROR when the client a reply was for has gone
/// (dropped connections and SSE streams: the soak's own client faults).
const CLIENT_GONE: [&str; 2] =
    ["fail to response message error=", "failed to send pending response during drain error="];

const PROTOCOL: &str = "2025-06-18";
const STATELESS: &str = "2026-07-28";
const WRITE_PREFIX: &str = "soak-w-";

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(default)
}

/// xorshift64*: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// The upstream faults injected in turn.
#[derive(Debug, Clone, Copy)]
enum UpstreamFault {
    Status500,
    Reset,
    Timeout,
    SlowBody,
    SlowBodyPastTimeout,
    MalformedJson,
    ErrorEnvelope,
}

const UPSTREAM_FAULTS: [UpstreamFault; 7] = [
    UpstreamFault::Status500,
    UpstreamFault::Reset,
    UpstreamFault::Timeout,
    UpstreamFault::SlowBody,
    UpstreamFault::SlowBodyPastTimeout,
    UpstreamFault::MalformedJson,
    UpstreamFault::ErrorEnvelope,
];

impl UpstreamFault {
    fn label(self) -> &'static str {
        match self {
            Self::Status500 => "HTTP 500",
            Self::Reset => "connection dropped (no answer)",
            Self::Timeout => "timeout (answer after 1.5 s)",
            Self::SlowBody => "slow body (0.3 s, within the timeout)",
            Self::SlowBodyPastTimeout => "slow body (1.5 s, past the timeout)",
            Self::MalformedJson => "malformed JSON (HTTP 200)",
            Self::ErrorEnvelope => "HTTP 200 with an error envelope",
        }
    }

    fn fault(self, path: &str) -> Fault {
        let (mode, status, delay_ms) = match self {
            Self::Status500 => ("status", 500, 0),
            Self::Reset => ("reset", 500, 0),
            Self::Timeout => ("delay", 500, 1500),
            Self::SlowBody => ("slow", 500, 300),
            Self::SlowBodyPastTimeout => ("slow", 500, 1500),
            Self::MalformedJson => ("garbage", 500, 0),
            Self::ErrorEnvelope => ("envelope", 500, 0),
        };
        Fault { path: path.into(), mode: mode.into(), status, delay_ms, times: 1 }
    }
}

/// What a write tool was asked to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum WriteKind {
    Folder,
    Room,
    File,
}

/// What the server said about a write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reported {
    /// A successful result.
    Done,
    /// A tool error that is not a timeout: the server says it was not done.
    Failed,
    /// A tool error saying DocSpace did not answer in time: done or not.
    TimedOut,
    /// No answer read (the client dropped the call): done or not.
    Unknown,
}

#[derive(Debug)]
struct Write {
    kind: WriteKind,
    /// The title the portal should show.
    title: String,
    /// An uploaded file's content.
    content: Option<String>,
    reported: Reported,
    /// The start of the result, for the report.
    said: String,
}

/// The figures, under one lock (a few thousand updates a second).
#[derive(Default)]
struct Figures {
    requests: BTreeMap<&'static str, u64>,
    client_faults: BTreeMap<&'static str, u64>,
    statuses: BTreeMap<u16, u64>,
    /// Raw connections the server closed without an answer (garbage, stalled heads).
    clean_closes: u64,
    /// Of those, closed with a TCP reset (the server closed with unread bytes).
    closed_with_reset: u64,
    /// Requests the client dropped on purpose before the answer.
    dropped_by_client: u64,
    client_timeouts: u64,
    transport_errors: u64,
    sse_replies: u64,
    tool_results: u64,
    tool_errors: BTreeMap<&'static str, u64>,
    /// Successful results that are not DocSpace's JSON (a malformed answer passed on).
    non_json_results: u64,
    rpc_errors: BTreeMap<String, u64>,
    pauses: u64,
    unexpected: Vec<String>,
    unexpected_count: u64,
}

struct Soak {
    total: u64,
    started: Instant,
    sent: AtomicU64,
    seq: AtomicU64,
    stop: AtomicBool,
    http: reqwest::Client,
    base: String,
    addr: String,
    portal: Sandbox,
    soak_folder: i64,
    projects: i64,
    welcome: i64,
    figures: Mutex<Figures>,
    writes: Mutex<Vec<Write>>,
    targeted: AtomicU64,
    abandoned_sse: Mutex<Vec<tokio::task::JoinHandle<bool>>>,
    raw: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// One reply to a JSON-RPC request.
enum Reply {
    Result(Value),
    Error(Value),
}

/// A tool call's outcome as a client sees it.
enum Called {
    Ok(String),
    ToolError(String),
    /// No usable answer (already counted as unexpected, or dropped on purpose).
    None,
}

/// Where a request goes.
enum Via<'a> {
    Session(&'a str),
    Stateless,
    Sse(&'a mut SseSession),
}

impl Soak {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.sent.load(Ordering::Relaxed) >= self.total
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn figures(&self) -> std::sync::MutexGuard<'_, Figures> {
        self.figures.lock().unwrap()
    }

    /// Counts one request about to be sent.
    fn begin(&self, kind: &'static str) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        *self.figures().requests.entry(kind).or_default() += 1;
    }

    fn client_fault(&self, kind: &'static str) {
        *self.figures().client_faults.entry(kind).or_default() += 1;
    }

    fn unexpected(&self, what: String) {
        let mut f = self.figures();
        f.unexpected_count += 1;
        if f.unexpected.len() < 25 {
            f.unexpected.push(what);
        }
    }

    fn answered(&self, status: StatusCode) {
        *self.figures().statuses.entry(status.as_u16()).or_default() += 1;
    }

    fn transport_error(&self, kind: &str, e: &reqwest::Error) {
        {
            let mut f = self.figures();
            if e.is_timeout() {
                f.client_timeouts += 1;
            } else {
                f.transport_errors += 1;
            }
        }
        self.unexpected(format!("{kind}: no answer: {e:?}"));
    }

    /// Sends `req`; its status, headers and body, or `None` (counted).
    async fn send(
        &self,
        kind: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Option<(StatusCode, reqwest::header::HeaderMap, String)> {
        self.begin(kind);
        let r = match req.timeout(CLIENT_TIMEOUT).send().await {
            Ok(r) => r,
            Err(e) => {
                self.transport_error(kind, &e);
                return None;
            }
        };
        let (status, headers) = (r.status(), r.headers().clone());
        match r.text().await {
            Ok(text) => {
                self.answered(status);
                Some((status, headers, text))
            }
            Err(e) => {
                self.transport_error(kind, &e);
                None
            }
        }
    }

    fn post_mcp(&self, session: Option<&str>, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(format!("{}/mcp", self.base))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        match session {
            Some(s) => req.header("mcp-session-id", s).header("mcp-protocol-version", PROTOCOL),
            None => req,
        }
    }

    /// A JSON-RPC request over `via`; `None` when there is no usable reply (counted).
    async fn rpc(&self, via: &mut Via<'_>, kind: &'static str, method: &str, params: Value) -> Option<Reply> {
        let id = self.next_seq();
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let reply = match via {
            Via::Session(session) => {
                let req = self.post_mcp(Some(session), message.to_string());
                self.json_answer(kind, req).await?
            }
            Via::Stateless => {
                let meta = json!({
                    "io.modelcontextprotocol/protocolVersion": STATELESS,
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "0"},
                });
                message["params"]["_meta"] = meta;
                let mut req = self
                    .post_mcp(None, message.to_string())
                    .header("mcp-protocol-version", STATELESS)
                    .header("mcp-method", method);
                if let Some(name) = params.get("name").and_then(Value::as_str) {
                    req = req.header("mcp-name", name);
                }
                self.json_answer(kind, req).await?
            }
            Via::Sse(sse) => {
                if !sse.post(self, kind, &message).await {
                    return None;
                }
                sse.reply(self, kind, id).await?
            }
        };
        match reply.get("result") {
            Some(result) => Some(Reply::Result(result.clone())),
            None => Some(Reply::Error(reply.get("error").cloned().unwrap_or(reply))),
        }
    }

    /// A POST to `/mcp` that must answer 200 with JSON.
    async fn json_answer(&self, kind: &'static str, req: reqwest::RequestBuilder) -> Option<Value> {
        let (status, _, text) = self.send(kind, req).await?;
        if status != StatusCode::OK {
            self.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
            return None;
        }
        let answer = json_rpc_answer(&text);
        if answer.is_none() {
            self.unexpected(format!("{kind}: the answer holds no JSON-RPC reply: {}", cut(&text)));
        }
        answer
    }

    /// `tools/call` of `name`; a JSON-RPC error is unexpected.
    async fn call(&self, via: &mut Via<'_>, kind: &'static str, name: &str, args: Value) -> Called {
        match self.rpc(via, kind, "tools/call", json!({"name": name, "arguments": args})).await {
            Some(Reply::Result(result)) => {
                let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
                if result["isError"] == json!(true) {
                    let cause = cause_of(&text);
                    *self.figures().tool_errors.entry(cause).or_default() += 1;
                    if cause == "other" {
                        self.unexpected(format!("{name}: a tool error no fault explains: {}", cut(&text)));
                    }
                    Called::ToolError(text)
                } else {
                    let mut f = self.figures();
                    f.tool_results += 1;
                    if serde_json::from_str::<Value>(&text).is_err() {
                        f.non_json_results += 1;
                    }
                    Called::Ok(text)
                }
            }
            Some(Reply::Error(e)) => {
                *self.figures().rpc_errors.entry(format!("tools/call {name}: {}", e["code"])).or_default() += 1;
                self.unexpected(format!("{name}: JSON-RPC error {e}"));
                Called::None
            }
            None => Called::None,
        }
    }

    /// One read tool; its result must show what it read, unless a fault explains it.
    async fn read(&self, via: &mut Via<'_>, kind: &'static str, rng: &mut Rng) {
        let (name, args, expect) = match rng.below(5) {
            0 => ("get_self_profile", json!({}), "Alex Morgan"),
            1 => ("get_my_folder", json!({"count": 5}), "My documents"),
            2 => ("get_folder_content", json!({"folderId": self.projects, "count": 10}), "Roadmap.docx"),
            3 => ("get_file_info", json!({"fileId": self.welcome}), "Welcome.txt"),
            _ => ("get_rooms_folder", json!({"count": 5}), "Rooms"),
        };
        if let Called::Ok(text) = self.call(via, kind, name, args).await
            && !text.contains(expect)
            && serde_json::from_str::<Value>(&text).is_ok()
        {
            self.unexpected(format!("{name}: the result does not show {expect:?}: {}", cut(&text)));
        }
    }

    /// Records a write about to be asked for; its index in the ledger.
    fn ledger(&self, kind: WriteKind, title: String, content: Option<String>) -> usize {
        let mut w = self.writes.lock().unwrap();
        w.push(Write { kind, title, content, reported: Reported::Unknown, said: String::new() });
        w.len() - 1
    }

    fn report(&self, index: usize, reported: Reported, said: &str) {
        let mut w = self.writes.lock().unwrap();
        w[index].reported = reported;
        w[index].said = said.chars().take(160).collect();
    }

    /// The arguments of a new write: its tool, arguments and ledger index.
    fn new_write(&self, rng: &mut Rng) -> (&'static str, Value, usize) {
        let n = self.next_seq();
        match rng.below(3) {
            0 => {
                let title = format!("{WRITE_PREFIX}folder-{n}");
                let i = self.ledger(WriteKind::Folder, title.clone(), None);
                ("create_folder", json!({"parentId": self.soak_folder, "title": title}), i)
            }
            1 => {
                let title = format!("{WRITE_PREFIX}room-{n}");
                let i = self.ledger(WriteKind::Room, title.clone(), None);
                ("create_room", json!({"title": title, "roomType": 2}), i)
            }
            _ => {
                let title = format!("{WRITE_PREFIX}file-{n}.txt");
                let content = format!("soak upload {n}\n").repeat(1 + (n % 7) as usize);
                let i = self.ledger(WriteKind::File, title.clone(), Some(content.clone()));
                let args = json!({"parentId": self.soak_folder, "filename": title, "content": content});
                ("upload_file", args, i)
            }
        }
    }

    /// One write tool; what the server said goes into the ledger.
    async fn write(&self, via: &mut Via<'_>, kind: &'static str, rng: &mut Rng) {
        let (name, args, index) = self.new_write(rng);
        let (reported, said) = match self.call(via, kind, name, args).await {
            Called::Ok(text) => (Reported::Done, text),
            Called::ToolError(text) if cause_of(&text) == "timeout" => (Reported::TimedOut, text),
            Called::ToolError(text) => (Reported::Failed, text),
            Called::None => (Reported::Unknown, String::new()),
        };
        self.report(index, reported, &said);
    }

    /// A delay on a path only the next call uses (`get_group` of a new id).
    fn targeted_delay(&self, delay_ms: u64) -> String {
        let n = self.next_seq();
        let id = format!("00000000-0000-4000-8000-{n:012}");
        self.targeted.fetch_add(1, Ordering::Relaxed);
        self.portal.inject(Fault {
            path: format!("{TARGETED_PATH}{id}"),
            mode: "delay".into(),
            status: 500,
            delay_ms,
            times: 1,
        });
        id
    }
}

/// The JSON-RPC reply in an answer: a JSON body, or the event stream rmcp
/// answers requests on a session with (a priming event, then the reply).
fn json_rpc_answer(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Some(v);
    }
    text.split("\n\n").find_map(|event| {
        let data: Vec<&str> =
            event.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
        serde_json::from_str::<Value>(&data.join("\n")).ok().filter(|v| v.get("id").is_some())
    })
}

/// Why a tool call failed, from its message.
fn cause_of(text: &str) -> &'static str {
    if text.contains("did not answer in time") {
        "timeout"
    } else if text.contains("could not be reached") {
        "connection"
    } else if ["malformed JSON", "not JSON", "something unexpected", "did not return an upload location"]
        .iter()
        .any(|m| text.contains(m))
    {
        "malformed answer"
    } else if text.contains("DocSpace answered HTTP") || text.contains("DocSpace refused chunk") {
        "upstream error status or envelope"
    } else {
        "other"
    }
}

fn cut(s: &str) -> String {
    let mut c: String = s.chars().take(300).collect();
    if c.len() < s.len() {
        c.push('…');
    }
    c
}

// ---- Streamable HTTP ------------------------------------------------------

impl Soak {
    /// `initialize` and `notifications/initialized`: the session id.
    async fn open_session(&self, kind: &'static str) -> Option<String> {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "soak", "version": "0"}}});
        let (status, headers, text) = self.send(kind, self.post_mcp(None, init.to_string())).await?;
        let session = headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let Some(session) = session.filter(|_| status == StatusCode::OK && text.contains("protocolVersion")) else {
            self.unexpected(format!("initialize: HTTP {status}: {}", cut(&text)));
            return None;
        };
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let (status, _, text) = self.send("streamable: notification", self.post_mcp(Some(&session), note)).await?;
        if status != StatusCode::ACCEPTED {
            self.unexpected(format!("notifications/initialized: HTTP {status}: {}", cut(&text)));
            return None;
        }
        Some(session)
    }

    async fn streamable_session(&self, rng: &mut Rng) {
        let Some(session) = self.open_session("streamable: initialize").await else { return };
        let ops = 4 + rng.below(12);
        let pause_at = rng.percent(3).then(|| rng.below(ops));
        for i in 0..ops {
            if self.done() {
                break;
            }
            if pause_at == Some(i) {
                // Past hibernation: the next request rebuilds the session's worker.
                tokio::time::sleep(Duration::from_millis(HIBERNATE_AFTER_S * 1000 + 700)).await;
                self.figures().pauses += 1;
            }
            let via = &mut Via::Session(&session);
            match rng.below(100) {
                0..10 => self.list(via, "streamable: tools/list").await,
                10..14 => self.ping(via, "streamable: ping").await,
                14..16 => self.malformed_on_session(&session, rng).await,
                16..18 => self.disconnect_mid_call(&session, rng).await,
                18..60 => self.read(via, "streamable: tools/call read", rng).await,
                _ => self.write(via, "streamable: tools/call write", rng).await,
            }
        }
        if rng.percent(8) {
            self.client_fault("abandoned session (Streamable HTTP, never deleted)");
            return;
        }
        let req = self.http.delete(format!("{}/mcp", self.base)).header("mcp-session-id", &session);
        let req = req.header("mcp-protocol-version", PROTOCOL);
        if let Some((status, _, text)) = self.send("streamable: DELETE", req).await
            && status != StatusCode::OK
        {
            self.unexpected(format!("DELETE: HTTP {status}: {}", cut(&text)));
        }
    }

    async fn list(&self, via: &mut Via<'_>, kind: &'static str) {
        match self.rpc(via, kind, "tools/list", json!({})).await {
            Some(Reply::Result(r)) if r["tools"].as_array().is_some_and(|t| t.len() > 30) => {}
            Some(Reply::Result(r)) => {
                self.unexpected(format!("{kind}: {} tools", r["tools"].as_array().map_or(0, Vec::len)))
            }
            Some(Reply::Error(e)) => self.unexpected(format!("{kind}: JSON-RPC error {e}")),
            None => {}
        }
    }

    async fn ping(&self, via: &mut Via<'_>, kind: &'static str) {
        if let Some(Reply::Error(e)) = self.rpc(via, kind, "ping", json!({})).await {
            self.unexpected(format!("{kind}: JSON-RPC error {e}"));
        }
    }

    /// A tool call dropped by the client while the server waits on the portal
    /// (a delay only this call meets), or a write dropped a moment after it
    /// was sent; the session must go on working.
    async fn disconnect_mid_call(&self, session: &str, rng: &mut Rng) {
        let (body, index, after) = if rng.percent(50) {
            let group = self.targeted_delay(400);
            let call = json!({"jsonrpc": "2.0", "id": self.next_seq(), "method": "tools/call",
                "params": {"name": "get_group", "arguments": {"id": group}}});
            (call, None, Duration::from_millis(60))
        } else {
            let (name, args, index) = self.new_write(rng);
            let call = json!({"jsonrpc": "2.0", "id": self.next_seq(), "method": "tools/call",
                "params": {"name": name, "arguments": args}});
            (call, Some(index), Duration::from_micros(rng.below(3000)))
        };
        self.client_fault("disconnect mid-call (Streamable HTTP)");
        self.begin("streamable: tools/call dropped by the client");
        let req = self.post_mcp(Some(session), body.to_string());
        // The answer is an event stream: the drop may come after its head, mid-stream.
        let exchange = async move {
            let r = req.send().await?;
            let status = r.status();
            r.text().await.map(|text| (status, text))
        };
        match tokio::time::timeout(after, exchange).await {
            Err(_) => self.figures().dropped_by_client += 1,
            Ok(Ok((status, text))) => {
                // It answered first: read it as usual.
                self.answered(status);
                if let Some(i) = index {
                    let v = json_rpc_answer(&text).unwrap_or_default();
                    let reported = match v["result"]["isError"].as_bool() {
                        Some(false) | None if v.get("result").is_some() => Reported::Done,
                        _ if text.contains("did not answer in time") => Reported::TimedOut,
                        _ => Reported::Failed,
                    };
                    self.report(i, reported, &text);
                }
            }
            Ok(Err(e)) => self.transport_error("tools/call dropped by the client", &e),
        }
    }

    /// Malformed JSON or JSON-RPC on a live session: a 4xx or a JSON-RPC
    /// error, and the session goes on.
    async fn malformed_on_session(&self, session: &str, rng: &mut Rng) {
        let body = MALFORMED[rng.below(MALFORMED.len() as u64) as usize];
        self.client_fault("malformed JSON / JSON-RPC (on a session)");
        if let Some((status, _, text)) =
            self.send("malformed request (on a session)", self.post_mcp(Some(session), body)).await
        {
            self.expect_refusal("malformed request (on a session)", status, &text);
        }
    }

    /// A refusal of a bad request: 4xx, or 200 with a JSON-RPC error, or 202
    /// for what reads as a notification or a response.
    fn expect_refusal(&self, kind: &str, status: StatusCode, text: &str) {
        let ok = status.is_client_error()
            || status == StatusCode::ACCEPTED
            || (status == StatusCode::OK && text.contains("\"error\""));
        if !ok {
            self.unexpected(format!("{kind}: HTTP {status}: {}", cut(text)));
        }
    }

    async fn stateless(&self, rng: &mut Rng) {
        let via = &mut Via::Stateless;
        match rng.below(10) {
            0 => self.list(via, "stateless: tools/list").await,
            1..6 => self.read(via, "stateless: tools/call read", rng).await,
            _ => self.write(via, "stateless: tools/call write", rng).await,
        }
    }
}

/// Bodies that are not JSON, or not JSON-RPC a server can act on.
const MALFORMED: [&str; 9] = [
    "{not json",
    "",
    "\u{0}\u{1}\u{2}garbage",
    r#"{"jsonrpc":"2.0","id":1,"method":"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"nope"}"#,
    r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
    "[]",
    r#"{"id":{"x":1},"method":7}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":42}}"#,
];

// ---- Legacy SSE -----------------------------------------------------------

/// An open `GET /sse` stream and where its messages go.
struct SseSession {
    stream: reqwest::Response,
    buffer: Vec<u8>,
    endpoint: String,
}

impl SseSession {
    /// The next event (name, data); `None` at the end of the stream.
    async fn event(&mut self) -> Result<Option<(String, String)>, reqwest::Error> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Ok(Some((name, data.join("\n"))));
            }
            match self.stream.chunk().await? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }

    /// POSTs `message` to the session; whether it was accepted (202).
    async fn post(&self, soak: &Soak, kind: &'static str, message: &Value) -> bool {
        let req = soak
            .http
            .post(format!("{}{}", soak.base, self.endpoint))
            .header("content-type", "application/json")
            .body(message.to_string());
        match soak.send(kind, req).await {
            Some((StatusCode::ACCEPTED, _, _)) => true,
            Some((status, _, text)) => {
                soak.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
                false
            }
            None => false,
        }
    }

    /// The reply with `id` from the stream.
    async fn reply(&mut self, soak: &Soak, kind: &'static str, id: u64) -> Option<Value> {
        let wait = async {
            loop {
                match self.event().await {
                    Ok(Some((name, data))) if name == "message" => {
                        let v: Value = serde_json::from_str(&data).unwrap_or_default();
                        if v["id"] == json!(id) {
                            return Ok(Some(v));
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
        match tokio::time::timeout(CLIENT_TIMEOUT, wait).await {
            Ok(Ok(Some(v))) => {
                soak.figures().sse_replies += 1;
                Some(v)
            }
            Ok(Ok(None)) => {
                soak.unexpected(format!("{kind}: the SSE stream ended before reply {id}"));
                None
            }
            Ok(Err(e)) => {
                soak.unexpected(format!("{kind}: the SSE stream failed before reply {id}: {e:?}"));
                None
            }
            Err(_) => {
                soak.figures().client_timeouts += 1;
                soak.unexpected(format!("{kind}: no reply {id} on the SSE stream within {CLIENT_TIMEOUT:?}"));
                None
            }
        }
    }
}

impl Soak {
    /// `GET /sse`, its `endpoint` event, and the `initialize` handshake.
    async fn open_sse(&self) -> Option<SseSession> {
        let kind = "sse: GET /sse";
        self.begin(kind);
        let req = self.http.get(format!("{}/sse", self.base)).header("accept", "text/event-stream");
        let stream = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                self.transport_error(kind, &e);
                return None;
            }
        };
        self.answered(stream.status());
        if stream.status() != StatusCode::OK {
            self.unexpected(format!("{kind}: HTTP {}", stream.status()));
            return None;
        }
        let mut sse = SseSession { stream, buffer: Vec::new(), endpoint: String::new() };
        match tokio::time::timeout(CLIENT_TIMEOUT, sse.event()).await {
            Ok(Ok(Some((name, data)))) if name == "endpoint" => sse.endpoint = data,
            other => {
                self.unexpected(format!("{kind}: no endpoint event: {other:?}"));
                return None;
            }
        }
        let params = json!({"protocolVersion": "2024-11-05", "capabilities": {},
            "clientInfo": {"name": "soak", "version": "0"}});
        match self.rpc(&mut Via::Sse(&mut sse), "sse: POST /messages", "initialize", params).await {
            Some(Reply::Result(_)) => {}
            Some(Reply::Error(e)) => {
                self.unexpected(format!("SSE initialize: {e}"));
                return None;
            }
            None => return None,
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        sse.post(self, "sse: POST /messages", &note).await.then_some(sse)
    }

    async fn sse_session(self: &Arc<Self>, rng: &mut Rng) {
        let Some(mut sse) = self.open_sse().await else { return };
        let ops = 3 + rng.below(8);
        for _ in 0..ops {
            if self.done() {
                break;
            }
            let kind = "sse: POST /messages";
            match rng.below(100) {
                0..10 => self.list(&mut Via::Sse(&mut sse), kind).await,
                10..14 => self.ping(&mut Via::Sse(&mut sse), kind).await,
                14..17 => {
                    let body = MALFORMED[rng.below(4) as usize];
                    self.client_fault("malformed JSON (SSE /messages)");
                    let req = self.http.post(format!("{}{}", self.base, sse.endpoint)).body(body);
                    if let Some((status, _, text)) = self.send("malformed request (SSE /messages)", req).await {
                        self.expect_refusal("malformed request (SSE /messages)", status, &text);
                    }
                }
                17..20 => {
                    self.disconnect_mid_stream(sse, rng).await;
                    return;
                }
                20..60 => self.read(&mut Via::Sse(&mut sse), kind, rng).await,
                _ => self.write(&mut Via::Sse(&mut sse), kind, rng).await,
            }
        }
        if rng.percent(5) {
            // Abandoned: the stream stays open until the server closes the idle session.
            self.client_fault("abandoned session (SSE, stream left open)");
            let handle = tokio::spawn(async move {
                let limit = Duration::from_secs(IDLE_TIMEOUT_S * 3 + 10);
                let ended = tokio::time::timeout(limit, async { while let Ok(Some(_)) = sse.event().await {} });
                ended.await.is_ok()
            });
            self.abandoned_sse.lock().unwrap().push(handle);
        }
    }

    /// A call posted, then the stream dropped before its reply: a slow read
    /// (a delay only this call meets) or a write.
    async fn disconnect_mid_stream(&self, sse: SseSession, rng: &mut Rng) {
        self.client_fault("disconnect mid-stream (SSE)");
        let (name, args, index) = if rng.percent(50) {
            ("get_group", json!({"id": self.targeted_delay(300)}), None)
        } else {
            let (name, args, index) = self.new_write(rng);
            (name, args, Some(index))
        };
        let message = json!({"jsonrpc": "2.0", "id": self.next_seq(), "method": "tools/call",
            "params": {"name": name, "arguments": args}});
        sse.post(self, "sse: POST /messages (reply abandoned)", &message).await;
        drop(sse);
        if let Some(i) = index {
            self.report(i, Reported::Unknown, "");
        }
    }
}

// ---- Client faults --------------------------------------------------------

impl Soak {
    async fn client_faults(self: &Arc<Self>, rng: &mut Rng) {
        match rng.below(8) {
            0 => {
                // Over the limit, declared: 413 before a byte of it is read.
                self.client_fault("oversized body (Content-Length)");
                let body = format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#,
                    "x".repeat(MAX_BODY)
                );
                let kind = "oversized body";
                if let Some((status, _, text)) = self.send(kind, self.post_mcp(None, body)).await
                    && status != StatusCode::PAYLOAD_TOO_LARGE
                {
                    self.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
                }
            }
            1 => {
                // Over the limit, streamed without a length.
                self.client_fault("oversized body (chunked)");
                let pieces = (0..5).map(|_| Ok::<_, std::io::Error>(vec![b' '; MAX_BODY / 4]));
                let body = reqwest::Body::wrap_stream(futures::stream::iter(pieces));
                let kind = "oversized body (chunked)";
                if let Some((status, _, text)) = self.send(kind, self.post_mcp(None, body)).await
                    && status != StatusCode::PAYLOAD_TOO_LARGE
                {
                    self.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
                }
            }
            2 | 3 => {
                self.client_fault("malformed JSON / JSON-RPC (no session)");
                let body = MALFORMED[rng.below(MALFORMED.len() as u64) as usize];
                let kind = "malformed request (no session)";
                if let Some((status, _, text)) = self.send(kind, self.post_mcp(None, body)).await {
                    self.expect_refusal(kind, status, &text);
                }
            }
            4 => {
                self.client_fault("unknown session");
                let fake = format!("{:032x}", rng.next());
                let (kind, req) = if rng.percent(50) {
                    (
                        "unknown session (/mcp)",
                        self.post_mcp(Some(&fake), r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
                    )
                } else {
                    let url = format!("{}/messages?sessionId={fake}", self.base);
                    (
                        "unknown session (/messages)",
                        self.http.post(url).body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
                    )
                };
                if let Some((status, _, text)) = self.send(kind, req).await
                    && status != StatusCode::NOT_FOUND
                {
                    self.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
                }
            }
            5 => self.raw(RawFault::Garbage(rng.next())),
            6 => {
                self.raw(if rng.percent(50) { RawFault::TruncatedBodyStalled } else { RawFault::TruncatedBodyDropped })
            }
            _ => self.raw(RawFault::StalledHead),
        }
    }

    /// Runs a raw-TCP client fault in the background (some take seconds).
    fn raw(self: &Arc<Self>, fault: RawFault) {
        let me = self.clone();
        let handle = tokio::spawn(async move { me.raw_fault(fault).await });
        self.raw.lock().unwrap().push(handle);
    }

    async fn raw_fault(&self, fault: RawFault) {
        let kind = fault.label();
        self.client_fault(kind);
        self.begin(kind);
        let mut tcp = match TcpStream::connect(&self.addr).await {
            Ok(t) => t,
            Err(e) => {
                self.figures().transport_errors += 1;
                self.unexpected(format!("{kind}: cannot connect: {e}"));
                return;
            }
        };
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n",
            self.addr
        );
        let bytes = match fault {
            RawFault::Garbage(seed) => {
                let mut rng = Rng::new(seed);
                let len = 16 + rng.below(2048) as usize;
                let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if rng.percent(30) {
                    b.extend_from_slice(b"\r\n\r\n");
                }
                b
            }
            RawFault::TruncatedBodyStalled | RawFault::TruncatedBodyDropped => {
                format!("{head}Content-Length: 1000\r\n\r\n{{\"jsonrpc\":\"2.0\",\"id\":1,").into_bytes()
            }
            RawFault::StalledHead => head.into_bytes(),
        };
        if tcp.write_all(&bytes).await.is_err() {
            // The server may close as soon as it sees garbage.
            self.figures().clean_closes += 1;
            return;
        }
        if matches!(fault, RawFault::TruncatedBodyDropped) {
            drop(tcp);
            self.figures().dropped_by_client += 1;
            return;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(CLIENT_TIMEOUT, tcp.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok());
        match (read, status) {
            (Err(_), _) => {
                self.figures().client_timeouts += 1;
                self.unexpected(format!("{kind}: the server neither answered nor closed within {CLIENT_TIMEOUT:?}"));
            }
            (Ok(_), Some(status)) => {
                self.answered(status);
                let expected = match fault {
                    RawFault::TruncatedBodyStalled => status == StatusCode::REQUEST_TIMEOUT,
                    _ => status.is_client_error(),
                };
                if !expected {
                    self.unexpected(format!("{kind}: HTTP {status}: {}", cut(&text)));
                }
            }
            (Ok(Ok(_)), None) if answer.is_empty() => self.figures().clean_closes += 1,
            (Ok(Err(e)), None) if answer.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                let mut f = self.figures();
                f.clean_closes += 1;
                f.closed_with_reset += 1;
            }
            (Ok(r), None) => {
                self.figures().transport_errors += 1;
                self.unexpected(format!("{kind}: not an HTTP answer ({r:?}): {}", cut(&text)));
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RawFault {
    Garbage(u64),
    TruncatedBodyStalled,
    TruncatedBodyDropped,
    StalledHead,
}

impl RawFault {
    fn label(self) -> &'static str {
        match self {
            Self::Garbage(_) => "garbage bytes (raw TCP)",
            Self::TruncatedBodyStalled => "truncated body, then silence (raw TCP)",
            Self::TruncatedBodyDropped => "truncated body, then disconnect (raw TCP)",
            Self::StalledHead => "stalled request head (raw TCP)",
        }
    }
}

// ---- The run --------------------------------------------------------------

/// The server process, stopped however the bench ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server; its process, base URL and the count of its error log lines.
fn server(portal: &str) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")) {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["--transport", "http", "--port", "0"])
        .args(["--request-timeout", &REQUEST_TIMEOUT_S.to_string()])
        .args(["--http-max-body-bytes", &MAX_BODY.to_string()])
        .env("DOCSPACE_BASE_URL", portal)
        .env("DOCSPACE_API_KEY", sandbox::API_KEY)
        .env("DOCSPACE_LOG_LEVEL", "info")
        .env("DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", "0")
        .env("DOCSPACE_MAX_SESSIONS_PER_IP", "0")
        .env("DOCSPACE_SESSION_IDLE_TIMEOUT", IDLE_TIMEOUT_S.to_string())
        .env("DOCSPACE_SESSION_HIBERNATE_AFTER", HIBERNATE_AFTER_S.to_string())
        .env("DOCSPACE_HTTP_HEADER_TIMEOUT", HEADER_TIMEOUT_S.to_string())
        .env("DOCSPACE_HTTP_BODY_TIMEOUT", BODY_TIMEOUT_S.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some(rest) = line.split("serving MCP over HTTP on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Warnings are expected (upstream failures are logged); errors and panics are not.
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("ERROR") || line.contains("panicked") {
                seen.lock().unwrap().push(line);
            }
        }
    });
    (child, address, errors)
}

/// Injects one untargeted upstream fault per `every` requests, in turn,
/// keeping at most [`MAX_PENDING_FAULTS`] waiting.
async fn inject_faults(soak: Arc<Soak>, every: u64) -> BTreeMap<&'static str, u64> {
    let mut injected: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut n = 0u64;
    while !soak.done() {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let due = soak.sent.load(Ordering::Relaxed) / every.max(1);
        let pending = soak.portal.faults_pending().iter().filter(|f| !f.path.starts_with(TARGETED_PATH)).count();
        if n < due && pending < MAX_PENDING_FAULTS {
            let kind = UPSTREAM_FAULTS[(n % UPSTREAM_FAULTS.len() as u64) as usize];
            let path = FAULT_PATHS[((n / UPSTREAM_FAULTS.len() as u64) % FAULT_PATHS.len() as u64) as usize];
            soak.portal.inject(kind.fault(path));
            *injected.entry(kind.label()).or_default() += 1;
            n += 1;
        }
    }
    injected
}

/// The server's resident memory, sampled every 100 ms while the load runs.
struct Memory {
    /// (seconds since the start, requests sent, KiB).
    samples: Vec<(f64, u64, u64)>,
}

/// Samples averaged over for the figures after warm-up and at the end (2 s).
const WINDOW: usize = 20;

impl Memory {
    fn mean(samples: &[(f64, u64, u64)]) -> u64 {
        samples.iter().map(|s| s.2).sum::<u64>() / samples.len().max(1) as u64
    }

    /// The mean over the first [`WINDOW`] samples after warm-up (the first
    /// tenth of the requests, and at least 10 s), and when warm-up ended.
    fn after_warm_up(&self, total: u64) -> (u64, f64) {
        let start = self
            .samples
            .iter()
            .position(|(t, sent, _)| *sent >= total / 10 && *t >= 10.0)
            .unwrap_or(self.samples.len().saturating_sub(WINDOW));
        let window = &self.samples[start..(start + WINDOW).min(self.samples.len())];
        (Self::mean(window), window.first().map_or(0.0, |s| s.0))
    }

    /// The mean over the last [`WINDOW`] samples.
    fn at_the_end(&self) -> u64 {
        Self::mean(&self.samples[self.samples.len().saturating_sub(WINDOW)..])
    }

    fn peak(&self) -> u64 {
        self.samples.iter().map(|s| s.2).max().unwrap_or(0)
    }
}

async fn sample_memory(soak: Arc<Soak>, pid: u32) -> Memory {
    let mut samples = Vec::new();
    while !soak.done() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = soak.sent.load(Ordering::Relaxed);
        samples.push((soak.started.elapsed().as_secs_f64(), sent, rss_kib(pid)));
    }
    Memory { samples }
}

/// How the portal's state compares with the writes the server reported.
#[derive(Default)]
struct Verdict {
    by_report: BTreeMap<String, u64>,
    lost: Vec<String>,
    doubled: Vec<String>,
    phantom: Vec<String>,
    wrong_content: Vec<String>,
    strays: Vec<String>,
    /// Writes whose answer was lost, found done: (timed out, dropped by the client).
    done_anyway: (u64, u64),
}

/// An item of the portal with a write's title: id, parent, a file's content.
type Found = (i64, i64, Option<Vec<u8>>);

fn check_writes(soak: &Soak) -> Verdict {
    let writes = soak.writes.lock().unwrap();
    let found: BTreeMap<String, Vec<Found>> = soak
        .portal
        .inspect(|s| {
            let mut m: BTreeMap<String, Vec<Found>> = BTreeMap::new();
            for e in s.entries.values().filter(|e| e.title.starts_with(WRITE_PREFIX)) {
                m.entry(e.title.clone()).or_default().push((e.id, e.parent, e.content.clone()));
            }
            m
        })
        .unwrap();
    let mut v = Verdict::default();
    let mut asked = std::collections::BTreeSet::new();
    for w in writes.iter() {
        asked.insert(w.title.as_str());
        *v.by_report.entry(format!("{:?} {:?}", w.kind, w.reported)).or_default() += 1;
        let there = found.get(&w.title).map_or(&[][..], Vec::as_slice);
        let parent_ok = there.iter().all(|(_, parent, _)| match w.kind {
            WriteKind::Room => *parent == sandbox::store::ROOMS,
            _ => *parent == soak.soak_folder,
        });
        if there.len() > 1 {
            v.doubled.push(format!("{} ({:?}, {} copies)", w.title, w.reported, there.len()));
        }
        match (&w.reported, there.len()) {
            (Reported::Done, 0) => v.lost.push(format!("{}: {}", w.title, w.said)),
            (Reported::Failed, n) if n > 0 => v.phantom.push(format!("{}: {}", w.title, w.said)),
            (Reported::TimedOut, 1) => v.done_anyway.0 += 1,
            (Reported::Unknown, 1) => v.done_anyway.1 += 1,
            _ => {}
        }
        let content_ok = there.iter().all(|(_, _, c)| match (&w.content, c) {
            (Some(sent), Some(stored)) => sent.as_bytes() == stored.as_slice(),
            (None, None) => true,
            _ => false,
        });
        if !content_ok || !parent_ok {
            v.wrong_content.push(w.title.clone());
        }
    }
    v.strays = found.keys().filter(|t| !asked.contains(t.as_str())).cloned().collect();
    v
}

fn main() {
    let total = env_u64("SOAK_REQUESTS", 50_000);
    let clients = env_u64("SOAK_CLIENTS", 48);
    let fault_every = env_u64("SOAK_FAULT_EVERY", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let code = rt.block_on(async move {
        let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
        let (child, base, server_errors) = server(portal.base_url());
        let mut child = KillOnDrop(child);
        let pid = child.0.id();
        let addr = base.trim_start_matches("http://").to_owned();
        let (projects, welcome) = portal
            .inspect(|s| {
                let id = |t: &str| s.entries.values().find(|e| e.title == t).map(|e| e.id).unwrap();
                (id("Projects"), id("Welcome.txt"))
            })
            .unwrap();
        let http = docspace_mcp_client::tls::builder()
            .pool_max_idle_per_host(256)
            // Below the server's header timeout, so no request meets a connection it is closing.
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let rss_start = rss_kib(pid);
        println!(
            "soak: {total} requests, {clients} clients, one upstream fault per {fault_every} requests; server {base} (pid {pid}), {}",
            mib(rss_start)
        );
        let mut soak = Soak {
            total,
            started: Instant::now(),
            sent: AtomicU64::new(0),
            seq: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            http,
            base,
            addr,
            portal,
            soak_folder: 0,
            projects,
            welcome,
            figures: Mutex::default(),
            writes: Mutex::default(),
            targeted: AtomicU64::new(0),
            abandoned_sse: Mutex::default(),
            raw: Mutex::default(),
        };
        // Writes go into one folder of their own, created through MCP before any fault.
        let session = soak.open_session("streamable: initialize").await.expect("a first session");
        let root = soak
            .call(&mut Via::Session(&session), "setup", "create_folder", json!({"parentId": 1, "title": "soak-root"}))
            .await;
        let Called::Ok(text) = root else {
            panic!("cannot create the soak folder: {:?}", soak.figures().unexpected);
        };
        soak.soak_folder = serde_json::from_str::<Value>(&text).unwrap()["response"]["id"].as_i64().unwrap();
        let soak = Arc::new(soak);

        let injector = tokio::spawn(inject_faults(soak.clone(), fault_every));
        let memory = tokio::spawn(sample_memory(soak.clone(), pid));
        let workers: Vec<_> = (0..clients)
            .map(|w| {
                let soak = soak.clone();
                tokio::spawn(async move {
                    let mut rng = Rng::new(w + 1);
                    while !soak.done() {
                        match rng.below(100) {
                            0..40 => soak.streamable_session(&mut rng).await,
                            40..65 => soak.stateless(&mut rng).await,
                            65..90 => soak.sse_session(&mut rng).await,
                            _ => soak.client_faults(&mut rng).await,
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let raws: Vec<_> = std::mem::take(&mut *soak.raw.lock().unwrap());
        for r in raws {
            r.await.unwrap();
        }
        let duration = soak.started.elapsed();
        soak.stop.store(true, Ordering::Relaxed);
        let injected = injector.await.unwrap();
        let memory = memory.await.unwrap();
        let (rss_warm, warm_at) = memory.after_warm_up(total);
        let (rss_end, rss_peak) = (memory.at_the_end(), memory.peak());

        // Abandoned SSE streams end when the server closes their idle sessions.
        let abandoned: Vec<_> = std::mem::take(&mut *soak.abandoned_sse.lock().unwrap());
        let abandoned_count = abandoned.len();
        let mut abandoned_closed = 0;
        for a in abandoned {
            abandoned_closed += usize::from(a.await.unwrap());
        }
        // Then every session expires; the allocator returns what they held.
        tokio::time::sleep(Duration::from_secs(IDLE_TIMEOUT_S * 2 + 1)).await;
        let health = soak.http.get(format!("{}/health", soak.base)).send().await;
        let health: Option<Value> = match health {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss_idle = rss_kib(pid);
        let alive = child.0.try_wait().unwrap().is_none();

        let verdict = check_writes(&soak);
        let applied = soak.portal.faults_applied();
        let pending = soak.portal.faults_pending();
        let targeted = soak.targeted.load(Ordering::Relaxed);
        let targeted_pending = pending.iter().filter(|f| f.path.starts_with(TARGETED_PATH)).count() as u64;
        let targeted_applied = targeted - targeted_pending;
        let untargeted_applied: u64 = applied.values().sum::<u64>() - targeted_applied;
        let f = soak.figures.lock().unwrap();
        let requests: u64 = f.requests.values().sum();
        let answered: u64 = f.statuses.values().sum();
        let tool_errors: u64 = f.tool_errors.values().sum();
        let class = |c: u16| f.statuses.iter().filter(|(s, _)| *s / 100 == c).map(|(_, n)| n).sum::<u64>();
        let statuses = |c: u16| {
            f.statuses
                .iter()
                .filter(|(s, _)| *s / 100 == c)
                .map(|(s, n)| format!("{s}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };

        println!();
        println!("| figure | value |");
        println!("|---|---|");
        println!("| duration | {:.1} s ({:.0} requests/s) |", duration.as_secs_f64(), requests as f64 / duration.as_secs_f64());
        println!("| requests (HTTP requests and raw connections) | {requests} |");
        for (k, n) in &f.requests {
            println!("| — {k} | {n} |");
        }
        println!("| client faults | {} |", f.client_faults.values().sum::<u64>());
        for (k, n) in &f.client_faults {
            println!("| — {k} | {n} |");
        }
        println!("| session pauses past hibernation (worker rebuilt) | {} |", f.pauses);
        println!("| upstream faults injected (untargeted) | {} |", injected.values().sum::<u64>());
        for (k, n) in &injected {
            println!("| — {k} | {n} |");
        }
        println!(
            "| upstream faults applied by the portal | {untargeted_applied} (+ {targeted_applied} targeted delays that kept a dropped call in flight) |"
        );
        for (k, n) in &applied {
            println!("| — mode `{k}` | {n} |");
        }
        println!("| answers 2xx | {} ({}) |", class(2), statuses(2));
        println!("| answers 4xx | {} ({}) |", class(4), statuses(4));
        println!("| answers 5xx | {} ({}) |", class(5), statuses(5));
        println!(
            "| clean closes without an answer (raw TCP) | {} (of which {} with a TCP reset) |",
            f.clean_closes, f.closed_with_reset
        );
        println!("| requests dropped by the client on purpose | {} |", f.dropped_by_client);
        println!("| client-side timeouts | {} |", f.client_timeouts);
        println!("| transport errors (no answer, no clean close) | {} |", f.transport_errors);
        println!("| replies read on SSE streams | {} |", f.sse_replies);
        println!("| tool results (successful) | {} (of which {} not JSON) |", f.tool_results, f.non_json_results);
        println!("| tool errors | {tool_errors} |");
        for (k, n) in &f.tool_errors {
            println!("| — {k} | {n} |");
        }
        println!("| JSON-RPC errors on valid requests | {} |", f.rpc_errors.values().sum::<u64>());
        println!("| writes asked for | {} |", soak.writes.lock().unwrap().len());
        for (k, n) in &verdict.by_report {
            println!("| — {k} | {n} |");
        }
        let (timed_out, dropped) = verdict.by_report.iter().fold((0, 0), |(t, d), (k, n)| {
            (t + if k.ends_with("TimedOut") { *n } else { 0 }, d + if k.ends_with("Unknown") { *n } else { 0 })
        });
        println!(
            "| writes whose answer was lost, found done | {} of {timed_out} timed out, {} of {dropped} dropped by the client |",
            verdict.done_anyway.0, verdict.done_anyway.1
        );
        println!("| lost writes (reported done, not in the portal) | {} |", verdict.lost.len());
        println!("| doubled writes (in the portal more than once) | {} |", verdict.doubled.len());
        println!("| writes reported failed yet done | {} |", verdict.phantom.len());
        println!("| writes with the wrong content or place | {} |", verdict.wrong_content.len());
        println!("| items in the portal nobody asked for | {} |", verdict.strays.len());
        println!("| unexpected outcomes | {} |", f.unexpected_count);
        println!("| server ERROR log lines / panics (see below) | {} |", server_errors.lock().unwrap().len());
        println!("| RSS at start | {} |", mib(rss_start));
        println!("| RSS after warm-up (mean of 2 s from {warm_at:.1} s) | {} |", mib(rss_warm));
        println!(
            "| RSS at the end (mean of the last 2 s of load) | {} ({:+.1}%) |",
            mib(rss_end),
            (rss_end as f64 / rss_warm.max(1) as f64 - 1.0) * 100.0
        );
        println!("| RSS peak | {} |", mib(rss_peak));
        println!("| RSS once every session expired (+10 s) | {} |", mib(rss_idle));
        println!(
            "| sessions after expiry (/health) | {} open, {} live |",
            health.as_ref().map_or(json!("?"), |h| h["sessions"].clone()),
            health.as_ref().map_or(json!("?"), |h| h["live_sessions"].clone())
        );
        println!("| abandoned SSE streams closed by the server | {abandoned_closed} of {abandoned_count} |");
        println!();

        let mut failed = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                failed.push(what);
            }
        };
        check(alive, "the server process exited".into());
        check(health.is_some(), "/health did not answer".into());
        check(requests >= total, format!("only {requests} requests of {total}"));
        let accounted = answered + f.clean_closes + f.dropped_by_client + f.client_timeouts + f.transport_errors;
        check(accounted == requests, format!("{requests} requests, {accounted} accounted for"));
        check(f.client_timeouts == 0, format!("{} client-side timeouts", f.client_timeouts));
        check(f.transport_errors == 0, format!("{} requests with neither an answer nor a clean close", f.transport_errors));
        check(class(5) == 0, format!("{} 5xx answers", class(5)));
        check(f.unexpected_count == 0, format!("{} unexpected outcomes", f.unexpected_count));
        check(verdict.lost.is_empty(), format!("lost writes: {:?}", first(&verdict.lost)));
        check(verdict.doubled.is_empty(), format!("doubled writes: {:?}", first(&verdict.doubled)));
        check(verdict.phantom.is_empty(), format!("writes reported failed yet done: {:?}", first(&verdict.phantom)));
        check(verdict.wrong_content.is_empty(), format!("wrong content or place: {:?}", first(&verdict.wrong_content)));
        check(verdict.strays.is_empty(), format!("items nobody asked for: {:?}", first(&verdict.strays)));
        check(
            tool_errors + f.non_json_results <= untargeted_applied,
            format!("{tool_errors} tool errors and {} non-JSON results, only {untargeted_applied} faults", f.non_json_results),
        );
        check(
            health.as_ref().is_some_and(|h| h["sessions"] == json!(0)),
            format!("sessions left after expiry: {health:?}"),
        );
        check(abandoned_closed == abandoned_count, format!("{abandoned_closed} of {abandoned_count} abandoned SSE streams closed"));
        let server_errors = server_errors.lock().unwrap().clone();
        let mut distinct: BTreeMap<String, u64> = BTreeMap::new();
        for line in &server_errors {
            let message = line.split_once(" ERROR ").map_or(line.as_str(), |(_, m)| m);
            *distinct.entry(message.to_owned()).or_default() += 1;
        }
        let mut unexplained = 0;
        for (m, n) in &distinct {
            let expected = CLIENT_GONE.iter().any(|c| m.starts_with(c));
            if !expected {
                unexplained += n;
            }
            let why = if expected { " (a client went away: expected)" } else { "" };
            println!("server error log line ({n}×){why}: {m}");
        }
        check(unexplained == 0, format!("{unexplained} server error log lines or panics no client fault explains"));
        let growth = rss_end as f64 / rss_warm.max(1) as f64 - 1.0;
        // Growth is what a leak looks like; memory given back is not.
        check(growth <= 0.10, format!("RSS grew {:+.1}% after warm-up", growth * 100.0));
        for u in &f.unexpected {
            println!("unexpected: {u}");
        }
        drop(child);
        if failed.is_empty() {
            println!("soak passed");
            0
        } else {
            for f in &failed {
                println!("FAILED: {f}");
            }
            1
        }
    });
    std::process::exit(code);
}

fn first(v: &[String]) -> &[String] {
    &v[..v.len().min(10)]
}

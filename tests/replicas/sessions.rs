//! MCP sessions across replicas, driven by the official Python MCP SDK
//! (`tests/clients/replicas_client.py`) through nginx: a client that pauses
//! between phases, so that the test can kill a replica or the store while
//! the session stays open, and raw requests on a session to a chosen
//! replica.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docspace_mcp::sandbox;
use docspace_mcp_client::reqwest;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::common::clients::python_with_sdk;
use super::common::root;
use super::topology::{Access, Topology, http};

/// How long one phase of the Python client may take: a guard against a
/// hang (a phase takes about a second here), not a measurement.
const PHASE_WITHIN: Duration = Duration::from_secs(120);

/// The Python client, running.
pub struct PyClient {
    label: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Everything it printed so far.
    pub out: String,
    err: Arc<Mutex<String>>,
}

/// Where the client paused.
#[derive(Debug)]
pub struct Pause {
    pub session: String,
    pub protocol: String,
}

impl PyClient {
    /// A session at `endpoint` (`/mcp` or `/sse`) through nginx, making
    /// `phases[i]` tool calls in phase `i`.
    pub fn start(t: &Topology, endpoint: &str, phases: &[usize]) -> Self {
        let python = python_with_sdk().expect("the Python MCP SDK");
        let mut child = tokio::process::Command::new(python)
            .arg(root().join("tests/clients/replicas_client.py"))
            .arg(format!("{}{endpoint}", t.public))
            .args([t.portal.base_url(), sandbox::API_KEY])
            .args(phases.iter().map(ToString::to_string))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let err = Arc::new(Mutex::new(String::new()));
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = err.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { label: endpoint.to_owned(), child, stdin, lines, out: String::new(), err }
    }

    fn output(&self) -> String {
        format!("{}\n--- stderr:\n{}", self.out, self.err.lock().unwrap())
    }

    /// Reads its output up to its next pause.
    pub async fn until_pause(&mut self) -> Pause {
        let read = async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.out.push_str(&line);
                self.out.push('\n');
                if let Some(rest) = line.strip_prefix("PAUSE ") {
                    let field =
                        |name: &str| rest.split(' ').find_map(|w| w.strip_prefix(name)).unwrap_or_default().to_owned();
                    return Some(Pause { session: field("session="), protocol: field("protocol=") });
                }
            }
            None
        };
        match tokio::time::timeout(PHASE_WITHIN, read).await {
            Ok(Some(pause)) => {
                assert!(
                    !self.out.contains("FAIL"),
                    "{}: the Python client reported failures:\n{}",
                    self.label,
                    self.output()
                );
                pause
            }
            Ok(None) => panic!("{}: the Python client ended before its pause:\n{}", self.label, self.output()),
            Err(_) => panic!("{}: the Python client hangs:\n{}", self.label, self.output()),
        }
    }

    /// Lets it go on to its next phase.
    pub async fn go(&mut self) {
        self.stdin.write_all(b"go\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Waits for its end: every check passed.
    pub async fn finish(mut self) -> String {
        let rest = async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.out.push_str(&line);
                self.out.push('\n');
            }
            self.child.wait().await.unwrap()
        };
        let status = tokio::time::timeout(PHASE_WITHIN, rest)
            .await
            .unwrap_or_else(|_| panic!("{}: the Python client hangs:\n{}", self.label, self.output()));
        assert!(
            status.success() && self.out.contains(" passed, 0 failed") && !self.out.contains("FAIL"),
            "{}: the Python client reported failures:\n{}",
            self.label,
            self.output()
        );
        self.out.clone()
    }
}

/// The requests of one session in nginx's log: Streamable HTTP by its
/// `Mcp-Session-Id` (the initialize by the answer's), legacy SSE by the
/// `sessionId` of its `POST /messages`.
pub fn of_session<'a>(log: &'a [Access], session: &str) -> Vec<&'a Access> {
    log.iter()
        .filter(|a| a.session == session || a.new_session == session || a.uri.contains(&format!("sessionId={session}")))
        .collect()
}

/// A request on the session `pause` names, sent to `base` (a replica, or
/// nginx) with the session's credentials: the status and the body.
pub async fn on_session(t: &Topology, base: &str, pause: &Pause, body: &Value) -> (u16, Value) {
    let r = http()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", &pause.protocol)
        .header("mcp-session-id", &pause.session)
        .header("x-mcp-base-url", t.portal.base_url())
        .header("x-mcp-api-key", sandbox::API_KEY)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, answer(r).await)
}

/// A new session's `initialize` at `base`, with per-request credentials:
/// the status, the answer and the session id.
pub async fn new_session(t: &Topology, base: &str) -> (u16, Value, Option<String>) {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
        "capabilities": {}, "clientInfo": {"name": "replicas-test", "version": "0"}}});
    let r = http()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("x-mcp-base-url", t.portal.base_url())
        .header("x-mcp-api-key", sandbox::API_KEY)
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let session = r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, answer(r).await, session)
}

/// A JSON answer, or the last `data:` of an event stream.
async fn answer(r: reqwest::Response) -> Value {
    let text = r.text().await.unwrap_or_default();
    let json = if text.trim_start().starts_with('{') {
        text
    } else {
        text.lines().filter_map(|l| l.strip_prefix("data:")).next_back().unwrap_or_default().trim().to_owned()
    };
    serde_json::from_str(&json).unwrap_or(Value::Null)
}

/// A ping on the session.
pub fn ping(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

/// A legacy SSE session through nginx: the `GET /sse` stream is held by one
/// replica and its `POST /messages` land on all three (relayed to the
/// stream's replica through the store).
pub async fn sse_session_spans_replicas(t: &Topology, calls: usize) {
    let mark = t.nginx.mark();
    let out = PyClient::start(t, "/sse", &[calls]).finish().await;
    let log = t.nginx.log_since(mark);
    let session = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("[sse] session ").and_then(|r| r.split(',').next()))
        .unwrap_or_else(|| panic!("no session id in the client's output:\n{out}"))
        .to_owned();
    let posts: Vec<&Access> =
        of_session(&log, &session).into_iter().filter(|a| a.method == "POST" && a.path() == "/messages").collect();
    assert!(posts.len() > calls, "the session's POST /messages in nginx's log: {posts:#?}\n{log:#?}");
    let bad: Vec<&&Access> = posts.iter().filter(|a| a.status != 202).collect();
    assert!(bad.is_empty(), "POST /messages not accepted: {bad:#?}");
    let stream: Vec<&Access> = log.iter().filter(|a| a.method == "GET" && a.path() == "/sse").collect();
    assert_eq!(stream.len(), 1, "one GET /sse stream: {stream:#?}");
    let posted: Vec<Access> = posts.iter().map(|a| (*a).clone()).collect();
    let replicas = t.replicas_of(&posted);
    println!(
        "sse: stream on replica {:?}, {} POST /messages on replicas {replicas:?}",
        t.replica_at(stream[0].upstream()),
        posts.len()
    );
    assert_eq!(replicas.len(), 3, "the POST /messages landed on every replica: {posts:#?}");
}

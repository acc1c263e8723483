//! The test harness shared by both test binaries (`integration` and
//! `interop`, each including it with `#[path]`): paths and the binary, the
//! MCP schemas, a scripted HTTP upstream on 127.0.0.1 (here), test servers
//! of every mode ([`server`]), and the OAuth flow as clients walk it
//! ([`oauth`]). No test module imports from a sibling test: what two of them
//! need lives here.

// Each binary uses part of the harness.
#![allow(dead_code)]

pub mod clients;
pub mod mcp_http;
pub mod oauth;
pub mod server;
pub mod store;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The `docspace-mcp` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_docspace-mcp");

/// A command for the binary that inherits none of the caller's `DOCSPACE_*`
/// settings (or `RUST_LOG`, or OpenTelemetry's `OTEL_*`), only `envs`.
pub fn server_command(args: &[&str], envs: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("DOCSPACE_") || k.starts_with("OTEL_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(envs.iter().copied());
    cmd
}

/// The text content of a tool result, joined.
pub fn text(r: &rmcp::model::CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An official MCP JSON schema: the copy under `tests/fixtures/mcp-schema`
/// (or `$MCP_SCHEMA_DIR`, to check against another copy).
pub fn mcp_schema(version: &str) -> serde_json::Value {
    let dir =
        std::env::var("MCP_SCHEMA_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("tests/fixtures/mcp-schema"));
    let path = dir.join(format!("schema-{version}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (set MCP_SCHEMA_DIR)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A canned response.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay_ms: u64,
    /// More response headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::text(status, "application/json", body.to_string())
    }

    pub fn text(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Self { status, content_type, body: body.into(), delay_ms: 0, headers: Vec::new() }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self { headers: vec![("location", location.to_owned())], ..Self::text(status, "text/plain", "moved") }
    }
}

/// An HTTP/1.1 server on 127.0.0.1:0 answering every request with
/// `respond(&request)`, recording what it saw.
pub struct Upstream {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    log.lock().unwrap().push(request.clone());
                    let reply = respond(&request);
                    if reply.delay_ms > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(reply.delay_ms)).await;
                    }
                    let extra: String = reply.headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
                    let head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                        reply.status,
                        reply.content_type,
                        reply.body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(reply.body.as_bytes()).await;
                });
            }
        });
        Self { base_url, seen }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen { method, target, headers, body })
}

/// One recipe of docs/clients.md: its name, how it runs (the words after
/// the name) and its text.
pub struct Recipe {
    pub name: String,
    pub kind: Vec<String>,
    pub text: String,
}

/// docs/clients.md's recipes: each block after a `<!-- recipe: NAME KIND … -->` line.
pub fn recipes() -> Vec<Recipe> {
    let page = std::fs::read_to_string(root().join("docs/clients.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(spec) = line.trim().strip_prefix("<!-- recipe:").and_then(|s| s.strip_suffix("-->")) else {
            continue;
        };
        let mut words = spec.split_whitespace().map(str::to_owned);
        let name = words.next().expect("a recipe's name");
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "{name}: the block must follow its recipe line");
        let text: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        out.push(Recipe { name, kind: words.collect(), text: text.join("\n") });
    }
    out
}

//! Raw MCP over HTTP, as a client without an SDK sends it: one POST to a
//! Streamable HTTP endpoint and its answer (JSON or an event stream), the
//! 2025 session handshake, the 2026-07-28 stateless request, and the
//! events of an SSE stream.

use std::time::Duration;

use docspace_mcp_client::reqwest::{self, header::HeaderMap};
use futures::StreamExt;
use serde_json::{Value, json};

/// One POST's answer.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The JSON-RPC messages of a JSON or event-stream answer, in order.
    pub fn messages(&self) -> Vec<Value> {
        if self.body.trim_start().starts_with('{') {
            return serde_json::from_str(&self.body).into_iter().collect();
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }

    /// The last of them (the response, after any notifications), or null.
    pub fn message(&self) -> Value {
        self.messages().pop().unwrap_or(Value::Null)
    }

    /// The body as JSON, or null.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The `Mcp-Session-Id` the answer gave, if any.
    pub fn session(&self) -> Option<String> {
        self.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// One POST of `body` to the MCP endpoint `url` (a 2025-06-18 client's
/// headers; `headers` add to or replace them).
pub async fn post(url: &str, session: Option<&str>, headers: &[(&str, &str)], body: &Value) -> Answer {
    let mut req = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("mcp-protocol-version")) {
        req = req.header("mcp-protocol-version", "2025-06-18");
    }
    req = req.body(body.to_string());
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    Answer { status: r.status().as_u16(), headers: r.headers().clone(), body: r.text().await.unwrap() }
}

/// `initialize` (protocol 2025-06-18).
pub fn init(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
}

/// `initialize` and `notifications/initialized` on `url` (with `headers`); the session id.
pub async fn open(url: &str, headers: &[(&str, &str)]) -> String {
    let a = post(url, None, headers, &init(1)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let session = a.session().expect("a session id");
    let n = post(url, Some(&session), headers, &json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    assert_eq!(n.status, 202, "{}", n.body);
    session
}

/// `tools/call`.
pub fn call(id: u64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

/// `tools/list`.
pub fn list(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

/// A 2026-07-28 request (stateless: no session, the protocol version,
/// client info and capabilities in `_meta`, the `Mcp-Method` and
/// `Mcp-Name` headers), with `meta` merged into `params._meta`.
pub async fn stateless(url: &str, id: u64, method: &str, params: Value, meta: Value) -> Answer {
    let mut params = if params.is_null() { json!({}) } else { params };
    let mut all = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    if let (Some(all), Some(meta)) = (all.as_object_mut(), meta.as_object()) {
        all.extend(meta.clone());
    }
    params["_meta"] = all;
    let name = params["name"].as_str().or(params["uri"].as_str()).map(str::to_owned);
    let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    if let Some(name) = &name {
        headers.push(("mcp-name", name));
    }
    post(url, None, &headers, &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await
}

/// Reads SSE events (`event`, `data`) from a response body.
pub struct Events {
    stream: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buffer: String,
}

impl Events {
    pub fn new(r: reqwest::Response) -> Self {
        Self { stream: r.bytes_stream().boxed(), buffer: String::new() }
    }

    /// Reads until the stream ends (or fails).
    pub async fn end(&mut self) {
        while let Some(Ok(_)) = self.stream.next().await {}
    }

    /// The next event with data (keep-alive comments and priming events are skipped).
    pub async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_owned();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return (event, data);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("an SSE event in time")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}

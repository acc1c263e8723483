//! What an anonymous caller can make the HTTP server spend, tried as an
//! attacker would over raw sockets on 127.0.0.1: request bodies (each route's
//! size, the deadline, the budget over all requests, an unknown session
//! refused before its body), slow and idle connections, the connection cap.

use std::time::Duration;

use docspace_mcp_client::reqwest;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::server::{OAuth, TestServer};

/// Long enough for any answer on a loaded machine; a server that waits for
/// bytes that never come takes longer.
const ANSWER: Duration = Duration::from_secs(10);

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap()
}

/// The head of a request whose body is `length` bytes (none sent yet).
fn head(method: &str, path: &str, length: usize, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {length}\r\n{extra}\r\n"
    )
}

/// What the server answers on `stream` (until it closes or `ANSWER` passes):
/// the status line's code and the text, or `None` when no answer came.
async fn answer(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + ANSWER;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&got);
        // A complete small answer: its head and a body of the stated length.
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()));
            if length.and_then(|l| l.parse::<usize>().ok()).is_some_and(|l| body.len() >= l) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

/// Whether the server closes `stream` within `within` (reads 0 bytes or fails).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn an_unknown_session_is_refused_before_its_body_is_read() {
    let s = TestServer::builder().operator().start().await;
    // A body announced and never sent: only a server that answers before
    // reading it answers at all.
    for (path, session) in [
        ("/mcp", "mcp-session-id: 4f1c0e1e7d3a4b0b9f1e2d3c4b5a6978\r\n"),
        ("/messages?sessionId=4f1c0e1e7d3a4b0b9f1e2d3c4b5a6978", ""),
    ] {
        let mut stream = connect(&s).await;
        stream.write_all(head("POST", path, 1_000_000, session).as_bytes()).await.unwrap();
        stream.write_all(br#"{"jsonrpc":"2.0","id":1,"#).await.unwrap();
        let (status, text) = answer(&mut stream).await.expect("an answer before the body");
        assert_eq!(status, 404, "{path}: {text}");
        assert!(text.contains("unknown_session"), "{text}");
    }
}

#[tokio::test]
async fn each_route_has_its_body_limit_refused_before_reading() {
    // The MCP endpoints: DOCSPACE_HTTP_MAX_BODY_BYTES (4 MiB by default),
    // refused from the declared length alone.
    let s = TestServer::builder().operator().start().await;
    let mut stream = connect(&s).await;
    stream.write_all(head("POST", "/mcp", 5 * 1024 * 1024, "").as_bytes()).await.unwrap();
    let (status, text) = answer(&mut stream).await.expect("413 before the body");
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("DOCSPACE_HTTP_MAX_BODY_BYTES"), "{text}");

    let s = TestServer::builder().oauth(OAuth::Shared).start().await;

    // The OAuth endpoints take a few KiB: a 1 MiB registration is refused
    // whole, declared or chunked, and never parsed.
    let client = docspace_mcp_client::tls::builder().build().unwrap();
    let big = json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "x".repeat(1024 * 1024)});
    for path in ["/register", "/token", "/revoke", "/introspect"] {
        let r = client.post(format!("{}{path}", s.base)).json(&big).send().await.unwrap();
        assert_eq!(r.status(), 413, "{path}: {}", r.text().await.unwrap());
    }
    let chunks = futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 16 * 1024])));
    let r = client
        .post(format!("{}/register", s.base))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "chunked: {}", r.text().await.unwrap());
    // A registration of ordinary size still works.
    let r = client
        .post(format!("{}/register", s.base))
        .json(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "small"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

/// Found by the soak (`benches/soak.rs`): after a 413 (or any answer given
/// before the body was read) hyper closes the connection, and without
/// `Connection: close` a keep-alive client sent its next request there and
/// lost it.
#[tokio::test]
async fn a_request_answered_before_its_body_was_read_says_its_connection_closes() {
    let s = TestServer::builder().operator().start().await;
    let session = "mcp-session-id: 4f1c0e1e7d3a4b0b9f1e2d3c4b5a6978\r\n";
    for (length, extra, status) in [(5 * 1024 * 1024, "", 413), (1_000_000, session, 404)] {
        let mut stream = connect(&s).await;
        stream.write_all(head("POST", "/mcp", length, extra).as_bytes()).await.unwrap();
        stream.write_all(br#"{"jsonrpc":"2.0","id":1,"#).await.unwrap();
        let (got, text) = answer(&mut stream).await.expect("an answer before the body");
        assert_eq!(got, status, "{text}");
        assert!(text.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{text}");
        assert!(closed_within(&mut stream, ANSWER).await, "{status}: closed after the answer");
    }
    // A body read whole (here refused after reading) keeps the connection for the next request.
    let mut stream = connect(&s).await;
    stream.write_all(format!("{}{{", head("POST", "/mcp", 1, "")).as_bytes()).await.unwrap();
    let (got, text) = answer(&mut stream).await.expect("an answer");
    assert!((400..500).contains(&got), "{text}");
    assert!(!text.to_ascii_lowercase().contains("connection: close"), "{text}");
    stream.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (got, text) = answer(&mut stream).await.expect("the next request on the same connection");
    assert_eq!(got, 200, "{text}");
}

#[tokio::test]
async fn a_body_must_arrive_in_time() {
    let s = TestServer::builder().operator().args(&["--http-body-timeout", "1"]).start().await;
    let mut stream = connect(&s).await;
    stream.write_all(head("POST", "/mcp", 1000, "").as_bytes()).await.unwrap();
    stream.write_all(b"{\"jsonrpc\"").await.unwrap();
    let (status, text) = answer(&mut stream).await.expect("408 once the deadline passes");
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("DOCSPACE_HTTP_BODY_TIMEOUT"), "{text}");
}

#[tokio::test]
async fn request_bodies_share_a_budget() {
    let s = TestServer::builder()
        .operator()
        .args(&["--http-max-body-bytes", "65536", "--http-body-budget-bytes", "100000"])
        .start()
        .await;
    // One request holds 60,000 bytes of the budget while its body trickles in...
    let mut holder = connect(&s).await;
    holder.write_all(head("POST", "/mcp", 60_000, "").as_bytes()).await.unwrap();
    holder.write_all(b"{").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so a second of the same size does not fit, and is told when to retry.
    let mut second = connect(&s).await;
    second.write_all(head("POST", "/mcp", 60_000, "").as_bytes()).await.unwrap();
    let (status, text) = answer(&mut second).await.expect("503 at once");
    assert_eq!(status, 503, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text}");
    // A small request still fits, and the budget comes back when the first ends.
    let small = docspace_mcp_client::tls::builder().build().unwrap()
        .post(format!("{}/mcp", s.base))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    drop(holder);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = connect(&s).await;
    third.write_all(head("POST", "/mcp", 60_000, "").as_bytes()).await.unwrap();
    third.write_all(&vec![b' '; 60_000]).await.unwrap();
    let (status, text) = answer(&mut third).await.expect("an answer");
    assert_ne!(status, 503, "the budget was given back: {text}");
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let s = TestServer::builder().operator().args(&["--http-header-timeout", "1"]).start().await;
    // Slowloris: a request head that never ends.
    let mut slow = connect(&s).await;
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-a: ").await.unwrap();
    assert!(closed_within(&mut slow, ANSWER).await, "a connection still sending its head is closed");
    // A connection that never sends anything.
    let mut silent = connect(&s).await;
    assert!(closed_within(&mut silent, ANSWER).await, "a silent connection is closed");
    // Keep-alive: answered, then closed when idle.
    let mut idle = connect(&s).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (status, _) = answer(&mut idle).await.expect("an answer");
    assert_eq!(status, 200);
    assert!(closed_within(&mut idle, ANSWER).await, "an idle keep-alive connection is closed");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let s = TestServer::builder()
        .operator()
        .args(&["--http-max-connections", "2", "--http-header-timeout", "60"])
        .start()
        .await;
    let first = connect(&s).await;
    let _second = connect(&s).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The third is queued by the kernel, not served...
    let mut third = connect(&s).await;
    third.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(1500), third.read(&mut buf)).await;
    assert!(early.is_err(), "a third connection is not served while two are open: {early:?}");
    // ...until one of the two closes.
    drop(first);
    let (status, text) = answer(&mut third).await.expect("served once a slot is free");
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let s = TestServer::builder()
        .operator()
        .args(&["--http-max-connections-per-ip", "2", "--http-header-timeout", "60"])
        .start()
        .await;
    let first = connect(&s).await;
    let _second = connect(&s).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A third from the same address is closed at once, rather than queued
    // behind the two (every test client is 127.0.0.1).
    let mut third = connect(&s).await;
    let _ = third.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await;
    assert!(closed_within(&mut third, ANSWER).await, "a third connection from one address is closed");
    // Once one of the two closes, the address gets a place again.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fourth = connect(&s).await;
    fourth.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (status, text) = answer(&mut fourth).await.expect("served");
    assert_eq!(status, 200, "{text}");
}

/// RFC 9112 §3.2: an HTTP/1.1 request without `Host` gets 400. Before, it
/// passed the hostname allow-list (there was nothing to check) and was
/// served; an HTTP/1.0 request may still come without one.
#[tokio::test]
async fn an_http_1_1_request_without_host_is_refused() {
    let s = TestServer::builder().start().await;
    let mut stream = connect(&s).await;
    stream.write_all(b"GET /health HTTP/1.1\r\n\r\n").await.unwrap();
    let (status, text) = answer(&mut stream).await.expect("an answer");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("needs a Host header"), "{text}");
    let mut stream = connect(&s).await;
    stream.write_all(b"GET /health HTTP/1.0\r\n\r\n").await.unwrap();
    let (status, text) = answer(&mut stream).await.expect("an answer");
    assert_eq!(status, 200, "{text}");
}

/// The reference sends `RateLimit-Limit/-Remaining/-Reset/-Policy` and
/// exposes them to browsers; this server sent `Retry-After` alone.
#[tokio::test]
async fn rate_limited_answers_say_what_is_left() {
    let s = TestServer::builder()
        .args(&["--rate-limit", "3", "--rate-window-ms", "60000", "--cors-origins", "https://app.example.com"])
        .start()
        .await;
    let get = || {
        docspace_mcp_client::tls::builder()
            .build()
            .unwrap()
            .get(format!("{}/health", s.base))
            .header("origin", "https://app.example.com")
            .send()
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default()
    };
    let first = get().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(
        ["ratelimit-limit", "ratelimit-remaining", "ratelimit-policy"].map(|h| header(&first, h)),
        ["3", "2", "3;w=60"]
    );
    assert_eq!(header(&first, "ratelimit-reset"), "20", "one of three spent: back in a third of the window");
    let exposed = header(&first, "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("ratelimit-remaining") && exposed.contains("ratelimit-policy"), "{exposed}");
    get().await.unwrap();
    get().await.unwrap();
    let refused = get().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    assert!(
        header(&refused, "ratelimit-reset").parse::<u64>().unwrap() >= 19,
        "{}",
        header(&refused, "ratelimit-reset")
    );
    assert!(!header(&refused, "retry-after").is_empty());
}

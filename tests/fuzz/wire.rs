//! HTTP requests drawn from the fuzzer's bytes, and the in-process driver
//! that hands them to the server's axum `Router` (no socket: the request
//! carries the peer address the listener would have put in it) and reads
//! the answer within bounds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower::Service;

use crate::input;

/// The largest answer body the driver reads; a larger one fails the target.
const MAX_ANSWER: usize = 32 * 1024 * 1024;

/// The client addresses fuzzed requests come from (the probe has its own).
const PEERS: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
    IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
];

/// Which session a request names.
#[derive(Debug, Clone)]
pub enum Session {
    /// None.
    None,
    /// The last one an answer handed out (Streamable HTTP or SSE).
    Last,
    /// Made up.
    Made(String),
}

/// One HTTP request.
#[derive(Debug, Clone)]
pub struct Req {
    /// The method.
    pub method: Method,
    /// The path (without query).
    pub path: String,
    /// Query pairs, encoded by the driver (or a raw query).
    pub query: Query,
    /// Headers (names and values as bytes; invalid ones are skipped).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The session it names.
    pub session: Session,
    /// The body.
    pub body: input::Bytes,
    /// The client address.
    pub peer: IpAddr,
}

/// A query string.
#[derive(Debug, Clone)]
pub enum Query {
    /// Pairs, form-encoded.
    Pairs(Vec<(String, String)>),
    /// Exactly these bytes after `?` (whatever `Uri` accepts).
    Raw(String),
}

/// What the driver saw.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `Mcp-Session-Id`, if any.
    pub session: Option<String>,
    /// The body read (all of it, or the first events of a stream).
    pub body: Vec<u8>,
}

/// Header names the server reads, and some it should not care about.
pub const HEADER_NAMES: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "authorization",
    "host",
    "origin",
    "cookie",
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "x-request-id",
    "x-mcp-base-url",
    "x-mcp-api-key",
    "x-mcp-auth-token",
    "x-mcp-username",
    "x-mcp-password",
    "x-mcp-toolsets",
    "x-mcp-enabled-tools",
    "x-mcp-disabled-tools",
    "x-mcp-dynamic",
    "x-mcp-read-only",
    "access-control-request-method",
    "access-control-request-headers",
];

/// Query keys the server reads.
pub const QUERY_KEYS: &[&str] = &[
    "base_url",
    "toolsets",
    "enabled_tools",
    "disabled_tools",
    "dynamic",
    "read_only",
    "sessionId",
    "session_id",
    "api_key",
];

/// A value for header or query setting `name`, shaped for it most of the time.
pub fn setting_value(u: &mut Unstructured, name: &str, portals: &[&str]) -> Result<String> {
    let name = name.trim_start_matches("x-mcp-").replace('-', "_");
    match name.as_str() {
        "base_url" => {
            let mut urls: Vec<&str> = portals.to_vec();
            urls.extend([
                "https://portal.example.com",
                "http://localhost:1",
                "http://127.0.0.1:1/",
                "http://[::1]:1",
                "http://[::ffff:127.0.0.1]:1",
                "http://127.1:1",
                "http://2130706433:1",
                "https://127.0.0.1.nip.io",
                "HTTP://127.0.0.1:1/api/2.0/",
                "http://127.0.0.1:1/../../x",
                "http://127.0.0.1:1?x=1",
                "http://127.0.0.1:1#f",
                "http://a@127.0.0.1:1",
                "http://127.0.0.1:99999",
                "ftp://127.0.0.1",
                "//127.0.0.1:1",
            ]);
            if let Some(p) = portals.first()
                && u.ratio(1, 4)?
            {
                // The portal with something appended.
                return Ok(format!("{p}{}", input::string(u, &["/", "/api/2.0", "//", "/..", ":", "@evil", "\\"])?));
            }
            input::string(u, &urls)
        }
        "toolsets" => list(u, input::toolset_names()),
        "enabled_tools" | "disabled_tools" => list(u, input::tool_names()),
        "dynamic" | "read_only" => input::string(u, &["1", "true", "yes", "on", "0", "false", "off", "TRUE", "maybe"]),
        "api_key" => input::string(u, &[docspace_mcp::sandbox::API_KEY, "sk-fuzz"]),
        "auth_token" => input::string(u, &[docspace_mcp::sandbox::AUTH_TOKEN, "token"]),
        "username" => input::string(u, &[docspace_mcp::sandbox::USERNAME]),
        "password" => input::string(u, &[docspace_mcp::sandbox::PASSWORD]),
        "accept" => input::string(
            u,
            &[
                "application/json, text/event-stream",
                "application/json",
                "text/event-stream",
                "*/*",
                "text/html",
                "application/json;q=0",
            ],
        ),
        "content_type" => input::string(
            u,
            &[
                "application/json",
                "application/json; charset=utf-8",
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/json; charset=latin1",
            ],
        ),
        "mcp_protocol_version" => input::string(u, input::PROTOCOL_VERSIONS),
        "host" => input::string(u, &["127.0.0.1:8080", "localhost", "127.0.0.1", "evil.example", "[::1]:8080", ""]),
        "origin" => input::string(
            u,
            &["http://127.0.0.1:8080", "http://localhost", "https://evil.example", "null", "http://[::1]"],
        ),
        "authorization" => input::string(
            u,
            &[
                "Bearer sk-sandbox-key",
                "Bearer sandbox-access-token",
                "Basic YWxleC5tb3JnYW5Ac2FuZGJveC5leGFtcGxlOnNhbmRib3gtcGFzc3dvcmQ=",
                "Bearer AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "bearer x",
            ],
        ),
        "x_forwarded_for" | "forwarded" | "x_real_ip" => {
            input::string(u, &["1.2.3.4", "1.2.3.4, 5.6.7.8", "::1", "for=1.2.3.4", "unknown"])
        }
        "content_length" => input::string(u, &["0", "1", "18446744073709551616", "-1", "10000000000"]),
        "transfer_encoding" => input::string(u, &["chunked", "gzip, chunked", "identity"]),
        "content_encoding" => input::string(u, &["gzip", "br", "deflate", "identity"]),
        "last_event_id" => input::string(u, &["0", "1", "abc/0", "s/1/2"]),
        _ => input::string(u, &[]),
    }
}

/// A comma-separated list of `names` (and not-quite names).
fn list(u: &mut Unstructured, names: &[&str]) -> Result<String> {
    let n = u.int_in_range(0..=6)?;
    let mut items = Vec::new();
    for _ in 0..n {
        items.push(if u.ratio(4, 5)? { (*u.choose(names)?).to_owned() } else { input::string(u, &[" ", "ALL", "*"])? });
    }
    if u.ratio(1, 50)? {
        // Past the list bounds: many names, or one too long.
        let many = u.int_in_range(900..=1200)?;
        return Ok(vec![*u.choose(names)?; many].join(","));
    }
    Ok(items.join(if u.arbitrary()? { "," } else { " , " }))
}

/// Paths every HTTP mode serves, and some it does not.
/// The first is the one most requests go to.
pub const MCP_PATHS: &[&str] = &[
    "/mcp",
    "/mcp/",
    "/sse",
    "/messages",
    "/message",
    "/health",
    "/",
    "//mcp",
    "/MCP",
    "/mcp/../mcp",
    "/%6dcp",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-authorization-server",
];

const METHODS: &[Method] = &[Method::POST, Method::POST, Method::POST, Method::GET, Method::DELETE, Method::OPTIONS];

/// A request to one of `paths` (mostly the first): with `well_formed`, the headers a real MCP
/// client sends come first (so the request gets past the first checks),
/// then arbitrary ones; the body is a JSON-RPC message or anything.
pub fn request(u: &mut Unstructured, paths: &[&str], portals: &[&str]) -> Result<Req> {
    let method = if u.ratio(1, 20)? {
        Method::from_bytes(input::string(u, &["PUT", "PATCH", "HEAD", "TRACE", "CONNECT", "BREW"])?.as_bytes())
            .unwrap_or(Method::PATCH)
    } else {
        u.choose(METHODS)?.clone()
    };
    let path = match u.int_in_range(0..=19)? {
        0 => format!("/{}", input::string(u, paths)?),
        1..=11 => paths.first().copied().unwrap_or("/").to_owned(),
        _ => (*u.choose(paths)?).to_owned(),
    };
    let query = if u.ratio(1, 10)? {
        Query::Raw(input::string(u, &["a=%", "=&=&", "base_url", "toolsets=a&toolsets=b", "%ff%fe=%00"])?)
    } else {
        let mut pairs = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let key = if u.ratio(5, 6)? { (*u.choose(QUERY_KEYS)?).to_owned() } else { input::string(u, &[])? };
            let value = setting_value(u, &key, portals)?;
            pairs.push((key, value));
        }
        Query::Pairs(pairs)
    };
    let mut headers = Vec::new();
    if u.ratio(3, 4)? {
        headers.push(("host".into(), b"127.0.0.1:8080".to_vec()));
        headers.push(("accept".into(), b"application/json, text/event-stream".to_vec()));
        headers.push(("content-type".into(), b"application/json".to_vec()));
        if u.arbitrary()? {
            let v = *u.choose(input::PROTOCOL_VERSIONS)?;
            headers.push(("mcp-protocol-version".into(), v.as_bytes().to_vec()));
        }
    }
    for _ in 0..u.int_in_range(0..=5)? {
        let name = if u.ratio(6, 7)? { (*u.choose(HEADER_NAMES)?).to_owned() } else { input::string(u, &["x-mcp-"])? };
        let value =
            if u.ratio(1, 10)? { u.arbitrary::<Vec<u8>>()? } else { setting_value(u, &name, portals)?.into_bytes() };
        headers.push((name, value));
    }
    let session = match u.int_in_range(0..=5)? {
        0..=3 => Session::Last,
        4 => Session::None,
        _ => Session::Made(input::string(u, &["00000000-0000-0000-0000-000000000000", "0", "a/b"])?),
    };
    let body = if u.ratio(1, 4)? {
        // Opening a session, mostly well formed.
        let version = *u.choose(input::PROTOCOL_VERSIONS)?;
        if u.ratio(3, 4)? {
            input::initialize(version).to_string().into_bytes()
        } else {
            serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": input::initialize_params(u)?})
                .to_string()
                .into_bytes()
        }
    } else {
        input::body(u)?
    };
    Ok(Req { method, path, query, headers, session, body: input::Bytes(body), peer: *u.choose(PEERS)? })
}

/// The sessions the answers so far handed out.
#[derive(Debug, Default)]
pub struct Sessions {
    /// The last Streamable HTTP session.
    pub mcp: Option<String>,
    /// The last SSE session (from `/sse`'s `endpoint` event).
    pub sse: Option<String>,
}

/// Sends `req` to `app` and reads the answer (a stream only for a moment).
pub async fn send(app: &Router, req: &Req, sessions: &mut Sessions) -> Answer {
    let mut uri = req.path.clone();
    let mut pairs = match &req.query {
        Query::Pairs(p) => p.clone(),
        Query::Raw(_) => Vec::new(),
    };
    let on_messages = req.path.starts_with("/message");
    if on_messages && let (Session::Last, Some(id)) = (&req.session, &sessions.sse) {
        pairs.push(("sessionId".into(), id.clone()));
    }
    match &req.query {
        Query::Raw(raw) => {
            uri.push('?');
            uri.push_str(raw);
        }
        Query::Pairs(_) if !pairs.is_empty() => {
            uri.push('?');
            uri.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish());
        }
        Query::Pairs(_) => {}
    }
    let mut builder = Request::builder().method(req.method.clone());
    builder = match uri.parse::<axum::http::Uri>() {
        Ok(u) => builder.uri(u),
        Err(_) => builder.uri(req.path.parse::<axum::http::Uri>().unwrap_or_else(|_| "/".parse().unwrap())),
    };
    let mut request = builder.body(Body::from(req.body.0.clone())).unwrap();
    let headers = request.headers_mut();
    for (name, value) in &req.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    let session = match &req.session {
        Session::Last if !on_messages => sessions.mcp.clone(),
        Session::Made(s) => Some(s.clone()),
        _ => None,
    };
    if let Some(v) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
        headers.insert("mcp-session-id", v);
    }
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(req.peer, 40_000)));
    let answer = call(app, request).await;
    if let Some(id) = &answer.session {
        sessions.mcp = Some(id.clone());
    }
    if req.path == "/sse"
        && let Some(id) = sse_session(&answer.body)
    {
        sessions.sse = Some(id);
    }
    answer
}

/// Calls the router with `request` and reads the answer: a JSON or HTML
/// body whole (bounded), an event stream for a moment only.
pub async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = match app.clone().call(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let stream = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let mut body = Limited::new(response.into_body(), MAX_ANSWER);
    let mut bytes = Vec::new();
    if stream {
        let until = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(until, body.frame()).await {
            if let Some(data) = frame.data_ref() {
                bytes.extend_from_slice(data);
            }
            if bytes.len() > 64 * 1024 {
                break;
            }
        }
    } else {
        match body.collect().await {
            Ok(collected) => bytes = collected.to_bytes().to_vec(),
            Err(e) => assert!(!e.to_string().contains("length limit"), "an answer over {MAX_ANSWER} bytes ({status})"),
        }
    }
    Answer { status, session, body: bytes }
}

/// The session id in `/sse`'s `endpoint` event.
fn sse_session(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let at = text.find("sessionId=")? + "sessionId=".len();
    Some(text[at..].split(['&', '\n', '\r']).next()?.to_owned())
}

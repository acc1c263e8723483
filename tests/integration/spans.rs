//! The server's own spans, exported over OTLP/HTTP (docs/observability.md):
//! a fake collector on 127.0.0.1 (`POST /v1/traces`, the protobuf
//! `ExportTraceServiceRequest` decoded with `opentelemetry-proto`) receives
//! the spans of tool calls made with a client's `traceparent`, and the test
//! follows the trace from the client's span through the HTTP request's and
//! the tool call's to the DocSpace request's, whose id is the one the sandbox
//! portal received. The binary flushes its spans at SIGTERM and at the end
//! of stdin, follows the standard `OTEL_*` variables, and without an
//! endpoint starts nothing and forwards the client's context unchanged.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::reqwest;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message as _;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::oauth::{Flow, code_for, register};
use crate::common::server::{OAuth, TestServer};
use crate::common::server_command;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const META_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const META_SPAN: &str = "b7ad6b7169203331";
const META_PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct Exported {
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: SpanKind,
    attributes: HashMap<String, String>,
    links: Vec<(String, String)>,
    error: bool,
}

/// One export request: its headers, and its resource's attributes.
#[derive(Debug, Clone)]
struct Export {
    headers: HeaderMap,
    resource: HashMap<String, String>,
}

#[derive(Default)]
struct Received {
    exports: Vec<Export>,
    spans: Vec<Exported>,
    /// Bodies that did not decode (there must be none).
    undecodable: usize,
}

/// A fake OpenTelemetry collector: `POST /v1/traces` on 127.0.0.1.
struct Collector {
    base: String,
    received: Arc<Mutex<Received>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => s.clone(),
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

async fn collect(State(received): State<Arc<Mutex<Received>>>, headers: HeaderMap, body: Bytes) -> Vec<u8> {
    let mut received = received.lock().unwrap();
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        received.undecodable += 1;
        return Vec::new();
    };
    for resource_spans in &request.resource_spans {
        let resource = attributes(resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]));
        received.exports.push(Export { headers: headers.clone(), resource });
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            received.spans.push(Exported {
                trace: hex(&span.trace_id),
                id: hex(&span.span_id),
                parent: hex(&span.parent_span_id),
                name: span.name.clone(),
                kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                attributes: attributes(&span.attributes),
                links: span.links.iter().map(|l| (hex(&l.trace_id), hex(&l.span_id))).collect(),
                error: span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32),
            });
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

impl Collector {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Received::default()));
        let app = axum::Router::new().route("/v1/traces", axum::routing::post(collect)).with_state(received.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, received }
    }

    fn spans(&self) -> Vec<Exported> {
        let received = self.received.lock().unwrap();
        assert_eq!(received.undecodable, 0, "a body that is not an ExportTraceServiceRequest");
        received.spans.clone()
    }

    fn exports(&self) -> Vec<Export> {
        self.received.lock().unwrap().exports.clone()
    }

    /// The spans once `done` holds of them, waiting for the batch (the SDK
    /// exports every 5 s by default) up to a bound.
    async fn wait_for(&self, done: impl Fn(&[Exported]) -> bool) -> Vec<Exported> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(Instant::now() < deadline, "the collector did not receive the spans: {spans:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn by_id<'a>(spans: &'a [Exported], id: &str) -> &'a Exported {
    spans.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no span {id} in {spans:#?}"))
}

/// The span id a `traceparent` names, after checking its trace id.
fn span_of(traceparent: &str, trace: &str) -> String {
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!((fields[0], fields[1], fields[3]), ("00", trace, "01"), "{traceparent}");
    fields[2].to_owned()
}

/// The chain a DocSpace request's span hangs from, checked: the DocSpace
/// request (kind client, `operation`), its parent the tool call (kind
/// server, `tools/call <tool>`), both in `trace`. Returns the tool call's span.
fn check_chain<'a>(spans: &'a [Exported], docspace: &str, trace: &str, operation: &str, tool: &str) -> &'a Exported {
    let request = by_id(spans, docspace);
    assert_eq!((request.trace.as_str(), request.name.as_str()), (trace, operation), "{request:#?}");
    assert_eq!(request.kind, SpanKind::Client, "{request:#?}");
    assert_eq!(request.attributes.get("docspace.operation").map(String::as_str), Some(operation));
    let call = by_id(spans, &request.parent);
    assert_eq!((call.trace.as_str(), call.name.as_str()), (trace, format!("tools/call {tool}").as_str()));
    assert_eq!(call.kind, SpanKind::Server, "{call:#?}");
    assert_eq!(call.attributes.get("gen_ai.tool.name").map(String::as_str), Some(tool), "{call:#?}");
    assert_eq!(call.attributes.get("mcp.method.name").map(String::as_str), Some("tools/call"), "{call:#?}");
    call
}

async fn client_with(
    base: &str,
    headers: &[(&'static str, &str)],
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let headers = headers
        .iter()
        .map(|(k, v)| (reqwest::header::HeaderName::from_static(k), v.parse().unwrap()))
        .collect::<HashMap<_, _>>();
    // rmcp builds its own reqwest client: the process's TLS provider first (this test may be the first to need one).
    docspace_mcp_client::tls::install_provider();
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).custom_headers(headers);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap()
}

fn tool(name: &'static str, args: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args.as_object().unwrap().clone())
}

fn with_meta(mut params: CallToolRequestParams, traceparent: &str) -> CallToolRequestParams {
    let mut meta = RequestMetaObject::new();
    meta.0.set_traceparent(traceparent);
    params.meta = Some(meta);
    params
}

/// Over Streamable HTTP: a call under the client's `traceparent` header is
/// traced as header → `POST /mcp` → `tools/call` → the DocSpace request,
/// whose span id is what the portal received (with the client's trace id
/// and `tracestate`); a call with its own `_meta.traceparent` hangs from
/// that one instead, linked to its HTTP request's span; a call DocSpace
/// refuses is an error on both spans.
#[tokio::test(flavor = "multi_thread")]
async fn spans_of_a_tool_call_join_the_clients_trace() {
    let collector = Collector::start().await;
    let s = TestServer::builder().operator().args(&["--otlp-endpoint", &collector.base]).start().await;
    let client = client_with(&s.base, &[("traceparent", PARENT), ("tracestate", "vendor=opaque-1")]).await;
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let r = client.call_tool(with_meta(tool("get_my_folder", json!({})), META_PARENT)).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let r = client.call_tool(tool("get_file_info", json!({"fileId": 987_654_321}))).await.unwrap();
    assert_eq!(r.is_error, Some(true), "DocSpace answers 404: {r:?}");
    client.cancel().await.unwrap();

    let traced = s.portal.traced();
    let seen = |path: &str| traced.iter().find(|t| t.path.ends_with(path)).unwrap_or_else(|| panic!("{traced:#?}"));
    let profile = seen("/people/@self");
    assert_eq!(profile.tracestate.as_deref(), Some("vendor=opaque-1"), "the client's tracestate, unchanged");
    let profile_span = span_of(&profile.traceparent, TRACE);
    assert_ne!(profile_span, CLIENT_SPAN, "DocSpace's parent is the server's span now, not the client's");
    let folder = seen("/files/@my");
    assert_eq!(folder.tracestate, None, "the header's tracestate belongs to the header's parent");
    let folder_span = span_of(&folder.traceparent, META_TRACE);
    let missing_span = span_of(&seen("/files/file/987654321").traceparent, TRACE);

    let spans = collector
        .wait_for(|spans| {
            [&profile_span, &folder_span, &missing_span].iter().all(|id| spans.iter().any(|s| s.id == **id))
        })
        .await;
    // header → POST /mcp → tools/call get_self_profile → getSelfProfile.
    let call = check_chain(&spans, &profile_span, TRACE, "getSelfProfile", "get_self_profile");
    assert_eq!(
        by_id(&spans, &profile_span).attributes.get("http.response.status_code").map(String::as_str),
        Some("200")
    );
    assert!(!call.error && !by_id(&spans, &profile_span).error);
    let request = by_id(&spans, &call.parent);
    assert_eq!((request.name.as_str(), request.kind), ("POST /mcp", SpanKind::Server), "{request:#?}");
    assert_eq!(
        (request.trace.as_str(), request.parent.as_str()),
        (TRACE, CLIENT_SPAN),
        "the client's span is its parent"
    );
    assert_eq!(request.attributes.get("http.route").map(String::as_str), Some("/mcp"));
    assert_eq!(request.attributes.get("http.response.status_code").map(String::as_str), Some("200"));

    // _meta → tools/call get_my_folder (linked to its POST /mcp) → the DocSpace request.
    let call = check_chain(&spans, &folder_span, META_TRACE, "getMyFolder", "get_my_folder");
    assert_eq!(call.parent, META_SPAN, "_meta names the call's parent");
    assert_eq!(call.links.len(), 1, "{call:#?}");
    let (link_trace, link_span) = &call.links[0];
    let linked = by_id(&spans, link_span);
    assert_eq!((link_trace.as_str(), linked.name.as_str(), linked.parent.as_str()), (TRACE, "POST /mcp", CLIENT_SPAN));

    // DocSpace's 404: an error on the request's span and on the tool call's.
    let missing = by_id(&spans, &missing_span);
    assert!(missing.error, "{missing:#?}");
    assert_eq!(missing.attributes.get("http.response.status_code").map(String::as_str), Some("404"));
    assert_eq!(missing.attributes.get("error.type").map(String::as_str), Some("404"));
    let call = check_chain(&spans, &missing_span, TRACE, "getFileInfo", "get_file_info");
    assert!(call.error, "{call:#?}");
    assert_eq!(call.attributes.get("error.type").map(String::as_str), Some("tool_error"));

    // Nothing a client sent beyond the trace context is in a span: no argument, no credential.
    let text = format!("{spans:?}");
    assert!(!text.contains("987654321") && !text.contains(sandbox::API_KEY), "{text}");
    assert!(spans.iter().all(|s| s.trace == TRACE || s.trace == META_TRACE), "{spans:#?}");
}

/// The OAuth proxy's call to DocSpace's token endpoint is a client span
/// (`oauth2/token`) under the `POST /token` request's, and the
/// `traceparent` the portal's token endpoint received names it.
#[tokio::test(flavor = "multi_thread")]
async fn the_oauth_proxys_docspace_calls_are_spans_of_their_request() {
    const REDIRECT: &str = "http://127.0.0.1:9/callback";
    let collector = Collector::start().await;
    let s = TestServer::builder().oauth(OAuth::Shared).args(&["--otlp-endpoint", &collector.base]).start().await;
    let client = register(&s.base, &[REDIRECT], "Traced").await;
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(&s.base, &flow).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let r = http.post(format!("{}/token", s.base)).header("traceparent", PARENT).form(&grant).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let traced = s.portal.traced();
    let token_call = traced.iter().find(|t| t.path == "/oauth2/token").expect("a traced token call");
    let id = span_of(&token_call.traceparent, TRACE);
    let spans = collector.wait_for(|spans| spans.iter().any(|s| s.id == id)).await;
    let call = by_id(&spans, &id);
    assert_eq!((call.name.as_str(), call.kind), ("oauth2/token", SpanKind::Client), "{call:#?}");
    assert_eq!(call.attributes.get("http.response.status_code").map(String::as_str), Some("200"));
    let request = by_id(&spans, &call.parent);
    assert_eq!((request.name.as_str(), request.kind), ("POST /token", SpanKind::Server), "{request:#?}");
    assert_eq!(request.parent, CLIENT_SPAN);
    let text = format!("{spans:?}");
    assert!(!text.contains(&code) && !text.contains(sandbox::oauth::CLIENT_SECRET), "{text}");
}

/// The binary's stderr, read as it comes.
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Log {
    /// Every line, once the process has exited (its stderr closed).
    fn all(self) -> String {
        self.reader.join().unwrap();
        self.lines.lock().unwrap().join("\n")
    }
}

/// Reads the binary's stderr into a [`Log`] and waits (a bounded time) for
/// its "serving MCP over HTTP on" line; the address.
fn address_of(child: &mut Child) -> (String, Log) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let kept = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in stderr.map_while(Result::ok) {
            kept.lock().unwrap().push(line.clone());
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the server logs its address");
        if let Some(rest) = line.split("serving MCP over HTTP on ").nth(1) {
            return (rest.split_whitespace().next().unwrap().to_owned(), Log { lines, reader });
        }
    }
}

/// Whether the process runs the SDK's batch export thread
/// (`OpenTelemetry.Traces.BatchProcessor`, "OpenTelemetry.T" in `comm`).
fn has_export_thread(pid: u32) -> bool {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let names: Vec<String> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect();
    assert!(names.len() > 1, "{names:?}");
    names.iter().any(|n| n.starts_with("OpenTelemetry"))
}

/// The binary over HTTP, pointed at `portal`, with `envs`.
fn spawn_http(portal: &Sandbox, envs: &[(&str, &str)]) -> Child {
    let args = ["--transport", "http", "--port", "0", "--base-url", portal.base_url(), "--api-key", sandbox::API_KEY];
    server_command(&args, envs).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

async fn sandbox_portal() -> Sandbox {
    Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap()
}

/// The binary with the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT`
/// turns the export on (its export thread runs), `OTEL_SERVICE_NAME` names
/// the service, `OTEL_EXPORTER_OTLP_HEADERS` reaches the collector. With the
/// batch delay at an hour nothing is exported while it runs; SIGTERM's
/// graceful shutdown exports the spans before the process exits.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_flushes_its_spans_at_sigterm_and_follows_the_otel_variables() {
    let collector = Collector::start().await;
    let portal = sandbox_portal().await;
    let mut child = spawn_http(
        &portal,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.base),
            ("OTEL_SERVICE_NAME", "docspace-mcp-under-test"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=key-1"),
            ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
        ],
    );
    let (base, log) = address_of(&mut child);
    assert!(has_export_thread(child.id()), "the export thread runs");
    let client = client_with(&base, &[("traceparent", PARENT)]).await;
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    client.cancel().await.unwrap();
    assert!(collector.spans().is_empty(), "nothing exported before the shutdown (the batch waits an hour)");

    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = log.all();
    assert!(log.contains("exporting spans to"), "{log}");

    // The process has exited: what it flushed has arrived.
    let spans = collector.spans();
    let traced = portal.traced();
    let profile = traced.iter().find(|t| t.path.ends_with("/people/@self")).expect("a traced profile request");
    let docspace = span_of(&profile.traceparent, TRACE);
    let call = check_chain(&spans, &docspace, TRACE, "getSelfProfile", "get_self_profile");
    assert_eq!(by_id(&spans, &call.parent).parent, CLIENT_SPAN);
    let exports = collector.exports();
    assert!(!exports.is_empty());
    for export in &exports {
        assert_eq!(export.headers.get("x-collector-key").map(|v| v.to_str().unwrap()), Some("key-1"));
        assert_eq!(export.headers.get("content-type").map(|v| v.to_str().unwrap()), Some("application/x-protobuf"));
        assert_eq!(export.resource.get("service.name").map(String::as_str), Some("docspace-mcp-under-test"));
        assert_eq!(export.resource.get("service.version").map(String::as_str), Some(env!("CARGO_PKG_VERSION")));
    }
}

/// Reads JSON-RPC lines from the binary's stdout until the answer to `id`.
fn answer(lines: &mut impl Iterator<Item = std::io::Result<String>>, id: u64) -> Value {
    loop {
        let line = lines.next().expect("an answer").unwrap();
        let message: Value = serde_json::from_str(&line).unwrap();
        if message["id"] == id {
            return message;
        }
    }
}

/// Over stdio the tool call's span is the server's only one: a child of the
/// request's `_meta.traceparent`, named `docspace-mcp` by default, and
/// exported when the client closes stdin and the process exits.
#[tokio::test(flavor = "multi_thread")]
async fn over_stdio_the_tool_calls_span_hangs_from_meta_and_is_flushed_at_exit() {
    let collector = Collector::start().await;
    let portal = sandbox_portal().await;
    let mut child = server_command(
        &["--base-url", portal.base_url(), "--api-key", sandbox::API_KEY],
        &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &format!("{}/v1/traces", collector.base))],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = |message: Value| writeln!(stdin, "{message}").unwrap();
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}));
    answer(&mut lines, 1);
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "get_self_profile", "arguments": {}, "_meta": {"traceparent": META_PARENT}}}));
    let called = answer(&mut lines, 2);
    assert_ne!(called["result"]["isError"], true, "{called}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let spans = collector.spans();
    let traced = portal.traced();
    let profile = traced.iter().find(|t| t.path.ends_with("/people/@self")).expect("a traced profile request");
    let docspace = span_of(&profile.traceparent, META_TRACE);
    let call = check_chain(&spans, &docspace, META_TRACE, "getSelfProfile", "get_self_profile");
    assert_eq!(call.parent, META_SPAN);
    assert!(call.links.is_empty(), "{call:#?}");
    assert_eq!(call.attributes.get("network.transport").map(String::as_str), Some("pipe"));
    assert_eq!(spans.len(), 2, "over stdio: the tool call and its DocSpace request: {spans:#?}");
    let exports = collector.exports();
    assert!(exports.iter().all(|e| e.resource.get("service.name").map(String::as_str) == Some("docspace-mcp")));
}

/// Without an endpoint nothing of the export is started (no export thread,
/// no log line about it, though other `OTEL_*` variables are set), and the
/// client's `traceparent` reaches DocSpace exactly as it was sent. The
/// thread check is the one that finds the thread in the test above.
#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_nothing_is_started_and_the_context_is_forwarded_unchanged() {
    let portal = sandbox_portal().await;
    let mut child = spawn_http(
        &portal,
        &[
            ("OTEL_SERVICE_NAME", "docspace-mcp-under-test"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=key-1"),
            ("DOCSPACE_LOG_LEVEL", "debug"),
        ],
    );
    let (base, log) = address_of(&mut child);
    assert!(!has_export_thread(child.id()), "no export thread");
    let client = client_with(&base, &[("traceparent", PARENT), ("tracestate", "vendor=opaque-1")]).await;
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    client.cancel().await.unwrap();
    let traced = portal.traced();
    let profile = traced.iter().find(|t| t.path.ends_with("/people/@self")).expect("a traced profile request");
    assert_eq!(profile.traceparent, PARENT);
    assert_eq!(profile.tracestate.as_deref(), Some("vendor=opaque-1"));
    assert!(!has_export_thread(child.id()), "still none after a call");
    child.kill().unwrap();
    child.wait().unwrap();
    let log = log.all();
    assert!(log.contains("serving MCP over HTTP"), "{log}");
    assert!(!log.contains("exporting spans") && !log.contains("OTLP"), "{log}");
}

/// A collector that is not there: tool calls are answered as usual, the
/// failed export is logged as a warning naming the endpoint, and the
/// shutdown still ends the process with success.
#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_is_down_costs_a_warning_not_a_call() {
    let closed = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let portal = sandbox_portal().await;
    let mut child = spawn_http(&portal, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let (base, log) = address_of(&mut child);
    let client = client_with(&base, &[("traceparent", PARENT)]).await;
    for _ in 0..3 {
        let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
        assert_ne!(r.is_error, Some(true), "{r:?}");
    }
    client.cancel().await.unwrap();
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = log.all();
    let warned = format!("could not export spans to {endpoint}/v1/traces");
    assert_eq!(log.matches(&warned).count(), 1, "one warning, then debug lines: {log}");
}

/// The SSE events of `stream` until one whose data is the answer to `id`.
async fn sse_answer(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<Bytes>> + Unpin),
    buffer: &mut String,
    id: Option<u64>,
) -> String {
    use futures::StreamExt as _;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            let wanted = match id {
                None => !data.is_empty(),
                Some(id) => serde_json::from_str::<Value>(&data).is_ok_and(|v| v["id"] == id),
            };
            if wanted {
                return data;
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("an event in time");
        buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the stream is open").unwrap()));
    }
}

/// Two replicas sharing a store, each exporting spans: an SSE message posted
/// to the replica without the stream is relayed to the one with it, and its
/// tool call's spans there hang below the relaying replica's `POST
/// /messages`, itself below the client's span; the portal received the id
/// of the DocSpace request's span.
#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_sse_message_stays_in_the_clients_trace() {
    let Some(redis) = crate::common::store::Redis::start() else { return };
    let collector = Collector::start().await;
    let url = redis.url();
    let args = |portal| {
        let args = ["--state-url", url.as_str(), "--state-secret-key", "a-state-secret-of-at-least-32-bytes!!"];
        let endpoint = ["--otlp-endpoint", collector.base.as_str()];
        TestServer::builder().operator().portal(portal).args(&[&args[..], &endpoint[..]].concat()).start()
    };
    let a = args(None).await;
    let b = args(Some(a.portal.clone())).await;
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let mut stream = Box::pin(http.get(format!("{}/sse", a.base)).send().await.unwrap().bytes_stream());
    let mut buffer = String::new();
    let endpoint = sse_answer(&mut stream, &mut buffer, None).await;
    let post = |body: Value| {
        let request = http
            .post(format!("{}{endpoint}", b.base))
            .header("content-type", "application/json")
            .header("traceparent", PARENT);
        async move { request.body(body.to_string()).send().await.unwrap().status().as_u16() }
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    assert_eq!(post(init).await, 202);
    sse_answer(&mut stream, &mut buffer, Some(1)).await;
    assert_eq!(post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await, 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_self_profile"}});
    assert_eq!(post(call).await, 202);
    let answer = sse_answer(&mut stream, &mut buffer, Some(2)).await;
    assert!(answer.contains("Alex Morgan"), "{answer}");

    let traced = a.portal.traced();
    let profile = traced.iter().find(|t| t.path.ends_with("/people/@self")).expect("a traced profile request");
    let docspace = span_of(&profile.traceparent, TRACE);
    let spans = collector.wait_for(|spans| spans.iter().any(|s| s.id == docspace)).await;
    let call = check_chain(&spans, &docspace, TRACE, "getSelfProfile", "get_self_profile");
    let delivered = by_id(&spans, &call.parent);
    assert_eq!((delivered.name.as_str(), delivered.kind), ("POST /messages", SpanKind::Server), "{delivered:#?}");
    let spans = collector.wait_for(|spans| spans.iter().any(|s| s.id == delivered.parent)).await;
    let relaying = by_id(&spans, &delivered.parent);
    assert_eq!((relaying.name.as_str(), relaying.parent.as_str()), ("POST /messages", CLIENT_SPAN), "{relaying:#?}");
    assert_eq!(relaying.attributes.get("http.response.status_code").map(String::as_str), Some("202"));
}

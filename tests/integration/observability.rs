//! Metrics, trace context and JSON logs (docs/observability.md): the
//! `/metrics` exposition read with a parser (`prometheus-parse`) and checked
//! line by line, its counts after known traffic (tool calls by tool and
//! outcome, DocSpace latency by operation, refusals by reason, OAuth steps),
//! a client's `traceparent` arriving at the sandbox portal (from the HTTP
//! header, from `_meta`, and on the OAuth proxy's token call), and the
//! binary's JSON log lines with metrics on a listener of their own.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use docspace_mcp_client::reqwest;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::oauth::{Flow, code_for, exchange, register};
use crate::common::server::{OAuth, TestServer};
use crate::common::server_command;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const META_PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// One scrape, parsed.
struct Scrape {
    text: String,
    samples: Vec<prometheus_parse::Sample>,
}

impl Scrape {
    /// The value of the counter or gauge `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples.iter().find(|s| s.metric == name && same_labels(&s.labels, labels)).map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
    }

    /// The observations of histogram `name` with `labels` (its `_count`).
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.value(&format!("{name}_count"), labels)
    }

    /// The histogram `name` with `labels`: its buckets, upper bound → cumulative count.
    fn buckets(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
        self.samples
            .iter()
            .filter(|s| s.metric == name && same_labels(&s.labels, labels))
            .find_map(|s| match &s.value {
                prometheus_parse::Value::Histogram(b) => Some(b.iter().map(|c| (c.less_than, c.count)).collect()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Every value of label `label` across the samples.
    fn label_values(&self, label: &str) -> BTreeSet<String> {
        self.samples.iter().filter_map(|s| s.labels.get(label).map(str::to_owned)).collect()
    }
}

fn same_labels(have: &prometheus_parse::Labels, want: &[(&str, &str)]) -> bool {
    have.len() == want.len() && want.iter().all(|(k, v)| have.get(k) == Some(*v))
}

/// Checks the Prometheus text exposition line by line, as a scraper reads
/// it, then parses it: every line is a `# HELP`, a `# TYPE` or a sample of a
/// declared family; no family is declared twice; every sample has a value.
fn parse_prometheus_text(text: &str) -> Vec<prometheus_parse::Sample> {
    use prometheus_parse::LineInfo;
    let mut declared: Vec<(String, prometheus_parse::SampleType)> = Vec::new();
    for line in text.lines() {
        match LineInfo::parse(line) {
            LineInfo::Doc { .. } => {}
            LineInfo::Type { metric_name, metric_alias, sample_type } => {
                let family = metric_alias.unwrap_or(metric_name);
                assert!(!declared.iter().any(|(f, _)| *f == family), "{family} declared twice");
                declared.push((family, sample_type));
            }
            LineInfo::Sample { metric_name, value, .. } => {
                assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
                let family = declared.iter().find(|(f, t)| match t {
                    prometheus_parse::SampleType::Histogram => {
                        [format!("{f}_bucket"), format!("{f}_sum"), format!("{f}_count")]
                            .contains(&metric_name.to_owned())
                    }
                    _ => f == metric_name,
                });
                assert!(family.is_some(), "a sample of an undeclared family: {line}");
            }
            LineInfo::Empty | LineInfo::Ignored => panic!("not a line of the text format: {line:?}"),
        }
    }
    assert!(!declared.is_empty(), "{text}");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap().samples
}

/// Checks the OpenMetrics exposition: families declared once with TYPE and
/// HELP before their samples, counters' samples named `_total`, histograms'
/// `_bucket` (with `le`, ending in `+Inf`), `_sum` and `_count`, and `# EOF`
/// as the last line.
fn check_openmetrics(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
    let mut families: HashMap<String, String> = HashMap::new();
    let mut current: Option<(String, String)> = None;
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(families.insert(name.to_owned(), kind.to_owned()).is_none(), "{name} twice");
            current = Some((name.to_owned(), kind.to_owned()));
        } else if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
        } else {
            let (name, _) = line.split_once(['{', ' ']).unwrap();
            let (family, kind) = current.as_ref().unwrap_or_else(|| panic!("a sample before any TYPE: {line}"));
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                "gauge" => &[""],
                other => panic!("unexpected type {other}"),
            };
            assert!(
                suffixes.iter().any(|s| name == format!("{family}{s}")),
                "{line}: not a sample of {family} ({kind})"
            );
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        }
    }
    for (family, kind) in [
        ("docspace_mcp_http_requests", "counter"),
        ("docspace_mcp_tool_calls", "counter"),
        ("docspace_mcp_docspace_request_duration_seconds", "histogram"),
        ("docspace_mcp_sessions", "gauge"),
        ("docspace_mcp_build_info", "gauge"),
    ] {
        assert_eq!(families.get(family).map(String::as_str), Some(kind), "{families:?}");
    }
}

async fn scrape_at(url: &str) -> Scrape {
    let r = docspace_mcp_client::tls::builder().build().unwrap().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = r.text().await.unwrap();
    let samples = parse_prometheus_text(&text);
    Scrape { text, samples }
}

async fn scrape(s: &TestServer) -> Scrape {
    scrape_at(&format!("{}/metrics", s.base)).await
}

async fn client_with(
    s: &TestServer,
    headers: &[(&'static str, &str)],
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let headers = headers
        .iter()
        .map(|(k, v)| (reqwest::header::HeaderName::from_static(k), v.parse().unwrap()))
        .collect::<HashMap<_, _>>();
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", s.base)).custom_headers(headers);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap()
}

fn tool(name: &'static str, args: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args.as_object().unwrap().clone())
}

/// Known traffic, then one scrape: tool calls by tool and outcome (a name
/// outside the catalogue counts as `unknown` and never appears itself),
/// each DocSpace request in the latency histogram of its operation and
/// status, the HTTP requests by route, the open session.
#[tokio::test(flavor = "multi_thread")]
async fn counts_move_with_tool_calls_and_docspace_requests() {
    let s = TestServer::builder().operator().args(&["--metrics"]).start().await;
    let before = scrape(&s).await;
    assert_eq!(before.value("docspace_mcp_tool_calls_total", &[("tool", "get_self_profile"), ("outcome", "ok")]), None);
    let client = client_with(&s, &[]).await;
    const N: usize = 7;
    for _ in 0..N {
        let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
        assert_ne!(r.is_error, Some(true), "{r:?}");
    }
    // DocSpace answers 404: a tool error, and a 404 in the histogram.
    let r = client.call_tool(tool("get_file_info", json!({"fileId": 987_654_321}))).await.unwrap();
    assert_eq!(r.is_error, Some(true), "{r:?}");
    // An argument refused before any request: a tool error, no DocSpace request.
    let r = client.call_tool(tool("get_file_info", json!({"fileId": "not a number"}))).await.unwrap();
    assert_eq!(r.is_error, Some(true), "{r:?}");
    // Names outside the catalogue: protocol errors, counted as `unknown`.
    for name in ["no_such_tool_x7", "secret-token-abc"] {
        assert!(client.call_tool(CallToolRequestParams::new(name)).await.is_err());
    }

    let m = scrape(&s).await;
    let calls = "docspace_mcp_tool_calls_total";
    assert_eq!(m.value(calls, &[("tool", "get_self_profile"), ("outcome", "ok")]), Some(N as f64), "{}", m.text);
    assert_eq!(m.value(calls, &[("tool", "get_file_info"), ("outcome", "tool_error")]), Some(2.0), "{}", m.text);
    assert_eq!(m.value(calls, &[("tool", "unknown"), ("outcome", "protocol_error")]), Some(2.0), "{}", m.text);
    assert!(!m.text.contains("no_such_tool_x7") && !m.text.contains("secret-token-abc"), "{}", m.text);
    let tools = m.label_values("tool");
    assert_eq!(tools, ["get_file_info", "get_self_profile", "unknown"].map(String::from).into(), "{}", m.text);

    let latency = "docspace_mcp_docspace_request_duration_seconds";
    let profile = [("operation", "getSelfProfile"), ("status", "200")];
    assert_eq!(m.count(latency, &profile), Some(N as f64), "{}", m.text);
    let buckets = m.buckets(latency, &profile);
    assert!(buckets.len() >= 10, "{buckets:?}");
    assert_eq!(buckets.iter().find(|(le, _)| le.is_infinite()).map(|(_, n)| *n), Some(N as f64), "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative: {buckets:?}");
    assert_eq!(m.count(latency, &[("operation", "getFileInfo"), ("status", "404")]), Some(1.0), "{}", m.text);
    let sum = m.value(&format!("{latency}_sum"), &profile).unwrap();
    assert!(sum > 0.0 && sum < 60.0, "{sum}");

    let posts =
        m.value("docspace_mcp_http_requests_total", &[("route", "/mcp"), ("method", "POST"), ("status", "200")]);
    assert!(posts.unwrap_or(0.0) >= (N + 4) as f64, "{}", m.text);
    let active = [("transport", "streamable_http"), ("state", "active")];
    assert_eq!(m.value("docspace_mcp_sessions", &active), Some(1.0), "{}", m.text);
    assert_eq!(m.value("docspace_mcp_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0), "{}", m.text);
    client.cancel().await.unwrap();

    // OpenMetrics, for a scraper that asks for it (Prometheus does).
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .get(format!("{}/metrics", s.base))
        .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8");
    let text = r.text().await.unwrap();
    check_openmetrics(&text);
    assert!(text.contains(&format!("docspace_mcp_tool_calls_total{{tool=\"get_self_profile\",outcome=\"ok\"}} {N}")));
}

/// Off unless asked for: no `/metrics` on a server started without the setting.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_off_by_default() {
    let s = TestServer::builder().operator().start().await;
    let r =
        docspace_mcp_client::tls::builder().build().unwrap().get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// Refusals counted by reason: the rate limit, the `Host` check, a request
/// without credentials, an unknown session, and a connection closed for the
/// per-address cap (which the accept loop counts: it has no response).
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_counted_by_reason() {
    // The refused client comes through a trusted proxy (127.0.0.1) as
    // 203.0.113.9, so its rate limit is not the scraper's.
    let s = TestServer::builder()
        .args(&["--metrics", "--proxy-hops", "1", "--rate-limit", "3", "--rate-window-ms", "600000"])
        .start()
        .await;
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let mut limited = 0;
    for _ in 0..6 {
        let r = http.get(format!("{}/health", s.base)).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
        limited += usize::from(r.status() == 429);
    }
    assert_eq!(limited, 3);
    let r = http.get(format!("{}/health", s.base)).header("host", "evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let post = |session: Option<&str>| {
        let mut r = http
            .post(format!("{}/mcp", s.base))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(init.to_string());
        if let Some(id) = session {
            r = r.header("mcp-session-id", id);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401, "no credentials, none of the server's own");
    assert_eq!(post(Some("no-such-session")).await.unwrap().status(), 404);

    let m = scrape(&s).await;
    let reason = |r: &str| m.value("docspace_mcp_refusals_total", &[("reason", r)]);
    assert_eq!(reason("rate_limited"), Some(3.0), "{}", m.text);
    assert_eq!(reason("host"), Some(1.0), "{}", m.text);
    assert_eq!(reason("unauthorized"), Some(1.0), "{}", m.text);
    assert_eq!(reason("unknown_session"), Some(1.0), "{}", m.text);
    let health = |status: &str| {
        m.value("docspace_mcp_http_requests_total", &[("route", "/health"), ("method", "GET"), ("status", status)])
    };
    assert_eq!(health("429"), Some(3.0), "{}", m.text);
    assert_eq!(health("403"), Some(1.0), "{}", m.text);

    // One connection open from 127.0.0.1 is the cap; a second is closed at once.
    let s = TestServer::builder().args(&["--metrics", "--http-max-connections-per-ip", "1"]).start().await;
    let address = s.base.trim_start_matches("http://").to_owned();
    let held = tokio::net::TcpStream::connect(&address).await.unwrap();
    for _ in 0..2 {
        let mut refused = tokio::net::TcpStream::connect(&address).await.unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::io::AsyncReadExt::read(&mut refused, &mut buf);
        let closed = tokio::time::timeout(Duration::from_secs(5), read).await.unwrap();
        assert!(matches!(closed, Ok(0) | Err(_)), "closed without an answer: {closed:?}");
    }
    drop(held);
    let m = wait_for(|| async {
        let r = docspace_mcp_client::tls::builder()
            .build()
            .unwrap()
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .ok()?;
        let text = r.text().await.ok()?;
        Some(Scrape { samples: parse_prometheus_text(&text), text })
    })
    .await;
    assert_eq!(m.value("docspace_mcp_refusals_total", &[("reason", "connections_per_ip")]), Some(2.0), "{}", m.text);
}

/// Retries `f` for a few seconds until it gives a value.
async fn wait_for<T, F: Future<Output = Option<T>>>(f: impl Fn() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client's `traceparent` (and `tracestate`) reaches the sandbox portal
/// on the DocSpace request its tool call makes; an MCP request's own
/// `_meta.traceparent` wins over the HTTP header (and the header's
/// `tracestate` does not travel with it); an invalid one is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn a_clients_traceparent_reaches_the_portal() {
    let s = TestServer::builder().operator().args(&["--metrics"]).start().await;
    let client = client_with(&s, &[("traceparent", PARENT), ("tracestate", "vendor=opaque-1")]).await;
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(r.is_error, Some(true));
    let seen = s.portal.traced();
    let profile = seen.iter().find(|t| t.path.ends_with("/people/@self")).expect("a traced profile request");
    assert_eq!(profile.traceparent, PARENT);
    assert_eq!(profile.tracestate.as_deref(), Some("vendor=opaque-1"));

    let mut meta = RequestMetaObject::new();
    meta.0.set_traceparent(META_PARENT);
    let mut params = tool("get_my_folder", json!({}));
    params.meta = Some(meta);
    let r = client.call_tool(params).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let seen = s.portal.traced();
    let folder = seen.iter().find(|t| t.path.ends_with("/files/@my")).expect("a traced folder request");
    assert_eq!(folder.traceparent, META_PARENT, "_meta names this call's parent");
    assert_eq!(folder.tracestate, None, "the header's tracestate belongs to the header's parent");
    client.cancel().await.unwrap();

    // Upper-case hex is not a traceparent: nothing is forwarded.
    let before = s.portal.traced().len();
    let client = client_with(&s, &[("traceparent", &PARENT.to_uppercase())]).await;
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(r.is_error, Some(true));
    assert_eq!(s.portal.traced().len(), before, "{:?}", s.portal.traced());
    client.cancel().await.unwrap();

    let m = scrape(&s).await;
    let traces = |source: &str, result: &str| {
        m.value("docspace_mcp_trace_contexts_total", &[("source", source), ("result", result)]).unwrap_or(0.0)
    };
    assert!(traces("header", "accepted") >= 2.0, "{}", m.text);
    assert!(traces("header", "invalid") >= 1.0, "{}", m.text);
    assert_eq!(traces("meta", "accepted"), 1.0, "{}", m.text);
}

/// The OAuth proxy's steps are counted (registration, authorization,
/// consent, callback, code exchange, its replay refused, refresh), and the
/// client's `traceparent` reaches DocSpace's token endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn oauth_steps_are_counted_and_carry_the_trace_context() {
    let s = TestServer::builder().oauth(OAuth::Shared).args(&["--metrics"]).start().await;
    let client = register(&s.base, &[REDIRECT], "Observed").await;
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(&s.base, &flow).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{}/token", s.base))
        .header("traceparent", PARENT)
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let token_call = s.portal.traced().into_iter().find(|t| t.path == "/oauth2/token").expect("a traced token call");
    assert_eq!(token_call.traceparent, PARENT);
    let (status, _) = exchange(&s.base, &grant, None).await;
    assert_eq!(status, 400, "a code is used once");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) =
        exchange(&s.base, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client)], None)
            .await;
    assert_eq!(status, 200, "{body}");

    let m = scrape(&s).await;
    let event = |event: &str, outcome: &str| {
        m.value("docspace_mcp_oauth_events_total", &[("event", event), ("outcome", outcome)])
    };
    assert_eq!(event("register", "ok"), Some(1.0), "{}", m.text);
    assert_eq!(event("authorize", "consent"), Some(1.0), "{}", m.text);
    assert_eq!(event("consent", "ok"), Some(1.0), "{}", m.text);
    assert_eq!(event("callback", "ok"), Some(1.0), "{}", m.text);
    assert_eq!(event("token", "ok"), Some(1.0), "{}", m.text);
    assert_eq!(event("token", "invalid_grant"), Some(1.0), "{}", m.text);
    assert_eq!(event("refresh", "ok"), Some(1.0), "{}", m.text);
    let route = |route: &str, status: &str| {
        m.value("docspace_mcp_http_requests_total", &[("route", route), ("method", "POST"), ("status", status)])
    };
    assert_eq!(route("/token", "200"), Some(2.0), "{}", m.text);
    assert_eq!(route("/register", "201"), Some(1.0), "{}", m.text);
    // No token, code or client id is a label value.
    for secret in [code.as_str(), refresh, client.as_str(), tokens["access_token"].as_str().unwrap()] {
        assert!(!m.text.contains(secret), "{secret} in the exposition");
    }
}

/// The binary with `DOCSPACE_LOG_FORMAT=json` and a metrics address of its
/// own: every stderr line is a JSON object with `level` and `message`;
/// `/metrics` is served at that address only (the MCP listener answers 404),
/// which serves nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_and_a_metrics_listener_of_its_own() {
    let mut child = server_command(
        &["sandbox", "--transport", "http", "--port", "0", "--metrics-address", "127.0.0.1:0"],
        &[("DOCSPACE_LOG_FORMAT", "json"), ("DOCSPACE_LOG_LEVEL", "debug")],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let (mut mcp, mut metrics) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while mcp.is_none() || metrics.is_none() {
        let line = lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("start-up lines");
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let message = parsed["message"].as_str().unwrap_or_default();
        if let Some(rest) = message.strip_prefix("serving MCP over HTTP on ") {
            mcp = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = message.strip_prefix("serving metrics on ") {
            metrics = Some(rest.trim().to_owned());
        }
        lines.push(line);
    }
    let (mcp, metrics) = (mcp.unwrap(), metrics.unwrap());
    assert!(!metrics.starts_with(&mcp), "{metrics} is not on the MCP listener {mcp}");
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let r = http.get(format!("{mcp}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "not on the MCP listener");
    let r = http.get(format!("{mcp}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = scrape_at(&metrics).await;
    let health = [("route", "/health"), ("method", "GET"), ("status", "200")];
    assert_eq!(m.value("docspace_mcp_http_requests_total", &health), Some(1.0), "{}", m.text);
    let r = http.get(metrics.replace("/metrics", "/health")).send().await.unwrap();
    assert_eq!(r.status(), 404, "the metrics listener serves only /metrics");

    child.kill().unwrap();
    child.wait().unwrap();
    lines.extend(lines_rx.iter());
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let object = v.as_object().unwrap_or_else(|| panic!("not an object: {line}"));
        let level = object.get("level").and_then(Value::as_str).unwrap_or_else(|| panic!("no level: {line}"));
        assert!(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level), "{line}");
        assert!(object.get("message").is_some_and(Value::is_string), "no message: {line}");
        assert!(object.get("timestamp").is_some_and(Value::is_string), "no timestamp: {line}");
    }
}

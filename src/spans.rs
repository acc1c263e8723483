//! The server's own spans (OpenTelemetry), exported over OTLP/HTTP with
//! protobuf bodies when an endpoint is set (`--otlp-endpoint`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
//! Without one nothing here is built or started, and the client's trace
//! context travels to DocSpace unchanged ([`crate::trace`]).
//!
//! Three kinds of span, in the client's trace:
//! - an **HTTP request** (kind server, `POST /mcp`), child of the request's
//!   `traceparent` header (probes and scrapes, `/health` and `/metrics`, have
//!   none);
//! - an **MCP tool call** (kind server, `tools/call get_file_info`, as the MCP
//!   semantic conventions name it), child of the request's
//!   `params._meta.traceparent` when it has a valid one (linked to the HTTP
//!   request's span), else of the HTTP request's span; over stdio, of `_meta`
//!   or of nothing;
//! - each **DocSpace request** (kind client, named by its operation id: a
//!   tool's requests, file-operation polls, upload chunks, downloads, and the
//!   OAuth proxy's calls to DocSpace's authorization server), child of the
//!   tool call's span (or of the HTTP request's, for the OAuth proxy).
//!
//! The `traceparent` DocSpace receives names the DocSpace request's own span
//! (same trace id as the client's), so that DocSpace's spans hang below it;
//! `tracestate` travels unchanged.
//!
//! A finished span goes to the SDK's batch processor: a bounded queue (a span
//! that does not fit is dropped, never waited for) and a thread of its own,
//! which exports in batches through [`Exporter`], the server's reqwest
//! (`tls::builder()`, ring) on a one-thread Tokio runtime of that thread's
//! own: an export never runs on, or waits for, the server's runtime, and no
//! request waits for an export. [`Tracing::shutdown`] flushes the queue.
//!
//! A span carries names and values from fixed lists or from the build's
//! catalogue (method, route, status, tool name, operation id): never
//! arguments, ids, tokens, URLs or who the user is.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use reqwest::header::HeaderValue;

use crate::config::OtlpConfig;
use crate::trace::TraceContext;

/// The service name when neither `OTEL_SERVICE_NAME` nor `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES` gives one.
pub(crate) const SERVICE_NAME: &str = "docspace-mcp";
/// The longest one export request may take (the OpenTelemetry default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a collector's answer read (it says only whether spans were rejected).
const MAX_ANSWER: usize = 64 * 1024;

/// The exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the OTLP exporter (--otlp-endpoint, OTEL_EXPORTER_OTLP_ENDPOINT): {0}")]
pub struct Error(String);

/// The tracer and its export pipeline (cheap to clone). The last clone
/// dropped shuts it down; [`Tracing::shutdown`] does it without blocking the
/// runtime.
#[derive(Debug, Clone)]
pub(crate) struct Tracing {
    provider: SdkTracerProvider,
    tracer: Tracer,
}

/// What makes spans (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Tracer(SdkTracer);

impl Tracing {
    /// Starts the export pipeline to `config.endpoint`.
    pub(crate) fn start(config: &OtlpConfig) -> Result<Self, Error> {
        let tls = docspace_mcp_client::tls::lazy_roots().map_err(|e| Error(e.to_string()))?;
        // No idle connections kept: the export runtime runs only while it
        // exports, so a pooled connection the collector closed in between
        // would be found dead by the next export (one connection a batch).
        let http = docspace_mcp_client::tls::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("docspace-mcp/", env!("CARGO_PKG_VERSION")))
            .timeout(EXPORT_TIMEOUT)
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| Error(crate::logging::error_chain(&e)))?;
        let shown = shown(&config.endpoint);
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(Exporter {
                http,
                endpoint: shown.clone(),
                runtime: OnceLock::new(),
                failing: false.into(),
            })
            .with_endpoint(config.endpoint.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| Error(e.to_string()))?;
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource()).build();
        let scope = InstrumentationScope::builder(SERVICE_NAME).with_version(env!("CARGO_PKG_VERSION")).build();
        let tracer = Tracer(provider.tracer_with_scope(scope));
        tracing::info!("exporting spans to {shown} (OTLP over HTTP)");
        Ok(Self { provider, tracer })
    }

    /// What makes the spans.
    pub(crate) fn tracer(&self) -> Tracer {
        self.tracer.clone()
    }

    /// Exports the spans still queued and stops the pipeline (on a blocking
    /// thread: the SDK waits for its export thread).
    pub(crate) async fn shutdown(&self) {
        let provider = self.provider.clone();
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => tracing::debug!("spans flushed"),
            Ok(Err(e)) => tracing::warn!("the last spans may not have been exported: {e}"),
            Err(e) => tracing::warn!("the last spans may not have been exported: {e}"),
        }
    }
}

/// The endpoint as logged: without a user name or password.
fn shown(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => endpoint.to_owned(),
    }
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), with
/// this server's name when they name none, and its version.
fn resource() -> Resource {
    let resource = Resource::builder().build();
    let key = opentelemetry::Key::from_static_str("service.name");
    let unnamed = resource.get(&key).is_none_or(|name| name.as_str().starts_with("unknown_service"));
    let builder = Resource::builder().with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if unnamed { builder.with_service_name(SERVICE_NAME).build() } else { builder.build() }
}

/// A client's trace context as the parent of a span of ours.
fn remote(context: &TraceContext) -> Option<SpanContext> {
    let value = context.traceparent.to_str().ok()?;
    let mut fields = value.split('-').skip(1);
    let trace_id = TraceId::from_hex(fields.next()?).ok()?;
    let span_id = SpanId::from_hex(fields.next()?).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(fields.next()?, 16).ok()?);
    let state = context.tracestate.as_ref().and_then(|s| s.to_str().ok()?.parse::<TraceState>().ok());
    Some(SpanContext::new(trace_id, span_id, flags, true, state.unwrap_or_default()))
}

/// How a DocSpace request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// DocSpace answered with this HTTP status (or reported it in its envelope).
    Status(u16),
    /// No usable answer: `timeout`, `unreachable`, `too_large`, or
    /// `invalid_request` (refused before it was sent).
    Failed(&'static str),
}

impl Tracer {
    /// The span of an HTTP request (`method` and `route` from the metrics'
    /// fixed lists), child of the client's `traceparent` header if valid.
    pub(crate) fn http_request(
        &self,
        method: &'static str,
        route: &'static str,
        parent: Option<&TraceContext>,
    ) -> Span {
        let parent = parent.and_then(remote).map_or_else(Context::new, |p| Context::new().with_remote_span_context(p));
        let span = self
            .0
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("http.request.method", method), KeyValue::new("http.route", route)])
            .start_with_context(&self.0, &parent);
        Span { tracer: self.clone(), cx: parent.with_span(span) }
    }

    /// The span of a tool call: child of `meta` (the MCP request's own
    /// `_meta` trace context) when given, linked to `request` (the HTTP
    /// request's span); else child of `request`; else a root.
    pub(crate) fn tool_call(&self, meta: Option<&TraceContext>, request: Option<&Span>) -> Span {
        let (parent, links) = match (meta.and_then(remote), request) {
            (Some(meta), request) => {
                let links = request.map(|r| vec![Link::with_context(r.span_context())]).unwrap_or_default();
                (Context::new().with_remote_span_context(meta), links)
            }
            (None, Some(request)) => (request.cx.clone(), Vec::new()),
            (None, None) => (Context::new(), Vec::new()),
        };
        let transport = if request.is_some() { "tcp" } else { "pipe" };
        let span = self
            .0
            .span_builder("tools/call")
            .with_kind(SpanKind::Server)
            .with_links(links)
            .with_attributes([
                KeyValue::new("mcp.method.name", "tools/call"),
                KeyValue::new("gen_ai.operation.name", "execute_tool"),
                KeyValue::new("network.transport", transport),
            ])
            .start_with_context(&self.0, &parent);
        Span { tracer: self.clone(), cx: parent.with_span(span) }
    }
}

/// One span of the server's (cheap to clone: clones are the same span). It
/// ends when one of the `end` methods is called (or its last clone drops).
#[derive(Debug, Clone)]
pub(crate) struct Span {
    tracer: Tracer,
    cx: Context,
}

impl Span {
    /// What made this span.
    pub(crate) fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    fn span_context(&self) -> SpanContext {
        self.cx.span().span_context().clone()
    }

    /// The span of a DocSpace request for `operation`, child of this one.
    pub(crate) fn docspace_request(&self, operation: &'static str) -> Span {
        let span = self
            .tracer
            .0
            .span_builder(operation)
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("docspace.operation", operation)])
            .start_with_context(&self.tracer.0, &self.cx);
        Span { tracer: self.tracer.clone(), cx: self.cx.with_span(span) }
    }

    /// The `traceparent` naming this span, for the requests it makes (`None`
    /// when it has no valid context: the pipeline has shut down).
    pub(crate) fn traceparent(&self) -> Option<HeaderValue> {
        let context = self.span_context();
        if !context.is_valid() {
            return None;
        }
        let value =
            format!("00-{:032x}-{:016x}-{:02x}", context.trace_id(), context.span_id(), context.trace_flags().to_u8());
        HeaderValue::from_str(&value).ok()
    }

    /// The trace context that names this span, with the client's `tracestate`
    /// (what requests made under it carry), or `None` as [`Span::traceparent`].
    pub(crate) fn trace_context(&self, tracestate: Option<HeaderValue>) -> Option<TraceContext> {
        Some(TraceContext { traceparent: self.traceparent()?, tracestate })
    }

    /// Ends the span of a tool call: `tool` is the catalogue's name of the
    /// tool called (`None`: a name outside the selection); `error` what went
    /// wrong (`tool_error` for a result with `isError`, or the JSON-RPC error
    /// code).
    pub(crate) fn end_tool_call(&self, tool: Option<&'static str>, error: Option<String>) {
        let span = self.cx.span();
        if let Some(tool) = tool {
            span.update_name(format!("tools/call {tool}"));
            span.set_attribute(KeyValue::new("gen_ai.tool.name", tool));
        }
        if let Some(error) = error {
            span.set_attribute(KeyValue::new("error.type", error.clone()));
            span.set_status(Status::error(error));
        }
        span.end();
    }

    /// Ends the span of an HTTP request answered with `status` (an error when 5xx).
    pub(crate) fn end_http_request(&self, status: u16) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
        if status >= 500 {
            span.set_attribute(KeyValue::new("error.type", status.to_string()));
            span.set_status(Status::error(format!("HTTP {status}")));
        }
        span.end();
    }

    /// Ends the span of a request that was refused without an HTTP answer
    /// (a relayed SSE message this replica could not deliver).
    pub(crate) fn end_refused(&self) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", "refused"));
        span.set_status(Status::error("refused"));
        span.end();
    }

    /// Ends the span of a DocSpace request (an error unless it answered 1xx–3xx).
    pub(crate) fn end_docspace_request(&self, answer: Answer) {
        let span = self.cx.span();
        let error = match answer {
            Answer::Status(status) => {
                span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
                (status >= 400).then(|| status.to_string())
            }
            Answer::Failed(why) => Some(why.to_owned()),
        };
        if let Some(error) = error {
            span.set_attribute(KeyValue::new("error.type", error.clone()));
            span.set_status(Status::error(error));
        }
        span.end();
    }
}

/// The exporter's HTTP client: the server's reqwest, driven by a one-thread
/// Tokio runtime made at the first export on the thread that exports (the
/// SDK's batch thread, which is not a Tokio thread). A failed export is
/// logged once as a warning, then at debug until an export succeeds.
#[derive(Debug)]
struct Exporter {
    http: reqwest::Client,
    endpoint: String,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    failing: AtomicBool,
}

type HttpError = opentelemetry_http::HttpError;

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Exporter {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, HttpError> {
        let answer = self.send(request);
        let failure = match &answer {
            Ok(a) if a.status().is_success() => None,
            Ok(a) => Some(format!("the collector answered HTTP {}", a.status().as_u16())),
            Err(e) => Some(crate::logging::error_chain(e.as_ref())),
        };
        match failure {
            None if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("exporting spans to {} again", self.endpoint);
            }
            None => {}
            Some(why) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                "could not export spans to {}: {why} (further failures are logged at debug level until an export \
                 succeeds)",
                self.endpoint
            ),
            Some(why) => tracing::debug!("could not export spans to {}: {why}", self.endpoint),
        }
        answer
    }
}

impl Exporter {
    fn send(&self, request: http::Request<bytes::Bytes>) -> Result<http::Response<bytes::Bytes>, HttpError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err("spans are exported from the batch thread, not from a Tokio runtime".into());
        }
        let runtime = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
        });
        let runtime = runtime.as_ref().map_err(|e| HttpError::from(e.clone()))?;
        let request = reqwest::Request::try_from(request)?;
        runtime.block_on(async {
            let mut response = self.http.execute(request).await?;
            let mut body = bytes::BytesMut::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = http::Response::new(body.freeze());
            *answer.status_mut() = response.status();
            *answer.headers_mut() = response.headers().clone();
            Ok(answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_clients_context_becomes_a_remote_parent() {
        let context = TraceContext::parse(PARENT, Some("rojo=00f067aa0ba902b7")).unwrap();
        let parent = remote(&context).unwrap();
        assert_eq!(format!("{:032x}", parent.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(format!("{:016x}", parent.span_id()), "00f067aa0ba902b7");
        assert!(parent.is_sampled() && parent.is_remote());
        assert_eq!(parent.trace_state().get("rojo"), Some("00f067aa0ba902b7"));
        let later = TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x", None).unwrap();
        let parent = remote(&later).unwrap();
        assert!(!parent.is_sampled());
    }

    #[test]
    fn logged_endpoints_carry_no_credentials() {
        assert_eq!(
            shown("https://user:pw@collector.example:4318/v1/traces"),
            "https://collector.example:4318/v1/traces"
        );
        assert_eq!(shown("http://127.0.0.1:4318/v1/traces"), "http://127.0.0.1:4318/v1/traces");
    }
}

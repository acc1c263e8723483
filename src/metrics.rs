//! What the server counts, for Prometheus: HTTP requests, refusals, tool
//! calls, DocSpace requests and their latency, sessions, OAuth events and
//! trace contexts received. The HTTP transport owns one [`Metrics`] (when
//! `DOCSPACE_METRICS` or `DOCSPACE_METRICS_ADDRESS` turns them on) and
//! serves it at `/metrics`; the MCP handler and the tools record into it
//! through the request's `CallScope`. Over stdio nothing is counted.
//!
//! Every label value is a `&'static str` from a fixed list (a route, a
//! tool of the catalogue, an operation id, a refusal reason, an OAuth error
//! code) or an HTTP status mapped by [`status_label`]: nothing a client or a
//! portal sends becomes a label, so the number of series is bounded and no
//! id, token or URL can appear in a scrape. A tool name that is not in the
//! catalogue counts as [`UNKNOWN`].
//!
//! The exposition is OpenMetrics text when the scraper asks for it
//! (`Accept: application/openmetrics-text`, as Prometheus does), and
//! Prometheus text 0.0.4 otherwise; `prometheus-client` writes both.
//! docs/observability.md describes each metric.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The label of a tool name outside the catalogue (a client may send any name).
pub(crate) const UNKNOWN: &str = "unknown";

/// The upper bounds of the DocSpace latency buckets, in seconds: a fast
/// portal answers in milliseconds, a file operation or a slow portal takes
/// seconds, and `DOCSPACE_REQUEST_TIMEOUT` (60 s by default) ends the rest.
const LATENCY_BUCKETS: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    method: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DocSpaceLabels {
    operation: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    transport: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OAuthLabels {
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceLabels {
    source: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type LatencyFamily = Family<DocSpaceLabels, Histogram, fn() -> Histogram>;

/// Buckets of the shared store's command durations, in seconds (a store on
/// the same network answers in well under a millisecond).
const STORE_BUCKETS: [f64; 11] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    operation: &'static str,
    result: &'static str,
}

type StoreFamily = Family<StoreLabels, Histogram, fn() -> Histogram>;

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A result without `isError`.
    Ok,
    /// A result with `isError: true` (DocSpace refused, bad arguments, a
    /// timeout…): the model sees it.
    ToolError,
    /// A JSON-RPC error (an unknown tool, the shutdown, no configuration):
    /// the client sees it.
    ProtocolError,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::ProtocolError => "protocol_error",
        }
    }
}

/// Where a trace context came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TraceSource {
    /// The HTTP request's `traceparent` header.
    Header,
    /// An MCP request's `params._meta.traceparent`.
    Meta,
}

/// The server's metrics (one per HTTP application; cheap to share in an `Arc`).
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    refusals: Family<ReasonLabels, Counter>,
    tool_calls: Family<ToolLabels, Counter>,
    docspace: LatencyFamily,
    sessions: Family<SessionLabels, Gauge>,
    oauth: Family<OAuthLabels, Counter>,
    trace_contexts: Family<TraceLabels, Counter>,
    store: StoreFamily,
    /// Connections the accept loop closed for the per-address cap (it
    /// counts them itself: no request, no response), and how many of them
    /// the refusal counter already holds.
    closed_connections: (std::sync::Arc<AtomicU64>, AtomicU64),
}

impl Metrics {
    /// Empty metrics; `closed_connections` is the accept loop's count of
    /// connections closed for the per-address cap.
    pub(crate) fn new(closed_connections: std::sync::Arc<AtomicU64>) -> Self {
        let mut registry = Registry::with_prefix("docspace_mcp");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route (a fixed list; other paths count as `other`), method and status",
            http_requests.clone(),
        );
        let refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "refusals",
            "Requests (and connections) refused before they reached MCP or OAuth, by reason",
            refusals.clone(),
        );
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "MCP tool calls, by tool (the catalogue's name; `unknown` for any other) and outcome (ok, tool_error, \
             protocol_error)",
            tool_calls.clone(),
        );
        let docspace: LatencyFamily = Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register_with_unit(
            "docspace_request_duration",
            "DocSpace requests made for tool calls, by operation id and the status DocSpace answered (timeout, \
             unreachable or too_large when there was no usable answer)",
            Unit::Seconds,
            docspace.clone(),
        );
        let sessions = Family::<SessionLabels, Gauge>::default();
        registry.register(
            "sessions",
            "Open sessions at the time of the scrape, by transport and state (active: its worker running; \
             hibernated: stopped until its next request)",
            sessions.clone(),
        );
        let oauth = Family::<OAuthLabels, Counter>::default();
        registry.register(
            "oauth_events",
            "Steps of the OAuth proxy, by event (authorize, consent, callback, token, refresh, register, revoke, \
             introspect) and outcome (ok, consent, error, refused, or the OAuth error code answered)",
            oauth.clone(),
        );
        let trace_contexts = Family::<TraceLabels, Counter>::default();
        registry.register(
            "trace_contexts",
            "W3C trace contexts received, by source (header, meta) and result (accepted, invalid: dropped)",
            trace_contexts.clone(),
        );
        let store: StoreFamily = Family::new_with_constructor(|| Histogram::new(STORE_BUCKETS));
        registry.register_with_unit(
            "store_command_duration",
            "Round trips to the shared state store (DOCSPACE_STATE_URL), by operation and result (ok, error: the \
             store could not answer, and the request that needed it was refused)",
            Unit::Seconds,
            store.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register("build_info", "The running build (always 1)", build);
        Self {
            registry,
            http_requests,
            refusals,
            tool_calls,
            docspace,
            sessions,
            oauth,
            trace_contexts,
            store,
            closed_connections: (closed_connections, AtomicU64::new(0)),
        }
    }

    /// An HTTP request on `route` answered with `status`.
    pub(crate) fn http_request(&self, route: &'static str, method: &'static str, status: u16) {
        self.http_requests.get_or_create(&HttpLabels { route, method, status: status_label(status) }).inc();
    }

    /// A request refused for `reason`.
    pub(crate) fn refusal(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// A tool call of `tool` (a catalogue name, or [`UNKNOWN`]) that ended with `outcome`.
    pub(crate) fn tool_call(&self, tool: &'static str, outcome: Outcome) {
        self.tool_calls.get_or_create(&ToolLabels { tool, outcome: outcome.label() }).inc();
    }

    /// A DocSpace request for `operation` that took `elapsed` and ended with
    /// `status` (a [`status_label`], or why there was no answer).
    pub(crate) fn docspace_request(&self, operation: &'static str, status: &'static str, elapsed: Duration) {
        self.docspace.get_or_create(&DocSpaceLabels { operation, status }).observe(elapsed.as_secs_f64());
    }

    /// A step of the OAuth proxy.
    pub(crate) fn oauth_event(&self, event: &'static str, outcome: &'static str) {
        self.oauth.get_or_create(&OAuthLabels { event, outcome }).inc();
    }

    /// A round trip to the shared store for `operation` that took `elapsed`.
    pub(crate) fn store_command(&self, operation: &'static str, ok: bool, elapsed: Duration) {
        let result = if ok { "ok" } else { "error" };
        self.store.get_or_create(&StoreLabels { operation, result }).observe(elapsed.as_secs_f64());
    }

    /// A trace context received from `source`, used or dropped.
    pub(crate) fn trace_context(&self, source: TraceSource, accepted: bool) {
        let source = match source {
            TraceSource::Header => "header",
            TraceSource::Meta => "meta",
        };
        let result = if accepted { "accepted" } else { "invalid" };
        self.trace_contexts.get_or_create(&TraceLabels { source, result }).inc();
    }

    /// The exposition, with the sessions as they are now: OpenMetrics text,
    /// or Prometheus text 0.0.4.
    pub(crate) fn encode(&self, sessions: &SessionCounts, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let gauge = |transport, state, n: usize| {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            self.sessions.get_or_create(&SessionLabels { transport, state }).set(n);
        };
        gauge("streamable_http", "active", sessions.streamable_active);
        gauge("streamable_http", "hibernated", sessions.streamable_hibernated);
        gauge("sse", "active", sessions.sse);
        let (closed, reported) = &self.closed_connections;
        let now = closed.load(Ordering::Relaxed);
        let before = reported.swap(now, Ordering::Relaxed);
        if now > before {
            self.refusals.get_or_create(&ReasonLabels { reason: "connections_per_ip" }).inc_by(now - before);
        }
        let mut text = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        }
        Ok(text)
    }
}

/// The sessions open at the time of a scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionCounts {
    /// Streamable HTTP sessions whose worker runs.
    pub streamable_active: usize,
    /// Streamable HTTP sessions hibernated (worker stopped).
    pub streamable_hibernated: usize,
    /// SSE sessions (always active: their stream is open).
    pub sse: usize,
}

/// The `Content-Type` of the OpenMetrics text exposition.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The `Content-Type` of the Prometheus text exposition.
pub(crate) const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// An HTTP status as a label: the statuses servers commonly answer with as
/// themselves, any other as its class (`2xx`…), so that a portal answering
/// with made-up statuses cannot multiply the series.
pub(crate) fn status_label(status: u16) -> &'static str {
    if let Some((_, label)) = COMMON_STATUSES.iter().find(|(code, _)| *code == status) {
        return label;
    }
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// The statuses that are labels of their own.
const COMMON_STATUSES: [(u16, &str); 29] = [
    (200, "200"),
    (201, "201"),
    (202, "202"),
    (204, "204"),
    (206, "206"),
    (301, "301"),
    (302, "302"),
    (303, "303"),
    (304, "304"),
    (307, "307"),
    (308, "308"),
    (400, "400"),
    (401, "401"),
    (403, "403"),
    (404, "404"),
    (405, "405"),
    (406, "406"),
    (408, "408"),
    (409, "409"),
    (410, "410"),
    (413, "413"),
    (415, "415"),
    (422, "422"),
    (429, "429"),
    (500, "500"),
    (501, "501"),
    (502, "502"),
    (503, "503"),
    (504, "504"),
];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn statuses_are_bounded_labels() {
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(299), "2xx");
        assert_eq!(status_label(0), "other");
        assert_eq!(status_label(9999), "other");
        for (code, label) in COMMON_STATUSES {
            assert_eq!(label, code.to_string());
        }
        let distinct: std::collections::BTreeSet<&str> = (0..=u16::MAX).map(status_label).collect();
        assert!(distinct.len() < 40, "{} labels", distinct.len());
    }

    #[test]
    fn both_expositions_carry_what_was_recorded() {
        let closed = Arc::new(AtomicU64::new(0));
        let m = Metrics::new(closed.clone());
        m.http_request("/mcp", "POST", 200);
        m.tool_call("get_self_profile", Outcome::Ok);
        m.tool_call(UNKNOWN, Outcome::ProtocolError);
        m.docspace_request("getSelfProfile", "200", Duration::from_millis(3));
        m.refusal("rate_limited");
        closed.fetch_add(2, Ordering::Relaxed);
        let sessions = SessionCounts { streamable_active: 2, streamable_hibernated: 1, sse: 0 };
        let open = m.encode(&sessions, true).unwrap();
        assert!(open.ends_with("# EOF\n"), "{open}");
        assert!(open.contains(r#"docspace_mcp_tool_calls_total{tool="get_self_profile",outcome="ok"} 1"#), "{open}");
        assert!(open.contains(r#"docspace_mcp_refusals_total{reason="connections_per_ip"} 2"#), "{open}");
        assert!(open.contains(r#"docspace_mcp_sessions{transport="streamable_http",state="hibernated"} 1"#), "{open}");
        assert!(
            open.contains(r#"docspace_mcp_docspace_request_duration_seconds_bucket{le="0.005",operation="getSelfProfile",status="200"} 1"#)
                || open.contains(r#"docspace_mcp_docspace_request_duration_seconds_bucket{operation="getSelfProfile",status="200",le="0.005"} 1"#),
            "{open}"
        );
        // A second scrape adds no connection twice.
        let text = m.encode(&sessions, false).unwrap();
        assert!(!text.contains("# EOF"), "{text}");
        assert!(text.contains(r#"docspace_mcp_refusals_total{reason="connections_per_ip"} 2"#), "{text}");
        assert!(
            text.contains(r#"docspace_mcp_http_requests_total{route="/mcp",method="POST",status="200"} 1"#),
            "{text}"
        );
    }
}

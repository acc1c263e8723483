//! The span of each HTTP request, with an OTLP endpoint set
//! ([`crate::spans`]): a child of the request's `traceparent` header. The
//! trace context the request passes on (to its tool calls, and the OAuth
//! proxy's calls to DocSpace) names this span from here on; the client's
//! `tracestate` goes with it unchanged. `/health` and `/metrics` (probes and
//! scrapes, every few seconds) have none.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::spans::Tracer;
use crate::trace::TraceContext;
use crate::transport::http::metrics::{method_label, route_label};

/// The middleware (inside the request id's, which reads the header).
pub(crate) async fn span(State(tracer): State<Tracer>, mut req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    if matches!(route, "/health" | "/metrics") {
        return next.run(req).await;
    }
    let incoming = req.extensions().get::<TraceContext>().cloned();
    let span = tracer.http_request(method_label(req.method()), route, incoming.as_ref());
    if let Some(context) = span.trace_context(incoming.and_then(|c| c.tracestate)) {
        req.extensions_mut().insert(context);
    }
    req.extensions_mut().insert(span.clone());
    let response = next.run(req).await;
    span.end_http_request(response.status().as_u16());
    response
}

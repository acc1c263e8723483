//! The HTTP side of the metrics ([`crate::metrics`]): the outermost layer
//! counts every answer by route, method and status, and what the answer
//! says about itself in its extensions — a refusal's reason ([`Refused`],
//! put there by `Refusal`), an OAuth step ([`OAuthEvent`], put there by the
//! OAuth routes) — so the handlers need no handle on the metrics; `/metrics`
//! serves the exposition, on the MCP listener or on a listener of its own
//! ([`router`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::middleware::request_id::HeaderTrace;
use crate::metrics::{self, Metrics, TraceSource};

/// A refusal's reason, carried by its response for the counting layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused(pub &'static str);

/// A step of the OAuth proxy, carried by its response for the counting layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OAuthEvent {
    /// `authorize`, `consent`, `callback`, `token`, `refresh`, `register`, `revoke`, `introspect`.
    pub event: &'static str,
    /// `ok`, `consent`, `error`, `refused` or an OAuth error code.
    pub outcome: &'static str,
}

/// The route of a path, as a label: the endpoints this server serves (the
/// OAuth ones under either of their paths as one), `other` for anything else.
pub(crate) fn route_label(path: &str) -> &'static str {
    let path = path.strip_prefix("/oauth").filter(|p| *p != "/callback").unwrap_or(path);
    match path {
        "/mcp" => "/mcp",
        "/sse" => "/sse",
        "/messages" | "/message" => "/messages",
        "/health" => "/health",
        "/metrics" => "/metrics",
        "/authorize" => "/authorize",
        "/token" => "/token",
        "/register" => "/register",
        "/revoke" => "/revoke",
        "/introspect" => "/introspect",
        "/oauth/callback" => "/oauth/callback",
        p => well_known(p).unwrap_or("other"),
    }
}

/// The discovery documents, at the root or per resource (`/mcp`, `/sse`).
fn well_known(path: &str) -> Option<&'static str> {
    let path = ["/mcp", "/sse"].iter().find_map(|r| path.strip_prefix(r)).unwrap_or(path);
    let document = path.strip_prefix("/.well-known/")?;
    let name = document.strip_suffix("/mcp").or_else(|| document.strip_suffix("/sse")).unwrap_or(document);
    match name {
        "oauth-protected-resource" => Some("/.well-known/oauth-protected-resource"),
        "oauth-authorization-server" | "openid-configuration" => Some("/.well-known/oauth-authorization-server"),
        _ => None,
    }
}

pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The outermost layer: counts the answer, its refusal and its OAuth step.
pub(super) async fn count(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let method = method_label(req.method());
    let response = next.run(req).await;
    metrics.http_request(route, method, response.status().as_u16());
    if let Some(Refused(reason)) = response.extensions().get::<Refused>() {
        metrics.refusal(reason);
    }
    if let Some(e) = response.extensions().get::<OAuthEvent>() {
        metrics.oauth_event(e.event, e.outcome);
    }
    if let Some(HeaderTrace(valid)) = response.extensions().get::<HeaderTrace>() {
        metrics.trace_context(TraceSource::Header, *valid);
    }
    response
}

/// Whether the scraper asks for OpenMetrics (Prometheus does, first).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/openmetrics-text"))
}

/// `GET /metrics`: the exposition (404 when metrics are off).
pub(super) async fn scrape(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(metrics) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let openmetrics = wants_openmetrics(&headers);
    let sessions = state.sessions.counts().await;
    match metrics.encode(&sessions, openmetrics) {
        Ok(text) => {
            let content_type = if openmetrics { metrics::OPENMETRICS } else { metrics::PROMETHEUS_TEXT };
            let mut response = text.into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::warn!("the metrics could not be written: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The application of a separate metrics listener: `GET /metrics`, and a
/// plain 404 for anything else.
pub(super) fn router(state: Arc<AppState>) -> Router {
    Router::new().route("/metrics", get(scrape)).fallback(|| async { StatusCode::NOT_FOUND }).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_fixed_list() {
        assert_eq!(route_label("/mcp"), "/mcp");
        assert_eq!(route_label("/oauth/token"), "/token");
        assert_eq!(route_label("/token"), "/token");
        assert_eq!(route_label("/oauth/callback"), "/oauth/callback");
        assert_eq!(route_label("/message"), "/messages");
        assert_eq!(route_label("/.well-known/oauth-protected-resource/mcp"), "/.well-known/oauth-protected-resource");
        assert_eq!(route_label("/mcp/.well-known/openid-configuration"), "/.well-known/oauth-authorization-server");
        assert_eq!(route_label("/.well-known/openid-configuration/sse"), "/.well-known/oauth-authorization-server");
        for other in ["/", "/mcp/x", "/.well-known/x", "/oauth", "/oauth/x", "/user/123/secret-token", "/health/"] {
            assert_eq!(route_label(other), "other", "{other}");
        }
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn openmetrics_when_asked() {
        let mut h = HeaderMap::new();
        assert!(!wants_openmetrics(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4"),
        );
        assert!(wants_openmetrics(&h));
    }
}

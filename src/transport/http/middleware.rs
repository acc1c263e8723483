//! What every HTTP request passes before it reaches MCP or OAuth, one
//! concern per module: a request id ([`request_id`]), the `Host` and
//! `Origin` checks ([`host_origin`]), the per-IP rate limits
//! ([`rate_limit`]) — all before any DocSpace call — and request bodies read
//! within their size, time and memory bounds ([`body`]). [`guard`] runs the last
//! two with the [`Edge`] policy of the route group it is layered on: the
//! MCP routes have one, each OAuth endpoint its own. With an OTLP endpoint
//! set, [`span`] opens each request's span.

pub(super) mod body;
pub(super) mod host_origin;
pub(super) mod rate_limit;
pub(super) mod request_id;
pub(super) mod span;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::Refusal;
use crate::config::{OAuthEndpoint, Proxies, RateLimit};
use crate::oauth::upstream::{Caller, on_behalf_of};
use crate::store::Store;
use host_origin::HostOrigin;
use rate_limit::{Limiter, client_ip, ip_key};
use request_id::RequestId;

use crate::spans::Span;
use crate::trace::TraceContext;

/// The edge policy of one group of routes: the `Host`/`Origin` policy
/// (shared), which OAuth endpoint the group is (`None`: MCP, health and
/// everything else), and its rate limiter with the settings that size it.
#[derive(Debug)]
pub(super) struct Edge {
    host_origin: Arc<HostOrigin>,
    endpoint: Option<OAuthEndpoint>,
    limiter: Option<(Limiter, String)>,
    proxies: Proxies,
}

impl Edge {
    /// The policy of the MCP endpoints (and every route that is not OAuth).
    pub(super) fn mcp(
        host_origin: Arc<HostOrigin>,
        limit: Option<RateLimit>,
        proxies: Proxies,
        store: Option<&Arc<Store>>,
    ) -> Self {
        let limiter = limit.map(|l| (Limiter::new(l, store, "mcp"), "DOCSPACE_SERVER_RATE_LIMITS_MCP_*".to_owned()));
        Self { host_origin, endpoint: None, limiter, proxies }
    }

    /// The policy of one OAuth endpoint, with its limit if it has one.
    pub(super) fn oauth(
        host_origin: Arc<HostOrigin>,
        endpoint: OAuthEndpoint,
        limits: &[(OAuthEndpoint, RateLimit)],
        proxies: Proxies,
        store: Option<&Arc<Store>>,
    ) -> Self {
        let limiter = limits.iter().find(|(e, _)| *e == endpoint).map(|(_, l)| {
            let name = format!("oauth-{}", endpoint.setting().to_ascii_lowercase());
            (Limiter::new(*l, store, &name), format!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_{}_*", endpoint.setting()))
        });
        Self { host_origin, endpoint: Some(endpoint), limiter, proxies }
    }
}

/// The client's address as the edge established it (the peer, or behind
/// trusted proxies the address they saw), for the handlers' per-client caps.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientIp(pub IpAddr);

/// The middleware: `Host`/`Origin` (403), then the rate limit (429); the
/// client's address is left in the request as a [`ClientIp`].
pub(super) async fn guard(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without
    // `Host` (the allow-list below would otherwise have nothing to check).
    if req.version() >= Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
        tracing::info!(status = 400, "refused: an HTTP/1.1 request without Host");
        return Refusal::bad("an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)").because("host").into_response();
    }
    if let Err(refusal) = edge.host_origin.check(edge.endpoint, req.headers()) {
        tracing::info!(status = refusal.status.as_u16(), "refused: {}", refusal.message);
        return refusal.into_response();
    }
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let address = client_ip(peer, req.headers(), &edge.proxies);
    let ip = address.map(ip_key);
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let caller = Caller {
        address,
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        trace: req.extensions().get::<TraceContext>().cloned(),
        span: req.extensions().get::<Span>().cloned(),
    };
    let allowance = match (&edge.limiter, ip) {
        (Some((limiter, settings)), Some(ip)) => match limiter.check(ip).await {
            Ok(allowance) => Some(allowance),
            Err(refused) => {
                let retry = refused.reset;
                tracing::info!(status = 429, %ip, path = req.uri().path(), "rate limited ({settings})");
                let mut response = Refusal::with_status(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests from {ip}; retry in {} ms ({settings})", retry.as_millis()),
                )
                .into_response();
                let seconds = retry.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&seconds) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                response.headers_mut().extend(refused.headers());
                return response;
            }
        },
        _ => None,
    };
    let mut response = on_behalf_of(caller, next.run(req)).await;
    if let Some(allowance) = allowance {
        response.headers_mut().extend(allowance.headers());
    }
    response
}

/// 503 for a request that needs the shared store while it cannot answer
/// (`Retry-After: 1`).
pub(super) fn store_unavailable() -> Response {
    let mut response = Refusal::with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the server's shared state store (DOCSPACE_STATE_URL) cannot be reached: try again shortly",
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_oauth_endpoint_has_its_own_limiter_and_names_its_settings() {
        let policy =
            Arc::new(HostOrigin::new(&[], &crate::config::Cors { origins: vec![], max_age: Duration::ZERO }, None));
        let limit = RateLimit { capacity: 10, window: Duration::from_secs(60) };
        let token = Edge::oauth(
            policy.clone(),
            OAuthEndpoint::Token,
            &[(OAuthEndpoint::Token, limit)],
            Proxies::default(),
            None,
        );
        assert_eq!(token.limiter.as_ref().map(|(_, s)| s.as_str()), Some("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_*"));
        let register = Edge::oauth(
            policy.clone(),
            OAuthEndpoint::Register,
            &[(OAuthEndpoint::Token, limit)],
            Proxies::default(),
            None,
        );
        assert!(register.limiter.is_none(), "0 = no limit");
        assert!(Edge::mcp(policy.clone(), None, Proxies::default(), None).limiter.is_none(), "MCP limit 0 = off");
        let mcp = Edge::mcp(policy, Some(limit), Proxies::default(), None);
        assert_eq!(mcp.limiter.as_ref().map(|(_, s)| s.as_str()), Some("DOCSPACE_SERVER_RATE_LIMITS_MCP_*"));
    }
}

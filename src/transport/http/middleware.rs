//! What every HTTP request passes before it reaches MCP or OAuth, one
//! concern per module: a request id ([`request_id`]), the `Host` and
//! `Origin` checks ([`host_origin`]) and the per-IP rate limits
//! ([`rate_limit`]) — all before any DocSpace call. [`guard`] runs the last
//! two, having worked out once which OAuth endpoint (if any) a request is for.

pub mod host_origin;
pub mod rate_limit;
pub mod request_id;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::Refusal;
use crate::config::OAuthEndpoint;
use host_origin::HostOrigin;
use rate_limit::RateLimits;

/// The edge policy: `Host`/`Origin` and the rate limits.
#[derive(Debug)]
pub struct Guard {
    /// The `Host`/`Origin` policy.
    pub host_origin: HostOrigin,
    /// The rate limits.
    pub limits: RateLimits,
    /// The OAuth proxy is on (its endpoints have their own policies).
    pub oauth: bool,
}

/// The OAuth endpoint serving `path` (whose rate limit and CORS are its own).
pub fn oauth_endpoint(path: &str) -> Option<OAuthEndpoint> {
    let path = path.trim_end_matches('/');
    if path.contains("/.well-known/oauth-protected-resource") {
        return Some(OAuthEndpoint::ResourceMetadata);
    }
    if path.contains("/.well-known/oauth-authorization-server") || path.contains("/.well-known/openid-configuration") {
        return Some(OAuthEndpoint::ServerMetadata);
    }
    match path.strip_prefix("/oauth").unwrap_or(path) {
        "/authorize" => Some(OAuthEndpoint::Authorize),
        "/callback" if path == "/oauth/callback" => Some(OAuthEndpoint::Callback),
        "/introspect" => Some(OAuthEndpoint::Introspect),
        "/register" => Some(OAuthEndpoint::Register),
        "/revoke" => Some(OAuthEndpoint::Revoke),
        "/token" => Some(OAuthEndpoint::Token),
        _ => None,
    }
}

/// The middleware: `Host`/`Origin` (403), then the rate limit (429).
pub async fn guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let endpoint = if guard.oauth { oauth_endpoint(req.uri().path()) } else { None };
    if let Err(refusal) = guard.host_origin.check(endpoint, req.headers()) {
        tracing::info!(status = 403, "refused: {}", refusal.message);
        return refusal.into_response();
    }
    if let Some((limiter, settings)) = guard.limits.limiter_for(endpoint) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if let Some(ip) = guard.limits.client_ip(peer, req.headers())
            && let Err(retry) = limiter.check(ip)
        {
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
            return response;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_paths() {
        use OAuthEndpoint as E;
        for (path, endpoint) in [
            ("/.well-known/oauth-authorization-server", Some(E::ServerMetadata)),
            ("/.well-known/openid-configuration/mcp", Some(E::ServerMetadata)),
            ("/mcp/.well-known/openid-configuration", Some(E::ServerMetadata)),
            ("/.well-known/oauth-protected-resource/sse", Some(E::ResourceMetadata)),
            ("/authorize", Some(E::Authorize)),
            ("/oauth/authorize", Some(E::Authorize)),
            ("/oauth/callback", Some(E::Callback)),
            ("/callback", None),
            ("/token", Some(E::Token)),
            ("/oauth/token/", Some(E::Token)),
            ("/register", Some(E::Register)),
            ("/oauth/revoke", Some(E::Revoke)),
            ("/introspect", Some(E::Introspect)),
            ("/mcp", None),
            ("/tokens", None),
        ] {
            assert_eq!(oauth_endpoint(path), endpoint, "{path}");
        }
    }
}

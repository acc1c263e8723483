//! What every HTTP request passes before it reaches MCP: a request id, the
//! `Host` and `Origin` checks (DNS rebinding), and the per-IP rate limit —
//! all before any DocSpace call.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::request::Refusal;
use crate::config::{OAuthEdgeArgs, OAuthEndpoint};

/// `X-Request-ID`.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one HTTP request (the client's `X-Request-ID`, or a new one),
/// logged, echoed in the response and sent on to DocSpace.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Gives every request an id: the caller's, when it is a sane one.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("-"))
        });
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

/// The `Host`/`Origin` policy and the rate limiters.
#[derive(Debug)]
pub struct Guard {
    /// Accepted hostnames, lower case (`[::1]` for IPv6); empty accepts any.
    hostnames: Vec<String>,
    /// Origins listed for CORS (exact), or `any` for `*`.
    origins: Vec<String>,
    any_origin: bool,
    limiter: Option<RateLimiter>,
    proxy_hops: usize,
    /// With the OAuth proxy on: its endpoints' own policy.
    oauth: Option<OAuthPolicy>,
}

/// The OAuth endpoints' origins and rate limits.
#[derive(Debug)]
struct OAuthPolicy {
    /// Origins listed for CORS on the API endpoints, or `any` for `*`.
    origins: Vec<String>,
    any_origin: bool,
    limiters: Vec<(OAuthEndpoint, RateLimiter)>,
}

fn clean(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase()).filter(|s| !s.is_empty()).collect()
}

impl Guard {
    /// The policy from the operator's settings.
    pub fn new(
        hostnames: &[String],
        cors_origins: &[String],
        rate_limit: u32,
        window: Duration,
        proxy_hops: usize,
    ) -> Self {
        let origins = clean(cors_origins);
        Self {
            hostnames: clean(hostnames),
            any_origin: origins.iter().any(|o| o == "*"),
            origins: origins.into_iter().filter(|o| o != "*").collect(),
            limiter: (rate_limit > 0).then(|| RateLimiter::new(rate_limit, window)),
            proxy_hops,
            oauth: None,
        }
    }

    /// Adds the OAuth endpoints' policy (the proxy is on): their own rate
    /// limits, and for the API endpoints their own CORS origins.
    #[must_use]
    pub fn with_oauth(mut self, edge: &OAuthEdgeArgs) -> Self {
        let origins = clean(&edge.oauth_cors_origins);
        self.oauth = Some(OAuthPolicy {
            any_origin: origins.iter().any(|o| o == "*"),
            origins: origins.into_iter().filter(|o| o != "*").collect(),
            limiters: edge
                .rate_limits()
                .into_iter()
                .filter(|(_, capacity, _)| *capacity > 0)
                .map(|(endpoint, capacity, window)| {
                    (endpoint, RateLimiter::new(capacity, Duration::from_millis(window.max(1))))
                })
                .collect(),
        });
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hostnames.is_empty() || self.hostnames.iter().any(|h| h == host)
    }

    /// The OAuth endpoint serving `path`, when the proxy is on (worked out
    /// once per request, for both checks).
    pub fn oauth_endpoint(&self, path: &str) -> Option<OAuthEndpoint> {
        self.oauth.as_ref().and_then(|_| OAuthEndpoint::of(path))
    }

    /// Checks `Host` and `Origin` for a request to `endpoint` (`None`: MCP
    /// and everything that is not OAuth).
    pub fn check_headers(&self, endpoint: Option<OAuthEndpoint>, headers: &HeaderMap) -> Result<(), Refusal> {
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().map(hostname).unwrap_or_default();
            if !self.host_allowed(&host) {
                return Err(Refusal::forbidden(format!(
                    "Host `{host}` is not allowed (DOCSPACE_SERVER_ALLOWED_HOSTNAMES)"
                )));
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default().trim_end_matches('/').to_ascii_lowercase();
            let host = origin.split_once("://").map(|(_, rest)| hostname(rest)).unwrap_or_default();
            let by_host = |any: bool, listed: &[String]| {
                (any || listed.is_empty()) && !host.is_empty() && self.host_allowed(&host)
            };
            // The OAuth API endpoints answer browser-based clients on other
            // origins (no cookies there; the Host check still applies).
            if let (Some(policy), Some(endpoint)) = (&self.oauth, endpoint)
                && endpoint.is_api()
            {
                if policy.any_origin || policy.origins.contains(&origin) || by_host(false, &policy.origins) {
                    return Ok(());
                }
                return Err(Refusal::forbidden(format!(
                    "Origin `{origin}` is not allowed (DOCSPACE_SERVER_CORS_OAUTH_ORIGIN)"
                )));
            }
            if !self.origins.contains(&origin) && !by_host(self.any_origin, &self.origins) {
                return Err(Refusal::forbidden(format!(
                    "Origin `{origin}` is not allowed (DOCSPACE_SERVER_CORS_MCP_ORIGIN, DOCSPACE_SERVER_ALLOWED_HOSTNAMES)"
                )));
            }
        }
        Ok(())
    }

    /// The limiter for `endpoint` (an OAuth endpoint's own, or the MCP one)
    /// and the settings that size it.
    fn limiter_for(&self, endpoint: Option<OAuthEndpoint>) -> Option<(&RateLimiter, String)> {
        match (&self.oauth, endpoint) {
            (Some(policy), Some(endpoint)) => policy
                .limiters
                .iter()
                .find(|(e, _)| *e == endpoint)
                .map(|(_, l)| (l, format!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_{}_*", endpoint.setting()))),
            _ => self.limiter.as_ref().map(|l| (l, "DOCSPACE_SERVER_RATE_LIMITS_MCP_*".to_owned())),
        }
    }

    /// The client's address: the peer, or with trusted proxies the entry of
    /// `X-Forwarded-For` the outermost of them saw.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if self.proxy_hops == 0 {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        forwarded.len().checked_sub(self.proxy_hops).and_then(|i| forwarded.get(i).copied()).or(peer)
    }
}

/// `host[:port]` → `host` (lower case; IPv6 keeps its brackets).
fn hostname(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or_default().to_owned();
    }
    authority.split(':').next().unwrap_or_default().to_owned()
}

/// Fixed-window request counting per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: u32,
    window: Duration,
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    fn new(capacity: u32, window: Duration) -> Self {
        Self { capacity, window, counts: Mutex::new(HashMap::new()) }
    }

    /// Counts a request; `Err(retry after)` when the window is full.
    fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut counts) = self.counts.lock() else { return Ok(()) };
        if counts.len() > 100_000 {
            let window = self.window;
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.capacity {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The middleware: `Host`/`Origin` (403), then the rate limit (429).
pub async fn guard(State(guard): State<std::sync::Arc<Guard>>, req: Request, next: Next) -> Response {
    let endpoint = guard.oauth_endpoint(req.uri().path());
    if let Err(refusal) = guard.check_headers(endpoint, req.headers()) {
        tracing::info!(status = 403, "refused: {}", refusal.message);
        return refusal.into_response();
    }
    if let Some((limiter, settings)) = guard.limiter_for(endpoint) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if let Some(ip) = guard.client_ip(peer, req.headers())
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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn default_guard() -> Guard {
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned(), "[::1]".to_owned()];
        Guard::new(&hosts, &["*".to_owned()], 0, Duration::from_secs(1), 0)
    }

    #[test]
    fn hosts_and_origins() {
        let g = default_guard();
        assert!(g.check_headers(None, &headers(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(g.check_headers(None, &headers(&[("host", "[::1]:8080")])).is_ok());
        assert!(g.check_headers(None, &headers(&[("host", "LOCALHOST")])).is_ok());
        assert!(g.check_headers(None, &headers(&[("host", "evil.example")])).is_err());
        assert!(g.check_headers(None, &headers(&[("host", "localhost"), ("origin", "http://localhost:6274")])).is_ok());
        assert!(g.check_headers(None, &headers(&[("host", "localhost"), ("origin", "https://evil.example")])).is_err());
        assert!(g.check_headers(None, &headers(&[("host", "localhost"), ("origin", "null")])).is_err());
        let listed = Guard::new(&[], &["https://app.example.com".to_owned()], 0, Duration::from_secs(1), 0);
        assert!(
            listed
                .check_headers(None, &headers(&[("host", "anything"), ("origin", "https://app.example.com")]))
                .is_ok()
        );
        assert!(listed.check_headers(None, &headers(&[("origin", "https://other.example.com")])).is_err());
    }

    #[test]
    fn oauth_paths_and_their_settings() {
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
            assert_eq!(E::of(path), endpoint, "{path}");
        }
        // The reference server's defaults: 200 per minute for metadata and
        // the browser steps, 10 per minute for the token endpoints.
        let limits = OAuthEdgeArgs::default().rate_limits();
        assert!(
            limits.iter().all(|(e, n, w)| *w == 60_000
                && *n == if e.is_api() && !e.setting().ends_with("METADATA") { 10 } else { 200 })
        );
        let without = default_guard();
        assert_eq!(
            without.limiter_for(without.oauth_endpoint("/token")).map(|(_, s)| s),
            None,
            "no limits configured, no OAuth"
        );
        let with = default_guard().with_oauth(&OAuthEdgeArgs::default());
        assert_eq!(
            with.limiter_for(with.oauth_endpoint("/oauth/token")).map(|(_, s)| s).as_deref(),
            Some("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_*")
        );
        assert!(with.limiter_for(with.oauth_endpoint("/mcp")).is_none(), "MCP limit 0 = off");
        let origin = headers(&[("host", "localhost"), ("origin", "https://web.example")]);
        assert!(with.check_headers(with.oauth_endpoint("/token"), &origin).is_ok());
        assert!(
            with.check_headers(with.oauth_endpoint("/authorize"), &origin).is_err(),
            "pages keep the MCP origin policy"
        );
        assert!(
            without.check_headers(without.oauth_endpoint("/token"), &origin).is_err(),
            "without OAuth, /token is nothing special"
        );
    }

    #[test]
    fn rate_limit_and_forwarded_ips() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check(ip).is_ok() && l.check(ip).is_ok());
        assert!(l.check(ip).is_err());
        assert!(l.check("10.0.0.2".parse().unwrap()).is_ok(), "per IP");
        let g = Guard::new(&[], &[], 0, Duration::from_secs(1), 1);
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8")]);
        assert_eq!(g.client_ip(Some("127.0.0.1".parse().unwrap()), &h), Some("5.6.7.8".parse().unwrap()));
        assert_eq!(default_guard().client_ip(Some(ip), &h), Some(ip), "no trusted proxy: the peer");
    }
}

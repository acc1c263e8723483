//! Per-client-IP rate limits, checked before any DocSpace call: one budget
//! for the MCP endpoints, and with the OAuth proxy on one per OAuth endpoint
//! (the reference server's settings). Behind trusted proxies the client's
//! address comes from `X-Forwarded-For`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::config::{OAuthEndpoint, RateLimit};

/// Fixed-window request counting per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, counts: Mutex::new(HashMap::new()) }
    }

    /// Counts a request; `Err(retry after)` when the window is full.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let window = self.limit.window;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit.capacity {
            return Err(window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Every limiter, and how to find the client's address.
#[derive(Debug)]
pub struct RateLimits {
    mcp: Option<RateLimiter>,
    /// The OAuth endpoints' own (endpoints without a limit are absent).
    oauth: Vec<(OAuthEndpoint, RateLimiter)>,
    proxy_hops: usize,
}

impl RateLimits {
    /// The limiters for the MCP endpoints and the OAuth endpoints.
    pub fn new(mcp: Option<RateLimit>, oauth: &[(OAuthEndpoint, RateLimit)], proxy_hops: usize) -> Self {
        Self {
            mcp: mcp.map(RateLimiter::new),
            oauth: oauth.iter().map(|(e, l)| (*e, RateLimiter::new(*l))).collect(),
            proxy_hops,
        }
    }

    /// The limiter for `endpoint` (an OAuth endpoint's own, or the MCP one)
    /// and the settings that size it.
    pub fn limiter_for(&self, endpoint: Option<OAuthEndpoint>) -> Option<(&RateLimiter, String)> {
        match endpoint {
            Some(endpoint) => self
                .oauth
                .iter()
                .find(|(e, _)| *e == endpoint)
                .map(|(_, l)| (l, format!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_{}_*", endpoint.setting()))),
            None => self.mcp.as_ref().map(|l| (l, "DOCSPACE_SERVER_RATE_LIMITS_MCP_*".to_owned())),
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

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    fn limit(capacity: u32, secs: u64) -> RateLimit {
        RateLimit { capacity, window: Duration::from_secs(secs) }
    }

    #[test]
    fn rate_limit_and_forwarded_ips() {
        let l = RateLimiter::new(limit(2, 60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check(ip).is_ok() && l.check(ip).is_ok());
        assert!(l.check(ip).is_err());
        assert!(l.check("10.0.0.2".parse().unwrap()).is_ok(), "per IP");
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_static("1.2.3.4, 5.6.7.8"));
        let behind_one = RateLimits::new(None, &[], 1);
        assert_eq!(behind_one.client_ip(Some("127.0.0.1".parse().unwrap()), &h), Some("5.6.7.8".parse().unwrap()));
        let direct = RateLimits::new(None, &[], 0);
        assert_eq!(direct.client_ip(Some(ip), &h), Some(ip), "no trusted proxy: the peer");
    }

    #[test]
    fn each_oauth_endpoint_has_its_own_limiter_and_names_its_settings() {
        let limits = RateLimits::new(None, &[(OAuthEndpoint::Token, limit(10, 60))], 0);
        assert_eq!(
            limits.limiter_for(Some(OAuthEndpoint::Token)).map(|(_, s)| s).as_deref(),
            Some("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_*")
        );
        assert!(limits.limiter_for(Some(OAuthEndpoint::Register)).is_none(), "0 = no limit");
        assert!(limits.limiter_for(None).is_none(), "MCP limit 0 = off");
        let mcp = RateLimits::new(Some(limit(5, 1)), &[], 0);
        assert_eq!(mcp.limiter_for(None).map(|(_, s)| s).as_deref(), Some("DOCSPACE_SERVER_RATE_LIMITS_MCP_*"));
    }
}

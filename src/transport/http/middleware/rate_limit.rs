//! Per-client-IP rate limiting, checked before any DocSpace call (one
//! limiter for the MCP endpoints, and with the OAuth proxy on one per OAuth
//! endpoint: see [`super::Edge`]). Behind trusted proxies the client's
//! address comes from `X-Forwarded-For`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::config::RateLimit;

/// Fixed-window request counting per client IP.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit`.
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self { limit, counts: Mutex::new(HashMap::new()) }
    }

    /// Counts a request; `Err(retry after)` when the window is full.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), Duration> {
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

/// The client's address: the peer, or behind `proxy_hops` trusted proxies
/// the entry of `X-Forwarded-For` the outermost of them saw.
pub(crate) fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, proxy_hops: usize) -> Option<IpAddr> {
    if proxy_hops == 0 {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded.len().checked_sub(proxy_hops).and_then(|i| forwarded.get(i).copied()).or(peer)
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
        assert_eq!(client_ip(Some("127.0.0.1".parse().unwrap()), &h, 1), Some("5.6.7.8".parse().unwrap()));
        assert_eq!(client_ip(Some(ip), &h, 0), Some(ip), "no trusted proxy: the peer");
        assert_eq!(client_ip(Some(ip), &h, 3), Some(ip), "fewer entries than hops: the peer");
    }
}

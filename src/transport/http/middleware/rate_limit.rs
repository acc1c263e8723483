//! Per-client rate limiting, checked before any DocSpace call (one limiter
//! for the MCP endpoints, and with the OAuth proxy on one per OAuth
//! endpoint: see [`super::Edge`]). Clients are counted by [`ip_key`] (an IPv6
//! client by its /64); behind trusted proxies the client's address comes
//! from `X-Forwarded-For`. The counting is `governor`'s (GCRA over a sharded
//! map): a burst of `capacity` requests, refilled evenly over the window, and
//! no lock over every client at once. With the shared store, the same
//! algorithm runs in the store ([`crate::store::rate`]), so the limits hold
//! over every replica together.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

use crate::config::{Proxies, RateLimit};
use crate::store::Store;
use crate::store::rate::SharedLimiter;

/// Forgetting clients whose allowance is full again is a pass over the
/// map's shards, one at a time: done every this many checks, once the map
/// holds more than this many clients.
const TIDY_EVERY: u32 = 4096;

/// `capacity` requests per window, per client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limiter: Gcra<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>,
    limit: RateLimit,
    checks: AtomicU32,
}

/// What a client has left after a request, for the `RateLimit-*` headers
/// (draft-ietf-httpapi-ratelimit-headers, as the reference server sends
/// them and exposes them to browsers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Allowance {
    /// Requests per window.
    pub limit: u32,
    /// Requests left now.
    pub remaining: u32,
    /// Until the allowance is whole again (refused: until the next request is allowed).
    pub reset: Duration,
    /// The window.
    pub window: Duration,
}

impl Allowance {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (whole
    /// seconds, rounded up) and `RateLimit-Policy` (`<limit>;w=<seconds>`).
    pub(crate) fn headers(&self) -> [(HeaderName, HeaderValue); 4] {
        let seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        [
            (HeaderName::from_static("ratelimit-limit"), HeaderValue::from(self.limit)),
            (HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(self.remaining)),
            (HeaderName::from_static("ratelimit-reset"), HeaderValue::from(seconds(self.reset))),
            (
                HeaderName::from_static("ratelimit-policy"),
                HeaderValue::from_str(&format!("{};w={}", self.limit, seconds(self.window).max(1)))
                    .unwrap_or_else(|_| HeaderValue::from_static("0")),
            ),
        ]
    }
}

/// A limiter of this process, or one whose counters every replica shares.
#[derive(Debug)]
pub(crate) enum Limiter {
    /// Counted here.
    Local(RateLimiter),
    /// Counted in the shared store; while it cannot answer, here (so the
    /// limits still hold, per replica, and requests that need no store,
    /// `/health` among them, are still served).
    Shared(SharedLimiter, RateLimit, RateLimiter),
}

impl Limiter {
    /// `limit`, counted in `store` when there is one; `name` tells the
    /// limiters apart there.
    pub(crate) fn new(limit: RateLimit, store: Option<&Arc<Store>>, name: &str) -> Self {
        match store {
            Some(store) => Self::Shared(
                SharedLimiter::new(store.clone(), name, limit.capacity, limit.window),
                limit,
                RateLimiter::new(limit),
            ),
            None => Self::Local(RateLimiter::new(limit)),
        }
    }

    /// Counts a request from `ip` (a [`ip_key`]): what it has left, or
    /// `Err` when its allowance is spent.
    pub(crate) async fn check(&self, ip: IpAddr) -> Result<Allowance, Allowance> {
        match self {
            Self::Local(limiter) => limiter.check(ip),
            Self::Shared(limiter, limit, fallback) => {
                let Ok(verdict) = limiter.check(ip).await else { return fallback.check(ip) };
                let allowance = Allowance {
                    limit: limit.capacity.max(1),
                    remaining: verdict.remaining.min(limit.capacity.max(1)),
                    reset: verdict.wait,
                    window: limit.window,
                };
                if verdict.allowed { Ok(allowance) } else { Err(allowance) }
            }
        }
    }
}

impl RateLimiter {
    /// A limiter allowing `limit` (a capacity of 0 is not a limit: the caller builds none).
    pub(crate) fn new(limit: RateLimit) -> Self {
        let capacity = NonZeroU32::new(limit.capacity).unwrap_or(NonZeroU32::MIN);
        let period = (limit.window / capacity.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(capacity)).allow_burst(capacity);
        Self { limiter: Gcra::dashmap(quota).with_middleware(), limit, checks: AtomicU32::new(0) }
    }

    /// Counts a request from `ip` (a [`ip_key`]): what it has left, or
    /// `Err` (with the same, `reset` being the wait) when its allowance is spent.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<Allowance, Allowance> {
        let checks = self.checks.fetch_add(1, Ordering::Relaxed);
        if checks.is_multiple_of(TIDY_EVERY) && self.limiter.len() > TIDY_EVERY as usize {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let limit = self.limit.capacity.max(1);
        let allowance =
            |remaining: u32, reset: Duration| Allowance { limit, remaining, reset, window: self.limit.window };
        match self.limiter.check_key(&ip) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(limit);
                // Each spent request comes back after a window's share of time.
                let reset = self.limit.window.mul_f64(f64::from(limit - remaining) / f64::from(limit));
                Ok(allowance(remaining, reset))
            }
            Err(not_until) => Err(allowance(0, not_until.wait_time_from(DefaultClock::default().now()))),
        }
    }
}

/// The key a client's address is counted under: an IPv4 address itself
/// (also when written as IPv4-mapped IPv6), an IPv6 address by its /64, the
/// smallest network a single subscriber is given: counting each IPv6 address
/// alone would let one client take 2^64 places.
pub(crate) fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// The client's address: the peer; or, when the peer is a trusted proxy,
/// the address it saw (the last `X-Forwarded-For` entry), and so on for as
/// many hops as are configured, each believed only when the hop that
/// reported it is trusted. Entries a client wrote itself sit further left
/// and are never reached.
pub(crate) fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &Proxies) -> Option<IpAddr> {
    let mut ip = peer?;
    if proxies.hops == 0 {
        return Some(ip);
    }
    let mut forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for _ in 0..proxies.hops {
        if !proxies.trusts(ip) {
            break;
        }
        match forwarded.pop() {
            Some(next) => ip = next,
            None => break,
        }
    }
    Some(ip)
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
        let first = l.check(ip).unwrap();
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert!(first.reset > Duration::from_secs(29) && first.reset <= Duration::from_secs(30), "{first:?}");
        assert_eq!(l.check(ip).unwrap().remaining, 0);
        let refused = l.check(ip).unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!(refused.reset > Duration::from_secs(29), "{refused:?}");
        let headers: Vec<(String, String)> =
            first.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("ratelimit-limit", "2"),
                ("ratelimit-remaining", "1"),
                ("ratelimit-reset", "30"),
                ("ratelimit-policy", "2;w=60")
            ]
        );
        assert!(l.check("10.0.0.2".parse().unwrap()).is_ok(), "per IP");
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_static("1.2.3.4, 5.6.7.8"));
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "203.0.113.9".parse().unwrap();
        let hops =
            |hops| Proxies { hops, trusted: vec!["127.0.0.0/8".parse().unwrap(), "5.6.7.8/32".parse().unwrap()] };
        assert_eq!(client_ip(Some(local), &h, &hops(1)), Some("5.6.7.8".parse().unwrap()));
        assert_eq!(client_ip(Some(local), &h, &hops(0)), Some(local), "no trusted hop: the peer");
        assert_eq!(client_ip(Some(local), &h, &hops(2)), Some("1.2.3.4".parse().unwrap()), "two trusted hops");
        assert_eq!(client_ip(Some(local), &h, &hops(5)), Some("1.2.3.4".parse().unwrap()), "no more entries");
        // A peer that is not a trusted proxy is the client, whatever it writes.
        assert_eq!(client_ip(Some(public), &h, &hops(1)), Some(public), "an untrusted peer");
        // A hop that is not trusted ends the walk: what it reports is its own.
        let mut spoofed = HeaderMap::new();
        spoofed.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_static("9.9.9.9, 1.2.3.4"));
        assert_eq!(client_ip(Some(local), &spoofed, &hops(3)), Some("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let key = |s: &str| ip_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"), "one /64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"), "another /64");
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"), "IPv4-mapped is IPv4");
        assert_eq!(key("10.0.0.1"), "10.0.0.1".parse::<IpAddr>().unwrap());
        // One client rotating through its /64 gets one allowance.
        let l = RateLimiter::new(limit(2, 60));
        assert!(l.check(key("2001:db8::1")).is_ok() && l.check(key("2001:db8::2")).is_ok());
        assert!(l.check(key("2001:db8::3")).is_err());
    }
}

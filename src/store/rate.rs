//! Global rate limits: the same GCRA as the in-process limiter (`governor`:
//! a burst of `capacity` requests, one coming back every `window /
//! capacity`), its state (the theoretical arrival time) kept in the store
//! per client and limiter, read and written by one Lua script on the
//! store's own clock, so replicas' clocks never disagree and two replicas
//! counting the same client at once see each other's requests.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use super::{Query, Store, Unavailable};

/// The script: KEYS[1] the client's key; ARGV[1] the emission interval and
/// ARGV[2] the window (the burst's span), in microseconds (times are
/// written with `%d`: Lua's default number format would round them). Answers
/// `{allowed (0/1), remaining, wait or reset in microseconds}`.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - window
if now < allowed_at then
  return {0, 0, allowed_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
return {1, math.floor((now - allowed_at) / interval), next_tat - now}
";

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA));

/// One limiter's counters in the store.
#[derive(Debug)]
pub(crate) struct SharedLimiter {
    store: Arc<Store>,
    /// Which limiter (`mcp`, `oauth-token`, …).
    name: String,
    interval_us: u64,
    window_us: u64,
}

/// The store's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether it may go on.
    pub allowed: bool,
    /// Requests left after it.
    pub remaining: u32,
    /// Allowed: until the allowance is whole again; refused: until the next
    /// request is allowed.
    pub wait: Duration,
}

impl SharedLimiter {
    /// `capacity` (at least 1) requests per `window`, named `name`.
    pub(crate) fn new(store: Arc<Store>, name: &str, capacity: u32, window: Duration) -> Self {
        let window_us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX).max(1);
        let interval_us = (window_us / u64::from(capacity.max(1))).max(1);
        Self { store, name: name.to_owned(), interval_us, window_us: interval_us * u64::from(capacity.max(1)) }
    }

    /// Counts a request from `ip` (already an `ip_key`).
    pub(crate) async fn check(&self, ip: IpAddr) -> Result<Verdict, Unavailable> {
        let key = self.store.key(&format!("rate:{}", self.name), &ip.to_string());
        let mut invocation = SCRIPT.key(key);
        invocation.arg(self.interval_us).arg(self.window_us);
        let (allowed, remaining, wait): (i64, i64, i64) =
            self.store.run("rate_limit", Query::Script(&invocation)).await?;
        Ok(Verdict {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            wait: Duration::from_micros(u64::try_from(wait.max(0)).unwrap_or(0)),
        })
    }
}

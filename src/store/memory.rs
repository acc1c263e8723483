//! The OAuth proxy's memories in the shared store: each a key space
//! (`<prefix>:oauth:<name>:<hex of the key>`) whose entries expire on the
//! server. The keys are what the in-process memories are keyed by (digests
//! of states, codes and tokens; metadata document URLs), so nothing secret
//! is stored in clear; the values are JSON.
//!
//! A single-use mark is `SET … NX PX`: of two replicas spending the same
//! code at once, exactly one is told "first". The store's memory bound is
//! its own (`maxmemory`): with the `noeviction` policy (Redis's default),
//! a full store refuses writes, which fails closed like the in-process
//! sets; an evicting policy could forget a used code (docs/deploy.md).

use std::fmt::Write as _;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Query, Store};
use crate::oauth::memory::{Memory, Unavailable};

/// The longest an entry is kept (as in the in-process memories).
const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);

/// One memory of the proxy in the store.
pub(crate) struct SharedMemory<V> {
    store: Arc<Store>,
    name: &'static str,
    _values: PhantomData<fn() -> V>,
}

impl<V> SharedMemory<V> {
    /// The memory `name` (`used`, `revoked`, …) in `store`.
    pub(crate) fn new(store: Arc<Store>, name: &'static str) -> Self {
        Self { store, name, _values: PhantomData }
    }

    fn key(&self, key: &[u8]) -> String {
        let mut hex = String::with_capacity(key.len() * 2);
        for b in key {
            let _ = write!(hex, "{b:02x}");
        }
        self.store.key(&format!("oauth:{}", self.name), &hex)
    }
}

/// A lifetime in whole milliseconds, at least 1 (`PX 0` is an error) and at
/// most [`MAX_LIFETIME`].
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_LIFETIME).as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl<V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> Memory<V> for SharedMemory<V> {
    async fn insert_new(&self, key: &[u8], value: V, ttl: Duration) -> Result<bool, Unavailable> {
        let value = serde_json::to_vec(&value).map_err(|_| Unavailable)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("NX").arg("PX").arg(millis(ttl));
        // `OK` when set, nil when an unexpired entry is there.
        let set: Option<String> =
            self.store.run("oauth_insert_new", Query::Cmd(&cmd)).await.map_err(|_| Unavailable)?;
        Ok(set.is_some())
    }

    async fn insert(&self, key: &[u8], value: V, ttl: Duration) -> Result<(), Unavailable> {
        let value = serde_json::to_vec(&value).map_err(|_| Unavailable)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("PX").arg(millis(ttl));
        self.store.run::<()>("oauth_insert", Query::Cmd(&cmd)).await.map_err(|_| Unavailable)
    }

    async fn get(&self, key: &[u8]) -> Result<Option<V>, Unavailable> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(key));
        let value: Option<Vec<u8>> = self.store.run("oauth_get", Query::Cmd(&cmd)).await.map_err(|_| Unavailable)?;
        match value {
            None => Ok(None),
            // A value this version cannot read (written by another): for a set
            // the entry is there all the same; a cache misses.
            Some(bytes) => match serde_json::from_slice(&bytes) {
                Ok(v) => Ok(Some(v)),
                Err(_) => serde_json::from_slice(b"null").map(Some).or(Ok(None)),
            },
        }
    }

    async fn remove(&self, key: &[u8]) -> Result<(), Unavailable> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        self.store.run::<()>("oauth_remove", Query::Cmd(&cmd)).await.map_err(|_| Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_whole_positive_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1, "PX 0 is refused by the store");
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), u64::try_from(MAX_LIFETIME.as_millis()).unwrap());
    }
}

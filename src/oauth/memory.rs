//! The proxy's per-replica memory: which states, consent forms and codes were
//! used, which tokens were revoked, recent introspection answers and fetched
//! client metadata documents. All four are one kind of thing, a bounded map
//! whose entries expire, behind one trait ([`Memory`]) so that a shared
//! backend (Redis or alike) can take the in-memory one's place.
//!
//! The memory only shortens attacks (DocSpace's own single-use codes and
//! revocation back it up), but where it is asked a security question it must
//! never answer "yes, go on" when it cannot tell: [`first_use`] says "already
//! used" and [`listed`] says "revoked" when the memory fails (for the
//! in-memory one, a poisoned lock). Caches may simply miss.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Entries kept in each memory by default; when full, expired entries go
/// first, then those closest to expiring.
pub(crate) const DEFAULT_LIMIT: usize = 100_000;

/// The memory cannot answer (a backend down, a poisoned lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the OAuth proxy's memory cannot answer")]
pub(crate) struct Unavailable;

/// A bounded map whose entries expire, keyed by bytes (digests, URLs).
#[async_trait::async_trait]
pub(crate) trait Memory<V: Clone + Send + Sync + 'static>: Send + Sync {
    /// Stores `value` under `key` for `ttl` unless an unexpired entry is
    /// there: whether it was stored.
    async fn insert_new(&self, key: &[u8], value: V, ttl: Duration) -> Result<bool, Unavailable>;
    /// Stores `value` under `key` for `ttl`, replacing any entry.
    async fn insert(&self, key: &[u8], value: V, ttl: Duration) -> Result<(), Unavailable>;
    /// The unexpired value under `key`.
    async fn get(&self, key: &[u8]) -> Result<Option<V>, Unavailable>;
    /// Drops the entry under `key`.
    async fn remove(&self, key: &[u8]) -> Result<(), Unavailable>;
}

/// Marks `key` used for `ttl`: true the first time. Fails closed: when the
/// memory cannot answer, the key counts as already used.
pub(crate) async fn first_use(used: &dyn Memory<()>, key: &[u8], ttl: Duration) -> bool {
    used.insert_new(key, (), ttl).await.unwrap_or(false)
}

/// Whether `key` is in the set (a revocation list). Fails closed: when the
/// memory cannot answer, every key is listed.
pub(crate) async fn listed(set: &dyn Memory<()>, key: &[u8]) -> bool {
    set.get(key).await.map_or(true, |v| v.is_some())
}

/// Each key's expiry and value.
type Entries<V> = HashMap<Vec<u8>, (Instant, V)>;

/// The in-memory [`Memory`]: a map behind a mutex, holding at most `limit`
/// entries.
pub(crate) struct ExpiringMap<V> {
    entries: Mutex<Entries<V>>,
    limit: usize,
}

impl<V> std::fmt::Debug for ExpiringMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiringMap").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl<V> ExpiringMap<V> {
    /// An empty map holding at most `limit` (at least one) entries.
    pub(crate) fn new(limit: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), limit: limit.max(1) }
    }

    /// The map, or [`Unavailable`] when a thread panicked while holding it:
    /// what it holds may be half-written, so it is not trusted again.
    fn lock(&self) -> Result<MutexGuard<'_, Entries<V>>, Unavailable> {
        self.entries.lock().map_err(|_| {
            tracing::error!(
                "the OAuth proxy's memory is poisoned: refusing what it cannot check (restart the replica)"
            );
            Unavailable
        })
    }

    /// How many entries are held (expired ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> Result<usize, Unavailable> {
        self.lock().map(|m| m.len())
    }

    /// Makes room for one entry: drops the expired ones, and if that is not
    /// enough, the tenth of the limit closest to expiring (a batch, so that a
    /// flood does not pay for a scan on every insert).
    fn make_room(map: &mut Entries<V>, limit: usize, now: Instant) {
        if map.len() < limit {
            return;
        }
        map.retain(|_, (until, _)| *until > now);
        if map.len() < limit {
            return;
        }
        let keep = limit - (limit / 10).max(1);
        let mut expiries: Vec<Instant> = map.values().map(|(until, _)| *until).collect();
        let drop = expiries.len() - keep;
        let (_, cutoff, _) = expiries.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        // Entries expiring at the cutoff may be many: drop them only while needed.
        let mut excess = map.values().filter(|(until, _)| *until < cutoff).count();
        map.retain(|_, (until, _)| {
            if *until < cutoff {
                false
            } else if *until == cutoff && excess < drop {
                excess += 1;
                false
            } else {
                true
            }
        });
    }
}

#[async_trait::async_trait]
impl<V: Clone + Send + Sync + 'static> Memory<V> for ExpiringMap<V> {
    async fn insert_new(&self, key: &[u8], value: V, ttl: Duration) -> Result<bool, Unavailable> {
        let mut map = self.lock()?;
        let now = Instant::now();
        if map.get(key).is_some_and(|(until, _)| *until > now) {
            return Ok(false);
        }
        map.remove(key);
        Self::make_room(&mut map, self.limit, now);
        map.insert(key.to_vec(), (now + ttl, value));
        Ok(true)
    }

    async fn insert(&self, key: &[u8], value: V, ttl: Duration) -> Result<(), Unavailable> {
        let mut map = self.lock()?;
        let now = Instant::now();
        map.remove(key);
        Self::make_room(&mut map, self.limit, now);
        map.insert(key.to_vec(), (now + ttl, value));
        Ok(())
    }

    async fn get(&self, key: &[u8]) -> Result<Option<V>, Unavailable> {
        let map = self.lock()?;
        Ok(map.get(key).filter(|(until, _)| *until > Instant::now()).map(|(_, v)| v.clone()))
    }

    async fn remove(&self, key: &[u8]) -> Result<(), Unavailable> {
        self.lock()?.remove(key);
        Ok(())
    }
}

#[cfg(test)]
impl<V> ExpiringMap<V> {
    /// Poisons the lock, as a thread panicking while holding it would.
    pub(crate) fn poison(&self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = self.entries.lock();
            panic!("poisoning the memory on purpose");
        }));
        assert!(self.entries.is_poisoned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn single_use_and_expiry() {
        let used = ExpiringMap::new(10);
        assert!(first_use(&used, b"code", MINUTE).await);
        assert!(!first_use(&used, b"code", MINUTE).await, "the second use");
        used.remove(b"code").await.unwrap();
        assert!(first_use(&used, b"code", MINUTE).await, "forgotten, usable again");
        assert!(first_use(&used, b"short", Duration::ZERO).await);
        assert!(first_use(&used, b"short", MINUTE).await, "an expired entry is gone");
        assert!(!listed(&used, b"other").await);
        assert!(listed(&used, b"code").await);
        let cache = ExpiringMap::new(10);
        cache.insert(b"k", 1, MINUTE).await.unwrap();
        cache.insert(b"k", 2, MINUTE).await.unwrap();
        assert_eq!(cache.get(b"k").await, Ok(Some(2)), "insert replaces");
        cache.insert(b"gone", 3, Duration::ZERO).await.unwrap();
        assert_eq!(cache.get(b"gone").await, Ok(None));
    }

    /// The bound holds under a flood of entries that have not expired (the old
    /// `remember()` only dropped expired entries, so it grew past its limit).
    #[tokio::test]
    async fn the_limit_holds_when_nothing_has_expired() {
        let limit = 50;
        let used = ExpiringMap::new(limit);
        for i in 0..(limit + 500) {
            assert!(first_use(&used, format!("key-{i}").as_bytes(), MINUTE + Duration::from_millis(i as u64)).await);
            assert!(used.len().unwrap() <= limit, "{} entries after {i}", used.len().unwrap());
        }
        // The soonest-expiring went first: the last ones are still remembered.
        let last = format!("key-{}", limit + 499);
        assert!(!first_use(&used, last.as_bytes(), MINUTE).await);
        assert!(first_use(&used, b"key-0", MINUTE).await, "the soonest-expiring entry was dropped");
        let cache = ExpiringMap::new(limit);
        for i in 0..(limit * 3) {
            cache.insert(format!("{i}").as_bytes(), i, MINUTE).await.unwrap();
        }
        assert!(cache.len().unwrap() <= limit);
    }

    #[tokio::test]
    async fn expired_entries_go_before_live_ones() {
        let used = ExpiringMap::new(4);
        for key in [b"a", b"b", b"c"] {
            assert!(first_use(&used, key, Duration::ZERO).await);
        }
        assert!(first_use(&used, b"live", MINUTE).await);
        assert!(first_use(&used, b"new", MINUTE).await);
        assert_eq!(used.len(), Ok(2), "the three expired entries dropped, the live one kept");
        assert!(!first_use(&used, b"live", MINUTE).await);
    }

    /// A memory that cannot answer refuses: a code counts as used, a token as
    /// revoked; a cache only misses.
    #[tokio::test]
    async fn a_poisoned_memory_fails_closed() {
        let used = ExpiringMap::new(10);
        assert!(first_use(&used, b"revoked", MINUTE).await);
        used.poison();
        assert!(!first_use(&used, b"fresh-code", MINUTE).await, "single use: already used");
        assert!(listed(&used, b"never-revoked").await, "revocation: revoked");
        assert_eq!(used.get(b"revoked").await, Err(Unavailable));
        let cache: ExpiringMap<u32> = ExpiringMap::new(10);
        cache.poison();
        assert_eq!(cache.insert(b"k", 1, MINUTE).await, Err(Unavailable));
        assert_eq!(cache.get(b"k").await.ok().flatten(), None, "a cache misses");
    }
}

//! The proxy's per-replica memory: which states, consent forms, codes and
//! refresh tokens were used, which tokens were revoked, recent introspection
//! answers and fetched client metadata documents. All are one kind of thing,
//! a bounded map whose entries expire, behind one trait ([`Memory`]) so that
//! a shared backend (Redis or alike) can take the in-memory one's place.
//!
//! The memory only shortens attacks (DocSpace's own single-use codes and
//! revocation back it up), but where it is asked a security question it must
//! never answer "yes, go on" when it cannot tell: [`first_use`] and
//! [`listed`] answer [`Unavailable`] when the memory fails (for the
//! in-memory one, a poisoned lock or a full set; for the shared store, an
//! outage), and the caller refuses (503). Caches may simply miss.
//!
//! Bounds follow the same rule. A *set* a security decision rests on (single
//! use, revocations: [`ExpiringMap::new`]) never drops an entry before it
//! expires, since a flood of entries would otherwise push out the mark of a
//! used code or a revoked token: full of live entries, it refuses new ones,
//! which fails closed like a broken memory. A *cache*
//! ([`ExpiringMap::cache`]) drops the entries closest to expiring instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Entries kept in each memory by default. A set full of live entries
/// refuses new ones; a cache drops those closest to expiring.
pub(crate) const DEFAULT_LIMIT: usize = 100_000;

/// The longest an entry is kept: a longer lifetime (a huge configured TTL)
/// is cut to it rather than overflow the clock.
const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);

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

/// Marks `key` used for `ttl`: true the first time, false after. When the
/// memory cannot answer, neither: the caller must refuse (fail closed).
pub(crate) async fn first_use(used: &dyn Memory<()>, key: &[u8], ttl: Duration) -> Result<bool, Unavailable> {
    used.insert_new(key, (), ttl).await
}

/// Whether `key` is in the set (a revocation list). When the memory cannot
/// answer, neither: the caller must refuse (fail closed).
pub(crate) async fn listed(set: &dyn Memory<()>, key: &[u8]) -> Result<bool, Unavailable> {
    set.get(key).await.map(|v| v.is_some())
}

/// Each key's expiry and value.
type Entries<V> = HashMap<Vec<u8>, (Instant, V)>;

/// The in-memory [`Memory`]: a map behind a mutex, holding at most `limit`
/// entries.
pub(crate) struct ExpiringMap<V> {
    entries: Mutex<Entries<V>>,
    limit: usize,
    /// Whether live entries may be dropped to make room (a cache) or never
    /// (a set a security decision rests on).
    evicts_live: bool,
    /// Whether the set is full of live entries (said once in the log per spell).
    full: AtomicBool,
}

impl<V> std::fmt::Debug for ExpiringMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiringMap")
            .field("limit", &self.limit)
            .field("evicts_live", &self.evicts_live)
            .finish_non_exhaustive()
    }
}

impl<V> ExpiringMap<V> {
    /// An empty *set* of at most `limit` (at least one) entries, which never
    /// drops an entry before it expires: full of live entries, it refuses
    /// new ones ([`Unavailable`]), so that single use and revocation fail
    /// closed. For used states, codes and refresh tokens, and revocations.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            limit: limit.max(1),
            evicts_live: false,
            full: AtomicBool::new(false),
        }
    }

    /// An empty *cache* of at most `limit` (at least one) entries: when full,
    /// the entries closest to expiring make room. For answers that can be
    /// asked for again (introspection, metadata documents).
    pub(crate) fn cache(limit: usize) -> Self {
        Self { evicts_live: true, ..Self::new(limit) }
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

    /// When an entry stored `now` for `ttl` expires: at most
    /// [`MAX_LIFETIME`] away, so that no lifetime overflows the clock (and
    /// should the clock still overflow, the memory cannot answer).
    fn expiry(now: Instant, ttl: Duration) -> Result<Instant, Unavailable> {
        now.checked_add(ttl.min(MAX_LIFETIME)).ok_or(Unavailable)
    }

    /// Makes room for one entry: drops the expired ones; if that is not
    /// enough, a cache drops the tenth of the limit closest to expiring (a
    /// batch, so that a flood does not pay for a scan on every insert), and a
    /// set refuses.
    fn make_room(&self, map: &mut Entries<V>, now: Instant) -> Result<(), Unavailable> {
        let limit = self.limit;
        if map.len() < limit {
            return Ok(());
        }
        map.retain(|_, (until, _)| *until > now);
        if map.len() < limit {
            self.full.store(false, Ordering::Relaxed);
            return Ok(());
        }
        if !self.evicts_live {
            if !self.full.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    limit,
                    "the OAuth proxy's memory is full of unexpired entries: refusing what it cannot record \
                     (sign-ins, refreshes, revocations) until some expire, rather than forgetting a used code or a \
                     revoked token"
                );
            }
            return Err(Unavailable);
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
        Ok(())
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
        let until = Self::expiry(now, ttl)?;
        map.remove(key);
        self.make_room(&mut map, now)?;
        map.insert(key.to_vec(), (until, value));
        Ok(true)
    }

    async fn insert(&self, key: &[u8], value: V, ttl: Duration) -> Result<(), Unavailable> {
        let mut map = self.lock()?;
        let now = Instant::now();
        let until = Self::expiry(now, ttl)?;
        map.remove(key);
        self.make_room(&mut map, now)?;
        map.insert(key.to_vec(), (until, value));
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

    /// Whether a use went through: the first one (a memory that cannot
    /// answer lets nothing through).
    async fn first(used: &dyn Memory<()>, key: &[u8], ttl: Duration) -> bool {
        first_use(used, key, ttl).await == Ok(true)
    }

    /// Whether a token must be taken as revoked: listed, or the memory cannot tell.
    async fn is_listed(set: &dyn Memory<()>, key: &[u8]) -> bool {
        listed(set, key).await != Ok(false)
    }

    #[tokio::test]
    async fn single_use_and_expiry() {
        let used = ExpiringMap::new(10);
        assert!(first(&used, b"code", MINUTE).await);
        assert!(!first(&used, b"code", MINUTE).await, "the second use");
        used.remove(b"code").await.unwrap();
        assert!(first(&used, b"code", MINUTE).await, "forgotten, usable again");
        assert!(first(&used, b"short", Duration::ZERO).await);
        assert!(first(&used, b"short", MINUTE).await, "an expired entry is gone");
        assert!(!is_listed(&used, b"other").await);
        assert!(is_listed(&used, b"code").await);
        let cache = ExpiringMap::new(10);
        cache.insert(b"k", 1, MINUTE).await.unwrap();
        cache.insert(b"k", 2, MINUTE).await.unwrap();
        assert_eq!(cache.get(b"k").await, Ok(Some(2)), "insert replaces");
        cache.insert(b"gone", 3, Duration::ZERO).await.unwrap();
        assert_eq!(cache.get(b"gone").await, Ok(None));
    }

    /// The bound holds under a flood of entries that have not expired (the old
    /// `remember()` only dropped expired entries, so it grew past its limit):
    /// a cache drops the soonest-expiring, a set refuses.
    #[tokio::test]
    async fn the_limit_holds_when_nothing_has_expired() {
        let limit = 50;
        let cache = ExpiringMap::cache(limit);
        for i in 0..(limit + 500) {
            cache.insert(format!("key-{i}").as_bytes(), i, MINUTE + Duration::from_millis(i as u64)).await.unwrap();
            assert!(cache.len().unwrap() <= limit, "{} entries after {i}", cache.len().unwrap());
        }
        // The soonest-expiring went first: the last ones are still there.
        assert_eq!(cache.get(format!("key-{}", limit + 499).as_bytes()).await, Ok(Some(limit + 499)));
        assert_eq!(cache.get(b"key-0").await, Ok(None), "the soonest-expiring entry was dropped");
        let used = ExpiringMap::new(limit);
        for i in 0..(limit * 3) {
            first(&used, format!("{i}").as_bytes(), MINUTE).await;
        }
        assert_eq!(used.len(), Ok(limit));
    }

    #[tokio::test]
    async fn expired_entries_go_before_live_ones() {
        let used = ExpiringMap::new(4);
        for key in [b"a", b"b", b"c"] {
            assert!(first(&used, key, Duration::ZERO).await);
        }
        assert!(first(&used, b"live", MINUTE).await);
        assert!(first(&used, b"new", MINUTE).await);
        assert_eq!(used.len(), Ok(2), "the three expired entries dropped, the live one kept");
        assert!(!first(&used, b"live", MINUTE).await);
    }

    /// Issue 14, item 12: a set of single-use marks or revocations never
    /// forgets a live entry to make room (a flood of entries would otherwise
    /// let a used code, or a revoked token, through again): full of live
    /// entries, it refuses as when it cannot answer. Expired entries still
    /// make room.
    #[tokio::test]
    async fn a_full_set_refuses_rather_than_forgets() {
        let limit = 50;
        let key = |i: usize| format!("key-{i}").into_bytes();
        let used = ExpiringMap::new(limit);
        for i in 0..limit {
            assert!(first(&used, &key(i), MINUTE).await);
        }
        assert_eq!(first_use(&used, b"one-more", MINUTE).await, Err(Unavailable), "full of live entries: refused");
        for i in 0..limit {
            assert!(!first(&used, &key(i), MINUTE).await, "key-{i} is still used");
        }
        let revoked = ExpiringMap::new(limit);
        for i in 0..limit {
            revoked.insert(&key(i), (), MINUTE).await.unwrap();
        }
        assert!(revoked.insert(b"late", (), MINUTE).await.is_err(), "a revocation that cannot be kept is an error");
        for i in 0..limit {
            assert!(is_listed(&revoked, &key(i)).await, "key-{i} is still revoked");
        }
        let brief = ExpiringMap::new(2);
        for k in [b"a", b"b"] {
            assert!(first(&brief, k, Duration::ZERO).await);
        }
        assert!(first(&brief, b"c", MINUTE).await, "expired entries make room");
    }

    /// Issue 14, item 12: a lifetime too long to add to the clock (a huge
    /// configured TTL) lasts "for ever" instead of panicking.
    #[tokio::test]
    async fn a_huge_lifetime_does_not_panic() {
        let used = ExpiringMap::new(10);
        assert!(first(&used, b"k", Duration::MAX).await);
        assert!(!first(&used, b"k", MINUTE).await);
        used.insert(b"j", (), Duration::MAX).await.unwrap();
        assert!(is_listed(&used, b"j").await);
    }

    /// A memory that cannot answer refuses: a code counts as used, a token as
    /// revoked; a cache only misses.
    #[tokio::test]
    async fn a_poisoned_memory_fails_closed() {
        let used = ExpiringMap::new(10);
        assert!(first(&used, b"revoked", MINUTE).await);
        used.poison();
        assert_eq!(first_use(&used, b"fresh-code", MINUTE).await, Err(Unavailable), "single use: cannot tell");
        assert_eq!(listed(&used, b"never-revoked").await, Err(Unavailable), "revocation: cannot tell");
        assert_eq!(used.get(b"revoked").await, Err(Unavailable));
        let cache: ExpiringMap<u32> = ExpiringMap::new(10);
        cache.poison();
        assert_eq!(cache.insert(b"k", 1, MINUTE).await, Err(Unavailable));
        assert_eq!(cache.get(b"k").await.ok().flatten(), None, "a cache misses");
    }
}

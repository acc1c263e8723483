//! The sessions of both HTTP transports, in one table: who opened each (its
//! identity key and client address), what it serves, when it was last used;
//! the caps on how many are open (over all, per client address, per
//! identity); hibernation (rmcp's session store keeps a quiet Streamable HTTP
//! session's `initialize` parameters so its worker can be stopped and rebuilt
//! on the next request); and the idle sweep, which closes quiet sessions of
//! either transport. Streamable HTTP and SSE use it through methods only.
//!
//! With the shared store (`DOCSPACE_STATE_URL`), the store is where a
//! session lives: its record (identity, tool selection, log level) and
//! rmcp's `initialize` parameters are there, renewed by every use and
//! expiring after the idle timeout, so a request on any replica finds it
//! ([`Touched::Elsewhere`]: the replica adopts it and rmcp rebuilds its
//! worker) and a client's `DELETE` on one replica ends it on all. The
//! table here then holds the sessions this replica has served lately: the
//! caps count those (per replica), and the idle sweep only frees their
//! workers. SSE sessions are recorded there too, with the replica holding
//! their stream, for the relay.
//!
//! A session is opened before DocSpace has seen its credentials, so made-up
//! ones could hold capacity that real users need. Sessions whose credentials
//! are not yet known good (DocSpace has not yet accepted a call made with
//! them; OAuth tokens and the operator's own credentials are known good from
//! the start) are *unverified*: when the cap is reached, the oldest
//! unverified session is closed to make room rather than a new one refused.

use std::collections::{HashMap, VecDeque};
use std::hash::RandomState;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use docspace_mcp_client::Client;
use futures::channel::mpsc;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::store::{SessionState, SessionStore, SessionStoreError};
use tokio_util::sync::CancellationToken;

use super::lock;
use super::request::{Refusal, RequestSettings};
use crate::config::SessionLimits;
use crate::server::Setup;
use crate::store::sessions::{SharedSessions, StoredSelection, StoredSession, StoredSse};
use crate::store::{IdentityKeys, Store, Unavailable};

/// Who opens a session: what the caps count.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    /// The identity key.
    pub identity: u64,
    /// The client's address (an IPv6 client by its /64), when known.
    ip: Option<IpAddr>,
    /// Whether the per-identity cap applies (not to the operator's own
    /// identity, which every request without credentials shares).
    capped_identity: bool,
    /// Whether its credentials are known good.
    trust: Trust,
}

#[derive(Debug, Clone)]
enum Trust {
    /// OAuth (introspected) or the operator's own credentials.
    Verified,
    /// Good once DocSpace has accepted a call made with this client.
    Pending(Option<Client>),
}

impl Owner {
    /// The owner of a session opened by a request with `settings` from `ip`,
    /// set up as `setup`.
    pub(crate) fn new(sessions: &Sessions, settings: &RequestSettings, ip: Option<IpAddr>, setup: &Setup) -> Self {
        let own_credentials = settings.credentials.is_some() && settings.oauth.is_none();
        let trust = if own_credentials { Trust::Pending(setup.client.as_ref().ok().cloned()) } else { Trust::Verified };
        let capped_identity = settings.credentials.is_some() || settings.oauth.is_some();
        Self { identity: sessions.identity(settings), ip, capped_identity, trust }
    }

    fn verified(&self) -> bool {
        match &self.trust {
            Trust::Verified => true,
            Trust::Pending(client) => client.as_ref().is_some_and(Client::accepted),
        }
    }
}

/// One Streamable HTTP session, as the HTTP layer knows it.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    /// Who opened it.
    pub identity: u64,
    /// What it serves (handed to rmcp again when it rebuilds the session).
    pub setup: Setup,
}

/// One SSE session: where its messages go.
#[derive(Debug, Clone)]
pub(crate) struct SseSession {
    /// Who opened it.
    pub identity: u64,
    /// Into its MCP service.
    pub inbound: mpsc::Sender<ClientJsonRpcMessage>,
}

#[derive(Debug)]
enum Kind {
    Streamable(Setup),
    /// Cancelling `stop` ends the event stream, which removes the session.
    Sse {
        inbound: mpsc::Sender<ClientJsonRpcMessage>,
        stop: CancellationToken,
    },
}

#[derive(Debug)]
struct Entry {
    owner: Owner,
    last_seen: Instant,
    kind: Kind,
}

impl Entry {
    fn streamable(&self) -> bool {
        matches!(self.kind, Kind::Streamable(_))
    }
}

/// Every session, and the counts the caps check, under one lock.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<String, Entry>,
    /// Admitted, not yet opened (an `initialize` in flight).
    reserved: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_identity: HashMap<u64, usize>,
    /// Sessions opened unverified, oldest first (some may since have been
    /// verified or closed: skipped when met).
    unverified: VecDeque<String>,
    /// How many of `entries` are SSE sessions (for `/health`, without a scan).
    sse: usize,
}

impl Table {
    fn count(&mut self, owner: &Owner) {
        if let Some(ip) = owner.ip {
            *self.per_ip.entry(ip).or_default() += 1;
        }
        if owner.capped_identity {
            *self.per_identity.entry(owner.identity).or_default() += 1;
        }
    }

    fn uncount(&mut self, owner: &Owner) {
        fn down<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
            if let Some(n) = map.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        if let Some(ip) = owner.ip {
            down(&mut self.per_ip, ip);
        }
        if owner.capped_identity {
            down(&mut self.per_identity, owner.identity);
        }
    }

    /// Adds a session whose owner was counted at admission (an unverified
    /// one also to the eviction queue, which is compacted whenever it holds
    /// more than twice the open sessions: closed and verified ones would
    /// otherwise pile up in it while the cap is never reached).
    fn insert(&mut self, id: &str, entry: Entry) {
        if !entry.owner.verified() {
            if self.unverified.len() >= 2 * self.entries.len() + 64 {
                let entries = &self.entries;
                self.unverified.retain(|id| entries.get(id).is_some_and(|e| !e.owner.verified()));
            }
            self.unverified.push_back(id.to_owned());
        }
        self.sse += usize::from(matches!(entry.kind, Kind::Sse { .. }));
        if let Some(old) = self.entries.insert(id.to_owned(), entry) {
            // Ids are random; should one repeat, the old session's counts go.
            self.forget(&old);
        }
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.forget(&entry);
        Some(entry)
    }

    /// Takes a session that left `entries` out of the counts.
    fn forget(&mut self, entry: &Entry) {
        self.uncount(&entry.owner);
        self.sse -= usize::from(matches!(entry.kind, Kind::Sse { .. }));
    }

    /// The oldest session still unverified, taken out of the table.
    fn evict_unverified(&mut self) -> Option<(String, Entry)> {
        while let Some(id) = self.unverified.pop_front() {
            if self.entries.get(&id).is_some_and(|e| !e.owner.verified()) {
                let entry = self.remove(&id)?;
                return Some((id, entry));
            }
        }
        None
    }
}

/// A place among the open sessions, held from admission until the session
/// opens (or the request ends without one, which gives it back).
#[derive(Debug)]
pub struct Ticket {
    table: Arc<Mutex<Table>>,
    owner: Option<Owner>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            let mut table = lock(&self.table);
            table.reserved = table.reserved.saturating_sub(1);
            table.uncount(&owner);
        }
    }
}

impl Ticket {
    fn open(mut self, id: &str, kind: Kind) {
        let Some(owner) = self.owner.take() else { return };
        let mut table = lock(&self.table);
        table.reserved = table.reserved.saturating_sub(1);
        table.insert(id, Entry { owner, last_seen: Instant::now(), kind });
    }
}

/// Every open session of both transports.
#[derive(Debug)]
pub(crate) struct Sessions {
    table: Arc<Mutex<Table>>,
    /// What rmcp needs to rebuild a hibernated session (or, with the shared
    /// store, a session opened on another replica).
    store: Arc<dyn SessionStore>,
    /// rmcp's live session workers.
    manager: Arc<LocalSessionManager>,
    /// Keys of the identity hash.
    keys: Keys,
    limits: SessionLimits,
    /// The registry in the shared store, when there is one.
    shared: Option<SharedSessions>,
}

/// The keys of identity hashes: per process when identities stay here;
/// with the shared store, the replicas' shared key.
#[derive(Debug)]
enum Keys {
    Local(RandomState),
    Shared(IdentityKeys),
}

/// A Streamable HTTP session found for a request.
#[derive(Debug)]
pub(crate) enum Touched {
    /// Served here lately.
    Here(SessionRecord),
    /// Opened (or last served) on another replica: to be adopted here.
    Elsewhere(StoredSession),
    /// No such session (never, expired, or closed).
    Unknown,
}

/// An SSE session found for a `POST /messages`.
#[derive(Debug)]
pub(crate) enum SseFound {
    /// Its stream is here.
    Here(SseSession),
    /// Its stream is on another replica.
    Elsewhere(StoredSse),
    /// No such session.
    Unknown,
}

impl Sessions {
    /// No sessions yet. A session's worker stops after a quiet spell
    /// (hibernation); the session lives on in the table and `store` until
    /// the idle timeout, and rmcp rebuilds the worker when the next request comes.
    /// With `store`, sessions are shared with the other replicas.
    pub(crate) fn new(limits: SessionLimits, store: Option<&Arc<Store>>) -> Self {
        let mut manager = LocalSessionManager::default();
        let hibernate = limits.hibernate_after.max(Duration::from_secs(1));
        manager.session_config.keep_alive = Some(limits.idle_timeout.map_or(hibernate, |idle| idle.min(hibernate)));
        let shared = store.map(|store| SharedSessions::new(store.clone(), limits.idle_timeout));
        let (rmcp_store, keys): (Arc<dyn SessionStore>, Keys) = match (&shared, store) {
            (Some(shared), Some(store)) => (Arc::new(shared.clone()), Keys::Shared(store.identity_keys())),
            _ => (Arc::new(MemoryStore::default()), Keys::Local(RandomState::new())),
        };
        Self { table: Arc::default(), store: rmcp_store, manager: Arc::new(manager), keys, limits, shared }
    }

    /// The registry in the shared store, when there is one.
    pub(crate) fn shared(&self) -> Option<&SharedSessions> {
        self.shared.as_ref()
    }

    /// rmcp's session manager (for the Streamable HTTP service).
    pub(crate) fn manager(&self) -> Arc<LocalSessionManager> {
        self.manager.clone()
    }

    /// rmcp's session store (for the Streamable HTTP service).
    pub(crate) fn store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    /// The identity key of a request.
    pub(crate) fn identity(&self, s: &RequestSettings) -> u64 {
        match &self.keys {
            Keys::Local(keys) => s.identity(keys),
            Keys::Shared(keys) => s.identity(keys),
        }
    }

    /// Open sessions of both transports.
    pub(crate) fn count(&self) -> usize {
        lock(&self.table).entries.len()
    }

    /// Sessions with a running worker (the others are hibernated).
    pub(crate) async fn live(&self) -> usize {
        let sse = lock(&self.table).sse;
        self.manager.sessions.read().await.len() + sse
    }

    /// The sessions open now, by transport and state (for the metrics).
    pub(crate) async fn counts(&self) -> crate::metrics::SessionCounts {
        let (open, sse) = {
            let table = lock(&self.table);
            (table.entries.len(), table.sse)
        };
        let streamable = open.saturating_sub(sse);
        // rmcp's workers, of sessions in the table (a session whose
        // `initialize` is in flight may have one before its entry).
        let live = self.manager.sessions.read().await.len().min(streamable);
        crate::metrics::SessionCounts { streamable_active: live, streamable_hibernated: streamable - live, sse }
    }

    /// A place for a new session of `owner` within the caps: per client
    /// address and per identity (429), and over all (503), where the oldest
    /// unverified session is closed to make room when there is one.
    pub(crate) async fn admit(&self, owner: Owner) -> Result<Ticket, Refusal> {
        let evicted = {
            let mut table = lock(&self.table);
            let limits = &self.limits;
            if let Some(ip) = owner.ip
                && limits.per_ip > 0
                && table.per_ip.get(&ip).copied().unwrap_or(0) >= limits.per_ip
            {
                return Err(too_many(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "{ip} has {} open sessions, the limit per client (DOCSPACE_MAX_SESSIONS_PER_IP)",
                        limits.per_ip
                    ),
                )
                .because("sessions_per_ip"));
            }
            if owner.capped_identity
                && limits.per_identity > 0
                && table.per_identity.get(&owner.identity).copied().unwrap_or(0) >= limits.per_identity
            {
                return Err(too_many(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "these credentials have {} open sessions, the limit per identity \
                         (DOCSPACE_MAX_SESSIONS_PER_IDENTITY): close some, or let them expire",
                        limits.per_identity
                    ),
                )
                .because("sessions_per_identity"));
            }
            let mut evicted = None;
            if limits.max > 0 && table.entries.len() + table.reserved >= limits.max {
                evicted = table.evict_unverified();
                if evicted.is_none() {
                    return Err(too_many(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the server has {} open sessions, its limit (DOCSPACE_MAX_SESSIONS)", limits.max),
                    )
                    .because("sessions_max"));
                }
            }
            table.reserved += 1;
            table.count(&owner);
            evicted
        };
        if let Some((id, entry)) = evicted {
            tracing::info!(session = %id, "closed an unverified session to make room (DOCSPACE_MAX_SESSIONS reached)");
            self.close(&id, entry, true).await;
        }
        Ok(Ticket { table: self.table.clone(), owner: Some(owner) })
    }

    /// Streamable HTTP session `id`, marked as used now (in the shared
    /// store too, when there is one: [`Unavailable`] when it cannot answer).
    pub(crate) async fn touch(&self, id: &str) -> Result<Touched, Unavailable> {
        let Some(shared) = &self.shared else {
            return Ok(self.touch_here(id).map_or(Touched::Unknown, Touched::Here));
        };
        let Some(stored) = shared.touch(id).await? else {
            // Closed on another replica, or expired: its worker here goes too.
            let gone = lock(&self.table).remove(id);
            if let Some(entry) = gone {
                self.close(id, entry, false).await;
            }
            return Ok(Touched::Unknown);
        };
        match self.touch_here(id) {
            Some(record) => {
                // `logging/setLevel` may have come through another replica.
                record.setup.set_log_level(stored.level);
                Ok(Touched::Here(record))
            }
            None => Ok(Touched::Elsewhere(stored)),
        }
    }

    fn touch_here(&self, id: &str) -> Option<SessionRecord> {
        let mut table = lock(&self.table);
        let entry = table.entries.get_mut(id)?;
        let Kind::Streamable(setup) = &entry.kind else { return None };
        entry.last_seen = Instant::now();
        Some(SessionRecord { identity: entry.owner.identity, setup: setup.clone() })
    }

    /// Takes in a session opened on another replica (within no cap: it is
    /// open already), served here from now on.
    pub(crate) fn adopt(&self, id: &str, owner: Owner, setup: Setup) {
        let mut table = lock(&self.table);
        if table.entries.contains_key(id) {
            return;
        }
        table.count(&owner);
        table.insert(id, Entry { owner, last_seen: Instant::now(), kind: Kind::Streamable(setup) });
        tracing::info!(session = id, "session adopted from the shared store");
    }

    /// Records a new Streamable HTTP session in the place `ticket` held (and
    /// in the shared store, with the selection it was opened with).
    /// [`Unavailable`] when the store could not record it: a session only
    /// this replica knew would end at the store's first answer, so the
    /// caller closes it and refuses the `initialize`.
    pub(crate) async fn opened(
        &self,
        ticket: Ticket,
        id: &str,
        setup: Setup,
        selection: &StoredSelection,
    ) -> Result<(), Unavailable> {
        let identity = ticket.owner.as_ref().map(|o| o.identity);
        ticket.open(id, Kind::Streamable(setup));
        if let (Some(shared), Some(identity)) = (&self.shared, identity) {
            shared.create(id, identity, selection).await?;
        }
        tracing::info!(session = id, "session opened");
        Ok(())
    }

    /// Undoes [`Sessions::opened`] for a session the store could not record.
    pub(crate) async fn abandon(&self, id: &str) {
        let entry = lock(&self.table).remove(id);
        if let Some(entry) = entry {
            self.close(id, entry, false).await;
        }
        tracing::warn!(session = id, "session not opened: the shared state store could not record it");
    }

    /// Forgets a Streamable HTTP session the client closed (on every replica).
    pub(crate) async fn closed(&self, id: &str) -> Result<(), Unavailable> {
        let entry = lock(&self.table).remove(id);
        if let Some(entry) = entry {
            self.close(id, entry, false).await;
        }
        if let Some(shared) = &self.shared {
            shared.remove(id).await?;
        }
        tracing::info!(session = %id, "session closed by the client");
        Ok(())
    }

    /// Whether rmcp has a running worker for session `id` here.
    pub(crate) async fn has_worker(&self, id: &str) -> bool {
        self.manager.sessions.read().await.contains_key(&SessionId::from(id))
    }

    /// Records a new SSE session in the place `ticket` held; cancelling
    /// `stop` ends it.
    pub(crate) async fn sse_opened(
        &self,
        ticket: Ticket,
        id: &str,
        inbound: mpsc::Sender<ClientJsonRpcMessage>,
        stop: CancellationToken,
    ) -> Result<(), Unavailable> {
        let identity = ticket.owner.as_ref().map(|o| o.identity);
        if let (Some(shared), Some(identity)) = (&self.shared, identity) {
            shared.sse_create(id, identity).await?;
        }
        ticket.open(id, Kind::Sse { inbound, stop });
        Ok(())
    }

    /// SSE session `id`, marked as used now: here, or (with the shared
    /// store) on the replica holding its stream.
    pub(crate) async fn sse_touch(&self, id: &str) -> Result<SseFound, Unavailable> {
        let here = self.sse_here(id);
        let Some(shared) = &self.shared else { return Ok(here.map_or(SseFound::Unknown, SseFound::Here)) };
        // The stored record lives as long as the session is used on any replica.
        let stored = shared.sse_touch(id).await?;
        Ok(match (here, stored) {
            (Some(session), _) => SseFound::Here(session),
            (None, Some(stored)) => SseFound::Elsewhere(stored),
            (None, None) => SseFound::Unknown,
        })
    }

    /// SSE session `id` if its stream is here, marked as used now.
    pub(crate) fn sse_here(&self, id: &str) -> Option<SseSession> {
        let mut table = lock(&self.table);
        let entry = table.entries.get_mut(id)?;
        let Kind::Sse { inbound, .. } = &entry.kind else { return None };
        entry.last_seen = Instant::now();
        Some(SseSession { identity: entry.owner.identity, inbound: inbound.clone() })
    }

    /// Forgets an SSE session whose stream ended.
    pub(crate) fn sse_closed(&self, id: &str) {
        lock(&self.table).remove(id);
        if let Some(shared) = self.shared.clone() {
            let id = id.to_owned();
            tokio::spawn(async move {
                // Should the store not answer, the record expires by itself.
                let _ = shared.sse_remove(&id).await;
            });
        }
    }

    /// How long a quiet entry stays in the table: a session's idle timeout;
    /// with the shared store, a Streamable HTTP session's entry here only
    /// until its worker would hibernate (the store keeps the session, and
    /// any replica adopts it again on its next request), so the caps and
    /// the memory here follow the sessions this replica serves now.
    fn quiet_limit(&self, streamable: bool) -> Option<Duration> {
        match (streamable, &self.shared) {
            (true, Some(_)) => {
                let hibernate = self.limits.hibernate_after.max(Duration::from_secs(1));
                Some(self.limits.idle_timeout.map_or(hibernate, |idle| idle.min(hibernate)))
            }
            _ => self.limits.idle_timeout,
        }
    }

    /// How often the sweeper should run (`None`: nothing ever expires here).
    pub(crate) fn sweep_every(&self) -> Option<Duration> {
        let shortest = match &self.shared {
            Some(_) => self.quiet_limit(true),
            None => self.limits.idle_timeout,
        };
        shortest.map(|limit| (limit / 2).clamp(Duration::from_secs(1), Duration::from_secs(15)))
    }

    /// Closes sessions of either transport idle longer than the idle timeout
    /// (an SSE session's open stream is not use: its messages are); with
    /// the shared store, drops Streamable HTTP sessions quiet here past
    /// [`Sessions::quiet_limit`] from this replica only.
    pub(crate) async fn sweep(&self) {
        let expired: Vec<(String, Entry)> = {
            let mut table = lock(&self.table);
            let ids: Vec<String> = table
                .entries
                .iter()
                .filter(|(_, e)| self.quiet_limit(e.streamable()).is_some_and(|limit| e.last_seen.elapsed() > limit))
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter().filter_map(|id| table.remove(&id).map(|e| (id, e))).collect()
        };
        for (id, entry) in expired {
            // With the shared store, a Streamable HTTP session may be in use
            // on another replica: only its worker here goes (the store
            // expires the session after the idle timeout).
            let everywhere = self.shared.is_none() || matches!(entry.kind, Kind::Sse { .. });
            let quiet = self.quiet_limit(entry.streamable()).unwrap_or_default().as_secs();
            self.close(&id, entry, everywhere).await;
            if everywhere {
                tracing::info!(session = %id, "session closed after {quiet} s idle");
            } else {
                tracing::debug!(session = %id, "session quiet here for {quiet} s: this replica let it go");
            }
        }
    }

    /// Stops a session already taken out of the table; `everywhere`: its
    /// stored state goes too.
    async fn close(&self, id: &str, entry: Entry, everywhere: bool) {
        match entry.kind {
            Kind::Streamable(_) => {
                if everywhere {
                    let _ = self.store.delete(id).await;
                }
                let _ = self.manager.close_session(&SessionId::from(id)).await;
            }
            Kind::Sse { stop, .. } => stop.cancel(),
        }
    }
}

fn too_many(status: StatusCode, message: String) -> Refusal {
    Refusal::with_status(status, "too_many_sessions", message)
}

/// The sessions' `initialize` parameters, kept while a session exists so that
/// rmcp can rebuild a hibernated one (its worker stopped after a quiet spell
/// to free its buffers) when the next request comes.
#[derive(Debug, Default)]
struct MemoryStore {
    states: Mutex<HashMap<String, SessionState>>,
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        Ok(lock(&self.states).get(session_id).cloned())
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        lock(&self.states).insert(session_id.to_owned(), state.clone());
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        lock(&self.states).remove(session_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unverified_sse() -> Entry {
        let owner = Owner { identity: 1, ip: None, capped_identity: true, trust: Trust::Pending(None) };
        let (inbound, _) = mpsc::channel(1);
        Entry { owner, last_seen: Instant::now(), kind: Kind::Sse { inbound, stop: CancellationToken::new() } }
    }

    #[test]
    fn the_eviction_queue_stays_bounded_while_sessions_come_and_go() {
        let mut table = Table::default();
        for i in 0..10_000 {
            let id = format!("s{i}");
            table.insert(&id, unverified_sse());
            table.remove(&id);
        }
        assert!(table.unverified.len() <= 64, "{} ids kept for no session", table.unverified.len());
        assert_eq!((table.entries.len(), table.sse), (0, 0));
        // Open sessions keep their place in the queue, oldest first.
        table.insert("a", unverified_sse());
        table.insert("b", unverified_sse());
        assert_eq!(table.evict_unverified().map(|(id, _)| id).as_deref(), Some("a"));
        assert_eq!(table.sse, 1);
    }
}

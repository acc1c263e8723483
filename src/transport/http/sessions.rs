//! The sessions of both HTTP transports, in one place: who opened each (its
//! identity key), what it serves, when it was last used; the cap on how many
//! are open; hibernation (rmcp's session store keeps a quiet Streamable HTTP
//! session's `initialize` parameters so its worker can be stopped and rebuilt
//! on the next request); and the idle sweep. Streamable HTTP and SSE use it
//! through methods only.

use std::collections::HashMap;
use std::hash::RandomState;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::store::{SessionState, SessionStore, SessionStoreError};

use super::request::{Refusal, RequestSettings};
use super::sse;
use crate::config::SessionLimits;
use crate::server::Setup;

/// One Streamable HTTP session, as the HTTP layer knows it.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    /// Who opened it.
    pub identity: u64,
    /// What it serves (handed to rmcp again when it rebuilds the session).
    pub setup: Setup,
    /// Last request.
    last_seen: Instant,
}

/// Every open session of both transports.
#[derive(Debug)]
pub(crate) struct Sessions {
    /// Open Streamable HTTP sessions (live or hibernated).
    records: Mutex<HashMap<String, SessionRecord>>,
    /// What rmcp needs to rebuild a hibernated session.
    store: Arc<MemoryStore>,
    /// rmcp's live session workers.
    manager: Arc<LocalSessionManager>,
    /// Open SSE sessions.
    sse: sse::Registry,
    /// Keys of the identity hash (per process: identities are never stored).
    keys: RandomState,
    limits: SessionLimits,
}

/// A lock whose holder panicked still guards consistent data here (every
/// critical section is a single map operation), so it is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    /// No sessions yet. A session's worker stops after a quiet spell
    /// (hibernation); the session lives on in `records` and `store` until the
    /// idle timeout, and rmcp rebuilds the worker when the next request comes.
    pub(crate) fn new(limits: SessionLimits) -> Self {
        let mut manager = LocalSessionManager::default();
        let hibernate = limits.hibernate_after.max(Duration::from_secs(1));
        manager.session_config.keep_alive = Some(limits.idle_timeout.map_or(hibernate, |idle| idle.min(hibernate)));
        Self {
            records: Mutex::new(HashMap::new()),
            store: Arc::new(MemoryStore::default()),
            manager: Arc::new(manager),
            sse: sse::Registry::default(),
            keys: RandomState::new(),
            limits,
        }
    }

    /// rmcp's session manager (for the Streamable HTTP service).
    pub(crate) fn manager(&self) -> Arc<LocalSessionManager> {
        self.manager.clone()
    }

    /// rmcp's session store (for the Streamable HTTP service).
    pub(crate) fn store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    /// The SSE sessions.
    pub(crate) fn sse(&self) -> &sse::Registry {
        &self.sse
    }

    /// The identity key of a request.
    pub(crate) fn identity(&self, s: &RequestSettings) -> u64 {
        s.identity(&self.keys)
    }

    /// Open sessions of both transports.
    pub(crate) fn count(&self) -> usize {
        lock(&self.records).len() + self.sse.len()
    }

    /// Sessions with a running worker (the others are hibernated).
    pub(crate) async fn live(&self) -> usize {
        self.manager.sessions.read().await.len() + self.sse.len()
    }

    /// 503 when a new session would exceed the cap.
    pub(crate) fn admit(&self) -> Result<(), Refusal> {
        let max = self.limits.max;
        if max > 0 && self.count() >= max {
            return Err(Refusal::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sessions",
                format!("the server has {max} open sessions, its limit (DOCSPACE_MAX_SESSIONS)"),
            ));
        }
        Ok(())
    }

    /// The record of Streamable HTTP session `id`, marked as used now.
    pub(crate) fn touch(&self, id: &str) -> Option<SessionRecord> {
        lock(&self.records).get_mut(id).map(|r| {
            r.last_seen = Instant::now();
            r.clone()
        })
    }

    /// Records a new Streamable HTTP session.
    pub(crate) fn opened(&self, id: &str, identity: u64, setup: Setup) {
        tracing::info!(session = id, "session opened");
        lock(&self.records).insert(id.to_owned(), SessionRecord { identity, setup, last_seen: Instant::now() });
    }

    /// Forgets a Streamable HTTP session the client closed.
    pub(crate) fn closed(&self, id: &str) {
        lock(&self.records).remove(id);
        tracing::info!(session = %id, "session closed by the client");
    }

    /// How often the sweeper should run (`None`: sessions never expire).
    pub(crate) fn sweep_every(&self) -> Option<Duration> {
        self.limits.idle_timeout.map(|idle| (idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(15)))
    }

    /// Closes sessions idle longer than the idle timeout.
    pub(crate) async fn sweep(&self) {
        let Some(limit) = self.limits.idle_timeout else { return };
        let expired: Vec<String> = {
            let mut records = lock(&self.records);
            let ids: Vec<String> =
                records.iter().filter(|(_, r)| r.last_seen.elapsed() > limit).map(|(id, _)| id.clone()).collect();
            for id in &ids {
                records.remove(id);
            }
            ids
        };
        for id in expired {
            let _ = self.store.delete(&id).await;
            let _ = self.manager.close_session(&SessionId::from(id.as_str())).await;
            tracing::info!(session = %id, "session closed after {} s idle", limit.as_secs());
        }
    }
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

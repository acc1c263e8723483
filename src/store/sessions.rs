//! The session registry in the shared store. A Streamable HTTP session is a
//! hash, `<prefix>:session:<id>`:
//! - `owner`: the identity hash of the credentials that opened it;
//! - `selection`: the tool selection it was opened with (JSON);
//! - `level`: the level set by `logging/setLevel`, if any;
//! - `state`: rmcp's `initialize` parameters ([`SessionStore`]), from which
//!   any replica rebuilds the session's worker.
//!
//! The hash lives for the idle timeout and every use renews it, so the
//! store itself closes idle sessions. A legacy SSE session is a smaller
//! hash, `<prefix>:sse:<id>` (`owner`, `replica`: where its stream is).

// `logging/setLevel` is deprecated by SEP-2577 (2026-07-28) but still served
// to 2025 clients: the session keeps its level.
#![allow(deprecated)]

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::LoggingLevel;
use rmcp::transport::streamable_http_server::session::store::{SessionState, SessionStore, SessionStoreError};
use serde::{Deserialize, Serialize};

use super::{Query, Store, Unavailable};

/// Sessions live at most this long in the store when idle sessions are
/// never closed (`DOCSPACE_SESSION_IDLE_TIMEOUT=0`), the longest idle
/// timeout that may be set.
const NEVER_IDLE: Duration = Duration::from_secs(30 * 86_400);

/// The tool selection a session was opened with (what a request may say of
/// it; the operator's own settings are every replica's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSelection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolsets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A Streamable HTTP session as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredSession {
    /// Who opened it.
    pub identity: u64,
    /// What it serves.
    pub selection: StoredSelection,
    /// Its log level.
    pub level: Option<LoggingLevel>,
}

/// An SSE session as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSse {
    /// Who opened it.
    pub identity: u64,
    /// The replica holding its stream.
    pub replica: String,
}

/// The registry.
#[derive(Debug, Clone)]
pub(crate) struct SharedSessions {
    store: Arc<Store>,
    /// How long an unused session is kept.
    ttl: Duration,
}

impl SharedSessions {
    /// The registry in `store`; sessions unused for `idle` are closed (`None`: never).
    pub(crate) fn new(store: Arc<Store>, idle: Option<Duration>) -> Self {
        Self { store, ttl: idle.unwrap_or(NEVER_IDLE).min(NEVER_IDLE) }
    }

    /// The lifetime, in milliseconds for `PEXPIRE`.
    fn millis(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX).max(1)
    }

    fn key(&self, id: &str) -> String {
        self.store.key("session", id)
    }

    fn sse_key(&self, id: &str) -> String {
        self.store.key("sse", id)
    }

    /// Records a new session.
    pub(crate) async fn create(&self, id: &str, identity: u64, selection: &StoredSelection) -> Result<(), Unavailable> {
        let selection = serde_json::to_string(selection).map_err(|_| Unavailable)?;
        let key = self.key(id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(&key, "owner", identity.to_string())
            .ignore()
            .hset(&key, "selection", selection)
            .ignore()
            .pexpire(&key, self.millis())
            .ignore();
        self.store.run::<()>("session_create", Query::Pipe(&pipe)).await
    }

    /// Session `id`, its lifetime renewed: `None` when it is not (or no longer) there.
    pub(crate) async fn touch(&self, id: &str) -> Result<Option<StoredSession>, Unavailable> {
        let key = self.key(id);
        let mut pipe = redis::pipe();
        pipe.atomic().hmget(&key, &["owner", "selection", "level"]).pexpire(&key, self.millis()).ignore();
        let ((owner, selection, level),): ((Option<String>, Option<String>, Option<String>),) =
            self.store.run("session_touch", Query::Pipe(&pipe)).await?;
        // A hash without an owner is a session this registry never opened
        // (rmcp's state written, the record not): unknown.
        let Some(identity) = owner.and_then(|o| o.parse().ok()) else { return Ok(None) };
        let selection = selection.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let level = level.and_then(|l| serde_json::from_str(&l).ok());
        Ok(Some(StoredSession { identity, selection, level }))
    }

    /// Records session `id`'s log level.
    pub(crate) async fn set_level(&self, id: &str, level: LoggingLevel) -> Result<(), Unavailable> {
        let level = serde_json::to_string(&level).map_err(|_| Unavailable)?;
        let key = self.key(id);
        let mut pipe = redis::pipe();
        // Renewed with it: were the session gone, the lone field expires too.
        pipe.atomic().hset(&key, "level", level).ignore().pexpire(&key, self.millis()).ignore();
        self.store.run::<()>("session_level", Query::Pipe(&pipe)).await
    }

    /// Forgets session `id` (closed by its client).
    pub(crate) async fn remove(&self, id: &str) -> Result<(), Unavailable> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(id));
        self.store.run::<()>("session_remove", Query::Cmd(&cmd)).await
    }

    /// Records an SSE session whose stream this replica holds.
    pub(crate) async fn sse_create(&self, id: &str, identity: u64) -> Result<(), Unavailable> {
        let key = self.sse_key(id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(&key, "owner", identity.to_string())
            .ignore()
            .hset(&key, "replica", self.store.replica())
            .ignore()
            .pexpire(&key, self.millis())
            .ignore();
        self.store.run::<()>("sse_create", Query::Pipe(&pipe)).await
    }

    /// SSE session `id`, its lifetime renewed.
    pub(crate) async fn sse_touch(&self, id: &str) -> Result<Option<StoredSse>, Unavailable> {
        let key = self.sse_key(id);
        let mut pipe = redis::pipe();
        pipe.atomic().hmget(&key, &["owner", "replica"]).pexpire(&key, self.millis()).ignore();
        let ((owner, replica),): ((Option<String>, Option<String>),) =
            self.store.run("sse_touch", Query::Pipe(&pipe)).await?;
        match (owner.and_then(|o| o.parse().ok()), replica) {
            (Some(identity), Some(replica)) => Ok(Some(StoredSse { identity, replica })),
            _ => Ok(None),
        }
    }

    /// Forgets SSE session `id` (its stream ended).
    pub(crate) async fn sse_remove(&self, id: &str) -> Result<(), Unavailable> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.sse_key(id));
        self.store.run::<()>("sse_remove", Query::Cmd(&cmd)).await
    }
}

/// rmcp's session store: the `initialize` parameters, in the same hash.
#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.key(session_id)).arg("state");
        let state: Option<String> = self.store.run("session_load", Query::Cmd(&cmd)).await?;
        Ok(state.map(|s| serde_json::from_str(&s)).transpose()?)
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let state = serde_json::to_string(state)?;
        let key = self.key(session_id);
        let mut pipe = redis::pipe();
        pipe.atomic().hset(&key, "state", state).ignore().pexpire(&key, self.millis()).ignore();
        Ok(self.store.run::<()>("session_store", Query::Pipe(&pipe)).await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        Ok(self.remove(session_id).await?)
    }
}

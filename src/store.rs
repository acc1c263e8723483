//! The shared state backend: a Redis-protocol server (Redis, Valkey) that
//! several replicas of this server use together, so that an ordinary load
//! balancer may send any request to any of them (docs/deploy.md). Off by
//! default: without `DOCSPACE_STATE_URL` every replica keeps its state in
//! its own memory, as a single process does.
//!
//! What moves to the store, each in its own module:
//! - the OAuth proxy's single-use marks, revocations, refresh-token
//!   rotation and caches ([`memory`], behind the proxy's `Memory` trait);
//! - the rate-limit counters ([`rate`]: GCRA in a Lua script, on the
//!   store's clock, so limits are global; while the store is away, each
//!   replica counts on its own, so limits hold and `/health` answers);
//! - the Streamable HTTP session registry ([`sessions`]: who opened a
//!   session, its tool selection and log level, rmcp's `initialize`
//!   parameters), so a session continues on any replica;
//! - the legacy SSE relay ([`relay`]: a `POST /messages` that lands on a
//!   replica other than the one holding the session's stream is published
//!   to that replica).
//!
//! Every entry expires on the server (`PX`). Keys are namespaced
//! (`<prefix>:<kind>:…`) and hold no secret in clear: identities are keyed
//! hashes ([`IdentityKeys`], HMAC-SHA-256 under `DOCSPACE_STATE_SECRET_KEY`),
//! codes and tokens are digests, as in the in-process memories.
//!
//! An outage degrades clearly: a call that needs the store and cannot reach
//! it in time gets [`Unavailable`], which the HTTP layer answers with 503
//! `store_unavailable`; security checks that cannot be made refuse (never
//! "go on"). The connection is re-established in the background.

pub(crate) mod memory;
pub(crate) mod rate;
pub(crate) mod relay;
pub(crate) mod sessions;

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ring::hmac;

use crate::config::StateConfig;
use crate::metrics::Metrics;

/// How long one command may take before the caller is told the store cannot
/// answer (a request waits at most about this long on a store that hangs).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The store cannot answer (down, too slow, refusing writes, or an answer
/// that makes no sense).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shared state store (DOCSPACE_STATE_URL) cannot answer")]
pub(crate) struct Unavailable;

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The URL is not one the client understands.
    #[error("DOCSPACE_STATE_URL: {0} (expected redis://host:port/db, rediss:// for TLS, or redis+unix:///path)")]
    Url(String),
    /// The client could not be set up.
    #[error("the shared state store: {0}")]
    Client(String),
}

/// A connection to the shared store, shared by every part that uses it.
pub(crate) struct Store {
    conn: ConnectionManager,
    prefix: String,
    /// This replica, in the relay's channel names and the logs.
    replica: String,
    /// The key of the identity hashes.
    identity_key: hmac::Key,
    /// Whether the last command failed (said once in the log per outage).
    down: AtomicBool,
    metrics: Option<Arc<Metrics>>,
    /// The client, for the relay's subscription connection.
    client: redis::Client,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("prefix", &self.prefix).field("replica", &self.replica).finish_non_exhaustive()
    }
}

impl Store {
    /// A store at `config.url`, connected lazily (the server starts while the
    /// store is down, and answers 503 until it is up).
    pub(crate) fn new(config: &StateConfig, metrics: Option<Arc<Metrics>>) -> Result<Arc<Self>, Error> {
        // rediss:// uses rustls on the process's provider (ring).
        docspace_mcp_client::tls::install_provider();
        let client = redis::Client::open(config.url.expose()).map_err(|e| Error::Url(e.to_string()))?;
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config())
            .map_err(|e| Error::Client(e.to_string()))?;
        let replica = uuid::Uuid::new_v4().simple().to_string();
        let store = Self {
            conn,
            prefix: config.prefix.clone(),
            replica,
            identity_key: hmac::Key::new(hmac::HMAC_SHA256, config.secret.expose().as_bytes()),
            down: AtomicBool::new(false),
            metrics,
            client,
        };
        tracing::info!(
            store = %redacted(config.url.expose()),
            prefix = %store.prefix,
            replica = %store.replica,
            "shared state store on (DOCSPACE_STATE_URL): OAuth memories, rate limits and sessions are shared by \
             every replica"
        );
        Ok(Arc::new(store))
    }

    /// `<prefix>:<kind>:<id>`.
    pub(crate) fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    /// This replica's id.
    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    /// The keys identities are hashed with, the same on every replica.
    pub(crate) fn identity_keys(&self) -> IdentityKeys {
        IdentityKeys(self.identity_key.clone())
    }

    /// Runs `cmd` (a command, a pipeline or a script invocation): its
    /// answer, or [`Unavailable`] (logged once per outage, counted).
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        cmd: Query<'_>,
    ) -> Result<T, Unavailable> {
        let mut conn = self.conn.clone();
        let started = std::time::Instant::now();
        let answer: redis::RedisResult<T> = match cmd {
            Query::Cmd(cmd) => cmd.query_async(&mut conn).await,
            Query::Pipe(pipe) => pipe.query_async(&mut conn).await,
            Query::Script(invocation) => invocation.invoke_async(&mut conn).await,
        };
        if let Some(m) = &self.metrics {
            m.store_command(what, answer.is_ok(), started.elapsed());
        }
        match answer {
            Ok(value) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("the shared state store answers again");
                }
                Ok(value)
            }
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::error!(operation = what, "the shared state store cannot answer: {e}");
                } else {
                    tracing::debug!(operation = what, "the shared state store cannot answer: {e}");
                }
                Err(Unavailable)
            }
        }
    }

    /// Whether the store answers a `PING` now (for `/health`).
    pub(crate) async fn ping(&self) -> bool {
        self.run::<String>("ping", Query::Cmd(&redis::cmd("PING"))).await.is_ok()
    }

    /// The client (for a connection of its own: the relay's subscription).
    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }
}

/// What [`Store::run`] sends.
pub(crate) enum Query<'a> {
    /// One command.
    Cmd(&'a redis::Cmd),
    /// Several, in one round trip.
    Pipe(&'a redis::Pipeline),
    /// A Lua script (by digest; loaded when the store does not know it).
    Script(&'a redis::ScriptInvocation<'a>),
}

/// Short timeouts (a request waits on the store at most about
/// [`RESPONSE_TIMEOUT`]) and quick reconnects.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// The store's URL without a password, for the logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

/// The keys of identity hashes with a store: HMAC-SHA-256 under the shared
/// secret, so that every replica computes the same identity for the same
/// credentials and the store holds nothing from which to guess them.
#[derive(Clone)]
pub(crate) struct IdentityKeys(hmac::Key);

impl std::fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKeys")
    }
}

impl BuildHasher for IdentityKeys {
    type Hasher = IdentityHasher;

    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(hmac::Context::with_key(&self.0))
    }
}

/// One identity hash being computed: its first 64 bits are the identity.
pub(crate) struct IdentityHasher(hmac::Context);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let tag = self.0.clone().sign();
        let mut first = [0u8; 8];
        for (to, from) in first.iter_mut().zip(tag.as_ref()) {
            *to = *from;
        }
        u64::from_be_bytes(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_agree_across_replicas_with_the_same_secret_only() {
        let hash = |key: &[u8], what: &str| IdentityKeys(hmac::Key::new(hmac::HMAC_SHA256, key)).hash_one(what);
        assert_eq!(hash(b"one secret", "user"), hash(b"one secret", "user"));
        assert_ne!(hash(b"one secret", "user"), hash(b"one secret", "other user"));
        assert_ne!(hash(b"one secret", "user"), hash(b"another secret", "user"));
    }

    #[test]
    fn the_logged_url_has_no_password() {
        assert_eq!(redacted("redis://:hunter2@cache:6379/0"), "redis://:***@cache:6379/0");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert!(!redacted("rediss://user:pw@host/").contains("pw"));
    }
}

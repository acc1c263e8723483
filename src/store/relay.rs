//! The legacy SSE relay. An SSE session's replies travel on the `GET /sse`
//! stream one replica holds; its client's `POST /messages` may land on any
//! replica. The one that gets a POST for a session it does not hold checks
//! the caller's identity against the registry and publishes the message on
//! the holder's channel (`<prefix>:relay:<replica>`); each replica
//! subscribes to its own channel and feeds what arrives into the session as
//! if it had been posted there.
//!
//! A relayed message carries the request's headers (credentials among
//! them), so it is sealed (AES-256-GCM under a key derived from
//! `DOCSPACE_STATE_SECRET_KEY`) and expires after a minute: the store and
//! anyone watching its traffic see ciphertext only.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Query, Store, Unavailable};
use crate::oauth::seal::{Purpose, Sealer};

/// How long a relayed message may take to arrive.
const MESSAGE_TTL: Duration = Duration::from_secs(60);
/// Relayed messages waiting for delivery on this replica (beyond it, the
/// subscription waits: the store buffers for it).
const QUEUE: usize = 256;

/// One client message for an SSE session held by another replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Relayed {
    /// The session.
    pub session: String,
    /// The request's path and query.
    pub uri: String,
    /// The request's headers.
    pub headers: Vec<(String, String)>,
    /// The JSON-RPC message, as posted.
    pub body: String,
}

/// Publishing to other replicas, and this replica's subscription.
pub(crate) struct Relay {
    store: Arc<Store>,
    sealer: Sealer,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

/// Whether a relayed message reached its replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// The replica holding the session took it.
    Delivered,
    /// No replica listens on that channel: the one holding the session is gone.
    NoReplica,
}

impl Relay {
    /// The relay of `store`, sealing with a key derived from `secret`.
    pub(crate) fn new(store: Arc<Store>, secret: &str) -> Result<Self, crate::oauth::seal::Error> {
        Ok(Self { store, sealer: Sealer::new(secret)? })
    }

    fn channel(&self, replica: &str) -> String {
        self.store.key("relay", replica)
    }

    /// Publishes `message` to `replica`.
    pub(crate) async fn send(&self, replica: &str, message: &Relayed) -> Result<Sent, Unavailable> {
        let sealed = self.sealer.seal(Purpose::Relay, message, MESSAGE_TTL).map_err(|_| Unavailable)?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.channel(replica)).arg(sealed);
        let receivers: i64 = self.store.run("relay_publish", Query::Cmd(&cmd)).await?;
        Ok(if receivers > 0 { Sent::Delivered } else { Sent::NoReplica })
    }

    /// Subscribes to this replica's channel until `shutdown`, reconnecting
    /// when the store goes away: the messages that arrive, opened.
    pub(crate) fn listen(self: Arc<Self>, shutdown: CancellationToken) -> mpsc::Receiver<Relayed> {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            let channel = self.channel(self.store.replica());
            let mut pause = Duration::from_millis(100);
            loop {
                let subscribed = tokio::select! {
                    () = shutdown.cancelled() => return,
                    s = tokio::time::timeout(Duration::from_secs(5), self.subscribe(&channel)) => s,
                };
                match subscribed {
                    Ok(Ok(mut pubsub)) => {
                        tracing::debug!(%channel, "SSE relay: subscribed");
                        pause = Duration::from_millis(100);
                        let mut messages = pubsub.on_message();
                        loop {
                            let msg = tokio::select! {
                                () = shutdown.cancelled() => return,
                                m = messages.next() => m,
                            };
                            let Some(msg) = msg else { break };
                            let Ok(sealed) = std::str::from_utf8(msg.get_payload_bytes()) else { continue };
                            match self.sealer.open::<Relayed>(Purpose::Relay, sealed) {
                                Ok(relayed) => {
                                    if tx.send(relayed).await.is_err() {
                                        return;
                                    }
                                }
                                Err(e) => tracing::warn!("SSE relay: dropped a message that does not open: {e}"),
                            }
                        }
                        tracing::warn!("SSE relay: the subscription ended (store restarted?): subscribing again");
                    }
                    Ok(Err(e)) => tracing::debug!("SSE relay: cannot subscribe: {e}"),
                    Err(_) => tracing::debug!("SSE relay: subscribing timed out"),
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        });
        rx
    }

    async fn subscribe(&self, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
        let mut pubsub = self.store.client().get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    }
}

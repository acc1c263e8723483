//! The accept loop: HTTP/1.1 connections (TLS and HTTP/2 belong to the
//! reverse proxy in front) within the limits of [`ConnectionLimits`]: at
//! most `max_connections` open (more wait in the listen queue), at most
//! `max_connections_per_ip` from one client address (an IPv6 client by its
//! /64; more are closed at once, so one client cannot fill the server's
//! places), and a connection that takes longer than `header_timeout` to send
//! a request head — counted from when it opens or its previous response
//! ends, so idle keep-alive connections too — is closed. Trusted proxies
//! (with `DOCSPACE_PROXY_HOPS` set) carry many clients' connections and are
//! not capped per address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::Service as _;

use super::lock;
use super::middleware::rate_limit::ip_key;
use crate::config::ConnectionLimits;

/// Open connections per client address.
#[derive(Debug, Default)]
struct PerIp {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place in [`PerIp`], given back when it drops.
struct Place {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// A place for a connection from `ip`, unless it already has `max`.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Place> {
        let mut open = lock(&self.open);
        let n = open.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Place { table: self.clone(), ip })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = lock(&self.table.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `until` completes, then finishes the
/// requests in flight. Responses go out without Nagle's delay: an SSE reply
/// is written in pieces, and waiting for the client's delayed ACK would add
/// 40 ms to every request.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_draining(listener, app, limits, until, async {}).await
}

/// How long connections may take to end after the drain (a response still
/// being written, a client that does not close).
const CLOSING: Duration = Duration::from_secs(5);

/// [`serve_on`], with `drain` run once `until` has stopped the accepting
/// (the listener closed) and before the open connections are shut: the
/// graceful shutdown lets calls in flight finish there.
pub async fn serve_draining(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    until: impl std::future::Future<Output = ()> + Send + 'static,
    drain: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let per_ip = Arc::new(PerIp::default());
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let mut until = std::pin::pin!(until);
    loop {
        // A free slot first: at the cap, new connections wait in the kernel's queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut until => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut until => break,
        };
        let place = if limits.max_connections_per_ip == 0 || limits.uncapped.iter().any(|n| n.contains(&peer.ip())) {
            None
        } else {
            let ip = ip_key(peer.ip());
            match per_ip.take(ip, limits.max_connections_per_ip) {
                Some(place) => Some(place),
                None => {
                    limits.closed_per_ip.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(%ip, "closed a connection: {} open from this address, its limit \
                        (DOCSPACE_HTTP_MAX_CONNECTIONS_PER_IP)", limits.max_connections_per_ip);
                    continue; // dropping `tcp` closes it
                }
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(tcp), service(app.clone(), peer)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop((slot, place));
        });
    }
    drop(listener);
    drain.await;
    if tokio::time::timeout(CLOSING, graceful.shutdown()).await.is_err() {
        tracing::info!("connections still open {} s after the drain were dropped", CLOSING.as_secs());
    }
    Ok(())
}

/// The app as hyper calls it for one connection from `peer` (which handlers
/// read as `ConnectInfo`).
fn service(
    app: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        app.clone().call(req.map(axum::body::Body::new))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_per_address_are_counted_and_given_back() {
        let table = Arc::new(PerIp::default());
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let a = table.take(ip, 2).unwrap();
        let _b = table.take(ip, 2).unwrap();
        assert!(table.take(ip, 2).is_none(), "a third from one address");
        assert!(table.take("203.0.113.6".parse().unwrap(), 2).is_some(), "another address");
        drop(a);
        assert!(table.take(ip, 2).is_some(), "a place given back");
    }
}

//! The sandbox portal: an in-memory DocSpace look-alike on 127.0.0.1 that
//! follows the OpenAPI description's paths and shapes for every operation
//! behind docspace-mcp's default catalogue (the caller, people and groups,
//! My documents, folders, files with versions and share links, rooms with
//! members, links, archive and deletion, file operations, chunked uploads,
//! bulk download with conversion to text, trash); anything else is a 501
//! that says so. `docspace-mcp sandbox` runs it with an MCP
//! server wired to it, and the integration tests run against it.
//!
//! It accepts only its own fixed credentials (below), one per method
//! docspace-mcp can send, and access tokens from its own OAuth authorization
//! server ([`oauth`], DocSpace's quirks included); they mean nothing anywhere
//! else.
//!
//! It is a separate server, an independent look-alike of DocSpace, and
//! depends on nothing in docspace-mcp: what both need (HTML escaping, query
//! strings, PKCE) it has in its own small copies.
//!
//! Inside: [`store`] holds the portal's data, one file per DocSpace area (it
//! is public only as far as [`Sandbox::inspect`] shows it); `routes` is the
//! HTTP surface, built from one table of the operations it implements
//! ([`operations`], which the root package's `sandbox_contract` test checks
//! against the description), with the credential check and injected
//! [`Fault`]s in front; [`oauth`] is the authorization server. It keeps
//! the W3C trace context of the latest requests that carried one
//! ([`Sandbox::traced`]), for tests of its propagation.

pub mod oauth;
mod routes;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

pub use routes::{Fault, Operation, Traced, operations};

/// API key (`DOCSPACE_API_KEY`).
pub const API_KEY: &str = "sk-sandbox-key";
/// Personal access token (`DOCSPACE_AUTH_TOKEN`).
pub const AUTH_TOKEN: &str = "sandbox-access-token";
/// User name (`DOCSPACE_USERNAME`).
pub const USERNAME: &str = "alex.morgan@sandbox.example";
/// Password (`DOCSPACE_PASSWORD`).
pub const PASSWORD: &str = "sandbox-password";

/// A running sandbox portal; stops when dropped.
pub struct Sandbox {
    base_url: String,
    shared: Arc<routes::Shared>,
    /// Dropping it (with the portal) shuts the server down.
    _stop: oneshot::Sender<()>,
}

impl Sandbox {
    /// Starts a seeded portal on `addr` (use port 0 for a free port).
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(routes::Shared {
            store: Mutex::new(store::Store::seeded()),
            base_url: base_url.clone(),
            faults: Mutex::new(routes::Faults::default()),
            oauth: Mutex::new(oauth::OAuthState::default()),
            traced: Mutex::default(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::app(shared.clone());
        tokio::spawn(async move {
            use axum::serve::ListenerExt as _;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("sandbox portal stopped: {e}");
            }
        });
        Ok(Self { base_url, shared, _stop: stop })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Makes the next matching requests fail (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut faults) = self.shared.faults.lock() {
            faults.push(fault);
        }
    }

    /// How many requests each fault mode has been applied to so far.
    pub fn faults_applied(&self) -> BTreeMap<String, u64> {
        self.shared.faults.lock().map(|f| f.applied()).unwrap_or_default()
    }

    /// The faults still waiting for a matching request.
    pub fn faults_pending(&self) -> Vec<Fault> {
        self.shared.faults.lock().map(|f| f.pending()).unwrap_or_default()
    }

    /// How many status reads a new file operation reports as still running.
    pub fn set_operation_latency(&self, reads: u32) {
        if let Ok(mut store) = self.shared.store.lock() {
            store.operation_latency = reads;
        }
    }

    /// Registers a redirect URI for the OAuth application (as a DocSpace admin
    /// does in Settings → Developer Tools → OAuth 2.0).
    pub fn allow_oauth_redirect(&self, uri: &str) {
        if let Ok(mut o) = self.shared.oauth.lock() {
            o.redirect_uris.push(uri.to_owned());
        }
    }

    /// Every authorization code, access and refresh token the OAuth server
    /// has issued (for tests that check none of them leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.oauth.lock().map(|o| o.issued()).unwrap_or_default()
    }

    /// Adds `files` files to My documents, `rooms` rooms and `people` people,
    /// with made-up names (for tests and measurements of large listings).
    pub fn populate(&self, files: usize, rooms: usize, people: usize) {
        if let Ok(mut store) = self.shared.store.lock() {
            store.populate(files, rooms, people);
        }
    }

    /// The latest requests (up to 1,000) that carried a W3C `traceparent`,
    /// oldest first.
    pub fn traced(&self) -> Vec<Traced> {
        self.shared.traced.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    /// Runs `f` on the portal's data (for tests that check what changed).
    pub fn inspect<T>(&self, f: impl FnOnce(&store::Store) -> T) -> Option<T> {
        self.shared.store.lock().ok().map(|s| f(&s))
    }
}

//! The HTTP transports: Streamable HTTP at `/mcp` (rmcp's service: the 2025
//! session protocol and the 2026-07-28 stateless one on the same endpoint)
//! and the legacy HTTP+SSE transport at `/sse` + `/messages` (bridged into
//! the same handler), plus `/health` and, with the proxy on, the OAuth
//! endpoints.
//!
//! One server, many users: each session is set up from its first request —
//! the portal, credentials and tool selection it names (query, `X-Mcp-*`
//! headers, a raw `Authorization`), or the operator's configuration — and
//! keeps that identity: a request on the session from another identity is
//! refused. Request-level selection only narrows the operator's.
//!
//! The parts: `middleware` (request id, `Host`/`Origin`, rate limits),
//! `request` (what a request asks for), `connect` (from that to a
//! DocSpace client and tool selection), `sessions` (both transports'
//! sessions), `streamable` and `sse` (the two transports), `oauth`
//! (the OAuth routes). [`app`] assembles them; [`serve`] runs it.

mod connect;
mod connections;
mod metrics;
mod middleware;
mod oauth;
mod request;
mod sessions;
mod sse;
mod streamable;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::config::{Config, Cors, HttpConfig, OAuthConfig, PortalConfig};
use crate::metrics::Metrics;
use crate::oauth::proxy::{self, Proxy};
use crate::portal;
use crate::server::{DocSpaceServer, Drain, Extension, LevelSink, Setup};
use crate::spans::Tracing;
use crate::store::Store;
use crate::store::relay::Relay;
use connect::Connector;
pub use connections::{serve_draining, serve_on};
use middleware::Edge;
use middleware::body::{self, Bodies, Budget};
use middleware::host_origin::HostOrigin;
use request::{Refusal, RequestSettings};
use sessions::{Owner, Sessions, Ticket};

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// From a request to its session's setup.
    pub(crate) connect: Connector,
    /// Both transports' sessions.
    pub(crate) sessions: Sessions,
    /// How MCP request bodies are read (`/messages` reads its own, once its session is known).
    bodies: Arc<Bodies>,
    /// Cancelled at shutdown (ends SSE streams and sessions).
    shutdown: CancellationToken,
    /// The graceful shutdown: new MCP requests refused, calls in flight finishing.
    pub(crate) drain: Drain,
    /// The metrics, when on (`DOCSPACE_METRICS`, `DOCSPACE_METRICS_ADDRESS`).
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// The shared state store, when set (`DOCSPACE_STATE_URL`).
    pub(crate) store: Option<Arc<Store>>,
    /// The SSE relay through it.
    pub(crate) relay: Option<Arc<Relay>>,
    /// The span export, when on (an OTLP endpoint); flushed at shutdown.
    pub(crate) spans: Option<Tracing>,
    /// What an embedder serves beside the DocSpace tools.
    pub(crate) extension: Option<Arc<dyn Extension>>,
}

impl AppState {
    /// The refusal of an MCP request once the shutdown has started (503,
    /// `Retry-After`; the connection is closed after it).
    pub(crate) fn refuse_if_draining(&self) -> Option<Response> {
        if !self.drain.is_draining() {
            return None;
        }
        let mut response =
            Refusal::with_status(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", crate::server::SHUTTING_DOWN)
                .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        Some(response)
    }

    /// `setup` for session `id`: with the shared store, its
    /// `logging/setLevel` is recorded there for the other replicas.
    pub(crate) fn shareable(&self, setup: Setup, id: &str) -> Setup {
        self.shareable_pending(setup, &Arc::new(OnceLock::from(id.to_owned())))
    }

    /// [`AppState::shareable`] for a session whose id `named` will hold
    /// once rmcp has given it one.
    pub(crate) fn shareable_pending(&self, setup: Setup, named: &Arc<OnceLock<String>>) -> Setup {
        let Some(shared) = self.sessions.shared().cloned() else { return setup };
        let named = named.clone();
        setup.with_level_sink(LevelSink::new(move |level| {
            let shared = shared.clone();
            let id = named.get().cloned();
            Box::pin(async move {
                let Some(id) = id else { return };
                if shared.set_level(&id, level).await.is_err() {
                    tracing::warn!(session = %id, "the log level could not be recorded in the shared store");
                }
            })
        }))
    }

    /// A new session (or a stateless request) from a client at `ip`, within
    /// the session caps: its setup and its place among the sessions, or the
    /// refusal (logged).
    pub async fn open(&self, s: &RequestSettings, ip: Option<IpAddr>) -> Result<(Setup, Ticket), Refusal> {
        let opened = async {
            let setup = self.connect.setup(s)?;
            let ticket = self.sessions.admit(Owner::new(&self.sessions, s, ip, &setup)).await?;
            Ok((setup, ticket))
        };
        opened.await.inspect_err(|refusal: &Refusal| {
            tracing::info!(status = refusal.status.as_u16(), "refused: {}", refusal.message);
        })
    }
}

/// The guard of one of the HTTP layer's tables (sessions, connections per
/// address, the selection cache). A lock whose holder panicked still guards
/// consistent data there (every critical section leaves its table whole), so
/// it is used as it is rather than failing every later request.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The HTTP server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An HTTP client could not be built (TLS back end).
    #[error(transparent)]
    Client(#[from] portal::Error),
    /// The OAuth proxy could not be built.
    #[error("the OAuth proxy: {0}")]
    OAuth(String),
    /// Binding failed.
    #[error("cannot listen on {address}: {source}{}", bind_hint(source))]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The shared state store could not be set up.
    #[error("{0}")]
    Store(String),
    /// Binding the metrics address failed.
    #[error(
        "cannot listen on {address} for metrics: {source}. Check --metrics-address/DOCSPACE_METRICS_ADDRESS (it \
         must differ from the MCP address; port 0 picks a free one)"
    )]
    MetricsBind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The span exporter could not be built.
    #[error(transparent)]
    Spans(#[from] crate::spans::Error),
    /// Serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What to change when the listening address cannot be taken, naming the
/// settings as the user sets them.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            ". Another program uses that port: choose another with --port or DOCSPACE_PORT (0 picks a free one)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            ". That is not an address of this machine: check --host or DOCSPACE_HOST"
        }
        std::io::ErrorKind::PermissionDenied => {
            ". Ports below 1024 need privileges: choose a higher one with --port or DOCSPACE_PORT"
        }
        _ => ". Check --host/DOCSPACE_HOST and --port/DOCSPACE_PORT",
    }
}

/// `GET /health`: 200 while the process serves (a liveness and readiness
/// probe). With the shared store, `store` says whether it answers now
/// (`ok`, `unavailable`): the process stays up and serves what needs no
/// store while it is down, so a probe should not restart it for that.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let mut body = json!({
        "status": "ok",
        "sessions": state.sessions.count(),
        "live_sessions": state.sessions.live().await,
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(store) = &state.store
        && let Some(fields) = body.as_object_mut()
    {
        fields.insert("store".into(), json!(if store.ping().await { "ok" } else { "unavailable" }));
    }
    axum::Json(body).into_response()
}

/// Where OAuth clients look for a sign-in (discovery, registration).
fn is_oauth_path(path: &str) -> bool {
    path.starts_with("/.well-known/oauth") || path.starts_with("/.well-known/openid") || path == "/register"
}

async fn not_found(oauth: bool, req: Request) -> Response {
    let path = req.uri().path();
    let message = if !oauth && is_oauth_path(path) {
        format!(
            "no such endpoint: {path}. This server has no OAuth sign-in (DOCSPACE_OAUTH_BASE_URL is not set): send \
             your portal and credentials in headers instead, X-Mcp-Base-Url and X-Mcp-Api-Key (or X-Mcp-Auth-Token, \
             or X-Mcp-Username and X-Mcp-Password)"
        )
    } else {
        format!("no such endpoint: {} {path}", req.method())
    };
    Refusal::with_status(StatusCode::NOT_FOUND, "not_found", message).into_response()
}

/// What an embedder (a test) may put in place of what the configuration
/// builds.
#[derive(Default)]
pub struct Overrides {
    /// The HTTP client that fetches client ID metadata documents for the
    /// OAuth proxy; by default `crate::egress::metadata_client`. `cimd::fetch`
    /// checks every URL itself, so only name resolution and trusted
    /// certificates are the client's own.
    pub metadata_client: Option<reqwest::Client>,
}

/// The OAuth proxy for `oauth` (its issuer known), and the portal its tokens are used on.
fn oauth_proxy(
    oauth: &OAuthConfig,
    http: &HttpConfig,
    portal: &PortalConfig,
    metadata_client: Option<reqwest::Client>,
    memories: proxy::Memories,
) -> Result<(Arc<Proxy>, String), Error> {
    let issuer = oauth.issuer.clone().unwrap_or_else(|| format!("http://{}:{}", http.host, http.port));
    let resources = [http.streamable.then(|| format!("{issuer}/mcp")), http.sse.then(|| format!("{issuer}/sse"))]
        .into_iter()
        .flatten()
        .collect();
    let client = portal::http_client(
        &portal.user_agent,
        portal.request_timeout.min(Duration::from_secs(30)),
        portal::Egress::Operator,
    )?;
    let documents = match metadata_client {
        Some(client) => client,
        None => crate::egress::metadata_client(&portal.user_agent)?,
    };
    let settings = proxy::Settings {
        upstream: oauth.upstream.clone(),
        app: oauth.app.clone(),
        issuer,
        resources,
        token_ttl: oauth.token_ttl,
        state_ttl: oauth.state_ttl,
        introspection_ttl: oauth.introspection_ttl,
    };
    let mode = if settings.app.is_some() { "shared application" } else { "users' own applications" };
    let proxy = Proxy::new(settings, oauth.key.expose(), oauth.state_key.expose(), client, documents, memories)
        .map_err(|e| Error::OAuth(e.to_string()))?;
    tracing::info!(
        issuer = %proxy.settings().issuer,
        authorization_server = %oauth.upstream,
        portal = %oauth.portal,
        "OAuth proxy on ({mode})"
    );
    Ok((Arc::new(proxy), oauth.portal.clone()))
}

/// The application: routes, layers and shared state, for [`serve`] and for
/// tests (call it within a Tokio runtime: it starts the idle-session
/// sweeper, which stops with `shutdown`). `config.http` must be set.
pub fn app(
    config: Config,
    shutdown: CancellationToken,
    overrides: Overrides,
) -> Result<(Router, Arc<AppState>), Error> {
    let Config { tools, portal, http, otlp, extension, .. } = config;
    let Some(http) = http else {
        return Err(Error::Io(std::io::Error::other("the HTTP transport needs HTTP settings (--transport http)")));
    };
    let metrics = http.metrics.as_ref().map(|_| Arc::new(Metrics::new(http.connections.closed_per_ip.clone())));
    let store = http
        .state
        .as_ref()
        .map(|s| Store::new(s, metrics.clone()))
        .transpose()
        .map_err(|e| Error::Store(e.to_string()))?;
    if let Some(state) = &http.state {
        // Replicas seal and open each other's input-required request states.
        crate::server::seal_requests_with(state.secret.expose().as_bytes());
    }
    let relay = match (&store, &http.state) {
        (Some(store), Some(s)) => Some(Arc::new(
            Relay::new(store.clone(), s.secret.expose())
                .map_err(|e| Error::Store(format!("the shared state store: {e}")))?,
        )),
        _ => None,
    };
    let memories = store.as_ref().map_or_else(proxy::Memories::in_memory, proxy::Memories::shared);
    let oauth = http
        .oauth
        .as_ref()
        .map(|o| oauth_proxy(o, &http, &portal, overrides.metadata_client.clone(), memories.clone()))
        .transpose()?;
    let proxy = oauth.as_ref().map(|(p, _)| p.clone());
    let connect = Connector::new(tools, portal, http.sources.clone(), http.base_urls.clone(), oauth)?;
    let limits = &http.connections;
    let budget = Budget::new(limits.body_budget);
    let bodies = |max, setting| Arc::new(Bodies { max, setting, timeout: limits.body_timeout, budget: budget.clone() });
    let mcp_bodies = bodies(limits.max_body, "DOCSPACE_HTTP_MAX_BODY_BYTES");
    let spans = otlp.as_ref().map(Tracing::start).transpose()?;
    let state = Arc::new(AppState {
        connect,
        sessions: Sessions::new(http.sessions, store.as_ref()),
        bodies: mcp_bodies.clone(),
        shutdown: shutdown.clone(),
        drain: Drain::default(),
        metrics: metrics.clone(),
        store: store.clone(),
        relay: relay.clone(),
        spans: spans.clone(),
        extension,
    });
    if let Some(relay) = relay {
        sse::deliver_relayed(state.clone(), relay.listen(shutdown.clone()));
    }
    let mut app = Router::new().route("/health", get(health));
    // On the MCP listener only when no address of their own is set.
    if http.metrics.as_ref().is_some_and(|m| m.address.is_none()) {
        app = app.route("/metrics", get(metrics::scrape));
    }
    if http.streamable {
        app = app.merge(streamable_routes(&state, &mcp_bodies, &shutdown));
    }
    if http.sse {
        app = app
            .route("/sse", get(sse::open))
            .route("/messages", post(sse::message))
            .route("/message", post(sse::message));
    }
    let own_origin = proxy
        .as_ref()
        .and_then(|p| url::Url::parse(&p.settings().issuer).ok())
        .map(|u| u.origin().ascii_serialization());
    let host_origin = Arc::new(
        HostOrigin::new(&http.allowed_hostnames, &http.cors, http.oauth.as_ref().map(|o| &o.cors))
            .with_own_origin(own_origin),
    );
    // The layers below apply to the routes added so far: MCP, health and the
    // fallback get the MCP edge policy and CORS; the OAuth routes, merged
    // after, carry their own per endpoint.
    let mcp_edge = Arc::new(Edge::mcp(host_origin.clone(), http.rate_limit, http.proxies.clone(), store.as_ref()));
    let oauth_on = http.oauth.is_some();
    let mut app = app.fallback(move |req: Request| not_found(oauth_on, req)).with_state(state.clone());
    if let Some(cors) = cors_layer(&http.cors) {
        app = app.layer(cors);
    }
    let mut app = app.layer(axum::middleware::from_fn_with_state(mcp_edge, middleware::guard));
    if let (Some(proxy), Some(o)) = (proxy, &http.oauth) {
        let cors = cors_layer(&o.cors);
        let oauth_bodies = bodies(body::OAUTH_MAX_BODY, "16 KiB on OAuth endpoints");
        app = app.merge(oauth::routes(proxy, http.streamable, http.sse, |endpoint, routes| {
            let routes = routes.layer(axum::middleware::from_fn_with_state(oauth_bodies.clone(), body::buffer));
            // Their own CORS: browser-based clients sign in from their own origins.
            let routes = match &cors {
                Some(cors) => routes.layer(cors.clone()),
                None => routes,
            };
            let edge = Edge::oauth(host_origin.clone(), endpoint, &o.rate_limits, http.proxies.clone(), store.as_ref());
            routes.layer(axum::middleware::from_fn_with_state(Arc::new(edge), middleware::guard))
        }));
    }
    let mut app = app.layer(DefaultBodyLimit::max(limits.max_body));
    if let Some(spans) = &spans {
        // Inside the request id's layer, which reads the `traceparent` header.
        app = app.layer(axum::middleware::from_fn_with_state(spans.tracer(), middleware::span::span));
    }
    let mut app = app
        .layer(axum::middleware::from_fn(middleware::request_id::request_id))
        .layer(axum::middleware::from_fn(body::close_unread));
    if let Some(metrics) = metrics {
        // Outermost: every answer is counted as the client gets it.
        app = app.layer(axum::middleware::from_fn_with_state(metrics, metrics::count));
    }
    spawn_sweeper(state.clone(), shutdown);
    Ok((app, state))
}

/// `/mcp`: rmcp's Streamable HTTP service behind [`streamable::gate`], which
/// runs before the body is read, and [`streamable::prepared_list`], after.
fn streamable_routes(
    state: &Arc<AppState>,
    bodies: &Arc<Bodies>,
    shutdown: &CancellationToken,
) -> Router<Arc<AppState>> {
    // Host and Origin are checked by our guard for every route, so rmcp's own
    // checks (loopback-only by default) are off here.
    let mut service_config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_json_response(true)
        .with_max_request_body_bytes(bodies.max)
        .with_cancellation_token(shutdown.child_token());
    service_config.session_store = Some(state.sessions.store());
    let extension = state.extension.clone();
    let service = StreamableHttpService::new(
        move || Ok(DocSpaceServer::deferred().with_extension(extension.clone())),
        state.sessions.manager(),
        service_config,
    );
    let mut routes = Router::new().route_service("/mcp", service);
    if state.extension.is_none() {
        // An extension's tools are not in the prepared listing.
        routes = routes.layer(axum::middleware::from_fn(streamable::prepared_list));
    }
    routes
        .layer(axum::middleware::from_fn_with_state(bodies.clone(), body::buffer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), streamable::gate))
}

/// Closes idle sessions as often as the idle timeout needs, until shutdown.
fn spawn_sweeper(state: Arc<AppState>, shutdown: CancellationToken) {
    let Some(every) = state.sessions.sweep_every() else { return };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => state.sessions.sweep().await,
            }
        }
    });
}

/// CORS for browser clients on `origins` (`*`: any; empty: none).
fn cors_layer(cors: &Cors) -> Option<CorsLayer> {
    let origins: Vec<&str> = cors.origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    let expose: Vec<HeaderName> = [
        "mcp-session-id",
        "mcp-protocol-version",
        "www-authenticate",
        "x-request-id",
        "last-event-id",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
    ]
    .iter()
    .map(|h| HeaderName::from_static(h))
    .collect();
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(expose)
            .max_age(cors.max_age),
    )
}

/// Serves MCP over HTTP until SIGINT or SIGTERM, then closes every session and exits.
pub async fn serve(mut config: Config) -> Result<(), Error> {
    let Some(http) = config.http.as_mut() else {
        return Err(Error::Io(std::io::Error::other("the HTTP transport needs HTTP settings (--transport http)")));
    };
    let address = format!("{}:{}", http.host, http.port);
    let listener = tokio::net::TcpListener::bind(&address).await.map_err(|source| Error::Bind { address, source })?;
    let local = listener.local_addr()?;
    http.bound_to(local);
    let served = [http.streamable.then_some("Streamable HTTP at /mcp"), http.sse.then_some("SSE at /sse")];
    let served = served.into_iter().flatten().collect::<Vec<_>>().join(", ");
    let metrics_listener = match http.metrics.as_ref().and_then(|m| m.address.clone()) {
        Some(address) => Some(
            tokio::net::TcpListener::bind(&address)
                .await
                .map_err(|source| Error::MetricsBind { address: address.clone(), source })?,
        ),
        None => None,
    };
    let shutdown = CancellationToken::new();
    let limits = http.connections.clone();
    let grace = http.shutdown_grace;
    let metrics_on_main = http.metrics.as_ref().is_some_and(|m| m.address.is_none());
    let (app, state) = app(config, shutdown.clone(), Overrides::default())?;
    tracing::info!("serving MCP over HTTP on http://{local} ({served})");
    if let Some(listener) = metrics_listener {
        let address = listener.local_addr()?;
        tracing::info!("serving metrics on http://{address}/metrics");
        let (router, limits, until) = (metrics::router(state.clone()), limits.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = serve_on(listener, router, &limits, async move { until.cancelled().await }).await {
                tracing::error!("the metrics listener stopped: {e}");
            }
        });
    } else if metrics_on_main {
        tracing::info!("serving metrics on http://{local}/metrics");
    }
    let drain = state.drain.clone();
    let spans = state.spans.clone();
    serve_draining(listener, app, &limits, signal(), async move {
        drain.start();
        let in_flight = drain.in_flight();
        tracing::info!(
            "shutting down: no new connections or requests; {in_flight} tool call(s) in flight get up to {} s to \
             finish (DOCSPACE_SHUTDOWN_GRACE)",
            grace.as_secs()
        );
        let ended = drain.finish(grace).await;
        if ended > 0 {
            tracing::warn!("{ended} tool call(s) still running were answered with a shutdown error");
            drain.finish(Duration::from_secs(1)).await;
        }
        if in_flight > 0 {
            // A call is counted until its handler returns; its answer then
            // still has to reach the client's stream before the session closes.
            tokio::time::sleep(FLUSH).await;
        }
        tracing::info!("shutting down: closing sessions");
        shutdown.cancel();
    })
    .await?;
    if let Some(spans) = spans {
        // The last spans (those of the calls that just finished) are exported before the exit.
        spans.shutdown().await;
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
/// At shutdown, how long the answers of the last calls get to reach their
/// streams (a handler's answer is written microseconds after it returns).
const FLUSH: Duration = Duration::from_millis(250);

/// SIGTERM or SIGINT (Ctrl-C).
pub(crate) async fn signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! The HTTP transports: Streamable HTTP at `/mcp` (rmcp's service: the 2025
//! session protocol and the 2026-07-28 stateless one on the same endpoint)
//! and the legacy HTTP+SSE transport at `/sse` + `/messages` (bridged into
//! the same handler), plus `/health`.
//!
//! One server, many users: each session is set up from its first request —
//! the portal, credentials and tool selection it names (query, `X-Mcp-*`
//! headers, a raw `Authorization`), or the operator's configuration — and
//! keeps that identity: a request on the session from another identity is
//! refused. Request-level selection only narrows the operator's.

pub mod guard;
pub mod oauth;
pub mod request;
pub mod sse;

use std::collections::{BTreeSet, HashMap};
use std::hash::RandomState;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use docspace_mcp_client::Client;
use docspace_mcp_client::reqwest;
use rmcp::transport::streamable_http_server::session::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::store::{SessionState, SessionStore, SessionStoreError};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::auth::Credentials;
use crate::config::{Config, ServeArgs};
use crate::docspace::{self, Portal};
use crate::oauth::proxy::{self, AuthError, Proxy};
use crate::server::{DocSpaceServer, Options, RequestClient, Selection, Setup};
use crate::tools::catalogue::ToolDef;
use crate::tools::selection;
use guard::{Guard, RequestId};
use request::{BaseUrlPolicy, OAuthGrant, Refusal, Settings, Sources};

/// `Mcp-Session-Id`.
static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// What every request handler shares.
pub struct Shared {
    sources: Sources,
    policy: BaseUrlPolicy,
    /// The operator's selection and its presentation.
    operator: Arc<Selection>,
    operator_names: BTreeSet<&'static str>,
    /// The operator's toolsets (what a request without `toolsets` starts from).
    operator_toolsets: Vec<String>,
    operator_client: Result<Client, String>,
    /// HTTP clients: for the operator's portal, and for portals clients name.
    trusted_http: reqwest::Client,
    guarded_http: reqwest::Client,
    /// Selections requests asked for, by their settings.
    selections: Mutex<HashMap<String, Arc<Selection>>>,
    /// Open Streamable HTTP sessions (live or hibernated).
    owners: Mutex<HashMap<String, SessionRecord>>,
    /// What rmcp needs to rebuild a hibernated session.
    store: Arc<MemoryStore>,
    keys: RandomState,
    max_sessions: usize,
    /// A session unused this long is closed (`None`: never).
    idle_timeout: Option<Duration>,
    max_body: usize,
    sessions: Arc<LocalSessionManager>,
    sse: sse::Registry,
    shutdown: CancellationToken,
    /// The OAuth proxy, and the portal its tokens are for.
    oauth: Option<(Arc<Proxy>, String)>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("tools", &self.operator.tools().len()).finish_non_exhaustive()
    }
}

/// The HTTP server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// Binding or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const SELECTION_CACHE: usize = 256;

/// One Streamable HTTP session, as this layer knows it.
#[derive(Debug, Clone)]
struct SessionRecord {
    /// Who opened it.
    identity: u64,
    /// What it serves (handed to rmcp again when it rebuilds the session).
    setup: Setup,
    /// Last request.
    last_seen: Instant,
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
        Ok(self.states.lock().ok().and_then(|s| s.get(session_id).cloned()))
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        if let Ok(mut states) = self.states.lock() {
            states.insert(session_id.to_owned(), state.clone());
        }
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        if let Ok(mut states) = self.states.lock() {
            states.remove(session_id);
        }
        Ok(())
    }
}

impl Shared {
    /// The settings a request carries (an OAuth token checked), or its refusal.
    pub async fn settings(&self, uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> Result<Settings, Refusal> {
        let mut s = request::parse(uri, headers, &self.sources)?;
        let Some((proxy, _)) = &self.oauth else { return Ok(s) };
        let path = if uri.path().starts_with("/mcp") { "/mcp" } else { "/sse" };
        match s.bearer.take() {
            Some(token) => match proxy.authenticate(token.expose()).await {
                Ok(a) => s.oauth = Some(OAuthGrant { upstream: a.upstream, subject: a.subject }),
                Err(AuthError::Invalid(why)) => {
                    tracing::info!("refused an OAuth token: {why}");
                    return Err(Refusal::challenge("invalid_token", why.clone(), proxy.challenge(path, Some(&why))));
                }
                Err(AuthError::Unavailable(why)) => {
                    return Err(Refusal::with_status(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", why));
                }
            },
            None if s.credentials.is_none() && s.base_url.is_none() => {
                return Err(Refusal::challenge(
                    "unauthorized",
                    "sign in: this server authorizes with OAuth (or send DocSpace credentials with X-Mcp-* headers)",
                    proxy.challenge(path, None),
                ));
            }
            None => {}
        }
        Ok(s)
    }

    /// The DocSpace client of an OAuth request (`None` for other requests).
    pub fn oauth_client(&self, s: &Settings) -> Result<Option<Client>, Refusal> {
        let (Some(grant), Some((_, portal))) = (&s.oauth, &self.oauth) else { return Ok(None) };
        let portal = Portal::with_http(portal, self.trusted_http.clone()).map_err(|e| Refusal::bad(e.to_string()))?;
        portal.client(&Credentials::ApiKey(grant.upstream.clone())).map(Some).map_err(|e| Refusal::bad(e.to_string()))
    }

    /// A new session (or a stateless request), within the session cap: its
    /// setup, or the refusal (logged).
    pub fn open(&self, s: &Settings) -> Result<Setup, Refusal> {
        self.admit().and_then(|()| self.setup(s)).inspect_err(|refusal| {
            tracing::info!(status = refusal.status.as_u16(), "refused: {}", refusal.message);
        })
    }

    /// The setup of a new session (or a stateless request) from its settings.
    pub fn setup(&self, s: &Settings) -> Result<Setup, Refusal> {
        let selection = self.selection(s)?;
        let client = self.client(s)?;
        Ok(Setup::new(selection, Ok(client)))
    }

    /// The identity key of a request.
    pub fn identity(&self, s: &Settings) -> u64 {
        s.identity(&self.keys)
    }

    fn client(&self, s: &Settings) -> Result<Client, Refusal> {
        if let Some(client) = self.oauth_client(s)? {
            return Ok(client);
        }
        let configured = self.policy.configured.as_deref();
        match (&s.base_url, &s.credentials) {
            (base, Some(credentials)) => {
                let base = base.as_deref().or(configured).ok_or_else(|| {
                    Refusal::bad("credentials without a portal: pass base_url (query) or the X-Mcp-Base-Url header")
                })?;
                let trusted = self.policy.check(base)?;
                let http = if trusted || self.policy.allow_private {
                    self.trusted_http.clone()
                } else {
                    self.guarded_http.clone()
                };
                let portal = Portal::with_http(base, http).map_err(|e| Refusal::bad(e.to_string()))?;
                portal.client(credentials).map_err(|e| Refusal::bad(e.to_string()))
            }
            (Some(base), None) if Some(base.as_str()) != configured => Err(Refusal::unauthorized(format!(
                "no credentials for {base}: send X-Mcp-Api-Key, X-Mcp-Auth-Token, X-Mcp-Username + X-Mcp-Password \
                 or an Authorization header"
            ))),
            _ => self.operator_client.clone().map_err(|_| {
                Refusal::unauthorized(
                    "this server has no DocSpace credentials of its own: send base_url and an API key \
                     (X-Mcp-Base-Url, X-Mcp-Api-Key) or another credential header",
                )
            }),
        }
    }

    fn selection(&self, s: &Settings) -> Result<Arc<Selection>, Refusal> {
        if !s.selects_tools() {
            return Ok(self.operator.clone());
        }
        let options = self.operator.options();
        let read_only = options.read_only || s.read_only == Some(true);
        let dynamic = s.dynamic.unwrap_or(options.dynamic);
        let toolsets = s.toolsets.clone().unwrap_or_else(|| self.operator_toolsets.clone());
        let enabled = s.enabled_tools.clone().unwrap_or_default();
        let disabled = s.disabled_tools.clone().unwrap_or_default();
        let key = format!("{toolsets:?}|{enabled:?}|{disabled:?}|{read_only}|{dynamic}");
        if let Some(hit) = self.selections.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(hit);
        }
        let tools = selection::select_from(selection::REQUEST, &toolsets, &enabled, &disabled, read_only)
            .map_err(|e| Refusal::bad(e.to_string()))?;
        let outside: Vec<&str> = enabled
            .iter()
            .filter_map(|n| crate::tools::catalogue::find(n))
            .map(|t| t.name)
            .filter(|n| !self.operator_names.contains(n))
            .collect();
        if !outside.is_empty() {
            return Err(Refusal::forbidden(format!(
                "enabled_tools names tools this server does not offer: {}",
                outside.join(", ")
            )));
        }
        let tools: Vec<&'static ToolDef> = tools.into_iter().filter(|t| self.operator_names.contains(t.name)).collect();
        if tools.is_empty() {
            return Err(Refusal::bad("the requested tool selection leaves no tool this server offers"));
        }
        let selection = Arc::new(Selection::new(tools, Options { read_only, dynamic, ..options }));
        if let Ok(mut cache) = self.selections.lock() {
            if cache.len() >= SELECTION_CACHE {
                cache.clear();
            }
            cache.insert(key, selection.clone());
        }
        Ok(selection)
    }

    fn session_count(&self) -> usize {
        self.owners.lock().map_or(0, |o| o.len()) + self.sse.len()
    }

    /// 503 when a new session would exceed the cap.
    fn admit(&self) -> Result<(), Refusal> {
        if self.max_sessions > 0 && self.session_count() >= self.max_sessions {
            return Err(Refusal::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sessions",
                format!("the server has {} open sessions, its limit (DOCSPACE_MAX_SESSIONS)", self.max_sessions),
            ));
        }
        Ok(())
    }

    /// Closes sessions idle longer than the idle timeout.
    async fn sweep(&self) {
        let Some(limit) = self.idle_timeout else { return };
        let expired: Vec<String> = match self.owners.lock() {
            Ok(mut owners) => {
                let ids: Vec<String> =
                    owners.iter().filter(|(_, r)| r.last_seen.elapsed() > limit).map(|(id, _)| id.clone()).collect();
                for id in &ids {
                    owners.remove(id);
                }
                ids
            }
            Err(_) => Vec::new(),
        };
        for id in expired {
            let _ = self.store.delete(&id).await;
            let _ = self.sessions.close_session(&SessionId::from(id.as_str())).await;
            tracing::info!(session = %id, "session closed after {} s idle", limit.as_secs());
        }
    }

    /// Live session workers (the others are hibernated).
    pub async fn live_sessions(&self) -> usize {
        self.sessions.sessions.read().await.len()
    }
}

/// Streamable HTTP, before rmcp: checks the identity of requests on a
/// session, and sets up new sessions (and stateless requests).
async fn mcp_gate(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let settings = match shared.settings(req.uri(), req.headers()).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let identity = shared.identity(&settings);
    let session = req.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(id) = session {
        let record = shared.owners.lock().ok().and_then(|mut o| {
            o.get_mut(&id).map(|r| {
                r.last_seen = Instant::now();
                r.clone()
            })
        });
        if let Some(record) = record {
            if record.identity != identity {
                tracing::warn!(session = %id, "refused a request from another identity on a session");
                return Refusal::forbidden("this session was opened with other credentials or another portal")
                    .into_response();
            }
            // Should rmcp rebuild a hibernated session for this request, the new
            // handler takes the session's setup from here.
            req.extensions_mut().insert(record.setup);
            match shared.oauth_client(&settings) {
                Ok(Some(client)) => {
                    req.extensions_mut().insert(RequestClient(client));
                }
                Ok(None) => {}
                Err(refusal) => return refusal.into_response(),
            }
        }
        let delete = req.method() == Method::DELETE;
        let mut response = next.run(req).await;
        if delete && response.status().is_success() {
            if let Ok(mut owners) = shared.owners.lock() {
                owners.remove(&id);
            }
            // rmcp says 202; clients (the Python SDK among them) expect 200 for a finished DELETE.
            *response.status_mut() = StatusCode::OK;
            tracing::info!(session = %id, "session closed by the client");
        }
        return response;
    }
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let setup = match shared.open(&settings) {
        Ok(setup) => setup,
        Err(refusal) => return refusal.into_response(),
    };
    req.extensions_mut().insert(setup.clone());
    let response = next.run(req).await;
    if let Some(id) = response.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok())
        && let Ok(mut owners) = shared.owners.lock()
    {
        tracing::info!(session = id, "session opened");
        owners.insert(id.to_owned(), SessionRecord { identity, setup, last_seen: Instant::now() });
    }
    response
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "sessions": shared.session_count(),
        "live_sessions": shared.live_sessions().await + shared.sse.len(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn not_found(req: Request) -> Response {
    Refusal::with_status(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such endpoint: {} {}", req.method(), req.uri().path()),
    )
    .into_response()
}

/// What an embedder (a test) may put in place of what the configuration
/// builds.
#[derive(Default)]
pub struct Overrides {
    /// The HTTP client that fetches client ID metadata documents for the
    /// OAuth proxy; by default [`docspace::metadata_client`]. `cimd::fetch`
    /// checks every URL itself, so only name resolution and trusted
    /// certificates are the client's own.
    pub metadata_client: Option<reqwest::Client>,
}

/// The router and its shared state, for `serve` and for tests (call it
/// within a Tokio runtime: it starts the idle-session sweeper).
pub fn router(args: &ServeArgs, config: Config, shutdown: CancellationToken) -> Result<(Router, Arc<Shared>), Error> {
    router_with(args, config, shutdown, Overrides::default())
}

/// [`router`], with some of its parts supplied by the caller.
pub fn router_with(
    args: &ServeArgs,
    config: Config,
    shutdown: CancellationToken,
    overrides: Overrides,
) -> Result<(Router, Arc<Shared>), Error> {
    let http = &args.http;
    let timeout = Duration::from_secs(args.request_timeout);
    let trusted_http =
        docspace::http_client(&args.user_agent, timeout, false).map_err(|e| Error::Config(e.to_string()))?;
    let guarded_http =
        docspace::http_client(&args.user_agent, timeout, true).map_err(|e| Error::Config(e.to_string()))?;
    let policy = BaseUrlPolicy::new(config.base_url.clone(), &http.allowed_base_urls, http.allow_private_base_urls)
        .map_err(Error::Config)?;
    let mut prefix = http.header_prefix.trim().to_ascii_lowercase();
    if !prefix.is_empty() && !prefix.ends_with('-') {
        prefix.push('-');
    }
    let oauth = oauth_proxy(args, &config, &policy, overrides.metadata_client)?;
    let idle_timeout = (http.session_idle_timeout > 0).then(|| Duration::from_secs(http.session_idle_timeout));
    // A session's worker stops after a quiet spell (hibernation); the session
    // lives on in `owners` and `store` until the idle timeout, and rmcp rebuilds
    // the worker when the next request comes.
    let hibernate = Duration::from_secs(http.session_hibernate_after.max(1));
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(idle_timeout.map_or(hibernate, |idle| idle.min(hibernate)));
    let sessions = Arc::new(manager);
    let store = Arc::new(MemoryStore::default());
    let shared = Arc::new(Shared {
        sources: Sources {
            query: http.request_query,
            authorization_header: http.request_authorization_header,
            header_prefix: prefix,
            oauth: oauth.is_some(),
        },
        policy,
        operator_names: config.tools.iter().map(|t| t.name).collect(),
        operator: Arc::new(Selection::new(config.tools, config.options)),
        operator_toolsets: config.toolsets,
        operator_client: config.client,
        trusted_http,
        guarded_http,
        selections: Mutex::new(HashMap::new()),
        owners: Mutex::new(HashMap::new()),
        store: store.clone(),
        keys: RandomState::new(),
        max_sessions: http.max_sessions,
        idle_timeout,
        max_body: config.max_message_bytes,
        sessions: sessions.clone(),
        sse: sse::Registry::default(),
        shutdown: shutdown.clone(),
        oauth: oauth.clone(),
    });
    // The OAuth issuer's host is where browsers and clients reach this server: always allowed.
    let mut hostnames = http.allowed_hostnames.clone();
    let issuer_host = oauth.as_ref().and_then(|(p, _)| {
        reqwest::Url::parse(&p.settings().issuer).ok().and_then(|u| u.host_str().map(str::to_owned))
    });
    if let Some(host) = issuer_host
        && hostnames.iter().any(|h| !h.trim().is_empty())
    {
        hostnames.push(host);
    }
    let mut guard = Guard::new(
        &hostnames,
        &http.cors_origins,
        http.rate_limit,
        Duration::from_millis(http.rate_window_ms),
        http.proxy_hops,
    );
    if oauth.is_some() {
        guard = guard.with_oauth(&http.oauth.edge);
    }
    let guard = Arc::new(guard);

    let mut app = Router::new().route("/health", get(health));
    if http.transport.streamable() {
        // Host and Origin are checked by our guard for every route, so rmcp's own
        // checks (loopback-only by default) are off here.
        let mut service_config = StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_json_response(true)
            .with_max_request_body_bytes(config.max_message_bytes)
            .with_cancellation_token(shutdown.child_token());
        service_config.session_store = Some(store);
        let service = StreamableHttpService::new(|| Ok(DocSpaceServer::deferred()), sessions, service_config);
        let mcp = Router::new()
            .route_service("/mcp", service)
            .layer(middleware::from_fn_with_state(shared.clone(), mcp_gate));
        app = app.merge(mcp);
    }
    if http.transport.sse() {
        app = app
            .route("/sse", get(sse::open))
            .route("/messages", post(sse::message))
            .route("/message", post(sse::message));
    }
    let mut app = app.fallback(not_found).with_state(shared.clone());
    if let Some(cors) = cors_layer(&http.cors_origins, http.cors_max_age_ms) {
        app = app.layer(cors);
    }
    // The OAuth routes have their own CORS policy (browser-based clients
    // sign in from their own origins).
    if let Some((proxy, _)) = &oauth {
        let mut routes = oauth::routes(proxy.clone(), http.transport.streamable(), http.transport.sse());
        let edge = &http.oauth.edge;
        if let Some(cors) = cors_layer(&edge.oauth_cors_origins, edge.oauth_cors_max_age_ms) {
            routes = routes.layer(cors);
        }
        app = app.merge(routes);
    }
    let app = app.layer(DefaultBodyLimit::max(config.max_message_bytes));
    let app =
        app.layer(middleware::from_fn_with_state(guard, guard::guard)).layer(middleware::from_fn(guard::request_id));
    // Idle sessions are closed by a sweeper, as often as the timeout needs.
    if let Some(idle) = idle_timeout {
        let every = (idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(15));
        let sweeper = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(every) => sweeper.sweep().await,
                }
            }
        });
    }
    Ok((app, shared))
}

/// CORS for browser clients on `origins` (`*`: any; empty: none).
fn cors_layer(origins: &[String], max_age_ms: u64) -> Option<CorsLayer> {
    let origins: Vec<&str> = origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    let expose: Vec<HeaderName> =
        ["mcp-session-id", "mcp-protocol-version", "www-authenticate", "x-request-id", "last-event-id", "retry-after"]
            .iter()
            .map(|h| HeaderName::from_static(h))
            .collect();
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(expose)
            .max_age(Duration::from_millis(max_age_ms)),
    )
}

/// The OAuth proxy, when DOCSPACE_OAUTH_BASE_URL is set, and the portal its
/// tokens are used on; a setting that would make it unsafe stops the start.
fn oauth_proxy(
    args: &ServeArgs,
    config: &Config,
    policy: &BaseUrlPolicy,
    metadata_client: Option<reqwest::Client>,
) -> Result<Option<(Arc<Proxy>, String)>, Error> {
    let o = &args.http.oauth;
    let Some(upstream) = o.oauth_base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let fail = |m: String| Err(Error::Config(m));
    let upstream = match docspace::normalise_base_url(upstream) {
        Ok(u) => format!("{}/", u.trim_end_matches('/')),
        Err(e) => return fail(format!("DOCSPACE_OAUTH_BASE_URL: {e}")),
    };
    if let Some(method) = config.auth_method {
        return fail(format!(
            "DOCSPACE_OAUTH_BASE_URL and server credentials ({method}) are both set: with OAuth every user signs in \
             as themselves, so remove the server's own DocSpace credentials"
        ));
    }
    let Some(key) = o.oauth_secret_key.as_deref().filter(|k| !k.trim().is_empty()) else {
        return fail(
            "DOCSPACE_OAUTH_BASE_URL is set but DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY is not: the OAuth proxy does not \
             issue unsigned tokens. Set it to at least 32 random bytes (e.g. `openssl rand -base64 32`), the same on \
             every replica"
                .into(),
        );
    };
    let state_key = o.oauth_state_secret_key.as_deref().filter(|k| !k.trim().is_empty()).unwrap_or(key);
    let app = match (&o.oauth_client_id, &o.oauth_client_secret) {
        (Some(id), Some(secret)) if !id.trim().is_empty() && !secret.trim().is_empty() => {
            Some(proxy::App { client_id: id.trim().to_owned(), client_secret: crate::auth::Secret::new(secret.trim()) })
        }
        (None, None) => None,
        (Some(_), _) => return fail("DOCSPACE_OAUTH_CLIENT_ID is set but DOCSPACE_OAUTH_CLIENT_SECRET is not".into()),
        (None, Some(_)) => {
            return fail("DOCSPACE_OAUTH_CLIENT_SECRET is set but DOCSPACE_OAUTH_CLIENT_ID is not".into());
        }
    };
    let Some(issuer) = o.server_base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return fail(
            "DOCSPACE_OAUTH_BASE_URL is set but DOCSPACE_SERVER_BASE_URL is not: give this server's public URL \
             (e.g. https://mcp.example.com), which clients and DocSpace redirect to"
                .into(),
        );
    };
    let issuer = match reqwest::Url::parse(issuer) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.query().is_none() && u.fragment().is_none() => {
            u.as_str().trim_end_matches('/').to_owned()
        }
        _ => return fail(format!("DOCSPACE_SERVER_BASE_URL `{issuer}` must be an http(s) URL without query")),
    };
    let mut resources = Vec::new();
    if args.http.transport.streamable() {
        resources.push(format!("{issuer}/mcp"));
    }
    if args.http.transport.sse() {
        resources.push(format!("{issuer}/sse"));
    }
    let timeout = Duration::from_secs(args.request_timeout.min(30));
    let http = docspace::http_client(&args.user_agent, timeout, false).map_err(|e| Error::Config(e.to_string()))?;
    let documents = match metadata_client {
        Some(client) => client,
        None => docspace::metadata_client(&args.user_agent).map_err(|e| Error::Config(e.to_string()))?,
    };
    let settings = proxy::Settings {
        upstream: upstream.clone(),
        app,
        issuer,
        resources,
        token_ttl: Duration::from_millis(o.oauth_token_ttl_ms),
        state_ttl: Duration::from_millis(o.oauth_state_ttl_ms),
    };
    let mode = if settings.app.is_some() { "shared application" } else { "users' own applications" };
    let proxy = Proxy::new(settings, key, state_key, http, documents)
        .map_err(|e| Error::Config(format!("DOCSPACE_OAUTH_*_SECRET_KEY: {e}")))?;
    let portal = policy.configured.clone().unwrap_or_else(|| upstream.trim_end_matches('/').to_owned());
    tracing::info!(
        issuer = %proxy.settings().issuer,
        authorization_server = %upstream,
        portal = %portal,
        "OAuth proxy on ({mode})"
    );
    Ok(Some((Arc::new(proxy), portal)))
}

/// Serves MCP over HTTP until SIGINT or SIGTERM, then closes every session and exits.
pub async fn serve(mut args: ServeArgs, config: Config) -> Result<(), Error> {
    let shutdown = CancellationToken::new();
    let address = format!("{}:{}", args.http.host, args.http.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {address}: {e}")))?;
    let local = listener.local_addr()?;
    let oauth = &mut args.http.oauth;
    if oauth.oauth_base_url.is_some() && oauth.server_base_url.is_none() && local.ip().is_loopback() {
        oauth.server_base_url = Some(format!("http://{local}"));
    }
    let (app, _shared) = router(&args, config, shutdown.clone())?;
    let kind = args.http.transport;
    tracing::info!(
        "serving MCP over HTTP on http://{local} ({})",
        [kind.streamable().then_some("Streamable HTTP at /mcp"), kind.sse().then_some("SSE at /sse")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let stop = shutdown.clone();
    serve_on(listener, app, async move {
        signal().await;
        tracing::info!("shutting down: closing sessions");
        stop.cancel();
    })
    .await?;
    Ok(())
}

/// Serves `app` on `listener` until `until` completes (then finishes the
/// requests in flight). Responses go out without Nagle's delay: an SSE reply
/// is written in pieces, and waiting for the client's delayed ACK would add
/// 40 ms to every request.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(until).await
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn signal() {
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

/// The request id attached by [`guard::request_id`], as a header for DocSpace.
pub fn request_id(parts: &axum::http::request::Parts) -> Option<axum::http::HeaderValue> {
    parts.extensions.get::<RequestId>().map(|r| r.0.clone())
}

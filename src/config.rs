//! Server configuration: the command line's flags and `DOCSPACE_*` variables
//! ([`args`], as clap parses them) validated once, by [`Config::from_args`],
//! into the [`Config`] everything else reads (ripgrep's low → high split).
//! Every check of a setting lives here, and every refusal is an [`Error`]
//! that names the variable to fix; no other module sees a clap type.
//!
//! Broken *connection* settings (no base URL, no or conflicting credentials)
//! do not stop the server: it starts, says what is wrong on stderr, lists its
//! tools and answers every call with the same message — MCP catalogues start
//! servers before users configure them. So does a broken *tool selection*
//! over stdio (the default tools are listed; every call answers with the
//! error). Over HTTP a broken tool selection, or an HTTP or OAuth setting
//! that would make the server unsafe, stops the start.

pub(crate) mod args;
pub(crate) mod environment;

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use docspace_mcp_client::Client;

pub(crate) use args::{HttpArgs, LogFormat, OAuthEndpoint, ServeArgs, TransportKind};

use crate::auth::{self, Secret};
use crate::egress::{BaseUrlPolicy, Denied};
use crate::oauth::proxy::App;
use crate::oauth::seal::Sealer;
use crate::portal::{self, Portal};
use crate::server::{ConfirmMode, Options};
use crate::tools::catalogue::ToolDef;
use crate::tools::selection;

/// A setting the server cannot start with; the message names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tool selection names unknown toolsets or tools.
    #[error(transparent)]
    Selection(#[from] selection::Error),
    /// `DOCSPACE_ALLOWED_BASE_URLS` has a malformed pattern.
    #[error("{0}")]
    AllowedBaseUrls(String),
    /// `DOCSPACE_OAUTH_BASE_URL` is not a usable URL.
    #[error("DOCSPACE_OAUTH_BASE_URL: {0}")]
    OAuthBaseUrl(String),
    /// OAuth and the server's own DocSpace credentials at once.
    #[error(
        "DOCSPACE_OAUTH_BASE_URL and server credentials ({0}) are both set: with OAuth every user signs in as \
         themselves, so remove the server's own DocSpace credentials"
    )]
    OAuthWithCredentials(&'static str),
    /// OAuth without a signing key.
    #[error(
        "DOCSPACE_OAUTH_BASE_URL is set but DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY is not: the OAuth proxy does not \
         issue unsigned tokens. Set it to at least 32 random bytes (e.g. `openssl rand -base64 32`), the same on \
         every replica"
    )]
    NoSecretKey,
    /// A signing key that is too weak.
    #[error("{variable}: {reason}")]
    WeakSecretKey {
        /// The variable.
        variable: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Half of the shared application's credentials.
    #[error("DOCSPACE_OAUTH_{given} is set but DOCSPACE_OAUTH_{missing} is not")]
    HalfAnApplication {
        /// The setting given.
        given: &'static str,
        /// The one missing.
        missing: &'static str,
    },
    /// OAuth without this server's public URL, off loopback.
    #[error(
        "DOCSPACE_OAUTH_BASE_URL is set but DOCSPACE_SERVER_BASE_URL is not: give this server's public URL \
         (e.g. https://mcp.example.com), which clients and DocSpace redirect to"
    )]
    NoServerBaseUrl,
    /// A body budget below the largest body.
    #[error(
        "DOCSPACE_HTTP_BODY_BUDGET_BYTES ({budget}) is below DOCSPACE_HTTP_MAX_BODY_BYTES ({max}): \
         no request of the largest size could ever be read"
    )]
    BodyBudget {
        /// The budget.
        budget: u64,
        /// The largest body.
        max: u64,
    },
    /// A malformed `DOCSPACE_TRUSTED_PROXIES` entry.
    #[error("DOCSPACE_TRUSTED_PROXIES: `{0}` is not an address or a network (e.g. 10.0.0.0/8)")]
    TrustedProxies(String),
    /// A malformed `DOCSPACE_SERVER_BASE_URL`.
    #[error("DOCSPACE_SERVER_BASE_URL `{0}` must be an http(s) URL without query")]
    ServerBaseUrl(String),
    /// A duration setting outside its range (which would otherwise overflow
    /// the clock, or make no sense).
    #[error("{variable} is {value} {unit}, out of range: give {min} to {max} {unit} (at most {longest})")]
    OutOfRange {
        /// The variable.
        variable: String,
        /// Its value.
        value: u64,
        /// The unit it is given in (`ms`, `s`).
        unit: &'static str,
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted.
        max: u64,
        /// The largest, for a person (`30 days`).
        longest: String,
    },
    /// `docspace-mcp sandbox --oauth` over stdio.
    #[error("--oauth needs an HTTP transport: add --transport http (or streamable-http, sse)")]
    OAuthNeedsHttp,
    /// A malformed `DOCSPACE_METRICS_ADDRESS`.
    #[error("DOCSPACE_METRICS_ADDRESS `{0}` must be host:port (e.g. 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)")]
    MetricsAddress(String),
    /// A `DOCSPACE_STATE_URL` the Redis client does not understand (not
    /// repeated: it may hold a password).
    #[error(
        "DOCSPACE_STATE_URL is not a Redis URL: use redis://[:password@]host:port/db, rediss:// for TLS, or \
         redis+unix:///path"
    )]
    StateUrl,
    /// A store without the replicas' shared key.
    #[error(
        "DOCSPACE_STATE_URL needs DOCSPACE_STATE_SECRET_KEY: at least 32 bytes (e.g. `openssl rand -base64 32`), the \
         same on every replica"
    )]
    NoStateKey,
    /// An unusable key prefix.
    #[error("DOCSPACE_STATE_PREFIX `{0}` must be 1 to 64 characters without spaces")]
    StatePrefix(String),
    /// An OTLP endpoint that is not an http(s) URL (not quoted: it may hold credentials).
    #[error("{0} must be an http or https URL, e.g. http://127.0.0.1:4318 (OTLP over HTTP; gRPC is not supported)")]
    OtlpEndpoint(&'static str),
}

/// The validated configuration of one server.
#[derive(Debug)]
pub struct Config {
    /// What is offered.
    pub tools: ToolsConfig,
    /// The operator's own DocSpace connection.
    pub portal: PortalConfig,
    /// Largest MCP message accepted (stdio line, HTTP body).
    pub max_message_bytes: usize,
    /// How MCP is served.
    pub transport: TransportKind,
    /// The HTTP transports' settings (`None` over stdio).
    pub http: Option<HttpConfig>,
    /// Things worth a warning at start (the settings are usable, but maybe not meant).
    pub warnings: Vec<String>,
    /// Where the server's own spans are exported (`None`: no spans, nothing started).
    pub otlp: Option<OtlpConfig>,
    /// Tools, resources and prompts an embedder serves beside DocSpace's
    /// (never set from the command line; the conformance test server sets it).
    pub extension: Option<std::sync::Arc<dyn crate::server::Extension>>,
}

/// The operator's tool selection.
#[derive(Debug)]
pub struct ToolsConfig {
    /// The toolsets the selection starts from (the meta tools' default `all` applied).
    pub toolsets: Vec<String>,
    /// The tools offered.
    pub tools: Vec<&'static ToolDef>,
    /// Dynamic and read-only modes.
    pub options: Options,
    /// Over stdio, a tool selection that is not valid does not stop the
    /// start (a client would show only "connection closed"): the default
    /// selection is listed and every call answers with this.
    pub problem: Option<String>,
}

/// The operator's DocSpace connection.
#[derive(Debug)]
pub struct PortalConfig {
    /// The DocSpace client, or why there is none (what every call answers).
    pub client: Result<Client, String>,
    /// Where requests go, normalised, when it is valid.
    pub base_url: Option<String>,
    /// The credential method (for logs), when valid.
    pub auth_method: Option<&'static str>,
    /// A connection was configured but cannot work (conflicting or half
    /// credentials, credentials without a portal, a malformed URL), as
    /// opposed to none at all, which an HTTP server may run without.
    pub broken: bool,
    /// User-Agent sent to DocSpace.
    pub user_agent: String,
    /// Time limit of one DocSpace request.
    pub request_timeout: Duration,
    /// The largest response body read from DocSpace.
    pub max_response_bytes: usize,
}

/// CORS for browser clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins (`*`: any; empty: CORS off).
    pub origins: Vec<String>,
    /// How long a preflight may be cached.
    pub max_age: Duration,
}

/// A per-client-IP request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per window.
    pub capacity: u32,
    /// The window.
    pub window: Duration,
}

impl RateLimit {
    /// The limit its two settings describe: `None` (no limit) for a capacity
    /// or a window of 0, the reference server's way to turn a limit off, so
    /// its `…_CAPACITY=0` with `…_WINDOW=0` works here too; otherwise the
    /// window must be 1 ms to a day.
    fn of(window_variable: impl Into<String>, capacity: u32, window_ms: u64) -> Result<Option<Self>, Error> {
        if capacity == 0 || window_ms == 0 {
            return Ok(None);
        }
        let window = duration(window_variable, window_ms, Unit::Millis, 1..=DAY * 1000)?;
        Ok(Some(Self { capacity, window }))
    }
}

/// The unit a duration setting is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Secs,
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;
const YEAR: u64 = 365 * DAY;

/// A duration setting, checked: within `range` (in `unit`), or an error
/// naming `variable`. Every duration setting passes here, so that none can
/// overflow the clock later (a huge TTL once panicked at the first sign-in).
fn duration(
    variable: impl Into<String>,
    value: u64,
    unit: Unit,
    range: RangeInclusive<u64>,
) -> Result<Duration, Error> {
    let of = |v: u64| match unit {
        Unit::Millis => Duration::from_millis(v),
        Unit::Secs => Duration::from_secs(v),
    };
    if range.contains(&value) {
        return Ok(of(value));
    }
    Err(Error::OutOfRange {
        variable: variable.into(),
        value,
        unit: if unit == Unit::Millis { "ms" } else { "s" },
        min: *range.start(),
        max: *range.end(),
        longest: human(of(*range.end())),
    })
}

/// A duration for a person: `30 days`, `1 h`, `10 min`, `45 s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s >= DAY && s.is_multiple_of(DAY) {
        (s / DAY, if s == DAY { "day" } else { "days" })
    } else if s >= HOUR && s.is_multiple_of(HOUR) {
        (s / HOUR, "h")
    } else if s >= MINUTE && s.is_multiple_of(MINUTE) {
        (s / MINUTE, "min")
    } else {
        (s, "s")
    };
    format!("{n} {unit}")
}

/// Where a request's settings may come from (the operator's switches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSources {
    /// Query parameters are read.
    pub query: bool,
    /// A raw `Authorization` header is sent to DocSpace as it is.
    pub authorization_header: bool,
    /// Prefix of the configuration headers, lower case, ending in `-` (empty: none are read).
    pub header_prefix: String,
    /// The OAuth proxy is on: `Authorization: Bearer <proxy token>` is an OAuth token.
    pub oauth: bool,
    /// With OAuth on, an `Authorization` value that is not a proxy token is
    /// sent to DocSpace (when `authorization_header` allows it) rather than
    /// refused as a token this server did not issue.
    pub passthrough: bool,
}

/// Session lifetimes and the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long is closed (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// A session quiet this long hibernates.
    pub hibernate_after: Duration,
    /// The most sessions open at once (0: no cap).
    pub max: usize,
    /// The most one client address (an IPv6 /64) may hold (0: no cap).
    pub per_ip: usize,
    /// The most one identity (a client's own credentials) may hold (0: no cap).
    pub per_identity: usize,
}

/// The proxies in front of the server: how many hops of `X-Forwarded-For`
/// to believe, and where they may connect from.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    /// Trusted hops (0: the peer is the client).
    pub hops: usize,
    /// Networks trusted proxies connect from.
    pub trusted: Vec<ipnet::IpNet>,
}

impl Proxies {
    fn new(hops: usize, trusted: &[String]) -> Result<Self, Error> {
        let trusted = trusted
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| Error::TrustedProxies(t.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { hops, trusted })
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// What one connection and its requests may take.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Largest body of an MCP request (`/mcp`, `/messages`).
    pub max_body: usize,
    /// Bytes of request bodies held at once, over all requests.
    pub body_budget: usize,
    /// Time to send a request head, from when the connection is ready for one.
    pub header_timeout: Duration,
    /// Time to send a whole body.
    pub body_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections from one client address (0: no cap).
    pub max_connections_per_ip: usize,
    /// Connections closed at once for the per-address cap: counted by the
    /// accept loop, read by the metrics (shared by every clone of these limits).
    pub(crate) closed_per_ip: Arc<AtomicU64>,
    /// Peers the per-address cap does not apply to (trusted proxies, when
    /// `DOCSPACE_PROXY_HOPS` is set).
    pub uncapped: Vec<ipnet::IpNet>,
}

/// The HTTP transports' validated settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0: any).
    pub port: u16,
    /// Serve Streamable HTTP at `/mcp`.
    pub streamable: bool,
    /// Serve the legacy SSE transport.
    pub sse: bool,
    /// Accepted `Host` names (the OAuth issuer's included); empty accepts any.
    pub allowed_hostnames: Vec<String>,
    /// CORS of `/mcp`, `/sse` and the OAuth pages.
    pub cors: Cors,
    /// The MCP endpoints' rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Trusted proxies in front of the server.
    pub proxies: Proxies,
    /// Session lifetimes and cap.
    pub sessions: SessionLimits,
    /// Bodies, timeouts and connections.
    pub connections: ConnectionLimits,
    /// Where request settings come from.
    pub sources: RequestSources,
    /// Which portals clients may name.
    pub base_urls: BaseUrlPolicy,
    /// The OAuth proxy, when on.
    pub oauth: Option<OAuthConfig>,
    /// How long calls in flight may finish at shutdown.
    pub shutdown_grace: Duration,
    /// Prometheus metrics, when on.
    pub metrics: Option<MetricsConfig>,
    /// The shared state store, when set.
    pub state: Option<StateConfig>,
}

/// The shared state store's validated settings.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// Its URL (may hold a password).
    pub url: Secret,
    /// The key shared by the replicas.
    pub secret: Secret,
    /// The key prefix.
    pub prefix: String,
}

/// Where Prometheus metrics are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// A separate listening address (`host:port`) that serves only
    /// `/metrics`; `None`: `/metrics` on the MCP listener.
    pub address: Option<String>,
}

/// Where the server's own spans are exported (OTLP over HTTP, protobuf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The URL spans are POSTed to (`…/v1/traces`).
    pub endpoint: String,
}

/// The OAuth proxy's validated settings.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// DocSpace's authorization server, normalised, ending in `/`.
    pub upstream: String,
    /// The portal its tokens are used on (the operator's, or the authorization server).
    pub portal: String,
    /// The shared application (`None`: users bring their own).
    pub app: Option<App>,
    /// This server's public URL (`None` until bound: `http://<bound address>`, loopback only).
    pub issuer: Option<String>,
    /// Key of the tokens and codes issued.
    pub key: Secret,
    /// Key of the state, client ids and consent cookies.
    pub state_key: Secret,
    /// Longest access-token lifetime.
    pub token_ttl: Duration,
    /// Longest sign-in.
    pub state_ttl: Duration,
    /// How long an introspection answer is reused (zero: never).
    pub introspection_ttl: Duration,
    /// CORS of the OAuth API endpoints.
    pub cors: Cors,
    /// Each endpoint's own rate limit (endpoints without one are unlimited).
    pub rate_limits: Vec<(OAuthEndpoint, RateLimit)>,
}

impl Config {
    /// Validates the settings (and builds the operator's DocSpace client).
    pub fn from_args(args: ServeArgs) -> Result<Self, Error> {
        let tools = match tools_config(&args) {
            Err(Error::Selection(e)) if args.http.transport == TransportKind::Stdio => {
                let mut default = args.clone();
                (default.toolsets, default.enabled_tools, default.disabled_tools) = (vec![], vec![], vec![]);
                ToolsConfig { problem: Some(e.to_string()), ..tools_config(&default)? }
            }
            tools => tools?,
        };
        let portal = portal_config(&args)?;
        let max_message_bytes = usize::try_from(args.max_message_bytes).unwrap_or(usize::MAX);
        let transport = args.http.transport;
        let mut warnings = Vec::new();
        let oauth_set = args.http.oauth.oauth_base_url.as_deref().is_some_and(|u| !u.trim().is_empty());
        let http = if transport == TransportKind::Stdio {
            if oauth_set {
                warnings.push(
                    "DOCSPACE_OAUTH_BASE_URL is ignored over stdio: OAuth needs an HTTP transport (--transport http)"
                        .to_owned(),
                );
            }
            if args.http.metrics || args.http.metrics_address.is_some() {
                warnings.push(
                    "DOCSPACE_METRICS and DOCSPACE_METRICS_ADDRESS are ignored over stdio: metrics are served over \
                     HTTP (--transport http)"
                        .to_owned(),
                );
            }
            if args.http.state.state_url.is_some() {
                warnings.push(
                    "DOCSPACE_STATE_URL is ignored over stdio: a stdio server is one process with one client"
                        .to_owned(),
                );
            }
            None
        } else {
            if portal.client.is_ok() && !is_loopback(&args.http.host) {
                warnings.push(format!(
                    "DocSpace credentials are configured and the server listens on {}: anyone who can reach it acts \
                     as that DocSpace user",
                    args.http.host
                ));
            }
            Some(http_config(&args.http, &portal)?)
        };
        let otlp = otlp_config(&args)?;
        Ok(Self { tools, portal, max_message_bytes, transport, http, warnings, otlp, extension: None })
    }
}

/// The OTLP/HTTP traces URL: `--otlp-traces-endpoint` as it is, or
/// `--otlp-endpoint` with `/v1/traces` appended (the OpenTelemetry
/// specification's rule for the two variables); `None` when neither is set.
fn otlp_config(args: &ServeArgs) -> Result<Option<OtlpConfig>, Error> {
    fn set(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let (variable, given, path) = match (set(&args.otlp_traces_endpoint), set(&args.otlp_endpoint)) {
        (Some(traces), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (--otlp-traces-endpoint)", traces, ""),
        (None, Some(base)) => ("OTEL_EXPORTER_OTLP_ENDPOINT (--otlp-endpoint)", base, "/v1/traces"),
        (None, None) => return Ok(None),
    };
    match url::Url::parse(given) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()) => {
            let endpoint =
                if path.is_empty() { given.to_owned() } else { given.trim_end_matches('/').to_owned() + path };
            Ok(Some(OtlpConfig { endpoint }))
        }
        _ => Err(Error::OtlpEndpoint(variable)),
    }
}

fn tools_config(args: &ServeArgs) -> Result<ToolsConfig, Error> {
    // The meta tools exist to reach every operation without listing them.
    let toolsets = if args.dynamic && args.toolsets.iter().all(|t| t.trim().is_empty()) {
        vec!["all".to_owned()]
    } else {
        args.toolsets.clone()
    };
    let tools = selection::select(&toolsets, &args.enabled_tools, &args.disabled_tools, args.read_only)?;
    // The reference's name, in milliseconds, when ours is not set.
    let operation_timeout = match (args.operation_timeout, args.file_operation_timeout_ms) {
        (None, Some(ms)) => duration("DOCSPACE_FILE_OPERATION_TIMEOUT", ms, Unit::Millis, 0..=HOUR * 1000)?,
        (secs, _) => duration("DOCSPACE_OPERATION_TIMEOUT", secs.unwrap_or(30), Unit::Secs, 0..=HOUR)?,
    };
    let operation_interval =
        duration("DOCSPACE_FILE_OPERATION_INTERVAL", args.operation_interval_ms, Unit::Millis, 10..=MINUTE * 1000)?;
    let options = Options {
        dynamic: args.dynamic,
        read_only: args.read_only,
        operation_timeout,
        operation_interval,
        request_timeout: duration("DOCSPACE_REQUEST_TIMEOUT", args.request_timeout, Unit::Secs, 1..=HOUR)?,
        // Bounded by its parser's range.
        max_result_bytes: usize::try_from(args.max_result_bytes).unwrap_or(usize::MAX),
        confirm: match args.destructive_confirmation {
            args::DestructiveConfirmation::Ask => ConfirmMode::Ask,
            args::DestructiveConfirmation::Require => ConfirmMode::Require,
            args::DestructiveConfirmation::Off => ConfirmMode::Off,
        },
    };
    Ok(ToolsConfig { toolsets, tools, options, problem: None })
}

fn portal_config(args: &ServeArgs) -> Result<PortalConfig, Error> {
    let credentials = auth::Settings {
        api_key: args.api_key.clone(),
        auth_token: args.auth_token.clone(),
        username: args.username.clone(),
        password: args.password.clone(),
        authorization: args.authorization.clone(),
    }
    .resolve();
    let request_timeout = duration("DOCSPACE_REQUEST_TIMEOUT", args.request_timeout, Unit::Secs, 1..=HOUR)?;
    // Bounded by its parser's range.
    let max_response_bytes = usize::try_from(args.max_response_bytes).unwrap_or(usize::MAX);
    let portal = Portal::new(
        args.base_url.as_deref().unwrap_or_default(),
        &args.user_agent,
        request_timeout,
        max_response_bytes,
    );
    let base_url = portal.as_ref().ok().map(|p| p.base_url().to_owned());
    let auth_method = credentials.as_ref().ok().map(auth::Credentials::method);
    // Nothing configured, or only a portal (whose users bring credentials): not broken.
    let base_given = args.base_url.as_deref().is_some_and(|u| !u.trim().is_empty());
    let unconfigured = matches!(credentials, Err(auth::Error::Missing)) && (!base_given || portal.is_ok());
    let client = match (portal, credentials) {
        (Ok(portal), Ok(credentials)) => portal.client(&credentials).map_err(|e| e.to_string()),
        (Err(e), Ok(_)) => Err(e.to_string()),
        (Ok(_), Err(e)) => Err(e.to_string()),
        (Err(a), Err(b)) => Err(format!("{a}; {b}")),
    };
    Ok(PortalConfig {
        broken: client.is_err() && !unconfigured,
        client,
        base_url,
        auth_method,
        user_agent: args.user_agent.clone(),
        request_timeout,
        max_response_bytes,
    })
}

fn http_config(http: &HttpArgs, portal: &PortalConfig) -> Result<HttpConfig, Error> {
    let base_urls = BaseUrlPolicy::new(portal.base_url.clone(), &http.allowed_base_urls, http.allow_private_base_urls)
        .map_err(|(Denied::Malformed(m) | Denied::NotAllowed(m))| Error::AllowedBaseUrls(m))?;
    let mut header_prefix = http.header_prefix.trim().to_ascii_lowercase();
    if !header_prefix.is_empty() && !header_prefix.ends_with('-') {
        header_prefix.push('-');
    }
    let oauth = oauth_config(http, portal)?;
    let cors_max_age =
        duration("DOCSPACE_SERVER_CORS_MCP_MAX_AGE", http.cors_max_age_ms, Unit::Millis, 0..=YEAR * 1000)?;
    let rate_limit = RateLimit::of("DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW", http.rate_limit, http.rate_window_ms)?;
    let idle = duration("DOCSPACE_SESSION_IDLE_TIMEOUT", http.session_idle_timeout, Unit::Secs, 0..=30 * DAY)?;
    let hibernate_after =
        duration("DOCSPACE_SESSION_HIBERNATE_AFTER", http.session_hibernate_after, Unit::Secs, 1..=DAY)?;
    let proxies = Proxies::new(http.proxy_hops, &http.trusted_proxies)?;
    let mut allowed_hostnames = http.allowed_hostnames.clone();
    // The OAuth issuer's host is where browsers and clients reach this server: always allowed.
    if let Some(issuer) = oauth.as_ref().and_then(|o| o.issuer.as_deref()) {
        add_issuer_host(&mut allowed_hostnames, issuer);
    }
    Ok(HttpConfig {
        host: http.host.clone(),
        port: http.port,
        streamable: http.transport.streamable(),
        sse: http.transport.sse(),
        allowed_hostnames,
        cors: Cors { origins: http.cors_origins.clone(), max_age: cors_max_age },
        rate_limit,
        proxies: proxies.clone(),
        sessions: SessionLimits {
            idle_timeout: (!idle.is_zero()).then_some(idle),
            hibernate_after,
            max: http.max_sessions,
            per_ip: http.max_sessions_per_ip,
            per_identity: http.max_sessions_per_identity,
        },
        connections: connection_limits(http, &proxies)?,
        sources: RequestSources {
            query: http.request_query,
            authorization_header: http.request_authorization_header,
            header_prefix,
            oauth: oauth.is_some(),
            passthrough: http.oauth.oauth_passthrough_authorization,
        },
        base_urls,
        oauth,
        shutdown_grace: duration("DOCSPACE_SHUTDOWN_GRACE", http.shutdown_grace, Unit::Secs, 0..=HOUR)?,
        metrics: metrics_config(http)?,
        state: state_config(http)?,
    })
}

/// Metrics: off, on the MCP listener (`DOCSPACE_METRICS`), or on their own
/// address (`DOCSPACE_METRICS_ADDRESS`, which turns them on and wins).
fn metrics_config(http: &HttpArgs) -> Result<Option<MetricsConfig>, Error> {
    let address = http.metrics_address.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let Some(address) = address else {
        return Ok(http.metrics.then_some(MetricsConfig { address: None }));
    };
    // `host:port`, the host possibly a bracketed IPv6 address.
    let port = address.rsplit_once(':').filter(|(host, _)| !host.is_empty()).map(|(_, port)| port.parse::<u16>());
    if !matches!(port, Some(Ok(_))) {
        return Err(Error::MetricsAddress(address.to_owned()));
    }
    Ok(Some(MetricsConfig { address: Some(address.to_owned()) }))
}

/// The shared store: its URL turns it on and needs the shared key.
fn state_config(http: &HttpArgs) -> Result<Option<StateConfig>, Error> {
    let s = &http.state;
    let Some(url) = s.state_url.as_ref().filter(|u| !u.expose().trim().is_empty()) else { return Ok(None) };
    let url = Secret::new(url.expose().trim());
    if redis::Client::open(url.expose()).is_err() {
        return Err(Error::StateUrl);
    }
    let secret = signing_key(s.state_secret_key.as_ref(), "DOCSPACE_STATE_SECRET_KEY")?.ok_or(Error::NoStateKey)?;
    let prefix = s.state_prefix.trim();
    if prefix.is_empty() || prefix.len() > 64 || prefix.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::StatePrefix(prefix.to_owned()));
    }
    Ok(Some(StateConfig { url, secret, prefix: prefix.to_owned() }))
}

fn connection_limits(http: &HttpArgs, proxies: &Proxies) -> Result<ConnectionLimits, Error> {
    if http.http_body_budget_bytes < http.http_max_body_bytes {
        return Err(Error::BodyBudget { budget: http.http_body_budget_bytes, max: http.http_max_body_bytes });
    }
    // Each is bounded by its parser's range, so none saturates on a 64-bit target.
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(ConnectionLimits {
        max_body: size(http.http_max_body_bytes),
        body_budget: size(http.http_body_budget_bytes),
        header_timeout: duration("DOCSPACE_HTTP_HEADER_TIMEOUT", http.http_header_timeout, Unit::Secs, 1..=HOUR)?,
        body_timeout: duration("DOCSPACE_HTTP_BODY_TIMEOUT", http.http_body_timeout, Unit::Secs, 1..=HOUR)?,
        max_connections: size(http.http_max_connections),
        max_connections_per_ip: size(http.http_max_connections_per_ip),
        closed_per_ip: Arc::default(),
        uncapped: if proxies.hops > 0 { proxies.trusted.clone() } else { Vec::new() },
    })
}

fn add_issuer_host(hostnames: &mut Vec<String>, issuer: &str) {
    let host = url::Url::parse(issuer).ok().and_then(|u| u.host_str().map(str::to_owned));
    if let Some(host) = host
        && hostnames.iter().any(|h| !h.trim().is_empty())
    {
        hostnames.push(host);
    }
}

impl HttpConfig {
    /// Fills in what depends on the address the server is bound to: the
    /// OAuth issuer's loopback default, `http://<address>`.
    pub fn bound_to(&mut self, local: SocketAddr) {
        if let Some(oauth) = &mut self.oauth
            && oauth.issuer.is_none()
        {
            let issuer = format!("http://{local}");
            add_issuer_host(&mut self.allowed_hostnames, &issuer);
            oauth.issuer = Some(issuer);
        }
    }
}

/// A signing key, checked (empty counts as unset).
fn signing_key(value: Option<&Secret>, variable: &'static str) -> Result<Option<Secret>, Error> {
    let Some(key) = value.filter(|k| !k.expose().trim().is_empty()) else { return Ok(None) };
    Sealer::new(key.expose()).map_err(|e| Error::WeakSecretKey { variable, reason: e.to_string() })?;
    Ok(Some(key.clone()))
}

fn oauth_config(http: &HttpArgs, portal: &PortalConfig) -> Result<Option<OAuthConfig>, Error> {
    let o = &http.oauth;
    let Some(upstream) = o.oauth_base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let upstream = match portal::normalise_base_url(upstream) {
        Ok(u) => format!("{}/", u.trim_end_matches('/')),
        Err(e) => return Err(Error::OAuthBaseUrl(e.to_string().trim_start_matches("DOCSPACE_BASE_URL ").to_owned())),
    };
    if let Some(method) = portal.auth_method {
        return Err(Error::OAuthWithCredentials(method));
    }
    let key =
        signing_key(o.oauth_secret_key.as_ref(), "DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY")?.ok_or(Error::NoSecretKey)?;
    let state_key = signing_key(o.oauth_state_secret_key.as_ref(), "DOCSPACE_OAUTH_STATE_TOKEN_SECRET_KEY")?;
    let set = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let secret = o.oauth_client_secret.as_ref().map(|s| s.expose().trim()).filter(|s| !s.is_empty());
    let app = match (set(&o.oauth_client_id), secret) {
        (Some(client_id), Some(secret)) => Some(App { client_id, client_secret: Secret::new(secret) }),
        (None, None) => None,
        (Some(_), None) => return Err(Error::HalfAnApplication { given: "CLIENT_ID", missing: "CLIENT_SECRET" }),
        (None, Some(_)) => return Err(Error::HalfAnApplication { given: "CLIENT_SECRET", missing: "CLIENT_ID" }),
    };
    let issuer = match o.server_base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(issuer) => Some(issuer_url(issuer)?),
        None if is_loopback(&http.host) => None,
        None => return Err(Error::NoServerBaseUrl),
    };
    let edge = &o.edge;
    let mut rate_limits = Vec::new();
    for (endpoint, capacity, window_ms) in edge.rate_limits() {
        let variable = format!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_{}_WINDOW", endpoint.setting());
        rate_limits.extend(RateLimit::of(variable, capacity, window_ms)?.map(|l| (endpoint, l)));
    }
    // An access token outliving the refresh token it came with would make no sense.
    let token_ttl =
        duration("DOCSPACE_OAUTH_AUTH_TOKEN_TTL", o.oauth_token_ttl_ms, Unit::Millis, 1000..=30 * DAY * 1000)?;
    let state_ttl = duration("DOCSPACE_OAUTH_STATE_TOKEN_TTL", o.oauth_state_ttl_ms, Unit::Millis, 1000..=DAY * 1000)?;
    let introspection_ttl = duration(
        "DOCSPACE_OAUTH_INTROSPECTION_CACHE_TTL",
        o.oauth_introspection_cache_ttl_ms,
        Unit::Millis,
        0..=HOUR * 1000,
    )?;
    let cors_max_age =
        duration("DOCSPACE_SERVER_CORS_OAUTH_MAX_AGE", edge.oauth_cors_max_age_ms, Unit::Millis, 0..=YEAR * 1000)?;
    Ok(Some(OAuthConfig {
        portal: portal.base_url.clone().unwrap_or_else(|| upstream.trim_end_matches('/').to_owned()),
        upstream,
        app,
        issuer,
        state_key: state_key.unwrap_or_else(|| key.clone()),
        key,
        token_ttl,
        state_ttl,
        introspection_ttl,
        cors: Cors { origins: edge.oauth_cors_origins.clone(), max_age: cors_max_age },
        rate_limits,
    }))
}

fn issuer_url(issuer: &str) -> Result<String, Error> {
    match url::Url::parse(issuer) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.query().is_none() && u.fragment().is_none() => {
            Ok(u.as_str().trim_end_matches('/').to_owned())
        }
        _ => Err(Error::ServerBaseUrl(issuer.to_owned())),
    }
}

/// `localhost` or a loopback address literal.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(args: &[&str]) -> Result<Config, Error> {
        let cli = crate::Cli::try_parse_from(std::iter::once("docspace-mcp").chain(args.iter().copied())).unwrap();
        Config::from_args(cli.serve)
    }

    /// The reference turns a limit off with `…_CAPACITY=0` and `…_WINDOW=0`;
    /// this server refused the window ("0 is not in 1..").
    #[test]
    fn a_rate_limit_of_zero_in_a_window_of_zero_is_off() {
        let key = "0123456789abcdef0123456789abcdef";
        let c = config(&[
            "--transport",
            "http",
            "--rate-limit",
            "0",
            "--rate-window-ms",
            "0",
            "--oauth-base-url",
            "http://127.0.0.1:9",
            "--oauth-secret-key",
            key,
            "--oauth-token-rate-limit",
            "0",
            "--oauth-token-rate-window-ms",
            "0",
            "--oauth-register-rate-window-ms",
            "0",
        ])
        .unwrap();
        let http = c.http.unwrap();
        assert_eq!(http.rate_limit, None);
        let limited: Vec<OAuthEndpoint> = http.oauth.unwrap().rate_limits.iter().map(|(e, _)| *e).collect();
        assert!(!limited.contains(&OAuthEndpoint::Token) && !limited.contains(&OAuthEndpoint::Register), "{limited:?}");
        assert!(limited.contains(&OAuthEndpoint::Revoke), "the others keep their defaults: {limited:?}");
        // A window out of range with a limit on is still refused, naming its variable.
        let e = config(&["--transport", "http", "--rate-window-ms", "99999999999"]).unwrap_err();
        assert!(e.to_string().starts_with("DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW is"), "{e}");
    }

    /// The reference's develop branch names these `DOCSPACE_FILE_OPERATION_*`, in milliseconds.
    #[test]
    fn the_references_file_operation_settings_are_read() {
        let waiting = |args: &[&str]| {
            let o = config(args).unwrap().tools.options;
            (o.operation_timeout, o.operation_interval)
        };
        assert_eq!(waiting(&[]), (Duration::from_secs(30), Duration::from_secs(2)));
        assert_eq!(
            waiting(&["--file-operation-timeout-ms", "5000", "--operation-interval-ms", "300"]),
            (Duration::from_secs(5), Duration::from_millis(300))
        );
        assert_eq!(
            waiting(&["--file-operation-timeout-ms", "5000", "--operation-timeout", "7"]).0,
            Duration::from_secs(7),
            "this server's own name wins"
        );
        let e = config(&["--operation-interval-ms", "0"]).unwrap_err();
        assert!(e.to_string().starts_with("DOCSPACE_FILE_OPERATION_INTERVAL is 0 ms"), "{e}");
    }

    /// The base URL gets the signal's path, the traces URL is used as it is
    /// and wins; a URL that is not http(s) stops the start, naming the
    /// variable but not quoting the value (it may hold credentials).
    #[test]
    fn otlp_endpoints_follow_the_specifications_rule() {
        let endpoint = |args: &[&str]| config(args).unwrap().otlp.map(|o| o.endpoint);
        assert_eq!(endpoint(&["--otlp-endpoint", "http://127.0.0.1:4318"]).unwrap(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(
            endpoint(&["--otlp-endpoint", "https://c.example/otlp/"]).unwrap(),
            "https://c.example/otlp/v1/traces"
        );
        let both = ["--otlp-endpoint", "http://127.0.0.1:4318", "--otlp-traces-endpoint", "http://127.0.0.1:9/t"];
        assert_eq!(endpoint(&both).unwrap(), "http://127.0.0.1:9/t");
        for bad in ["127.0.0.1:4318", "grpc://c.example:4317", "http://"] {
            let e = config(&["--otlp-endpoint", bad]).unwrap_err().to_string();
            assert!(e.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT (--otlp-endpoint) must be an http"), "{e}");
        }
        let e = config(&["--otlp-traces-endpoint", "ftp://user:secret@c.example"]).unwrap_err().to_string();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") && !e.contains("secret"), "{e}");
        assert_eq!(endpoint(&["--otlp-endpoint", " "]), endpoint(&[]), "blank is unset");
    }

    #[test]
    fn durations_are_checked_and_the_refusal_names_the_variable() {
        assert_eq!(duration("X", 5, Unit::Secs, 1..=HOUR).unwrap(), Duration::from_secs(5));
        assert_eq!(duration("X", 0, Unit::Millis, 0..=1000).unwrap(), Duration::ZERO);
        let e = duration("DOCSPACE_X", u64::MAX, Unit::Millis, 1000..=30 * DAY * 1000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DOCSPACE_X is 18446744073709551615 ms, out of range: give 1000 to 2592000000 ms (at most 30 days)"
        );
        let e = duration("DOCSPACE_Y", 0, Unit::Secs, 1..=HOUR).unwrap_err();
        assert!(e.to_string().ends_with("give 1 to 3600 s (at most 1 h)"), "{e}");
        for (secs, text) in
            [(DAY, "1 day"), (2 * DAY, "2 days"), (2 * HOUR, "2 h"), (10 * MINUTE, "10 min"), (90, "90 s")]
        {
            assert_eq!(human(Duration::from_secs(secs)), text);
        }
    }
}

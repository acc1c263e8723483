//! The command line's settings as clap parses them (ripgrep's "low"
//! arguments): one definition per flag, each with its `DOCSPACE_*`
//! environment variable (the reference server's names, so the binary is a
//! drop-in replacement) and its default, written here once. Secrets are
//! parsed straight into [`Secret`], which never prints its value.
//!
//! Nothing outside `config` reads these types: [`super::Config::from_args`]
//! validates them into the [`super::Config`] the rest of the server uses.

// The doc comments below are `--help` text first (clap turns them into
// help), so they carry plain URLs and `<placeholders>` as a terminal shows them.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use clap::Args;

use crate::auth::Secret;

/// Settings of the MCP server (`docspace-mcp serve`, the default command).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Your DocSpace portal, e.g. https://example.onlyoffice.com (a path prefix is kept).
    #[arg(long, env = "DOCSPACE_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// API key (Settings → Developer Tools → API keys); sent as `Authorization: Bearer <key>`.
    #[arg(long, env = "DOCSPACE_API_KEY", hide_env_values = true, value_name = "KEY")]
    pub api_key: Option<Secret>,
    /// Personal access token; sent as the `Authorization` value and the `asc_auth_key` cookie.
    #[arg(long, env = "DOCSPACE_AUTH_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub auth_token: Option<Secret>,
    /// User name (e-mail) for HTTP Basic authentication, with --password.
    #[arg(long, env = "DOCSPACE_USERNAME", value_name = "EMAIL")]
    pub username: Option<String>,
    /// Password for HTTP Basic authentication, with --username.
    #[arg(long, env = "DOCSPACE_PASSWORD", hide_env_values = true, value_name = "PASSWORD")]
    pub password: Option<Secret>,
    /// A complete `Authorization` header value, sent as it is.
    #[arg(long, env = "DOCSPACE_AUTHORIZATION", hide_env_values = true, value_name = "VALUE")]
    pub authorization: Option<Secret>,
    /// Toolsets to offer (comma-separated). Default: the curated `files`, `folders`, `rooms` and
    /// `people` (about 38 tools, under 8,000 tokens); in dynamic mode, `all`. `all` offers every
    /// operation (~390,000 tokens of tool definitions). `docspace-mcp tools toolsets` lists them.
    #[arg(long, env = "DOCSPACE_TOOLSETS", value_delimiter = ',', value_name = "TOOLSETS")]
    pub toolsets: Vec<String>,
    /// Tools to offer in addition to the toolsets (comma-separated names).
    #[arg(long, env = "DOCSPACE_ENABLED_TOOLS", value_delimiter = ',', value_name = "TOOLS")]
    pub enabled_tools: Vec<String>,
    /// Tools to remove from the selection (comma-separated names; applied last).
    #[arg(long, env = "DOCSPACE_DISABLED_TOOLS", value_delimiter = ',', value_name = "TOOLS")]
    pub disabled_tools: Vec<String>,
    /// Offer six meta tools (list_toolsets, list_tools, search_tools, get_tool_input_schema,
    /// get_tool_output_schema, call_tool) that reach every selected tool, instead of the tools themselves.
    #[arg(long, env = "DOCSPACE_DYNAMIC", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    pub dynamic: bool,
    /// Offer only read-only tools (GET operations and those marked read-only), in every mode and through call_tool.
    #[arg(long, env = "DOCSPACE_READ_ONLY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    pub read_only: bool,
    /// User-Agent sent to DocSpace.
    #[arg(long, env = "DOCSPACE_USER_AGENT", value_name = "UA", default_value = concat!("docspace-mcp/", env!("CARGO_PKG_VERSION")))]
    pub user_agent: String,
    /// Time limit for one DocSpace request, in seconds (1 to 3600).
    #[arg(long, env = "DOCSPACE_REQUEST_TIMEOUT", value_name = "SECONDS", default_value_t = 60)]
    pub request_timeout: u64,
    /// How long a tool call waits for the file operations it started (copy, move, delete, archive,
    /// download), in seconds (0 to 3600; default 30); after that it answers with the operation ids to
    /// check later. DOCSPACE_FILE_OPERATION_TIMEOUT, the reference server's name, in milliseconds, is
    /// read when this is not set.
    #[arg(long, env = "DOCSPACE_OPERATION_TIMEOUT", value_name = "SECONDS")]
    pub operation_timeout: Option<u64>,
    /// The reference server's DOCSPACE_FILE_OPERATION_TIMEOUT, in milliseconds (see --operation-timeout).
    #[arg(long, env = "DOCSPACE_FILE_OPERATION_TIMEOUT", value_name = "MS", hide = true)]
    pub file_operation_timeout_ms: Option<u64>,
    /// The longest pause between two checks of those file operations, in milliseconds (10 to 60,000;
    /// the first check comes after 100 ms or this, if shorter, each next one half as long again).
    #[arg(long, env = "DOCSPACE_FILE_OPERATION_INTERVAL", value_name = "MS", default_value_t = 2000)]
    pub operation_interval_ms: u64,
    /// Largest MCP message accepted over stdio, in bytes (an upload travels base64-encoded in one
    /// message, so this bounds the largest file `upload_file` takes: 64 MiB ≈ 48 MiB of file).
    #[arg(long, env = "DOCSPACE_MAX_MESSAGE_BYTES", value_name = "BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024 * 1024..=1024 * 1024 * 1024))]
    pub max_message_bytes: u64,
    /// Largest response body read from DocSpace, in bytes; a call whose answer is larger fails with a
    /// message saying so (a broken or hostile portal cannot fill the server's memory).
    #[arg(long, env = "DOCSPACE_MAX_RESPONSE_BYTES", value_name = "BYTES", default_value_t = 32 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(64 * 1024..=1024 * 1024 * 1024))]
    pub max_response_bytes: u64,
    /// Largest text of a tool result, in bytes; a longer result is cut there, and says so and how to
    /// ask for less.
    #[arg(long, env = "DOCSPACE_MAX_RESULT_BYTES", value_name = "BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=256 * 1024 * 1024))]
    pub max_result_bytes: u64,
    /// Before a tool call that loses data (deleting a file, folder or room, emptying the trash,
    /// archiving a room, removing room members), the user is asked through the client when it
    /// supports elicitation. This decides what happens when it does not: `ask` goes ahead, as the
    /// tool's destructiveHint announced (such clients ask their user before each tool call);
    /// `require` refuses the call, saying so; `off` never asks, even clients that could.
    #[arg(long, env = "DOCSPACE_DESTRUCTIVE_CONFIRMATION", value_name = "MODE", value_enum, default_value_t)]
    pub destructive_confirmation: DestructiveConfirmation,
    /// Log level on stderr (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, env = "DOCSPACE_LOG_LEVEL", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// How log lines on stderr are written: `text` (one line of words and `key=value` fields) or
    /// `json` (one JSON object per line, with `timestamp`, `level`, `message` and the fields, for log
    /// collectors).
    #[arg(long, env = "DOCSPACE_LOG_FORMAT", value_enum, default_value = "text", value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Export the server's own spans (HTTP requests, tool calls, DocSpace requests) to this
    /// OpenTelemetry collector, with OTLP over HTTP (protobuf), e.g. http://127.0.0.1:4318: spans go
    /// to `<URL>/v1/traces`. Unset: no spans (the client's trace context still reaches DocSpace).
    /// The standard OTEL_SERVICE_NAME (default docspace-mcp), OTEL_EXPORTER_OTLP_HEADERS,
    /// OTEL_TRACES_SAMPLER and OTEL_BSP_* variables apply.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// The URL spans are sent to, used as it is (OTLP over HTTP, e.g.
    /// https://collector.example/v1/traces); wins over --otlp-endpoint.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value_name = "URL")]
    pub otlp_traces_endpoint: Option<String>,
    /// The HTTP transports' settings.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Confirmation of the tool calls that lose data (`DOCSPACE_DESTRUCTIVE_CONFIRMATION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DestructiveConfirmation {
    /// Ask when the client can; otherwise go ahead.
    #[default]
    Ask,
    /// Ask when the client can; otherwise refuse.
    Require,
    /// Never ask.
    Off,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Words and `key=value` fields.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// How MCP is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportKind {
    /// stdin/stdout, for a client that starts the server.
    #[default]
    Stdio,
    /// Streamable HTTP at `/mcp`.
    StreamableHttp,
    /// The legacy HTTP+SSE transport at `/sse` and `/messages`.
    Sse,
    /// Both HTTP transports.
    Http,
}

impl TransportKind {
    /// Serves Streamable HTTP.
    pub fn streamable(self) -> bool {
        matches!(self, Self::StreamableHttp | Self::Http)
    }

    /// Serves the legacy SSE transport.
    pub fn sse(self) -> bool {
        matches!(self, Self::Sse | Self::Http)
    }
}

fn boolish() -> clap::builder::BoolishValueParser {
    clap::builder::BoolishValueParser::new()
}

/// Settings of the HTTP transports (one server, many users: each session may
/// bring its own portal, credentials and tool selection).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP transports")]
pub struct HttpArgs {
    /// stdio, streamable-http (`/mcp`), sse (legacy `/sse` + `/messages`) or http (both).
    #[arg(long, env = "DOCSPACE_TRANSPORT", value_enum, default_value = "stdio", value_name = "TRANSPORT")]
    pub transport: TransportKind,
    /// Address to listen on.
    #[arg(long, env = "DOCSPACE_HOST", default_value = "127.0.0.1", value_name = "ADDRESS")]
    pub host: String,
    /// Port to listen on (0 picks a free one, printed on stderr).
    #[arg(long, env = "DOCSPACE_PORT", default_value_t = 8080, value_name = "PORT")]
    pub port: u16,
    /// `Host` header values accepted (DNS-rebinding guard; comma-separated hostnames, a port is
    /// ignored). Empty accepts any host. Browser `Origin`s must name one of these hosts too, unless
    /// listed in DOCSPACE_SERVER_CORS_MCP_ORIGIN.
    #[arg(
        long,
        env = "DOCSPACE_SERVER_ALLOWED_HOSTNAMES",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,[::1]",
        value_name = "HOSTS"
    )]
    pub allowed_hostnames: Vec<String>,
    /// Browser origins allowed by CORS (comma-separated, e.g. https://app.example.com); `*` allows any
    /// origin whose host is an allowed hostname; empty turns CORS off.
    #[arg(
        long,
        env = "DOCSPACE_SERVER_CORS_MCP_ORIGIN",
        value_delimiter = ',',
        default_value = "*",
        value_name = "ORIGINS"
    )]
    pub cors_origins: Vec<String>,
    /// How long browsers may cache a CORS preflight, in milliseconds (at most a year).
    #[arg(long, env = "DOCSPACE_SERVER_CORS_MCP_MAX_AGE", default_value_t = 86_400_000, value_name = "MS")]
    pub cors_max_age_ms: u64,
    /// Requests per client IP per window (0 = no limit), checked before any DocSpace call.
    #[arg(long, env = "DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY", default_value_t = 1000, value_name = "N")]
    pub rate_limit: u32,
    /// The rate-limit window, in milliseconds (1 to a day; 0 = no limit, as a capacity of 0).
    #[arg(long, env = "DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW", default_value_t = 1000, value_name = "MS")]
    pub rate_window_ms: u64,
    /// Proxies in front of this server whose `X-Forwarded-For` entries are trusted for the client IP
    /// (rate limits, per-address session caps). Each hop is believed only when the address it came
    /// from is in DOCSPACE_TRUSTED_PROXIES.
    #[arg(long, env = "DOCSPACE_PROXY_HOPS", default_value_t = 0, value_name = "N")]
    pub proxy_hops: usize,
    /// Where trusted proxies connect from: addresses or networks, comma-separated (CIDR, e.g.
    /// `10.0.0.0/8`). A request from anywhere else is counted by its own address, whatever its
    /// `X-Forwarded-For` says. The default is loopback and private networks.
    #[arg(
        long,
        env = "DOCSPACE_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
        value_name = "NETWORKS"
    )]
    pub trusted_proxies: Vec<String>,
    /// A session idle this long (seconds, at most 30 days) is closed; 0 = never.
    #[arg(long, env = "DOCSPACE_SESSION_IDLE_TIMEOUT", default_value_t = 1800, value_name = "SECONDS")]
    pub session_idle_timeout: u64,
    /// A session quiet this long (seconds, 1 to a day) hibernates: its worker and buffers are freed
    /// and rebuilt on its next request. Keep it above the longest tool call.
    #[arg(long, env = "DOCSPACE_SESSION_HIBERNATE_AFTER", default_value_t = 300, value_name = "SECONDS")]
    pub session_hibernate_after: u64,
    /// The most sessions open at once (new ones get 503 beyond it); 0 = no cap.
    #[arg(long, env = "DOCSPACE_MAX_SESSIONS", default_value_t = 10_000, value_name = "N")]
    pub max_sessions: usize,
    /// The most sessions one client address may hold (an IPv6 client counts by its /64; behind
    /// DOCSPACE_PROXY_HOPS proxies, the address they saw); 0 = no cap.
    #[arg(long, env = "DOCSPACE_MAX_SESSIONS_PER_IP", default_value_t = 100, value_name = "N")]
    pub max_sessions_per_ip: usize,
    /// The most sessions one identity may hold (a client's own credentials, or an OAuth user;
    /// clients of the operator's own credentials are capped by address only); 0 = no cap.
    #[arg(long, env = "DOCSPACE_MAX_SESSIONS_PER_IDENTITY", default_value_t = 50, value_name = "N")]
    pub max_sessions_per_identity: usize,
    /// Largest request body on `/mcp` and `/messages`, in bytes (the OAuth endpoints take at most
    /// 16 KiB). A file sent to `upload_file` travels base64-encoded in one message: the default takes
    /// files up to about 3 MB; raise it for bigger uploads over HTTP.
    #[arg(long, env = "DOCSPACE_HTTP_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(64 * 1024..=1024 * 1024 * 1024))]
    pub http_max_body_bytes: u64,
    /// Request bodies being read or handled at once, in bytes, over all connections (a body without
    /// `Content-Length` counts as the largest allowed); a request beyond it gets 503 and `Retry-After`.
    /// Bounds the memory that request bodies can take. At least DOCSPACE_HTTP_MAX_BODY_BYTES.
    #[arg(long, env = "DOCSPACE_HTTP_BODY_BUDGET_BYTES", default_value_t = 128 * 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(64 * 1024..=64 * 1024 * 1024 * 1024))]
    pub http_body_budget_bytes: u64,
    /// Seconds a connection has to send a complete request head, counted from when it opens or its
    /// previous response ends: slow senders (slowloris) and idle keep-alive connections are closed
    /// after it (1 s to 1 h).
    #[arg(long, env = "DOCSPACE_HTTP_HEADER_TIMEOUT", default_value_t = 10, value_name = "SECONDS")]
    pub http_header_timeout: u64,
    /// Seconds a request has to send its whole body (408 after it; 1 s to 1 h).
    #[arg(long, env = "DOCSPACE_HTTP_BODY_TIMEOUT", default_value_t = 30, value_name = "SECONDS")]
    pub http_body_timeout: u64,
    /// On SIGTERM or Ctrl-C: how long tool calls in flight may take to finish, in seconds (0 to 3600),
    /// while new requests get 503. Calls still running after it are answered with a JSON-RPC error;
    /// then every session is closed and the server exits. Keep it below the orchestrator's own limit
    /// (Kubernetes: terminationGracePeriodSeconds, 30 by default).
    #[arg(long, env = "DOCSPACE_SHUTDOWN_GRACE", default_value_t = 20, value_name = "SECONDS")]
    pub shutdown_grace: u64,
    /// The most client connections open at once; more wait in the listen queue until one closes.
    #[arg(long, env = "DOCSPACE_HTTP_MAX_CONNECTIONS", default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub http_max_connections: u64,
    /// The most connections from one client address (an IPv6 client counts by its /64); more are
    /// closed at once. Trusted proxies (DOCSPACE_TRUSTED_PROXIES, with DOCSPACE_PROXY_HOPS set) are
    /// not capped. 0 = no cap.
    #[arg(long, env = "DOCSPACE_HTTP_MAX_CONNECTIONS_PER_IP", default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub http_max_connections_per_ip: u64,
    /// Accept configuration from query parameters (base_url, toolsets, enabled_tools, disabled_tools,
    /// dynamic, read_only).
    #[arg(long, env = "DOCSPACE_REQUEST_QUERY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = boolish())]
    pub request_query: bool,
    /// Accept a client's own `Authorization` header and send it to DocSpace as it is.
    #[arg(long, env = "DOCSPACE_REQUEST_AUTHORIZATION_HEADER", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = boolish())]
    pub request_authorization_header: bool,
    /// Prefix of the configuration headers (X-Mcp-Base-Url, X-Mcp-Api-Key, …); empty turns them off.
    #[arg(long, env = "DOCSPACE_REQUEST_HEADER_PREFIX", default_value = "x-mcp-", value_name = "PREFIX")]
    pub header_prefix: String,
    /// Portals a client may name with base_url / X-Mcp-Base-Url: host patterns, comma-separated
    /// (`*.onlyoffice.com`, `docs.example.org`, `https://x.example:8443`, `*` for any). Empty: only
    /// DOCSPACE_BASE_URL.
    #[arg(long, env = "DOCSPACE_ALLOWED_BASE_URLS", value_delimiter = ',', value_name = "PATTERNS")]
    pub allowed_base_urls: Vec<String>,
    /// Let client-named portals be private, loopback or link-local addresses (refused by default,
    /// so the server cannot be used to reach an internal network).
    #[arg(long, env = "DOCSPACE_ALLOW_PRIVATE_BASE_URLS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = boolish())]
    pub allow_private_base_urls: bool,
    /// Serve Prometheus metrics at `/metrics` on this server's own address, behind the same `Host`
    /// check and rate limit as `/health` and without credentials: anyone who can reach the server reads
    /// tool names, call counts and latencies. On a public server use DOCSPACE_METRICS_ADDRESS instead.
    #[arg(long, env = "DOCSPACE_METRICS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = boolish())]
    pub metrics: bool,
    /// Serve Prometheus metrics at `/metrics` on this separate address only (`host:port`, e.g.
    /// 127.0.0.1:9464 or an address only the scraper reaches; port 0 picks a free one, printed on
    /// stderr), with no `Host` check or rate limit. Turns metrics on.
    #[arg(long, env = "DOCSPACE_METRICS_ADDRESS", value_name = "HOST:PORT")]
    pub metrics_address: Option<String>,
    /// The shared state store of several replicas.
    #[command(flatten)]
    pub state: StateArgs,
    /// The OAuth proxy's settings.
    #[command(flatten)]
    pub oauth: OAuthArgs,
}

/// The shared state store: what lets several replicas behind an ordinary
/// load balancer serve any request (docs/deploy.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Shared state (several replicas, HTTP transports)")]
pub struct StateArgs {
    /// A Redis or Valkey server that every replica shares: `redis://[:password@]host:port/db`,
    /// `rediss://` for TLS, `redis+unix:///path/to/socket`. With it, OAuth sign-ins, revocations
    /// and refresh tokens, rate-limit counters and sessions (Streamable HTTP sessions continue on any
    /// replica; SSE messages reach the replica holding the stream) are shared, so no sticky sessions
    /// are needed. Unset: each process keeps its own, in memory. While the store cannot be reached,
    /// requests that need it get 503 `store_unavailable`.
    #[arg(long, env = "DOCSPACE_STATE_URL", hide_env_values = true, value_name = "URL")]
    pub state_url: Option<Secret>,
    /// Key of what the replicas share through the store (identity hashes, relayed SSE messages): at
    /// least 32 bytes, e.g. `openssl rand -base64 32`, the same on every replica. Required with
    /// DOCSPACE_STATE_URL.
    #[arg(long, env = "DOCSPACE_STATE_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    pub state_secret_key: Option<Secret>,
    /// Prefix of this server's keys in the store (`<prefix>:session:…`), so that several deployments
    /// may share one store.
    #[arg(long, env = "DOCSPACE_STATE_PREFIX", default_value = "docspace-mcp", value_name = "PREFIX")]
    pub state_prefix: String,
}

/// Settings of the OAuth proxy in front of DocSpace's authorization server
/// (HTTP transports only; see README "OAuth").
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "OAuth proxy (HTTP transports)")]
pub struct OAuthArgs {
    /// DocSpace's authorization server (usually the portal URL; its endpoints are `oauth2/authorize`,
    /// `oauth2/token`, …). Setting it turns the OAuth proxy on: MCP clients sign users in through this
    /// server, which needs DOCSPACE_SERVER_BASE_URL and DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY.
    #[arg(long, env = "DOCSPACE_OAUTH_BASE_URL", value_name = "URL")]
    pub oauth_base_url: Option<String>,
    /// Client id of the DocSpace OAuth application this server uses for every MCP client ("shared
    /// application" mode: clients register here dynamically). Unset: each user enters the id and secret
    /// of their own DocSpace application in their MCP client.
    #[arg(long, env = "DOCSPACE_OAUTH_CLIENT_ID", value_name = "ID")]
    pub oauth_client_id: Option<String>,
    /// Secret of that application (never leaves this server).
    #[arg(long, env = "DOCSPACE_OAUTH_CLIENT_SECRET", hide_env_values = true, value_name = "SECRET")]
    pub oauth_client_secret: Option<Secret>,
    /// Key that encrypts and authenticates the tokens and codes this server issues (at least 32
    /// bytes, e.g. `openssl rand -base64 32`). Required with OAuth; give every replica the same key.
    #[arg(long, env = "DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    pub oauth_secret_key: Option<Secret>,
    /// Key for the OAuth state, client ids and consent cookies (default: the token key).
    #[arg(long, env = "DOCSPACE_OAUTH_STATE_TOKEN_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    pub oauth_state_secret_key: Option<Secret>,
    /// Longest lifetime of an access token this server issues, in milliseconds (1 s to 30 days;
    /// DocSpace's own expiry is kept when it is shorter).
    #[arg(long, env = "DOCSPACE_OAUTH_AUTH_TOKEN_TTL", default_value_t = 3_600_000, value_name = "MS")]
    pub oauth_token_ttl_ms: u64,
    /// How long a sign-in may take (consent, DocSpace login, code exchange), in milliseconds (1 s to
    /// a day).
    #[arg(long, env = "DOCSPACE_OAUTH_STATE_TOKEN_TTL", default_value_t = 600_000, value_name = "MS")]
    pub oauth_state_ttl_ms: u64,
    /// Also accept, beside this server's own tokens, an `Authorization` header that is not one of them
    /// (e.g. a DocSpace API key) and send it to DocSpace as it is ("token passthrough", which the MCP
    /// specification forbids: such a token was not issued for this server). Off: it is refused with 401.
    #[arg(long, env = "DOCSPACE_OAUTH_PASSTHROUGH_AUTHORIZATION", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = boolish())]
    pub oauth_passthrough_authorization: bool,
    /// How long DocSpace's answer to "is this token still active?" is reused per token, in
    /// milliseconds (0 to an hour; 0 = ask DocSpace on every request). Longer saves DocSpace calls;
    /// a token revoked at DocSpace (not through this server) keeps passing this server's check that
    /// long, though its first DocSpace call is refused all the same and answered with 401.
    #[arg(long, env = "DOCSPACE_OAUTH_INTROSPECTION_CACHE_TTL", default_value_t = 30_000, value_name = "MS")]
    pub oauth_introspection_cache_ttl_ms: u64,
    /// This server's public URL, as clients reach it (e.g. https://mcp.example.com): the OAuth issuer
    /// and the base of every URL in the OAuth metadata. Default with OAuth on a loopback address:
    /// http://<address>:<port>.
    #[arg(long, env = "DOCSPACE_SERVER_BASE_URL", value_name = "URL")]
    pub server_base_url: Option<String>,
    /// CORS and rate limits of the OAuth endpoints.
    #[command(flatten)]
    pub edge: OAuthEdgeArgs,
}

/// The OAuth endpoints whose rate limits have settings of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthEndpoint {
    /// Authorization-server metadata.
    ServerMetadata,
    /// Protected-resource metadata.
    ResourceMetadata,
    /// `/authorize`.
    Authorize,
    /// `/oauth/callback`.
    Callback,
    /// `/introspect`.
    Introspect,
    /// `/register`.
    Register,
    /// `/revoke`.
    Revoke,
    /// `/token`.
    Token,
}

impl OAuthEndpoint {
    /// Whether programs (rather than browser navigations) call it, so that
    /// browser-based clients need CORS for it.
    pub fn is_api(self) -> bool {
        !matches!(self, Self::Authorize | Self::Callback)
    }
}

/// Declares [`OAuthEdgeArgs`] from one table: per OAuth endpoint, its
/// capacity and window flags (`DOCSPACE_SERVER_RATE_LIMITS_OAUTH_<NAME>_*`,
/// the reference server's settings and defaults), and
/// [`OAuthEdgeArgs::rate_limits`] and [`OAuthEndpoint::setting`] from the
/// same rows, so a new endpoint is one line.
macro_rules! oauth_edge_args {
    ($($endpoint:ident $name:literal $capacity:ident $window:ident $default:literal $doc:literal;)*) => {
        /// CORS and per-client-IP rate limits of the OAuth endpoints (the
        /// reference server's settings and defaults). Behind a reverse proxy,
        /// set DOCSPACE_PROXY_HOPS so that clients are told apart by their own
        /// address.
        #[derive(Debug, Clone, Args)]
        #[command(next_help_heading = "OAuth proxy: CORS and rate limits (per client IP, per window; 0 = no limit)")]
        pub struct OAuthEdgeArgs {
            /// Browser origins allowed by CORS on the OAuth endpoints (metadata, /token, /register, /revoke,
            /// /introspect), comma-separated; `*` allows any origin (browser-based MCP clients sign in from
            /// their own); empty turns CORS off there.
            #[arg(
                long,
                env = "DOCSPACE_SERVER_CORS_OAUTH_ORIGIN",
                value_delimiter = ',',
                default_value = "*",
                value_name = "ORIGINS"
            )]
            pub oauth_cors_origins: Vec<String>,
            /// How long browsers may cache a CORS preflight of the OAuth endpoints, in milliseconds (at most
            /// a year).
            #[arg(long, env = "DOCSPACE_SERVER_CORS_OAUTH_MAX_AGE", default_value_t = 86_400_000, value_name = "MS")]
            pub oauth_cors_max_age_ms: u64,
            $(
                #[doc = $doc]
                #[arg(
                    long,
                    env = concat!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_", $name, "_CAPACITY"),
                    default_value_t = $default,
                    value_name = "N"
                )]
                pub $capacity: u32,
                /// Its window, in milliseconds (1 to a day; 0 = no limit).
                #[arg(
                    long,
                    env = concat!("DOCSPACE_SERVER_RATE_LIMITS_OAUTH_", $name, "_WINDOW"),
                    default_value_t = 60_000,
                    value_name = "MS"
                )]
                pub $window: u64,
            )*
        }

        impl OAuthEdgeArgs {
            /// (endpoint, requests per window, window in ms) for each OAuth endpoint.
            pub fn rate_limits(&self) -> Vec<(OAuthEndpoint, u32, u64)> {
                vec![$((OAuthEndpoint::$endpoint, self.$capacity, self.$window)),*]
            }
        }

        impl OAuthEndpoint {
            /// The part of its settings' names (`DOCSPACE_SERVER_RATE_LIMITS_OAUTH_<it>_CAPACITY`).
            pub fn setting(self) -> &'static str {
                match self {
                    $(Self::$endpoint => $name,)*
                }
            }
        }
    };
}

oauth_edge_args! {
    ServerMetadata "SERVER_METADATA" oauth_server_metadata_rate_limit oauth_server_metadata_rate_window_ms 200
        "Requests per window to the authorization-server metadata (`/.well-known/oauth-authorization-server`, `…/openid-configuration`).";
    ResourceMetadata "RESOURCE_METADATA" oauth_resource_metadata_rate_limit oauth_resource_metadata_rate_window_ms 200
        "Requests per window to the protected-resource metadata (`/.well-known/oauth-protected-resource…`).";
    Authorize "AUTHORIZE" oauth_authorize_rate_limit oauth_authorize_rate_window_ms 200
        "Requests per window to `/authorize` (the consent page and its form).";
    Callback "CALLBACK" oauth_callback_rate_limit oauth_callback_rate_window_ms 200
        "Requests per window to `/oauth/callback` (DocSpace's redirect back).";
    Introspect "INTROSPECT" oauth_introspect_rate_limit oauth_introspect_rate_window_ms 10
        "Requests per window to `/introspect`.";
    Register "REGISTER" oauth_register_rate_limit oauth_register_rate_window_ms 10
        "Requests per window to `/register`.";
    Revoke "REVOKE" oauth_revoke_rate_limit oauth_revoke_rate_window_ms 10
        "Requests per window to `/revoke`.";
    Token "TOKEN" oauth_token_rate_limit oauth_token_rate_window_ms 10
        "Requests per window to `/token` (code exchange and refresh).";
}

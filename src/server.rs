//! The MCP server: an rmcp `ServerHandler` over the selected tools. No
//! transport here: stdio and both HTTP transports serve the same handler.

// `logging/setLevel` is deprecated by SEP-2577 (protocol 2026-07-28), but 2025 clients use it.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use docspace_mcp_client::Client;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock,
    DiscoverResult, ErrorCode, GetPromptRequestParams, GetPromptResponse, Icon, Implementation,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, LoggingLevel, LoggingMessageNotificationParam, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResultType, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::metrics::{Metrics, Outcome, TraceSource};
use crate::spans::{Span, Tracer};
use crate::tools::catalogue::ToolDef;
use crate::tools::file_operations::{Progress, Waiting};
use crate::tools::invoke::{Context as InvokeContext, invoke};
use crate::tools::meta;
use crate::trace::{TRACEPARENT, TRACESTATE, TraceContext};

mod confirm;
mod extension;
mod prompts;
mod resources;

pub use confirm::Mode as ConfirmMode;
pub(crate) use confirm::key as seal_requests_with;
pub use extension::{Answer, Extension};

/// What the model is told about this server at `initialize`.
pub(crate) const INSTRUCTIONS: &str = "\
This server connects to an ONLYOFFICE DocSpace portal: a document workspace of rooms (shared spaces with \
member access levels), folders and files (documents, spreadsheets, presentations, PDFs), and people and groups. \
Each tool is one DocSpace REST operation (or a few, for upload_file and download_file_as_text). Results are \
DocSpace's JSON answers, usually an envelope whose `response` member holds the data. Ids are integers for files, \
folders and rooms and UUIDs for people. \"My documents\" is a folder you list with get_my_folder; rooms come from \
get_rooms_folder; get_folder_content lists and searches any folder or room. Tools beyond the curated ones take \
path and query parameters by name and a JSON request body under `body`.";

/// The server's icon (`serverInfo.icons`): a document on DocSpace blue, as
/// an SVG data URI (no request to any host to show it).
const ICON: &str = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHJlY3Qgd2lkdGg9IjY0IiBoZWlnaHQ9IjY0IiByeD0iMTQiIGZpbGw9IiMyZjZmZDYiLz48cGF0aCBkPSJNMjAgMTJoMThsMTAgMTB2MzBIMjB6IiBmaWxsPSIjZmZmIi8+PHBhdGggZD0iTTM4IDEydjEwaDEwIiBmaWxsPSIjYzlkYmY3Ii8+PHBhdGggZD0iTTI2IDMyaDE2TTI2IDM5aDE2TTI2IDQ2aDEwIiBzdHJva2U9IiMyZjZmZDYiIHN0cm9rZS13aWR0aD0iMyIvPjwvc3ZnPg==";

/// The tools one configuration offers. Their MCP definitions are made when
/// first asked for, once, and shared by every session with the same
/// selection: the `tools/list` result as bytes, put together from the
/// definitions prepared at build time (what the HTTP transport answers
/// with), and as rmcp's typed `Tool`s, parsed from them (for rmcp's own
/// answer, over stdio). Nothing is parsed at start-up, whatever the
/// selection's size.
#[derive(Debug)]
pub struct Selection {
    tools: Vec<&'static ToolDef>,
    by_name: BTreeMap<&'static str, &'static ToolDef>,
    options: Options,
    listed: OnceLock<Vec<Tool>>,
    listing: OnceLock<bytes::Bytes>,
    /// A configuration problem every call answers with (the tools are listed all the same).
    problem: Option<String>,
}

impl Selection {
    /// The selection of `tools`, presented as `options` say.
    pub fn new(tools: Vec<&'static ToolDef>, options: Options) -> Self {
        let mut by_name = BTreeMap::new();
        for t in &tools {
            by_name.insert(t.name, *t);
            for alias in t.aliases {
                by_name.entry(*alias).or_insert(*t);
            }
        }
        Self { tools, by_name, options, listed: OnceLock::new(), listing: OnceLock::new(), problem: None }
    }

    /// The `tools/list` result, `{"tools":[…]}`, as compact JSON.
    pub fn listing(&self) -> &bytes::Bytes {
        self.listing.get_or_init(|| {
            let mut out = Vec::with_capacity(16 + self.tools.iter().map(|t| t.mcp.len() + 1).sum::<usize>());
            out.extend_from_slice(b"{\"tools\":[");
            if self.options.dynamic {
                for (i, tool) in meta::definitions(self.options.read_only).iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(serde_json::to_string(tool).unwrap_or_default().as_bytes());
                }
            } else {
                for (i, t) in self.tools.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(t.listed_json().as_bytes());
                }
            }
            out.extend_from_slice(b"]}");
            bytes::Bytes::from(out)
        })
    }

    /// The tools as rmcp `Tool`s (parsed at the first call).
    fn listed(&self) -> &[Tool] {
        self.listed.get_or_init(|| {
            if self.options.dynamic {
                meta::definitions(self.options.read_only)
            } else {
                self.tools.iter().map(|t| t.to_tool()).collect()
            }
        })
    }

    /// The selection, every call of which answers with `problem` (a
    /// configuration that is not valid: the client lists tools and shows the
    /// message on the first call, rather than a closed connection).
    #[must_use]
    pub fn unusable(mut self, problem: impl Into<String>) -> Self {
        self.problem = Some(problem.into());
        self
    }

    /// The selected tools.
    pub fn tools(&self) -> &[&'static ToolDef] {
        &self.tools
    }

    /// How the tools are presented.
    pub fn options(&self) -> Options {
        self.options
    }
}

/// What a transport hands the handling of one request, beside the MCP
/// message: the HTTP transports put it in the request's extensions (rmcp
/// passes the request's `http::request::Parts` on to the handler). The
/// handler knows nothing else of the transport.
#[derive(Debug, Clone, Default)]
pub struct CallScope {
    /// The session's setup, adopted by a handler that has none yet (a new
    /// session, a stateless request, or one rebuilt after hibernation).
    pub setup: Option<Setup>,
    /// A DocSpace client for this request only (an OAuth request's newest
    /// token, refreshes included), preferred over the session's.
    pub client: Option<Client>,
    /// Headers sent with this request's DocSpace calls (e.g. its request id).
    pub upstream_headers: Vec<(HeaderName, HeaderValue)>,
    /// The server's shutdown, which tool calls in flight wait for (HTTP).
    pub drain: Option<Drain>,
    /// Where tool calls and their DocSpace requests are counted (HTTP, with metrics on).
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// The HTTP request's span, parent of its tool calls' (with an OTLP endpoint set).
    pub(crate) span: Option<Span>,
}

/// A graceful shutdown's view of the tool calls in flight (cheap to clone):
/// once it [`starts`](Self::start), the HTTP layer refuses new requests; the
/// calls in flight may finish until the grace period ends
/// ([`cut`](Self::cut)), after which each answers with a JSON-RPC error
/// saying the server is shutting down, rather than never.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<DrainInner>);

#[derive(Debug, Default)]
struct DrainInner {
    draining: AtomicBool,
    calls: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
    cut: tokio_util::sync::CancellationToken,
}

/// One tool call in flight (counted until dropped).
struct InFlight(Drain);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.0.calls.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.0.idle.notify_waiters();
        }
    }
}

/// The JSON-RPC error of a call the shutdown ended or refused (-32000, a
/// server error: the client may call again, on the restarted server).
pub(crate) const SHUTTING_DOWN: &str = "the server is shutting down; call again in a moment";

impl Drain {
    /// Whether the shutdown has started.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::Acquire)
    }

    /// Starts the shutdown: new requests are refused from now on.
    pub fn start(&self) {
        self.0.draining.store(true, Ordering::Release);
    }

    /// The tool calls in flight.
    pub fn in_flight(&self) -> usize {
        self.0.calls.load(Ordering::Acquire)
    }

    fn enter(&self) -> InFlight {
        self.0.calls.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Waits until no call is in flight or `grace` has passed, then ends the
    /// calls still running ([`SHUTTING_DOWN`]); how many it ended.
    pub async fn finish(&self, grace: std::time::Duration) -> usize {
        let idle = async {
            loop {
                let notified = self.0.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(grace, idle).await;
        let left = self.in_flight();
        self.0.cut.cancel();
        left
    }
}

/// The scope the transport attached to the request being handled.
fn scope(context: &RequestContext<RoleServer>) -> Option<&CallScope> {
    context.extensions.get::<http::request::Parts>().and_then(|parts| parts.extensions.get::<CallScope>())
}

/// What one session serves: a selection, and the DocSpace client it calls
/// (or why there is none). Clones share the session's log level, so a
/// session that the HTTP layer rebuilds after hibernation keeps it.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The tools.
    pub selection: Arc<Selection>,
    /// The DocSpace client, or the configuration problem every call reports.
    pub client: Result<Client, String>,
    /// Set by `logging/setLevel`; no log notifications until a client opts in.
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
    /// Told of every `logging/setLevel` (the HTTP layer records it in the
    /// shared store, for the other replicas).
    level_sink: Option<LevelSink>,
}

/// What is told of a session's new log level.
#[derive(Clone)]
pub(crate) struct LevelSink(Arc<dyn Fn(LoggingLevel) -> futures::future::BoxFuture<'static, ()> + Send + Sync>);

impl LevelSink {
    /// A sink calling `f` (`logging/setLevel` is answered once its future is done).
    pub(crate) fn new(
        f: impl Fn(LoggingLevel) -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for LevelSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LevelSink")
    }
}

impl Setup {
    /// A new session's setup.
    pub fn new(selection: Arc<Selection>, client: Result<Client, String>) -> Self {
        Self { selection, client, log_level: Arc::new(Mutex::new(None)), level_sink: None }
    }

    /// The same, telling `sink` of every `logging/setLevel`.
    #[must_use]
    pub(crate) fn with_level_sink(mut self, sink: LevelSink) -> Self {
        self.level_sink = Some(sink);
        self
    }

    /// Sets the session's log level (one set through another replica).
    pub(crate) fn set_log_level(&self, level: Option<LoggingLevel>) {
        if let Ok(mut current) = self.log_level.lock() {
            *current = level;
        }
    }
}

/// The state of one session.
struct State {
    selection: Arc<Selection>,
    client: Result<Client, String>,
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
    level_sink: Option<LevelSink>,
}

/// How the server presents its tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// Offer the six meta tools instead of the selected tools themselves.
    pub dynamic: bool,
    /// Only read-only tools were selected (affects the meta tools' annotations).
    pub read_only: bool,
    /// How long a call waits for the file operations it started.
    pub operation_timeout: std::time::Duration,
    /// The longest pause between two checks of those operations.
    pub operation_interval: std::time::Duration,
    /// The time limit of one DocSpace request (named in timeout errors).
    pub request_timeout: std::time::Duration,
    /// The longest text of a tool result (longer results are cut, saying so).
    pub max_result_bytes: usize,
    /// What happens to a data-losing call when the client cannot ask its user.
    pub confirm: ConfirmMode,
}

impl Options {
    /// What a call into DocSpace made under these options carries: its
    /// waiting on file operations, time limit, progress, and where its
    /// requests are timed and traced.
    fn invoke_context(
        &self,
        progress: Option<Progress>,
        metrics: Option<Arc<Metrics>>,
        span: Option<Span>,
    ) -> InvokeContext {
        InvokeContext {
            waiting: Waiting { timeout: self.operation_timeout, interval: self.operation_interval },
            request_timeout: self.request_timeout,
            progress,
            calls: crate::tools::invoke::Calls::new(metrics, span),
        }
    }
}

/// The DocSpace MCP server handler (cheap to clone).
///
/// Over stdio it is built with its [`Setup`]. Over HTTP it is *deferred*: the
/// HTTP layer resolves each session's setup from the request (query, headers,
/// credentials) and attaches it to the request's extensions, and the handler
/// adopts it on the session's first message (`initialize`, or any message of
/// a stateless request).
#[derive(Clone)]
pub struct DocSpaceServer {
    state: Arc<OnceLock<State>>,
    /// Set by the session's `initialize` (see `ServerHandler::initialize` below).
    initialized: Arc<AtomicBool>,
    /// What makes the tool calls' spans over stdio (with an OTLP endpoint
    /// set; over HTTP the request's span in the [`CallScope`] does).
    tracer: Option<Tracer>,
    /// What an embedder serves beside the DocSpace tools (none in the binary).
    extension: Option<Arc<dyn Extension>>,
}

impl DocSpaceServer {
    /// A server offering `selection`, calling DocSpace through `client` — or,
    /// when the configuration is broken, answering every call with that
    /// message (so catalogues that start servers unconfigured still get a tool list).
    pub fn new(setup: Setup) -> Self {
        let server = Self::deferred();
        server.adopt(setup);
        server
    }

    /// A server whose setup comes with its first request (HTTP).
    pub fn deferred() -> Self {
        Self { state: Arc::new(OnceLock::new()), initialized: Arc::default(), tracer: None, extension: None }
    }

    /// This server, serving `extension`'s tools, resources and prompts beside its own.
    #[must_use]
    pub fn with_extension(mut self, extension: Option<Arc<dyn Extension>>) -> Self {
        self.extension = extension;
        self
    }

    /// This server, making a span of each tool call with `tracer` when the
    /// transport gives it no request span (stdio).
    #[must_use]
    pub(crate) fn with_tracer(mut self, tracer: Option<Tracer>) -> Self {
        self.tracer = tracer;
        self
    }

    fn adopt(&self, setup: Setup) -> &State {
        self.state.get_or_init(|| State {
            selection: setup.selection,
            client: setup.client,
            log_level: setup.log_level,
            level_sink: setup.level_sink,
        })
    }

    /// The session's state, adopting the setup the HTTP layer attached to
    /// this request if there is none yet.
    fn state(&self, context: &RequestContext<RoleServer>) -> Result<&State, ErrorData> {
        if let Some(state) = self.state.get() {
            return Ok(state);
        }
        let setup = scope(context)
            .and_then(|scope| scope.setup.clone())
            .ok_or_else(|| ErrorData::internal_error("this session has no configuration", None))?;
        Ok(self.adopt(setup))
    }

    /// The tools as MCP `Tool`s, when the session is set up.
    pub fn tools(&self) -> &[Tool] {
        self.state.get().map_or(&[], |s| s.selection.listed())
    }

    /// The level set by `logging/setLevel`, if a client set one.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.state.get().and_then(|s| s.log_level.lock().ok().and_then(|l| *l))
    }

    /// Sends `notifications/message` when the client asked for `level` or lower.
    /// The level a request's `_meta` names (`io.modelcontextprotocol/logLevel`,
    /// protocol 2026-07-28, where nothing is logged to a request that names
    /// none) wins over the session's `logging/setLevel`.
    async fn notify(&self, context: &RequestContext<RoleServer>, level: LoggingLevel, data: serde_json::Value) {
        let wanted = context.meta.log_level().or_else(|| self.log_level()).is_some_and(|min| rank(level) >= rank(min));
        if wanted {
            let message = LoggingMessageNotificationParam::new(level, data).with_logger("docspace-mcp");
            if let Err(e) = context.peer.notify_logging_message(message).await {
                tracing::debug!("could not send a log notification: {e}");
            }
        }
    }
}

/// `text`, quoted for an error message: at most 100 characters, escaped.
fn quoted(text: &str) -> String {
    let text: String = text.chars().take(100).flat_map(char::escape_default).collect();
    format!("`{text}`")
}

impl DocSpaceServer {
    /// The DocSpace client and call context of a request that is not a
    /// tool call (a resource read, a completion): the session's (or the
    /// request's own) client.
    fn own_call(&self, context: &RequestContext<RoleServer>) -> Result<(Client, InvokeContext, Options), ErrorData> {
        let state = self.state(context)?;
        let options = state.selection.options;
        let not_configured =
            |problem: &str| ErrorData::internal_error(format!("docspace-mcp is not configured: {problem}"), None);
        if let Some(problem) = &state.selection.problem {
            return Err(not_configured(problem));
        }
        let metrics = scope(context).and_then(|s| s.metrics.clone());
        let client = resolve_client(state, scope(context), metrics.as_ref(), &context.meta.0.0)
            .map_err(|problem| not_configured(&problem))?;
        Ok((client, options.invoke_context(None, metrics, None), options))
    }

    /// Reads one of this server's `docspace://` resources.
    async fn read_own(&self, uri: &str, context: &RequestContext<RoleServer>) -> Result<ReadResourceResult, ErrorData> {
        let (client, cx, options) = self.own_call(context)?;
        let limits = resources::Limits { max_bytes: options.max_result_bytes };
        tokio::select! {
            read = resources::read(&client, uri, &cx, limits) => read,
            () = context.ct.cancelled() => Err(ErrorData::new(ErrorCode(-32000), "the read was cancelled", None)),
        }
    }

    /// Suggestions for an argument of one of this server's prompts.
    async fn complete_own(
        &self,
        argument: (&'static str, &'static str),
        typed: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let (client, cx, _) = self.own_call(context)?;
        tokio::select! {
            done = prompts::complete(&client, argument, typed, &cx) => done,
            () = context.ct.cancelled() => Err(ErrorData::new(ErrorCode(-32000), "the completion was cancelled", None)),
        }
    }

    /// The extension, when the capabilities it declared pass `offers`.
    fn offered(&self, offers: impl Fn(&ServerCapabilities) -> bool) -> Option<&Arc<dyn Extension>> {
        let extension = self.extension.as_ref()?;
        let mut capabilities = ServerCapabilities::default();
        extension.capabilities(&mut capabilities);
        offers(&capabilities).then_some(extension)
    }
}

/// A result that says it is complete (`resultType`, which 2026-07-28
/// requires of every result). rmcp's constructors set it, and this server
/// builds its own results with them; a result an extension parsed from
/// JSON may lack it. rmcp removes it again for older peers.
trait Typed {
    fn typed(self) -> Self;
}

impl Typed for CallToolResponse {
    fn typed(mut self) -> Self {
        if let Self::Complete(result) = &mut self {
            result.result_type.get_or_insert(ResultType::COMPLETE);
        }
        self
    }
}

impl Typed for GetPromptResponse {
    fn typed(mut self) -> Self {
        if let Self::Complete(result) = &mut self {
            result.result_type.get_or_insert(ResultType::COMPLETE);
        }
        self
    }
}

impl Typed for ReadResourceResponse {
    fn typed(mut self) -> Self {
        if let Self::Complete(result) = &mut self {
            result.result_type.get_or_insert(ResultType::COMPLETE);
        }
        self
    }
}

impl Typed for CompleteResult {
    fn typed(mut self) -> Self {
        self.result_type.get_or_insert(ResultType::COMPLETE);
        self
    }
}

/// The answer to a capability this server does not declare.
fn not_offered(method: &str) -> ErrorData {
    tracing::debug!("{method}: not offered (a client's capability probe)");
    ErrorData::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!(
            "{method}: this server does not offer it; it offers tools, resources (docspace:// URIs) and logging, \
             and every DocSpace operation is reached through its tools"
        ),
        None,
    )
}

impl ServerHandler for DocSpaceServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .enable_resources()
            .enable_prompts()
            .enable_completions()
            .build();
        if let Some(extension) = &self.extension {
            extension.capabilities(&mut capabilities);
        }
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("docspace-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("ONLYOFFICE DocSpace")
                    .with_icons(vec![Icon::new(ICON).with_mime_type("image/svg+xml").with_sizes(vec!["any".into()])]),
            )
            .with_instructions(INSTRUCTIONS)
    }

    // 2026-07-28's `server/discover`: the capabilities less what only
    // `subscriptions/listen` would deliver (resource subscriptions, list
    // changes), which this server does not implement.
    async fn discover(&self, _context: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let mut info = self.get_info();
        if let Some(resources) = &mut info.capabilities.resources {
            resources.subscribe = None;
            resources.list_changed = None;
        }
        for list_changed in [
            info.capabilities.tools.as_mut().map(|t| &mut t.list_changed),
            info.capabilities.prompts.as_mut().map(|p| &mut p.list_changed),
        ]
        .into_iter()
        .flatten()
        {
            *list_changed = None;
        }
        Ok(DiscoverResult::from_server_info(self.supported_protocol_versions().into_owned(), info))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.state(&context)?;
        // A session is initialized once. A second `initialize` used to replace
        // the negotiated peer info, so one naming 2026-07-28 turned `ping` and
        // `logging/setLevel` into unknown methods for the rest of the session
        // (found by the stdio fuzz target). A handler serves one session (an
        // HTTP session rebuilt after hibernation gets a new one).
        if self.initialized.swap(true, Ordering::SeqCst) {
            return Err(ErrorData::invalid_request(
                "this session is already initialized: send `initialize` once, or open a new session",
                None,
            ));
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut listed = resources::listed();
        if let Some(extension) = self.offered(|c| c.resources.is_some()) {
            listed.extend(extension.resources());
        }
        Ok(ListResourcesResult::with_all_items(listed))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let mut templates = resources::templates();
        if let Some(extension) = self.offered(|c| c.resources.is_some()) {
            templates.extend(extension.resource_templates());
        }
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        let read = if uri.starts_with(resources::SCHEME) {
            Box::pin(self.read_own(&uri, &context)).await.map(Into::into)
        } else {
            match self.offered(|c| c.resources.is_some()).and_then(|e| e.read_resource(request, &context)) {
                Some(answer) => answer.await,
                None => Err(resources::not_found(&uri, "this server's resources are docspace:// URIs")),
            }
        };
        read.map(Typed::typed)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let answer = self.offered(|c| c.resources.as_ref().is_some_and(|r| r.subscribe == Some(true)));
        match answer.and_then(|extension| extension.subscribe(request, &context)) {
            Some(answer) => answer.await,
            None => Err(not_offered("resources/subscribe")),
        }
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let answer = self.offered(|c| c.resources.as_ref().is_some_and(|r| r.subscribe == Some(true)));
        match answer.and_then(|extension| extension.unsubscribe(request, &context)) {
            Some(answer) => answer.await,
            None => Err(not_offered("resources/unsubscribe")),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut listed = prompts::listed();
        if let Some(extension) = self.offered(|c| c.prompts.is_some()) {
            listed.extend(extension.prompts());
        }
        Ok(ListPromptsResult::with_all_items(listed))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if prompts::is_own(&request.name) {
            return prompts::get(&request.name, request.arguments.as_ref()).map(|prompt| prompt.into());
        }
        let name = request.name.clone();
        match self.offered(|c| c.prompts.is_some()).and_then(|e| e.get_prompt(request, &context)) {
            Some(answer) => answer.await.map(Typed::typed),
            None => {
                Err(ErrorData::invalid_params(format!("no prompt {}; prompts/list shows them", quoted(&name)), None))
            }
        }
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        if let Some(own) = prompts::kind_of(&request) {
            let typed = request.argument.value.clone();
            return Box::pin(self.complete_own(own, &typed, &context)).await;
        }
        match self.offered(|c| c.completions.is_some()).and_then(|e| e.complete(request, &context)) {
            Some(answer) => answer.await.map(Typed::typed),
            // Nothing to suggest: an empty list, not an error.
            None => Ok(CompleteResult::default().typed()),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = self.state(&context)?.selection.listed().to_vec();
        if let Some(extension) = &self.extension {
            tools.extend(extension.tools());
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let selection = &self.state.get()?.selection;
        let canonical =
            if selection.options.dynamic { Some(name) } else { selection.by_name.get(name).map(|t| t.name) };
        let own = canonical.and_then(|canonical| selection.listed().iter().find(|t| t.name == canonical).cloned());
        own.or_else(|| self.extension.as_ref()?.tools().into_iter().find(|t| t.name == name))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.answer_tool(request, context).await.map(Typed::typed)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let state = self.state(&context)?;
        if let Ok(mut level) = state.log_level.lock() {
            *level = Some(request.level);
        }
        if let Some(sink) = &state.level_sink {
            (sink.0)(request.level).await;
        }
        Ok(())
    }
}

/// The name a tool call counts under: a tool of the catalogue (by its own
/// name, when called by an alias), a meta tool, or none (the caller's name
/// is never a label).
fn counted_name(name: &str) -> Option<&'static str> {
    if name.len() > 128 {
        return None;
    }
    meta::NAMES.iter().copied().find(|m| *m == name).or_else(|| crate::tools::catalogue::find(name).map(|t| t.name))
}

impl DocSpaceServer {
    /// A tool call, answered by the extension or the DocSpace tools.
    async fn answer_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(extension) = &self.extension
            && let Some(answer) = extension.call_tool(request.clone(), &context)
        {
            return answer.await;
        }
        let metrics = scope(&context).and_then(|s| s.metrics.clone());
        let span = self.tool_span(&context);
        let mut counted = None;
        if metrics.is_some() || span.is_some() {
            counted = counted_name(&request.name);
        }
        // Boxed: rmcp's handler future is as large as its largest method's,
        // and a session's task holds one from its `initialize` on; a call's
        // future (with the DocSpace requests it awaits) would make every
        // session's task that much larger.
        let answer = Box::pin(self.call(request, &context, metrics.as_ref(), span.as_ref(), &mut counted)).await;
        if metrics.is_none() && span.is_none() {
            return answer;
        }
        let outcome = match &answer {
            Err(_) => Outcome::ProtocolError,
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
        };
        if let Some(metrics) = &metrics {
            metrics.tool_call(counted.unwrap_or(crate::metrics::UNKNOWN), outcome);
        }
        if let Some(span) = span {
            let error = match (&answer, outcome) {
                (Err(e), _) => Some(e.code.0.to_string()),
                (_, Outcome::ToolError) => Some("tool_error".to_owned()),
                _ => None,
            };
            span.end_tool_call(counted, error);
        }
        answer
    }

    /// The span of a tool call, when spans are on: child of the request's
    /// `_meta` trace context, or of the HTTP request's span.
    fn tool_span(&self, context: &RequestContext<RoleServer>) -> Option<Span> {
        let request = scope(context).and_then(|s| s.span.as_ref());
        let tracer = request.map(Span::tracer).or(self.tracer.as_ref())?;
        let meta = TraceContext::from_meta(&context.meta.0.0).flatten();
        Some(tracer.tool_call(meta.as_ref(), request))
    }

    /// A tool call, traced under `span`; `counted` is set to the name it
    /// counts under once known.
    async fn call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        metrics: Option<&Arc<Metrics>>,
        span: Option<&Span>,
        counted: &mut Option<&'static str>,
    ) -> Result<CallToolResponse, ErrorData> {
        let state = self.state(context)?;
        let selection = &state.selection;
        if let Some(problem) = &selection.problem {
            tracing::error!("not configured: {problem}");
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "docspace-mcp is not configured: {problem}"
            ))])
            .into());
        }
        let read_only = selection.options.read_only;
        // A reply to a confirmation asked with an input-required result (2026-07-28).
        let (input_responses, request_state) = (request.input_responses.clone(), request.request_state.clone());
        let unknown = || {
            // A tool of the catalogue left out of this selection: say why, and how to have it.
            let known = (request.name.len() <= 128).then(|| crate::tools::catalogue::find(&request.name)).flatten();
            let message = match known {
                Some(tool) if selection.options.dynamic && selection.by_name.contains_key(tool.name) => format!(
                    "dynamic mode is on (DOCSPACE_DYNAMIC): call `{}` through the meta tool call_tool \
                     ({{\"tool\": \"{}\", \"input\": {{…}}}}); get_tool_input_schema gives its arguments",
                    tool.name, tool.name
                ),
                Some(tool) if read_only && !tool.read_only => format!(
                    "`{}` is a write tool and read-only mode is on (DOCSPACE_READ_ONLY or --read-only for the \
                     server; over HTTP, also a session's read_only query parameter or X-Mcp-Read-Only header): \
                     only read-only tools can be called",
                    tool.name
                ),
                Some(tool) => format!(
                    "`{}` is not in this server's tool selection: add it with DOCSPACE_ENABLED_TOOLS, or its \
                     toolset `{}` with DOCSPACE_TOOLSETS (over HTTP, also the enabled_tools or toolsets query \
                     parameter or X-Mcp-* header); tools/list shows the tools offered",
                    tool.name, tool.toolset
                ),
                // The name is the client's: quoted only in part.
                None => {
                    format!("unknown tool {}; tools/list shows the tools this server offers", quoted(&request.name))
                }
            };
            ErrorData::invalid_params(message, None)
        };
        let (tool, arguments) = if selection.options.dynamic {
            let args = request.arguments.clone().unwrap_or_default();
            match meta::handle(request.name.as_ref(), &args, &selection.by_name) {
                None => return Err(unknown()),
                Some(meta::Action::Answer(result)) => return Ok(result.into()),
                // Counted under the tool it calls.
                Some(meta::Action::Call(tool, input)) => (tool, Some(input)),
            }
        } else {
            match selection.by_name.get(request.name.as_ref()).copied() {
                Some(tool) => (tool, request.arguments),
                None => return Err(unknown()),
            }
        };
        *counted = Some(tool.name);
        if let Some(question) = confirm::question(tool, arguments.as_ref()) {
            let reply = (input_responses.as_ref(), request_state.as_deref());
            let mode = selection.options.confirm;
            match confirm::confirm(mode, tool.name, arguments.as_ref(), &question, reply, context).await? {
                confirm::Outcome::Go => {}
                confirm::Outcome::Answer(answer) => return Ok(*answer),
            }
        }
        let client = match resolve_client(state, scope(context), metrics, &context.meta.0.0) {
            Ok(client) => client,
            Err(message) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "docspace-mcp is not configured: {message}"
                ))])
                .into());
            }
        };
        let client = &client;
        let progress = context.meta.get_progress_token().map(|token| Progress { peer: context.peer.clone(), token });
        let cx = selection.options.invoke_context(progress, metrics.cloned(), span.cloned());
        let drain = scope(context).and_then(|s| s.drain.clone()).unwrap_or_default();
        if drain.is_draining() {
            return Err(ErrorData::new(ErrorCode(-32000), SHUTTING_DOWN, None));
        }
        let _in_flight = drain.enter();
        let started = std::time::Instant::now();
        let result = tokio::select! {
            result = invoke(client, tool, arguments, &cx) => result,
            () = context.ct.cancelled() => {
                tracing::info!(tool = tool.name, "tool call cancelled by the client");
                CallToolResult::error(vec![ContentBlock::text("the call was cancelled")])
            }
            () = drain.0.cut.cancelled() => {
                tracing::warn!(tool = tool.name, "tool call ended by the shutdown's grace period (DOCSPACE_SHUTDOWN_GRACE)");
                return Err(ErrorData::new(
                    ErrorCode(-32000),
                    format!("{SHUTTING_DOWN} (the call was still running when the grace period ended; DocSpace may \
                             have made its change all the same: check before calling `{}` again)", tool.name),
                    None,
                ));
            }
        };
        tracing::debug!(tool = tool.name, elapsed_ms = started.elapsed().as_millis() as u64, "tool call finished");
        let result = cut(result, selection.options.max_result_bytes);
        if result.is_error == Some(true) {
            let message: Vec<&str> =
                result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.as_str())).collect();
            self.notify(
                context,
                LoggingLevel::Warning,
                serde_json::json!({"tool": tool.name, "error": message.join("\n")}),
            )
            .await;
        }
        Ok(result.into())
    }
}

/// The client a call uses: the request's own (an OAuth token), else the
/// session's, with the request's upstream headers added.
/// `result` with its text at most `max` bytes (0: no limit): the block that
/// crosses the limit is cut at a character boundary, later blocks and the
/// structured copy are dropped, and a last block says so and how to ask for less.
fn cut(mut result: CallToolResult, max: usize) -> CallToolResult {
    let total: usize = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.len()).sum();
    if max == 0 || total <= max {
        return result;
    }
    let mut room = max;
    let mut kept = Vec::new();
    for block in std::mem::take(&mut result.content) {
        let ContentBlock::Text(mut text) = block else {
            kept.push(block);
            continue;
        };
        if text.text.len() > room {
            let mut end = room;
            while !text.text.is_char_boundary(end) {
                end -= 1;
            }
            text.text.truncate(end);
            kept.push(ContentBlock::Text(text));
            break;
        }
        room -= text.text.len();
        kept.push(ContentBlock::Text(text));
    }
    kept.push(ContentBlock::text(format!(
        "[cut: this result is {total} bytes; the first {max} are above (DOCSPACE_MAX_RESULT_BYTES). Ask for less: \
         a smaller `count` with `startIndex`, a filter, or one item at a time.]"
    )));
    result.content = kept;
    result.structured_content = None;
    result
}

fn resolve_client(
    state: &State,
    scope: Option<&CallScope>,
    metrics: Option<&Arc<Metrics>>,
    meta: &serde_json::Map<String, serde_json::Value>,
) -> Result<Client, String> {
    let own = scope.and_then(|s| s.client.as_ref());
    let mut client = match own.ok_or(()).or(state.client.as_ref()) {
        Ok(client) => client.clone(),
        Err(message) => return Err(message.clone()),
    };
    // The request's own trace context (`_meta.traceparent`, SEP-414) wins
    // over the HTTP request's: it names this call's span.
    let traced = TraceContext::from_meta(meta);
    if let (Some(parsed), Some(metrics)) = (&traced, metrics) {
        metrics.trace_context(TraceSource::Meta, parsed.is_some());
    }
    let traced = traced.flatten();
    let headers = scope.map(|s| s.upstream_headers.as_slice()).unwrap_or_default();
    for (name, value) in headers {
        if traced.is_some() && (name == TRACEPARENT || name == TRACESTATE) {
            continue;
        }
        client = client.with_header(name.clone(), value.clone());
    }
    for (name, value) in traced.map(|t| t.headers()).unwrap_or_default() {
        client = client.with_header(name, value);
    }
    Ok(client)
}

/// Severity order of MCP log levels (RFC 5424).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

//! Running a tool: arguments checked against its input schema
//! ([`validate`]), then (with the overlay's defaults) into the client's
//! dispatch, and whatever comes back into an MCP `CallToolResult`, listings
//! in their compact shape ([`listing`]).
//!
//! Every outcome a client or DocSpace can produce becomes a result: data as
//! compact JSON text (plus `structuredContent` where the tool declares an
//! output schema), failures as `isError: true` with a message a model can act
//! on and never with structured content.

use base64::Engine as _;
use docspace_mcp_client::dispatch::{Args, CallError, Output};
use docspace_mcp_client::{Client, dispatch, multipart};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::{Metrics, status_label};
use crate::spans::{Answer, Span};
use crate::tools::catalogue::{self, ToolDef};
use crate::tools::file_operations::{self, Progress, Waited, Waiting};
use crate::tools::{listing, validate, workflows};
use crate::trace::TRACEPARENT;

/// What a call may use besides its arguments.
#[derive(Clone, Default)]
pub(crate) struct Context {
    /// How to wait for file operations before answering with their ids.
    pub waiting: Waiting,
    /// The time limit of one DocSpace request (named in timeout errors).
    pub request_timeout: Duration,
    /// Where progress goes, when the client sent a progress token.
    pub progress: Option<Progress>,
    /// Where the call's DocSpace requests are timed.
    pub calls: Calls,
}

/// Where the DocSpace requests of a tool call are timed, by operation and
/// answer (`docspace_mcp_docspace_request_duration_seconds`), and traced (a
/// span per request, whose id the request's `traceparent` carries); neither
/// when metrics and spans are off. Every DocSpace request a tool makes goes
/// through it.
#[derive(Clone, Default)]
pub(crate) struct Calls {
    metrics: Option<Arc<Metrics>>,
    /// The tool call's span, parent of each request's.
    span: Option<Span>,
}

impl Calls {
    /// Timing into `metrics`, when there are metrics; a span per request
    /// under `span`, when there is one.
    pub(crate) fn new(metrics: Option<Arc<Metrics>>, span: Option<Span>) -> Self {
        Self { metrics, span }
    }

    /// Runs `call`, a DocSpace request for `operation` made with the client
    /// it is handed (`client`, or with spans on a copy whose `traceparent`
    /// names the request's span), and records how long it took and how it
    /// ended (`status` reads the status of an answer). A call refused before
    /// any request left (a missing or invalid argument) is not a DocSpace
    /// request and is not timed.
    pub(crate) async fn timed<T, F>(
        &self,
        client: &Client,
        operation: &'static str,
        call: impl FnOnce(Client) -> F,
        status: impl Fn(&T) -> u16,
    ) -> Result<T, CallError>
    where
        F: Future<Output = Result<T, CallError>>,
    {
        if self.metrics.is_none() && self.span.is_none() {
            return call(client.clone()).await;
        }
        let span = self.span.as_ref().map(|s| s.docspace_request(operation));
        let client = match span.as_ref().and_then(Span::traceparent) {
            Some(traceparent) => client.with_header(TRACEPARENT.clone(), traceparent),
            None => client.clone(),
        };
        let started = Instant::now();
        let result = call(client).await;
        let answer = match &result {
            Ok(answer) => Some(Answer::Status(status(answer))),
            Err(CallError::Upstream { status, .. } | CallError::Malformed { status, .. }) => {
                Some(Answer::Status(*status))
            }
            Err(CallError::Timeout(_)) => Some(Answer::Failed("timeout")),
            Err(CallError::Transport(_)) => Some(Answer::Failed("unreachable")),
            Err(CallError::TooLarge { .. }) => Some(Answer::Failed("too_large")),
            Err(
                CallError::MissingArgument(_)
                | CallError::InvalidArgument { .. }
                | CallError::InvalidRequest(_)
                | CallError::UnknownOperation(_),
            ) => None,
        };
        if let (Some(metrics), Some(answer)) = (&self.metrics, answer) {
            let label = match answer {
                Answer::Status(status) => status_label(status),
                Answer::Failed(why) => why,
            };
            metrics.docspace_request(operation, label, started.elapsed());
        }
        if let Some(span) = span {
            span.end_docspace_request(answer.unwrap_or(Answer::Failed("invalid_request")));
        }
        result
    }

    /// The generated client's call of `operation`, timed.
    pub(crate) async fn dispatch(
        &self,
        client: &Client,
        operation: &'static str,
        args: &Args,
    ) -> Result<Output, CallError> {
        self.timed(client, operation, |c| async move { dispatch(&c, operation, args).await }, Output::status).await
    }
}

trait Status {
    fn status(&self) -> u16;
}

impl Status for Output {
    fn status(&self) -> u16 {
        match self {
            Output::Json { status, .. } | Output::Bytes { status, .. } | Output::Empty { status } => *status,
        }
    }
}

/// Binary results larger than this are described, not inlined.
pub(crate) const MAX_INLINE_BINARY: usize = 1024 * 1024;

/// Calls `tool` with `arguments`.
pub(crate) async fn invoke(client: &Client, tool: &ToolDef, arguments: Option<Args>, cx: &Context) -> CallToolResult {
    let mut arguments = arguments.unwrap_or_default();
    if let Err(message) = validate::check(tool, &mut arguments) {
        tracing::info!(tool = tool.name, "tool call refused: {message}");
        return CallToolResult::error(vec![ContentBlock::text(message)]);
    }
    if let Some((target, fixed)) = workflows::preset(tool.name)
        && let Some(target) = catalogue::find(target)
    {
        if let Some((name, value)) = fixed {
            arguments.insert(name.into(), Value::Bool(value));
        }
        return Box::pin(invoke(client, target, Some(arguments), cx)).await;
    }
    let shape = listing::Shape::of(tool, &mut arguments);
    let args = prepare(tool, arguments);
    if tool.workflow {
        let mut result = workflows::run(tool.name, client, &args, cx).await;
        // Uploads and searches name files: link them (their text is JSON).
        if result.is_error != Some(true) && matches!(tool.name, "upload_file" | "search_files" | "get_recent_files") {
            let value =
                result.content.first().and_then(|c| c.as_text()).and_then(|t| serde_json::from_str(&t.text).ok());
            result.content.extend(value.as_ref().map(crate::tools::links::of).unwrap_or_default());
        }
        return result;
    }
    let outcome = match multipart::operation(tool.operation_id) {
        Some(op) => {
            let args = &args;
            let send = |c: Client| async move { multipart::send(&c, op, args).await };
            cx.calls.timed(client, tool.operation_id, send, Output::status).await
        }
        None => cx.calls.dispatch(client, tool.operation_id, &args).await,
    };
    match outcome {
        Ok(Output::Json { status, value, mismatch }) => {
            let pending = file_operations::pending(&value);
            if pending.is_empty() {
                let value = match &shape {
                    Some(shape) => shape.apply(value, &args),
                    None => value,
                };
                return success(tool, Output::Json { status, value, mismatch });
            }
            finish_operations(client, tool, status, value, &pending, cx).await
        }
        Ok(output) => success(tool, output),
        Err(e) => failure(tool, &e, cx),
    }
}

/// The tool's arguments as the operation takes them: the reference server's
/// nested `filters` object spread out, defaults filled in, and renamed or
/// lifted body members put back under their parameter names and into `body`.
pub(crate) fn prepare(tool: &ToolDef, mut args: Args) -> Args {
    // The reference server nests query options under `filters` (with a
    // partial-response `fields` list we do not need); accept that shape too.
    if let Some(Value::Object(filters)) = args.get("filters")
        && !tool.input_schema().get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key("filters"))
    {
        let filters = filters.clone();
        args.remove("filters");
        for (k, v) in filters {
            if k != "fields" {
                args.entry(k).or_insert(v);
            }
        }
    }
    if let Ok(Value::Object(defaults)) = serde_json::from_str::<Value>(tool.defaults) {
        for (k, v) in defaults {
            args.entry(k).or_insert(v);
        }
    }
    for (argument, target) in tool.arguments {
        let Some(value) = args.remove(*argument) else { continue };
        match target.strip_prefix("body.") {
            Some(member) => {
                let body = args.entry("body").or_insert_with(|| Value::Object(serde_json::Map::new()));
                if let Value::Object(body) = body {
                    body.entry(member).or_insert(value);
                }
            }
            None => {
                args.entry(*target).or_insert(value);
            }
        }
    }
    if tool.flatten_body {
        args.entry("body").or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    args
}

/// Waits for the file operations a call started and answers with their final
/// state (or, past the deadline, their latest state and how to check later).
async fn finish_operations(
    client: &Client,
    tool: &ToolDef,
    status: u16,
    mut value: Value,
    pending: &[String],
    cx: &Context,
) -> CallToolResult {
    let (statuses, timed_out) = match file_operations::wait(client, pending, cx).await {
        Ok(Waited::Finished(s)) => (s, false),
        Ok(Waited::TimedOut(s)) => (s, true),
        Err(e) => return failure(tool, &e, cx),
    };
    if let Some(failed) = statuses.iter().find_map(file_operations::failure) {
        return CallToolResult::error(vec![ContentBlock::text(format!(
            "DocSpace started the operation but it failed: {failed}"
        ))]);
    }
    let updated = |op: &Value| -> Value {
        let id = op.get("id");
        statuses.iter().find(|s| s.get("id") == id).cloned().unwrap_or_else(|| op.clone())
    };
    if let Some(response) = value.get_mut("response") {
        let replaced = match &*response {
            Value::Array(items) => Value::Array(items.iter().map(updated).collect()),
            other => updated(other),
        };
        *response = replaced;
    }
    let mut result = success(tool, Output::Json { status, value, mismatch: None });
    if timed_out {
        result.content.push(ContentBlock::text(format!(
            "Still running after {} s: file operation(s) {}. Check them later with get_operation_statuses (argument `id`).",
            cx.waiting.timeout.as_secs(),
            pending.join(", ")
        )));
    }
    result
}

fn success(tool: &ToolDef, output: Output) -> CallToolResult {
    match output {
        Output::Json { value, mismatch, .. } => {
            let text = value.to_string();
            let mut content = vec![ContentBlock::text(text)];
            content.extend(crate::tools::links::of(&value));
            let mut result = CallToolResult::success(content);
            if let Some(why) = &mismatch {
                tracing::warn!(tool = tool.name, "DocSpace's response does not match the OpenAPI description: {why}");
            }
            // A response that broke the description might not fit the output
            // schema either: then the text alone carries it.
            if tool.output_schema_at.is_some() && value.is_object() && mismatch.is_none() {
                result.structured_content = Some(value);
            }
            result
        }
        Output::Bytes { content_type, bytes, status } => {
            let kind = content_type.unwrap_or_else(|| "unknown type".to_owned());
            match std::str::from_utf8(&bytes) {
                Ok(text) => CallToolResult::success(vec![ContentBlock::text(text.to_owned())]),
                Err(_) if bytes.len() <= MAX_INLINE_BINARY => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    CallToolResult::success(vec![ContentBlock::text(format!(
                        "HTTP {status}: {} bytes of {kind} (binary), base64-encoded:\n{encoded}",
                        bytes.len()
                    ))])
                }
                Err(_) => CallToolResult::success(vec![ContentBlock::text(format!(
                    "HTTP {status}: {} bytes of {kind} (binary); too large to return inline (limit {MAX_INLINE_BINARY} bytes)",
                    bytes.len()
                ))]),
            }
        }
        Output::Empty { status } => {
            CallToolResult::success(vec![ContentBlock::text(format!("Done: HTTP {status}, no content."))])
        }
    }
}

/// What a change whose answer was lost may have done. The soak
/// (`benches/soak.rs`) finds nearly half the writes that timed out done
/// after all: a caller that simply retried would make them twice.
pub(crate) fn maybe_done(tool: &str) -> String {
    format!(
        "DocSpace may have made the change all the same: check before calling `{tool}` again, or it may be made twice."
    )
}

/// Where the portal address comes from, as the user sets it.
const PORTAL_SETTING: &str =
    "DOCSPACE_BASE_URL (over HTTP, a session's X-Mcp-Base-Url header or base_url query parameter names it instead)";

fn failure(tool: &ToolDef, e: &CallError, cx: &Context) -> CallToolResult {
    let maybe = if tool.read_only { String::new() } else { format!(" {}", maybe_done(tool.name)) };
    let message = match e {
        CallError::Transport(m) => {
            // Refused, unresolved or a failed handshake: the request never left.
            let maybe = if m.contains("closed before an answer") { maybe.as_str() } else { "" };
            format!("{e}. Check the portal address, {PORTAL_SETTING}, and that this server can reach it.{maybe}")
        }
        CallError::Timeout(_) => format!(
            "{e}: DOCSPACE_REQUEST_TIMEOUT is {} s; raise it if the portal is slow, or check {PORTAL_SETTING}.{maybe}",
            cx.request_timeout.as_secs()
        ),
        CallError::MissingArgument(_) | CallError::InvalidArgument { .. } => {
            format!("{e}. `{}` takes the arguments described by its input schema.", tool.name)
        }
        CallError::Upstream { status: 401, .. } => format!("{e}. The configured DocSpace credentials were rejected."),
        CallError::Upstream { status: 403, .. } => format!("{e}. The DocSpace user lacks permission for this."),
        CallError::Upstream { status: 404, .. } => format!("{e}. Check the ids passed to `{}`.", tool.name),
        CallError::Malformed { .. } if !tool.read_only => format!("{e}.{maybe}"),
        _ => e.to_string(),
    };
    tracing::info!(tool = tool.name, "tool call failed: {message}");
    CallToolResult::error(vec![ContentBlock::text(message)])
}

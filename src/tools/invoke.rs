//! Running a tool: arguments (with the overlay's defaults) into the client's
//! dispatch, and whatever comes back into an MCP `CallToolResult`.
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

use crate::tools::catalogue::ToolDef;

/// Binary results larger than this are described, not inlined.
pub const MAX_INLINE_BINARY: usize = 1024 * 1024;

/// Calls `tool` with `arguments`.
pub async fn invoke(client: &Client, tool: &ToolDef, arguments: Option<Args>) -> CallToolResult {
    let mut args = arguments.unwrap_or_default();
    if let Ok(Value::Object(defaults)) = serde_json::from_str::<Value>(tool.defaults) {
        for (k, v) in defaults {
            args.entry(k).or_insert(v);
        }
    }
    let outcome = match multipart::operation(tool.operation_id) {
        Some(op) => multipart::send(client, op, &args).await,
        None => dispatch(client, tool.operation_id, &args).await,
    };
    match outcome {
        Ok(output) => success(tool, output),
        Err(e) => failure(tool, &e),
    }
}

fn success(tool: &ToolDef, output: Output) -> CallToolResult {
    match output {
        Output::Json { value, mismatch, .. } => {
            let text = value.to_string();
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            if let Some(why) = &mismatch {
                tracing::warn!(tool = tool.name, "DocSpace's response does not match the OpenAPI description: {why}");
            }
            // A response that broke the description might not fit the output
            // schema either: then the text alone carries it.
            if tool.output_schema.is_some() && value.is_object() && mismatch.is_none() {
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

fn failure(tool: &ToolDef, e: &CallError) -> CallToolResult {
    let message = match e {
        CallError::MissingArgument(_) | CallError::InvalidArgument { .. } => {
            format!("{e}. `{}` takes the arguments described by its input schema.", tool.name)
        }
        CallError::Upstream { status: 401, .. } => format!("{e}. The configured DocSpace credentials were rejected."),
        CallError::Upstream { status: 403, .. } => format!("{e}. The DocSpace user lacks permission for this."),
        CallError::Upstream { status: 404, .. } => format!("{e}. Check the ids passed to `{}`.", tool.name),
        _ => e.to_string(),
    };
    tracing::info!(tool = tool.name, "tool call failed: {message}");
    CallToolResult::error(vec![ContentBlock::text(message)])
}

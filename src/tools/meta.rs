//! Dynamic mode: six meta tools through which a model reaches every selected
//! operation while `tools/list` stays a few hundred tokens. The five names of
//! the reference server (`list_toolsets`, `list_tools`,
//! `get_tool_input_schema`, `get_tool_output_schema`, `call_tool`) plus
//! `search_tools`, which ranks operations for a plain-language query.
//!
//! The meta tools see exactly the server's selection (toolsets, enabled and
//! disabled tools, read-only mode): `call_tool` cannot reach anything
//! `tools/list` would not have offered in the normal mode.

use std::collections::BTreeMap;
use std::sync::Arc;

use docspace_mcp_client::dispatch::Args;
use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::tools::catalogue::{self, ToolDef};
use crate::tools::search;

/// The six meta tools.
pub(crate) const NAMES: [&str; 6] =
    ["list_toolsets", "list_tools", "search_tools", "get_tool_input_schema", "get_tool_output_schema", "call_tool"];

/// The most results `search_tools` returns.
pub(crate) const MAX_RESULTS: u64 = 50;

/// The six meta tools' MCP definitions (typed, as [`ToolDef::to_tool`]
/// builds the generated ones; their annotations carry their titles too).
pub(crate) fn definitions(read_only: bool) -> Vec<Tool> {
    let tool_arg = json!({"type": "string", "description": "A tool name, as listed by list_tools or search_tools."});
    let ro = |title: &str| ToolAnnotations::with_title(title).read_only(true).open_world(false);
    let call_annotations = if read_only {
        ro("Call a DocSpace tool")
    } else {
        ToolAnnotations::with_title("Call a DocSpace tool")
            .read_only(false)
            .destructive(true)
            .idempotent(false)
            .open_world(false)
    };
    let tool = |name: &'static str, title: &'static str, description: &'static str, schema: Value, annotations| {
        let schema = match schema {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Tool::new(name, description, Arc::new(schema)).with_title(title).with_annotations(annotations)
    };
    vec![
        tool(
            "list_toolsets",
            "List toolsets",
            "List the groups of DocSpace tools available here, with how many tools each has.",
            json!({"type": "object", "properties": {}}),
            ro("List toolsets"),
        ),
        tool(
            "list_tools",
            "List tools of a toolset",
            "List the tools of one toolset (names from list_toolsets), with a short description of each.",
            json!({"type": "object", "properties": {"toolset": {"type": "string", "description": "A toolset name from list_toolsets."}}, "required": ["toolset"]}),
            ro("List tools of a toolset"),
        ),
        tool(
            "search_tools",
            "Search tools",
            "Find the DocSpace tools for a task, described in plain words (e.g. \"share a room with a user\"). Returns the best matches first.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "What you want to do."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": 10, "description": "How many tools to return."}
            }, "required": ["query"]}),
            ro("Search tools"),
        ),
        tool(
            "get_tool_input_schema",
            "Get a tool's input schema",
            "The JSON Schema of a tool's arguments; read it before call_tool.",
            json!({"type": "object", "properties": {"tool": tool_arg}, "required": ["tool"]}),
            ro("Get a tool's input schema"),
        ),
        tool(
            "get_tool_output_schema",
            "Get a tool's output schema",
            "The JSON Schema of a tool's result, when it has one.",
            json!({"type": "object", "properties": {"tool": tool_arg}, "required": ["tool"]}),
            ro("Get a tool's output schema"),
        ),
        tool(
            "call_tool",
            "Call a DocSpace tool",
            "Call a tool by name with arguments that follow its input schema (get_tool_input_schema).",
            json!({"type": "object", "properties": {
                "tool": tool_arg,
                "input": {"type": "object", "description": "The tool's arguments."}
            }, "required": ["tool"]}),
            call_annotations,
        ),
    ]
}

/// What a meta tool call asks the server to do.
#[derive(Debug)]
pub(crate) enum Action {
    /// Answer with this result.
    Answer(CallToolResult),
    /// Run this tool with these arguments.
    Call(&'static ToolDef, Args),
}

/// Handles a meta tool call over the `selected` tools (name or alias → tool).
/// `None` when `name` is not a meta tool.
pub(crate) fn handle(name: &str, args: &Args, selected: &BTreeMap<&'static str, &'static ToolDef>) -> Option<Action> {
    let tools = || selected.values().copied().collect::<Vec<_>>();
    let action = match name {
        "list_toolsets" => {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for t in dedup(tools()) {
                for ts in t.toolsets() {
                    *counts.entry(ts).or_default() += 1;
                }
            }
            let list: Vec<Value> = counts
                .iter()
                .map(|(ts, n)| json!({"name": ts, "tools": n, "description": catalogue::toolset(ts).map_or("", |d| d.description)}))
                .collect();
            answer(&Value::Array(list))
        }
        "list_tools" => match string_arg(args, "toolset") {
            Err(e) => error(&e),
            Ok(toolset) => {
                let list: Vec<Value> = dedup(tools())
                    .into_iter()
                    .filter(|t| t.toolsets().any(|ts| ts == toolset))
                    .map(|t| json!({"name": t.name, "title": t.title, "readOnly": t.read_only}))
                    .collect();
                if list.is_empty() {
                    error(&format!("no toolset `{toolset}` here; list_toolsets shows the toolsets"))
                } else {
                    answer(&Value::Array(list))
                }
            }
        },
        "search_tools" => match string_arg(args, "query") {
            Err(e) => error(&e),
            Ok(query) => {
                let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(10).clamp(1, MAX_RESULTS);
                let limit = usize::try_from(limit).unwrap_or(10);
                let hits = search::search(query, |t| selected.contains_key(t.name), limit);
                let list: Vec<Value> = hits
                    .iter()
                    .map(|(t, score)| json!({"name": t.name, "toolset": t.toolset, "title": t.title, "readOnly": t.read_only, "score": (score * 100.0).round() / 100.0}))
                    .collect();
                answer(&Value::Array(list))
            }
        },
        "get_tool_input_schema" | "get_tool_output_schema" => match tool_arg(args, selected) {
            Err(e) => error(&e),
            Ok(tool) if name == "get_tool_input_schema" => answer(&Value::Object(tool.input_schema())),
            Ok(tool) => match tool.output_schema() {
                Some(schema) => answer(&Value::Object(schema)),
                None => Action::Answer(CallToolResult::success(vec![ContentBlock::text(format!(
                    "`{}` has no output schema; its result is DocSpace's JSON answer as text",
                    tool.name
                ))])),
            },
        },
        "call_tool" => match tool_arg(args, selected) {
            Err(e) => error(&e),
            Ok(tool) => match args.get("input") {
                None | Some(Value::Null) => Action::Call(tool, Args::new()),
                Some(Value::Object(input)) => Action::Call(tool, input.clone()),
                Some(_) => error("`input` must be an object of the tool's arguments"),
            },
        },
        _ => return None,
    };
    Some(action)
}

fn dedup(mut tools: Vec<&'static ToolDef>) -> Vec<&'static ToolDef> {
    tools.sort_by_key(|t| t.name);
    tools.dedup_by_key(|t| t.name);
    tools
}

fn answer(v: &Value) -> Action {
    Action::Answer(CallToolResult::success(vec![ContentBlock::text(v.to_string())]))
}

fn error(message: &str) -> Action {
    Action::Answer(CallToolResult::error(vec![ContentBlock::text(message.to_owned())]))
}

fn string_arg<'a>(args: &'a Args, name: &str) -> Result<&'a str, String> {
    match args.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(format!("missing required argument `{name}`")),
        Some(_) => Err(format!("argument `{name}` must be a string")),
    }
}

fn tool_arg(args: &Args, selected: &BTreeMap<&'static str, &'static ToolDef>) -> Result<&'static ToolDef, String> {
    let name = string_arg(args, "tool")?;
    selected.get(name).copied().ok_or_else(|| {
        let hint = search::search(name, |t| selected.contains_key(t.name), 3)
            .into_iter()
            .map(|(t, _)| t.name)
            .collect::<Vec<_>>();
        if hint.is_empty() {
            format!("no tool `{name}` here; search_tools finds tools by what they do")
        } else {
            format!("no tool `{name}` here; did you mean {}? search_tools finds tools by what they do", hint.join(", "))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_definitions_names() {
        let names: Vec<String> = definitions(false).into_iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names, NAMES);
    }

    /// The typed definitions serialise to exactly the JSON the meta tools
    /// were first written as (kept here as the reference).
    #[test]
    fn typed_definitions_match_their_json_form() {
        fn json_definitions(read_only: bool) -> Vec<Value> {
            let tool_arg =
                json!({"type": "string", "description": "A tool name, as listed by list_tools or search_tools."});
            let ro = |title: &str| json!({"title": title, "readOnlyHint": true, "openWorldHint": false});
            let call_annotations = if read_only {
                ro("Call a DocSpace tool")
            } else {
                json!({"title": "Call a DocSpace tool", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false})
            };
            vec![
                json!({
                    "name": "list_toolsets", "title": "List toolsets",
                    "description": "List the groups of DocSpace tools available here, with how many tools each has.",
                    "inputSchema": {"type": "object", "properties": {}}, "annotations": ro("List toolsets"),
                }),
                json!({
                    "name": "list_tools", "title": "List tools of a toolset",
                    "description": "List the tools of one toolset (names from list_toolsets), with a short description of each.",
                    "inputSchema": {"type": "object", "properties": {"toolset": {"type": "string", "description": "A toolset name from list_toolsets."}}, "required": ["toolset"]},
                    "annotations": ro("List tools of a toolset"),
                }),
                json!({
                    "name": "search_tools", "title": "Search tools",
                    "description": "Find the DocSpace tools for a task, described in plain words (e.g. \"share a room with a user\"). Returns the best matches first.",
                    "inputSchema": {"type": "object", "properties": {
                        "query": {"type": "string", "description": "What you want to do."},
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": 10, "description": "How many tools to return."}
                    }, "required": ["query"]},
                    "annotations": ro("Search tools"),
                }),
                json!({
                    "name": "get_tool_input_schema", "title": "Get a tool's input schema",
                    "description": "The JSON Schema of a tool's arguments; read it before call_tool.",
                    "inputSchema": {"type": "object", "properties": {"tool": tool_arg}, "required": ["tool"]},
                    "annotations": ro("Get a tool's input schema"),
                }),
                json!({
                    "name": "get_tool_output_schema", "title": "Get a tool's output schema",
                    "description": "The JSON Schema of a tool's result, when it has one.",
                    "inputSchema": {"type": "object", "properties": {"tool": tool_arg}, "required": ["tool"]},
                    "annotations": ro("Get a tool's output schema"),
                }),
                json!({
                    "name": "call_tool", "title": "Call a DocSpace tool",
                    "description": "Call a tool by name with arguments that follow its input schema (get_tool_input_schema).",
                    "inputSchema": {"type": "object", "properties": {
                        "tool": tool_arg,
                        "input": {"type": "object", "description": "The tool's arguments."}
                    }, "required": ["tool"]},
                    "annotations": call_annotations,
                }),
            ]
        }
        for read_only in [false, true] {
            let typed: Vec<Value> = definitions(read_only).iter().map(|t| serde_json::to_value(t).unwrap()).collect();
            assert_eq!(typed, json_definitions(read_only), "read_only = {read_only}");
        }
    }
}

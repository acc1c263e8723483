//! The generated tool catalogue (one of the two `include!` sites of
//! generated code) and the MCP view of its entries.
//!
//! Each tool's MCP definition is stored as the compact JSON text of its
//! `tools/list` entry, prepared at build time; its schemas are ranges of that
//! text, parsed only when a tool is called, shown or listed through the
//! typed path. Start-up does no work for the hundreds of tools a session
//! never sees, and `tools/list` is these bytes put together (see
//! `server::Selection`).

use std::sync::Arc;

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value};

/// One generated tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolDef {
    /// MCP tool name (`[a-z0-9_]{1,64}`).
    pub name: &'static str,
    /// Other names that reach this tool.
    pub aliases: &'static [&'static str],
    /// DocSpace operationId.
    pub operation_id: &'static str,
    /// Human title.
    pub title: &'static str,
    /// Description shown to the model.
    pub description: &'static str,
    /// Tag-derived toolset.
    pub toolset: &'static str,
    /// Tag-group-derived group.
    pub group: &'static str,
    /// Curated toolsets the tool also belongs to.
    pub extra_toolsets: &'static [&'static str],
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// The MCP definition as in `tools/list`, compact JSON text (for a
    /// listing tool, without the `verbosity` argument the runtime adds: see
    /// [`ToolDef::listed_json`]).
    pub mcp: &'static str,
    /// Where the input schema is in `mcp` (byte range).
    pub input_schema_at: (usize, usize),
    /// Where the output schema is in `mcp`, if the tool has one.
    pub output_schema_at: Option<(usize, usize)>,
    /// Annotation.
    pub read_only: bool,
    /// Annotation.
    pub destructive: bool,
    /// Annotation.
    pub idempotent: bool,
    /// Parameters hidden from the schema.
    pub hidden: &'static [&'static str],
    /// Arguments named or placed differently from the operation's
    /// parameters: (argument, parameter name or `body.member`).
    pub arguments: &'static [(&'static str, &'static str)],
    /// The body's members are top-level arguments.
    pub flatten_body: bool,
    /// Defaults for absent arguments, a JSON object as text.
    pub defaults: &'static str,
    /// Served by the multipart client.
    pub multipart: bool,
    /// Needs no authentication.
    pub public: bool,
    /// A handwritten workflow tool (see `tools::workflows`), not one operation.
    pub workflow: bool,
}

/// One toolset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolsetDef {
    /// Name.
    pub name: &'static str,
    /// OpenAPI tag (empty for curated toolsets).
    pub tag: &'static str,
    /// Group.
    pub group: &'static str,
    /// Description.
    pub description: &'static str,
}

#[allow(clippy::all, missing_docs)]
mod generated {
    use super::{ToolDef, ToolsetDef};
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

pub use generated::{
    API_VERSION, CORE, CORE_TOOLSETS, EXCLUDED, NORMALISATION, SEARCH_DOC_LEN, SEARCH_TERMS, TOOLS, TOOLSETS,
};

/// Looks a tool up by name or alias.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    TOOLS
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .and_then(|i| TOOLS.get(i))
        .or_else(|| TOOLS.iter().find(|t| t.aliases.contains(&name)))
}

/// Looks a toolset up by name.
pub fn toolset(name: &str) -> Option<&'static ToolsetDef> {
    TOOLSETS.iter().find(|t| t.name == name)
}

impl ToolDef {
    /// Every toolset the tool is in.
    pub fn toolsets(&self) -> impl Iterator<Item = &'static str> + use<> {
        std::iter::once(self.toolset).chain(self.extra_toolsets.iter().copied())
    }

    /// The input schema as JSON text, as generated.
    pub fn input_schema_text(&self) -> &'static str {
        self.mcp.get(self.input_schema_at.0..self.input_schema_at.1).unwrap_or("{}")
    }

    /// The output schema as JSON text, if the tool has one.
    pub fn output_schema_text(&self) -> Option<&'static str> {
        self.output_schema_at.map(|(start, end)| self.mcp.get(start..end).unwrap_or("{}"))
    }

    /// The tool's `tools/list` entry as JSON text: the prepared bytes, or
    /// for a listing tool (which takes `verbosity`) [`Self::to_tool`]
    /// serialised.
    pub fn listed_json(&self) -> std::borrow::Cow<'static, str> {
        if crate::tools::listing::is_listing(self) {
            std::borrow::Cow::Owned(serde_json::to_string(&self.to_tool()).unwrap_or_default())
        } else {
            std::borrow::Cow::Borrowed(self.mcp)
        }
    }

    /// The input schema as JSON (listing tools also take `verbosity`, see
    /// `tools::listing`).
    pub fn input_schema(&self) -> Map<String, Value> {
        let mut schema = parse_object(self.input_schema_text());
        if crate::tools::listing::is_listing(self)
            && let Some(Value::Object(props)) = schema.get_mut("properties")
        {
            props.insert(crate::tools::listing::ARGUMENT.into(), crate::tools::listing::argument_schema());
        }
        schema
    }

    /// The output schema as JSON.
    pub fn output_schema(&self) -> Option<Map<String, Value>> {
        self.output_schema_text().map(parse_object)
    }

    /// The MCP `Tool` (as in `tools/list`), its strings borrowed from the
    /// catalogue so that each `tools/list` answer clones pointers, not text.
    pub fn to_tool(&self) -> Tool {
        // destructiveHint and idempotentHint mean nothing for read-only tools;
        // the title is the tool's own `title` (not repeated in the annotations).
        let annotations = if self.read_only {
            ToolAnnotations::new().read_only(true).open_world(false)
        } else {
            ToolAnnotations::new()
                .read_only(false)
                .destructive(self.destructive)
                .idempotent(self.idempotent)
                .open_world(false)
        };
        let tool = Tool::new(self.name, self.description, Arc::new(self.input_schema()))
            .with_title(self.title)
            .with_annotations(annotations);
        match self.output_schema() {
            Some(schema) => tool.with_raw_output_schema(Arc::new(schema)),
            None => tool,
        }
    }

    /// [`Self::to_tool`] as JSON.
    pub fn to_mcp(&self) -> Value {
        serde_json::to_value(self.to_tool()).unwrap_or(Value::Null)
    }

    /// Its annotations in short, as `tools list` and the snapshot index show
    /// them: `RO` read-only, `D` destructive, `I` idempotent (comma-separated).
    pub fn hints(&self) -> String {
        [(self.read_only, "RO"), (self.destructive, "D"), (self.idempotent, "I")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, h)| *h)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether the tool is in the default catalogue.
    pub fn is_core(&self) -> bool {
        self.toolsets().any(|ts| CORE_TOOLSETS.contains(&ts))
    }

    /// The size of [`Self::to_mcp`] as compact JSON, in bytes.
    pub fn mcp_size(&self) -> usize {
        self.to_mcp().to_string().len()
    }
}

/// The schemas are generated by us and checked by the tests; an empty
/// object stands in if one ever failed to parse.
fn parse_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

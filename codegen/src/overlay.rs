//! `openapi/tools.toml`: the curation overlay on top of the generated
//! catalogue. Entries are keyed by operationId; an entry naming an operation
//! or a parameter that does not exist is an error, so the overlay can never
//! silently rot when the description changes.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::{Error, Result};

/// The parsed overlay.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// The default catalogue: the curated toolsets served when none is asked for.
    #[serde(default)]
    pub core: Core,
    /// Toolset names for OpenAPI tags, replacing snake_case(tag) (e.g. to free
    /// a name for a curated toolset).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Descriptions of toolsets, generated or curated, by name.
    #[serde(default)]
    pub toolsets: BTreeMap<String, ToolsetOverlay>,
    /// Per-operation curation, keyed by operationId.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolOverlay>,
    /// Handwritten workflow tools (one user action, several REST calls), keyed
    /// by tool name; the runtime supplies a handler for each.
    #[serde(default)]
    pub workflows: BTreeMap<String, WorkflowOverlay>,
}

/// `[workflows.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowOverlay {
    /// Human title.
    pub title: String,
    /// What the tool does, for the model.
    pub description: String,
    /// Toolsets it belongs to (the first is its primary toolset).
    pub toolsets: Vec<String>,
    /// JSON Schema of the arguments (object root).
    pub input_schema: toml::Value,
    /// Annotation.
    #[serde(default)]
    pub read_only: bool,
    /// Annotation.
    #[serde(default)]
    pub destructive: bool,
    /// Annotation.
    #[serde(default)]
    pub idempotent: bool,
}

/// `[core]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Core {
    /// The curated toolsets that make up the default catalogue. Each must be
    /// curated (tools join it with `toolsets = [...]`), not tag-derived.
    #[serde(default)]
    pub toolsets: Vec<String>,
}

/// `[toolsets.<name>]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsetOverlay {
    /// What the toolset is for, shown by `list_toolsets` and `tools list`.
    pub description: Option<String>,
}

/// `[tools.<operationId>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolOverlay {
    /// A better tool name than snake_case(operationId).
    pub name: Option<String>,
    /// Other names that also reach this tool (e.g. the generated name after a rename).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Replaces the generated description.
    pub description: Option<String>,
    /// Replaces the generated title.
    pub title: Option<String>,
    /// Further toolsets the tool belongs to (curated ones such as `files`).
    #[serde(default)]
    pub toolsets: Vec<String>,
    /// Parameters removed from the input schema (their default, if any, is
    /// sent); `body.member` (or deeper, `body.a.b`) removes a body member.
    #[serde(default)]
    pub hidden: Vec<String>,
    /// Default values for parameters, shown in the schema and applied when absent.
    #[serde(default)]
    pub defaults: BTreeMap<String, toml::Value>,
    /// Overrides the read-only annotation derived from the HTTP method.
    pub read_only: Option<bool>,
    /// Leaves the operation out of the catalogue.
    #[serde(default)]
    pub exclude: bool,
    /// After a rename, whether the generated name stays an alias (set false to
    /// free it for a workflow tool of that name).
    #[serde(default = "yes")]
    pub generated_alias: bool,
    /// Whether the tool keeps its output schema (false saves its tokens in `tools/list`).
    #[serde(default = "yes")]
    pub output_schema: bool,
    /// Lifts the request body's members to top-level arguments (the call puts
    /// them back into the body).
    #[serde(default)]
    pub flatten_body: bool,
    /// Argument renames: `id = "roomId"` for a parameter, `"body.title" = "name"`
    /// for a body member lifted by `flatten_body`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl Default for ToolOverlay {
    fn default() -> Self {
        Self {
            name: None,
            aliases: Vec::new(),
            description: None,
            title: None,
            toolsets: Vec::new(),
            hidden: Vec::new(),
            defaults: BTreeMap::new(),
            read_only: None,
            exclude: false,
            generated_alias: true,
            output_schema: true,
            flatten_body: false,
            params: BTreeMap::new(),
        }
    }
}

impl Overlay {
    /// Parses `tools.toml` text.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Overlay(e.to_string()))
    }

    /// Checks that every entry names an operation of `operation_ids`.
    pub fn check_operations<'a>(&self, mut operation_ids: impl FnMut(&str) -> bool + 'a) -> Result<()> {
        let unknown: Vec<&str> = self.tools.keys().map(String::as_str).filter(|id| !operation_ids(id)).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Error::Overlay(format!(
                "[tools.*] names operations the description does not have: {} (keys are operationIds, e.g. getFileInfo)",
                unknown.join(", ")
            )))
        }
    }
}

/// Converts a TOML value into JSON (for parameter defaults).
pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

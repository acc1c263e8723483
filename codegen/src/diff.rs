//! What a change of DocSpace description means for MCP clients: two
//! catalogues in, a report of the MCP-level change out (`docspace-mcp tools
//! diff`).
//!
//! The OpenAPI-level diff is not the point: a reviewer wants to know which
//! tools the agents of their users will stop finding, which calls that
//! worked will now be refused, and what to curate. So the report is about
//! tools:
//! - tools added, removed, renamed (the same operationId under a new name,
//!   a changed operationId on the same method and path, or the old name kept
//!   as an alias) and moved between toolsets;
//! - per tool, every change of its input schema, annotations, method or path
//!   and output schema, classified [`Impact::Breaking`] (a call or a
//!   structured-content consumer that worked may fail) or
//!   [`Impact::Compatible`];
//! - the curated layer: `openapi/tools.toml` entries that no longer apply,
//!   tools of the default catalogue affected, and what changes for the
//!   dynamic mode's search index.
//!
//! Each side is a [`Side`]: built from a description (with the overlay, its
//! entries that do not apply left out and reported) or read from a
//! catalogue dump (`docspace-mcp tools dump`, or the `tools/list` array of
//! any build). Everything is sorted, so the same inputs give the same
//! report, byte for byte.

mod markdown;
mod schema;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalogue::{self, Catalogue, OverlayProblem, ToolSpec};
use crate::overlay::Overlay;
use crate::search::{self, Indexed};
use crate::{Error, Result};

/// The `format` of a catalogue dump.
pub const DUMP_FORMAT: &str = "docspace-mcp-catalogue/1";

/// One tool, as the diff sees it: its MCP definition and, when the side
/// knows them, its operation, toolsets and place in the default catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// MCP name.
    pub name: String,
    /// Other names that reach it, when known.
    pub aliases: Option<Vec<String>>,
    /// The DocSpace operationId (None for workflow tools and bare `tools/list` dumps).
    pub operation_id: Option<String>,
    /// Upper-case HTTP method, when known.
    pub method: Option<String>,
    /// Path template, when known.
    pub path: Option<String>,
    /// Toolsets, the primary one first, when known.
    pub toolsets: Option<Vec<String>>,
    /// In the default catalogue, when known.
    pub core: Option<bool>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Input schema.
    pub input_schema: Value,
    /// Output schema.
    pub output_schema: Option<Value>,
    /// `readOnlyHint`.
    pub read_only: bool,
    /// `destructiveHint` (false for read-only tools).
    pub destructive: bool,
    /// `idempotentHint` (false for read-only tools).
    pub idempotent: bool,
}

impl Tool {
    /// The tool of a generated catalogue.
    pub fn from_spec(t: &ToolSpec, core: bool) -> Self {
        Self {
            name: t.name.clone(),
            aliases: Some(t.aliases.clone()),
            operation_id: Some(t.operation_id.clone()).filter(|id| !id.is_empty()),
            method: Some(t.method.clone()).filter(|m| !m.is_empty()),
            path: Some(t.path.clone()).filter(|p| !p.is_empty()),
            toolsets: Some(std::iter::once(t.toolset.clone()).chain(t.extra_toolsets.iter().cloned()).collect()),
            core: Some(core),
            title: t.title.clone(),
            description: t.description.clone(),
            input_schema: t.input_schema.clone(),
            output_schema: t.output_schema.clone(),
            read_only: t.read_only,
            destructive: !t.read_only && t.destructive,
            idempotent: !t.read_only && t.idempotent,
        }
    }

    /// The tool's entry in a dump: its MCP definition (as `tools/list` and
    /// `tools show` print it) plus `x-docspace`.
    pub fn to_dump(&self) -> Value {
        let annotations = if self.read_only {
            json!({"readOnlyHint": true, "openWorldHint": false})
        } else {
            json!({"readOnlyHint": false, "destructiveHint": self.destructive, "idempotentHint": self.idempotent, "openWorldHint": false})
        };
        let mut out = Map::new();
        out.insert("name".into(), json!(self.name));
        out.insert("title".into(), json!(self.title));
        out.insert("description".into(), json!(self.description));
        out.insert("inputSchema".into(), self.input_schema.clone());
        if let Some(o) = &self.output_schema {
            out.insert("outputSchema".into(), o.clone());
        }
        out.insert("annotations".into(), annotations);
        out.insert(
            "x-docspace".into(),
            json!({
                "operationId": self.operation_id, "method": self.method, "path": self.path,
                "toolsets": self.toolsets, "aliases": self.aliases, "core": self.core,
            }),
        );
        Value::Object(out)
    }

    /// Reads one entry of a dump (an MCP tool definition, `x-docspace` optional).
    fn from_dump(v: &Value) -> Result<Self> {
        let name = v.get("name").and_then(Value::as_str).ok_or_else(|| dump_error("a tool has no `name`"))?;
        let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let hint = |key: &str| v.pointer(&format!("/annotations/{key}")).and_then(Value::as_bool) == Some(true);
        let x = v.get("x-docspace");
        let x_text = |key: &str| x.and_then(|x| x.get(key)).and_then(Value::as_str).map(str::to_owned);
        let strings = |value: Option<&Value>| -> Option<Vec<String>> {
            value?.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        };
        let read_only = hint("readOnlyHint");
        Ok(Self {
            name: name.to_owned(),
            aliases: strings(x.and_then(|x| x.get("aliases"))),
            operation_id: x_text("operationId").filter(|s| !s.is_empty()),
            method: x_text("method").filter(|s| !s.is_empty()).map(|m| m.to_uppercase()),
            path: x_text("path").filter(|s| !s.is_empty()),
            toolsets: strings(x.and_then(|x| x.get("toolsets"))),
            core: x.and_then(|x| x.get("core")).and_then(Value::as_bool),
            title: text("title"),
            description: text("description"),
            input_schema: v.get("inputSchema").cloned().unwrap_or_else(|| json!({"type": "object"})),
            output_schema: v.get("outputSchema").cloned(),
            read_only,
            destructive: !read_only && hint("destructiveHint"),
            idempotent: !read_only && hint("idempotentHint"),
        })
    }

    /// Whether `name` is one of its aliases.
    fn has_alias(&self, name: &str) -> bool {
        self.aliases.as_ref().is_some_and(|a| a.iter().any(|x| x == name))
    }

    /// `METHOD path`, or `workflow` / `?`.
    fn operation(&self) -> String {
        match (&self.method, &self.path) {
            (Some(m), Some(p)) => format!("{m} {p}"),
            _ if self.toolsets.is_some() && self.operation_id.is_none() => "workflow".into(),
            _ => "?".into(),
        }
    }

    fn indexed(&self) -> Vec<String> {
        let primary = self.toolsets.as_ref().and_then(|t| t.first()).map_or("", String::as_str);
        search::document(Indexed {
            name: &self.name,
            title: &self.title,
            description: &self.description,
            toolset: primary,
            path: self.path.as_deref().unwrap_or_default(),
            aliases: self.aliases.as_deref().unwrap_or_default(),
            input_schema: &self.input_schema,
        })
    }
}

fn dump_error(why: &str) -> Error {
    Error::Spec(format!(
        "not a catalogue dump: {why} (expected `docspace-mcp tools dump` output or a tools/list array)"
    ))
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// Where it came from (a file name), for the report.
    pub source: String,
    /// `info.version` of the description, when known.
    pub api_version: Option<String>,
    /// The tools, sorted by name.
    pub tools: Vec<Tool>,
    /// The overlay entries that did not apply (None for a dump: unknown).
    pub overlay_problems: Option<Vec<OverlayProblem>>,
}

impl Side {
    /// A side made from a generated catalogue.
    pub fn from_catalogue(
        source: &str,
        api_version: Option<&str>,
        catalogue: &Catalogue,
        overlay_problems: Option<Vec<OverlayProblem>>,
    ) -> Self {
        let core: BTreeSet<&str> = catalogue.core.iter().map(String::as_str).collect();
        let mut tools: Vec<Tool> =
            catalogue.tools.iter().map(|t| Tool::from_spec(t, core.contains(t.name.as_str()))).collect();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Self { source: source.to_owned(), api_version: api_version.map(str::to_owned), tools, overlay_problems }
    }

    /// The dump `docspace-mcp tools dump` prints (and [`Side::load`] reads back).
    pub fn to_dump(&self) -> Value {
        json!({
            "format": DUMP_FORMAT,
            "apiVersion": self.api_version,
            "tools": self.tools.iter().map(Tool::to_dump).collect::<Vec<_>>(),
        })
    }

    /// Reads a side from a file's text: an OpenAPI description (YAML or
    /// JSON, 3.0 or 3.1), whose catalogue is built with `overlay` (entries
    /// that do not apply are left out and reported); or a catalogue dump,
    /// `docspace-mcp tools dump` output or the bare `tools/list` array that
    /// `tools list --toolsets all --json` prints (which lacks toolsets,
    /// operations and the default catalogue: those comparisons are skipped).
    pub fn load(source: &str, text: &str, overlay: &Overlay) -> Result<Self> {
        let json: Option<Value> = serde_json::from_str(text).ok();
        let dump = match &json {
            Some(Value::Array(tools)) => Some((None, tools.as_slice())),
            Some(v) if v.get("openapi").is_none() && v.get("swagger").is_none() => {
                let tools = v
                    .get("tools")
                    .or_else(|| v.pointer("/result/tools"))
                    .and_then(Value::as_array)
                    .ok_or_else(|| dump_error("a JSON object with neither `openapi` nor `tools`"))?;
                Some((v.get("apiVersion").and_then(Value::as_str).map(str::to_owned), tools.as_slice()))
            }
            _ => None,
        };
        if let Some((api_version, tools)) = dump {
            let mut tools: Vec<Tool> = tools.iter().map(Tool::from_dump).collect::<Result<_>>()?;
            tools.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(Self { source: source.to_owned(), api_version, tools, overlay_problems: None });
        }
        let prepared = match json {
            Some(doc) => crate::prepare_value(doc)?,
            None => crate::prepare(text)?,
        };
        let multipart: BTreeSet<String> = prepared.multipart.iter().map(|m| m.operation_id.clone()).collect();
        let (catalogue, problems) = catalogue::build_lenient(&prepared.doc, overlay, &multipart)?;
        Ok(Self::from_catalogue(source, Some(prepared.api_version()), &catalogue, Some(problems)))
    }
}

/// Whether a change can break a client that worked before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// A call, a selection or a structured-content consumer that worked may fail.
    Breaking,
    /// Nothing that worked stops working.
    Compatible,
}

/// One change to one tool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// The tool (its new name; its old name when it was removed).
    pub tool: String,
    /// Where: an argument path (`body.groupName`, `ids[]`), `output.member`, or empty for the tool itself.
    pub at: String,
    /// What kind of change (`parameter-removed`, `newly-required`, `enum-value-removed`, …).
    pub kind: String,
    /// Breaking or compatible.
    pub impact: Impact,
    /// What changed, in words.
    pub detail: String,
}

/// A tool in the added or removed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolRef {
    /// Name.
    pub name: String,
    /// `METHOD path` (or `workflow`, `?`).
    pub operation: String,
    /// Its toolsets, when known.
    pub toolsets: Option<Vec<String>>,
    /// In the default catalogue, when known.
    pub core: Option<bool>,
}

/// A renamed tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    /// Old name.
    pub from: String,
    /// New name.
    pub to: String,
    /// How it was recognised: `alias` (the new tool lists the old name),
    /// `operation-id` (same operationId, new name), `method-and-path` (a
    /// changed operationId on the same method and path).
    pub how: String,
    /// Calls by the old name still reach it (it is an alias).
    pub old_name_works: bool,
    /// Old and new operationId, when they differ.
    pub operation_id: Option<(String, String)>,
}

/// A tool whose toolsets changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The tool (new name).
    pub tool: String,
    /// Its old toolsets.
    pub from: Vec<String>,
    /// Its new toolsets.
    pub to: Vec<String>,
}

/// One side, summed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideSummary {
    /// File name.
    pub source: String,
    /// API version, when known.
    pub api_version: Option<String>,
    /// Number of tools.
    pub tools: usize,
}

/// The counts a reviewer reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Breaking changes (every entry of `changes` that is breaking).
    pub breaking: usize,
    /// Tools with at least one breaking change.
    pub tools_with_breaking: usize,
    /// Compatible changes.
    pub compatible: usize,
    /// Tools with at least one change and none breaking.
    pub tools_with_compatible_only: usize,
    /// Tools added.
    pub added: usize,
    /// Tools removed.
    pub removed: usize,
    /// Tools renamed.
    pub renamed: usize,
    /// Tools moved between toolsets.
    pub moved: usize,
    /// Tools of the default catalogue (old or new) with a change.
    pub core_affected: usize,
    /// Overlay entries that no longer apply.
    pub overlay_entries_broken: usize,
}

/// A tool of the default catalogue with changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoreImpact {
    /// The tool (new name; old name when removed).
    pub tool: String,
    /// Its breaking changes.
    pub breaking: usize,
    /// Its compatible changes.
    pub compatible: usize,
}

/// What the change does to the curated layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Curated {
    /// Entries of the overlay that applied to the old side but not to the new one
    /// (None when either side is a dump).
    pub no_longer_apply: Option<Vec<OverlayProblem>>,
    /// Entries that apply to neither side.
    pub still_failing: Option<Vec<OverlayProblem>>,
    /// Entries that did not apply to the old side and apply to the new one.
    pub now_apply: Option<Vec<OverlayProblem>>,
    /// Default-catalogue tools with changes.
    pub core_affected: Vec<CoreImpact>,
}

/// What changes for the dynamic mode's `search_tools` index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SearchChanges {
    /// Indexed documents before and after.
    pub documents: (usize, usize),
    /// Tools kept (under their new name) whose indexed text changed: their ranking moves.
    pub reindexed: usize,
    /// Terms no tool is indexed under any more: queries using them lose matches.
    pub terms_removed: Vec<String>,
    /// Terms new to the index.
    pub terms_added: Vec<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The old side.
    pub old: SideSummary,
    /// The new side.
    pub new: SideSummary,
    /// The counts.
    pub totals: Totals,
    /// Tools added.
    pub added: Vec<ToolRef>,
    /// Tools removed.
    pub removed: Vec<ToolRef>,
    /// Tools renamed.
    pub renamed: Vec<Rename>,
    /// Tools moved between toolsets.
    pub moved: Vec<Move>,
    /// Every change, sorted by tool, place, kind.
    pub changes: Vec<Change>,
    /// The curated layer.
    pub curated: Curated,
    /// The search index.
    pub search: SearchChanges,
}

impl Report {
    /// The report as Markdown, for a pull-request review.
    pub fn markdown(&self) -> String {
        markdown::render(self)
    }

    /// The report as pretty JSON, for tooling.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Collects changes for one tool.
pub(crate) struct Changes<'a> {
    tool: &'a str,
    out: &'a mut Vec<Change>,
}

impl Changes<'_> {
    pub(crate) fn push(&mut self, at: &str, kind: &str, impact: Impact, detail: String) {
        self.out.push(Change { tool: self.tool.to_owned(), at: at.to_owned(), kind: kind.to_owned(), impact, detail });
    }
}

/// Compares two sides.
pub fn diff(old: &Side, new: &Side) -> Report {
    let old_by: BTreeMap<&str, &Tool> = old.tools.iter().map(|t| (t.name.as_str(), t)).collect();
    let new_by: BTreeMap<&str, &Tool> = new.tools.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut pairs: Vec<(&Tool, &Tool)> =
        old.tools.iter().filter_map(|o| new_by.get(o.name.as_str()).map(|n| (o, *n))).collect();
    let mut unmatched_new: BTreeSet<&str> =
        new.tools.iter().map(|t| t.name.as_str()).filter(|n| !old_by.contains_key(n)).collect();
    let mut renamed = Vec::new();
    let mut removed_tools = Vec::new();
    for o in old.tools.iter().filter(|o| !new_by.contains_key(o.name.as_str())) {
        let candidate = |how: &str, found: Option<&&str>| found.map(|n| (how.to_owned(), (*n).to_owned()));
        let unmatched: Vec<&Tool> = unmatched_new.iter().filter_map(|n| new_by.get(n).copied()).collect();
        let by_alias = unmatched.iter().find(|n| n.has_alias(&o.name)).map(|n| n.name.as_str());
        let by_id = unmatched
            .iter()
            .find(|n| o.operation_id.is_some() && n.operation_id == o.operation_id)
            .map(|n| n.name.as_str());
        let by_place = unmatched
            .iter()
            .find(|n| o.method.is_some() && o.path.is_some() && n.method == o.method && n.path == o.path)
            .map(|n| n.name.as_str());
        let found = candidate("alias", by_alias.as_ref())
            .or_else(|| candidate("operation-id", by_id.as_ref()))
            .or_else(|| candidate("method-and-path", by_place.as_ref()));
        match found.and_then(|(how, to)| new_by.get(to.as_str()).map(|n| (how, *n))) {
            Some((how, n)) => {
                unmatched_new.remove(n.name.as_str());
                let operation_id = match (&o.operation_id, &n.operation_id) {
                    (Some(a), Some(b)) if a != b => Some((a.clone(), b.clone())),
                    _ => None,
                };
                renamed.push(Rename {
                    from: o.name.clone(),
                    to: n.name.clone(),
                    how,
                    old_name_works: n.has_alias(&o.name),
                    operation_id,
                });
                pairs.push((o, n));
            }
            None => removed_tools.push(o),
        }
    }
    let mut changes = Vec::new();
    let mut moved = Vec::new();
    for r in &renamed {
        let mut c = Changes { tool: &r.to, out: &mut changes };
        let ids = r.operation_id.as_ref().map(|(a, b)| format!("; operationId {a} → {b}")).unwrap_or_default();
        if r.old_name_works {
            c.push(
                "",
                "tool-renamed",
                Impact::Compatible,
                format!("renamed from `{}`, which stays an alias{ids}", r.from),
            );
        } else {
            let how = if r.how == "method-and-path" { " (same method and path)" } else { "" };
            c.push(
                "",
                "tool-renamed",
                Impact::Breaking,
                format!("renamed from `{}`{how}{ids}; calls by the old name fail", r.from),
            );
        }
    }
    for o in &removed_tools {
        let mut c = Changes { tool: &o.name, out: &mut changes };
        let alias_of = new.tools.iter().find(|n| n.has_alias(&o.name));
        let detail = match alias_of {
            Some(n) => format!("removed ({}); its name is now an alias of `{}`", o.operation(), n.name),
            None => format!("removed ({})", o.operation()),
        };
        c.push("", "tool-removed", Impact::Breaking, detail);
    }
    for n in unmatched_new.iter().filter_map(|n| new_by.get(n)) {
        Changes { tool: &n.name, out: &mut changes }.push(
            "",
            "tool-added",
            Impact::Compatible,
            format!("added ({})", n.operation()),
        );
    }
    for (o, n) in &pairs {
        let mut c = Changes { tool: &n.name, out: &mut changes };
        compare_tool(&mut c, o, n);
        if let (Some(a), Some(b)) = (&o.toolsets, &n.toolsets)
            && set(a) != set(b)
        {
            moved.push(Move { tool: n.name.clone(), from: a.clone(), to: b.clone() });
        }
    }
    changes.sort();
    changes.dedup();
    moved.sort_by(|a, b| a.tool.cmp(&b.tool));
    renamed.sort_by(|a, b| a.to.cmp(&b.to));
    let tool_ref = |t: &Tool| ToolRef {
        name: t.name.clone(),
        operation: t.operation(),
        toolsets: t.toolsets.clone(),
        core: t.core,
    };
    let added: Vec<ToolRef> = unmatched_new.iter().filter_map(|n| new_by.get(n)).map(|t| tool_ref(t)).collect();
    let removed: Vec<ToolRef> = removed_tools.iter().map(|t| tool_ref(t)).collect();
    let curated = curated(old, new, &pairs, &removed_tools, &changes);
    let search = search_changes(old, new, &pairs);
    let totals = totals(&changes, &added, &removed, &renamed, &moved, &curated);
    Report { old: summary(old), new: summary(new), totals, added, removed, renamed, moved, changes, curated, search }
}

fn set(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

fn summary(side: &Side) -> SideSummary {
    SideSummary { source: side.source.clone(), api_version: side.api_version.clone(), tools: side.tools.len() }
}

/// The tool-level changes, then the schemas'.
fn compare_tool(c: &mut Changes<'_>, o: &Tool, n: &Tool) {
    for (what, a, b) in [("method", &o.method, &n.method), ("path", &o.path, &n.path)] {
        if let (Some(a), Some(b)) = (a, b)
            && a != b
        {
            c.push("", &format!("{what}-changed"), Impact::Breaking, format!("HTTP {what} {a} → {b}"));
        }
    }
    if o.read_only != n.read_only {
        let detail = if n.read_only {
            "now read-only (readOnlyHint)".to_owned()
        } else {
            "no longer read-only: read-only mode (DOCSPACE_READ_ONLY) drops it, clients may ask for confirmation"
                .to_owned()
        };
        c.push("", "read-only-hint-changed", Impact::Breaking, detail);
    }
    if o.destructive != n.destructive {
        c.push(
            "",
            "destructive-hint-changed",
            Impact::Breaking,
            format!("destructiveHint {} → {}", o.destructive, n.destructive),
        );
    }
    if o.idempotent != n.idempotent {
        c.push(
            "",
            "idempotent-hint-changed",
            Impact::Compatible,
            format!("idempotentHint {} → {}", o.idempotent, n.idempotent),
        );
    }
    if let (Some(a), Some(b)) = (&o.aliases, &n.aliases) {
        for gone in a.iter().filter(|x| !b.contains(x) && **x != n.name) {
            c.push("", "alias-removed", Impact::Breaking, format!("alias `{gone}` removed; calls by it fail"));
        }
        for added in b.iter().filter(|x| !a.contains(x) && **x != o.name) {
            c.push("", "alias-added", Impact::Compatible, format!("alias `{added}` added"));
        }
    }
    if let (Some(a), Some(b)) = (&o.toolsets, &n.toolsets) {
        for left in a.iter().filter(|t| !b.contains(t)) {
            c.push(
                "",
                "toolset-left",
                Impact::Breaking,
                format!("no longer in toolset `{left}`: clients that select it (DOCSPACE_TOOLSETS) lose the tool"),
            );
        }
        for joined in b.iter().filter(|t| !a.contains(t)) {
            c.push("", "toolset-joined", Impact::Compatible, format!("now in toolset `{joined}`"));
        }
    }
    match (o.core, n.core) {
        (Some(true), Some(false)) => c.push(
            "",
            "default-catalogue-left",
            Impact::Breaking,
            "no longer in the default catalogue: clients with no DOCSPACE_TOOLSETS lose it".into(),
        ),
        (Some(false), Some(true)) => {
            c.push("", "default-catalogue-joined", Impact::Compatible, "now in the default catalogue".into());
        }
        _ => {}
    }
    if o.title != n.title {
        c.push("", "title-changed", Impact::Compatible, format!("title: {:?} → {:?}", o.title, n.title));
    }
    if o.description != n.description {
        c.push("", "description-changed", Impact::Compatible, "description changed".into());
    }
    schema::input(c, "", &o.input_schema, &n.input_schema, 0);
    match (&o.output_schema, &n.output_schema) {
        (Some(_), None) => c.push(
            "output",
            "output-schema-removed",
            Impact::Breaking,
            "no output schema any more: no structuredContent for consumers that read it".into(),
        ),
        (None, Some(_)) => {
            c.push("output", "output-schema-added", Impact::Compatible, "now has an output schema".into())
        }
        (Some(a), Some(b)) => schema::output(c, "output", a, b, 0),
        (None, None) => {}
    }
}

/// The overlay's entries, per side, and the default catalogue's tools.
fn curated(old: &Side, new: &Side, pairs: &[(&Tool, &Tool)], removed: &[&Tool], changes: &[Change]) -> Curated {
    let mut out = Curated::default();
    if let (Some(a), Some(b)) = (&old.overlay_problems, &new.overlay_problems) {
        let old_entries: BTreeSet<&str> = a.iter().map(|p| p.entry.as_str()).collect();
        let new_entries: BTreeSet<&str> = b.iter().map(|p| p.entry.as_str()).collect();
        out.no_longer_apply = Some(b.iter().filter(|p| !old_entries.contains(p.entry.as_str())).cloned().collect());
        out.still_failing = Some(b.iter().filter(|p| old_entries.contains(p.entry.as_str())).cloned().collect());
        out.now_apply = Some(a.iter().filter(|p| !new_entries.contains(p.entry.as_str())).cloned().collect());
    }
    let mut core: BTreeSet<&str> = BTreeSet::new();
    for (o, n) in pairs {
        if o.core == Some(true) || n.core == Some(true) {
            core.insert(&n.name);
        }
    }
    for t in removed.iter().filter(|t| t.core == Some(true)) {
        core.insert(&t.name);
    }
    for t in new.tools.iter().filter(|t| t.core == Some(true)) {
        if !old.tools.iter().any(|o| o.name == t.name) && !pairs.iter().any(|(_, n)| n.name == t.name) {
            core.insert(&t.name);
        }
    }
    for tool in core {
        let of = |impact: Impact| changes.iter().filter(|c| c.tool == tool && c.impact == impact).count();
        let (breaking, compatible) = (of(Impact::Breaking), of(Impact::Compatible));
        if breaking + compatible > 0 {
            out.core_affected.push(CoreImpact { tool: tool.to_owned(), breaking, compatible });
        }
    }
    out
}

fn search_changes(old: &Side, new: &Side, pairs: &[(&Tool, &Tool)]) -> SearchChanges {
    let vocabulary = |side: &Side| -> BTreeSet<String> { side.tools.iter().flat_map(Tool::indexed).collect() };
    let (before, after) = (vocabulary(old), vocabulary(new));
    let bag = |t: &Tool| {
        let mut b = t.indexed();
        b.sort();
        b
    };
    SearchChanges {
        documents: (old.tools.len(), new.tools.len()),
        reindexed: pairs.iter().filter(|(o, n)| bag(o) != bag(n)).count(),
        terms_removed: before.difference(&after).cloned().collect(),
        terms_added: after.difference(&before).cloned().collect(),
    }
}

fn totals(
    changes: &[Change],
    added: &[ToolRef],
    removed: &[ToolRef],
    renamed: &[Rename],
    moved: &[Move],
    curated: &Curated,
) -> Totals {
    let tools = |impact: Impact| -> BTreeSet<&str> {
        changes.iter().filter(|c| c.impact == impact).map(|c| c.tool.as_str()).collect()
    };
    let (breaking_tools, compatible_tools) = (tools(Impact::Breaking), tools(Impact::Compatible));
    Totals {
        breaking: changes.iter().filter(|c| c.impact == Impact::Breaking).count(),
        tools_with_breaking: breaking_tools.len(),
        compatible: changes.iter().filter(|c| c.impact == Impact::Compatible).count(),
        tools_with_compatible_only: compatible_tools.difference(&breaking_tools).count(),
        added: added.len(),
        removed: removed.len(),
        renamed: renamed.len(),
        moved: moved.len(),
        core_affected: curated.core_affected.len(),
        overlay_entries_broken: curated.no_longer_apply.as_ref().map_or(0, Vec::len),
    }
}

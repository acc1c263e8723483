//! Operations → MCP tool definitions.
//!
//! One tool per operation: the name is snake_case(operationId), the toolset
//! snake_case(tag) and the group snake_case(x-tagGroup). The input schema is
//! one object: every path and query parameter is a property under its
//! OpenAPI name, and the request body (when there is one) is the property
//! `body`. Nesting the body keeps parameter and body names from colliding
//! (three operations have a parameter and a body member of the same name)
//! and maps one-to-one onto the client's positional arguments.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::naming;
use crate::overlay::{Overlay, ToolOverlay, toml_to_json};
use crate::schema::{self, Mode, cut};
use crate::spec::{METHODS, deref};
use crate::{Error, Result};

/// One tool of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// MCP tool name.
    pub name: String,
    /// Other names that reach the tool.
    pub aliases: Vec<String>,
    /// The DocSpace operationId.
    pub operation_id: String,
    /// Human title (the operation summary).
    pub title: String,
    /// Summary and description.
    pub description: String,
    /// Tag-derived toolset.
    pub toolset: String,
    /// Tag-group-derived group (e.g. `files`), or the toolset when ungrouped.
    pub group: String,
    /// Extra (curated) toolsets from the overlay.
    pub extra_toolsets: Vec<String>,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// JSON Schema 2020-12 of the arguments (object root).
    pub input_schema: Value,
    /// Lenient schema of the result, when the response is a typed object.
    pub output_schema: Option<Value>,
    /// Annotation: does not modify anything.
    pub read_only: bool,
    /// Annotation: may destroy or overwrite data.
    pub destructive: bool,
    /// Annotation: repeating the call has no further effect.
    pub idempotent: bool,
    /// Parameters hidden from the schema.
    pub hidden: Vec<String>,
    /// Arguments the schema names differently from the operation:
    /// (argument, where it goes: a parameter name or `body.member`).
    pub arguments: Vec<(String, String)>,
    /// The body's members are top-level arguments (the call rebuilds the body).
    pub flatten_body: bool,
    /// Defaults applied to absent arguments.
    pub defaults: Map<String, Value>,
    /// Served by the multipart client.
    pub multipart: bool,
    /// The operation needs no authentication.
    pub public: bool,
    /// A handwritten workflow tool (no single operation behind it).
    pub workflow: bool,
}

/// A toolset with its tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsetSpec {
    /// Name.
    pub name: String,
    /// The OpenAPI tag it comes from (empty for curated toolsets).
    pub tag: String,
    /// Group name.
    pub group: String,
    /// Description.
    pub description: String,
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// Tools sorted by name.
    pub tools: Vec<ToolSpec>,
    /// Toolsets sorted by name.
    pub toolsets: Vec<ToolsetSpec>,
    /// The curated toolsets of the default catalogue (from the overlay).
    pub core_toolsets: Vec<String>,
    /// The tools of those toolsets, by name.
    pub core: Vec<String>,
    /// Operations left out, with the reason.
    pub excluded: Vec<(String, String)>,
}

/// What the document says about its tags: their group (`x-tagGroups`) and description.
struct Tags {
    groups: BTreeMap<String, String>,
    descriptions: BTreeMap<String, String>,
}

impl Tags {
    fn of(doc: &Value) -> Self {
        let descriptions = doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("name")?.as_str()?.to_owned(),
                    t.get("description").and_then(Value::as_str).unwrap_or("").to_owned(),
                ))
            })
            .collect();
        Self { groups: tag_groups(doc), descriptions }
    }
}

/// What every operation's tool is made with.
struct Context<'a> {
    doc: &'a Value,
    overlay: &'a Overlay,
    multipart_ids: &'a BTreeSet<String>,
    tags: &'a Tags,
    /// The document requires authentication unless an operation says otherwise.
    global_security: bool,
}

/// One operation, as the loop over `paths` finds it.
struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    id: &'a str,
    op: &'a Value,
    /// Path-level parameters.
    shared: &'a [Value],
    /// The first tag (`Other` when none).
    tag: &'a str,
}

/// Builds the catalogue from a document that went through the wire rules.
/// Every overlay entry must apply: the first that does not is the error.
pub fn build(doc: &Value, overlay: &Overlay, multipart_ids: &BTreeSet<String>) -> Result<Catalogue> {
    let tags = Tags::of(doc);
    let global_security = doc.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    let cx = Context { doc, overlay, multipart_ids, tags: &tags, global_security };
    let operations = operations(doc)?;
    let all_ids: BTreeSet<&str> = operations.iter().map(|o| o.id).collect();
    let mut toolset_tags: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_tags = BTreeSet::new();
    let mut tools = Vec::new();
    let mut excluded = Vec::new();
    for o in &operations {
        if overlay.tools.get(o.id).is_some_and(|c| c.exclude) {
            excluded.push((o.id.to_owned(), "excluded in openapi/tools.toml".to_owned()));
            continue;
        }
        let tool = tool_from_operation(&cx, o, o.tag)?;
        seen_tags.insert(o.tag.to_owned());
        toolset_tags.entry(tool.toolset.clone()).or_insert_with(|| o.tag.to_owned());
        tools.push(tool);
    }
    overlay.check_operations(|id| all_ids.contains(id))?;
    let unknown_tags: Vec<&str> = overlay.tags.keys().map(String::as_str).filter(|t| !seen_tags.contains(*t)).collect();
    if !unknown_tags.is_empty() {
        return Err(Error::Overlay(format!("[tags] names tags no operation has: {}", unknown_tags.join(", "))));
    }
    for (name, w) in &overlay.workflows {
        tools.push(workflow(name, w)?);
    }
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    let toolsets = collect_toolsets(&tools, &toolset_tags, &tags, overlay)?;
    check_core(&toolsets, overlay)?;
    let core = tools
        .iter()
        .filter(|t| std::iter::once(&t.toolset).chain(&t.extra_toolsets).any(|ts| overlay.core.toolsets.contains(ts)))
        .map(|t| t.name.clone())
        .collect();
    let catalogue = Catalogue {
        tools,
        toolsets: toolsets.into_values().collect(),
        core_toolsets: overlay.core.toolsets.clone(),
        core,
        excluded,
    };
    check(&catalogue)?;
    Ok(catalogue)
}

/// An entry of `openapi/tools.toml` that does not apply to a description.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct OverlayProblem {
    /// The entry, as written in the file: `[tools.getFileInfo]`, `[tags] "Rooms"`, `[core]`, …
    pub entry: String,
    /// Why it does not apply (the build's own message).
    pub why: String,
}

/// Like [`build`], but an overlay entry (or the part of a `[tools.*]` entry)
/// that does not apply to `doc` is left out and reported instead of
/// stopping the build: the catalogue is what the rest of the overlay makes
/// of the description. This is how a new
/// description is judged before its overlay is fixed (`tools diff`).
pub fn build_lenient(
    doc: &Value,
    overlay: &Overlay,
    multipart_ids: &BTreeSet<String>,
) -> Result<(Catalogue, Vec<OverlayProblem>)> {
    let tags = Tags::of(doc);
    let global_security = doc.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    let operations = operations(doc)?;
    let mut problems = Vec::new();
    let mut kept = overlay.clone();
    {
        let cx = Context { doc, overlay, multipart_ids, tags: &tags, global_security };
        for (id, entry) in &overlay.tools {
            match operations.iter().find(|o| o.id == id.as_str()) {
                None => {
                    problems.push(OverlayProblem {
                        entry: format!("[tools.{id}]"),
                        why: "the description has no operation with this operationId".into(),
                    });
                    kept.tools.remove(id);
                }
                Some(_) if entry.exclude => {}
                Some(o) => {
                    let (trimmed, mut dropped) = applicable_curation(&cx, o, entry);
                    problems.append(&mut dropped);
                    kept.tools.insert(id.clone(), trimmed);
                }
            }
        }
    }
    let seen_tags: BTreeSet<&str> = operations.iter().map(|o| o.tag).collect();
    for tag in overlay.tags.keys().filter(|t| !seen_tags.contains(t.as_str())) {
        problems.push(OverlayProblem { entry: format!("[tags] \"{tag}\""), why: "no operation has this tag".into() });
        kept.tags.remove(tag);
    }
    // Toolsets and the default catalogue depend on the tools that are left.
    let toolsets: BTreeSet<String> = {
        let cx = Context { doc, overlay: &kept, multipart_ids, tags: &tags, global_security };
        let mut names = BTreeSet::new();
        for o in &operations {
            if kept.tools.get(o.id).is_some_and(|c| c.exclude) {
                continue;
            }
            let tool = tool_from_operation(&cx, o, o.tag)?;
            names.insert(tool.toolset);
            names.extend(tool.extra_toolsets);
        }
        for w in kept.workflows.values() {
            names.extend(w.toolsets.iter().cloned());
        }
        names
    };
    for name in overlay.toolsets.keys().filter(|n| !toolsets.contains(n.as_str())) {
        problems.push(OverlayProblem {
            entry: format!("[toolsets.{name}]"),
            why: "no tool belongs to this toolset".into(),
        });
        kept.toolsets.remove(name);
    }
    let missing: Vec<String> =
        overlay.core.toolsets.iter().filter(|n| !toolsets.contains(n.as_str())).cloned().collect();
    for name in &missing {
        problems.push(OverlayProblem {
            entry: "[core] toolsets".into(),
            why: format!("names `{name}`, which no tool belongs to any more"),
        });
    }
    kept.core.toolsets.retain(|n| !missing.contains(n));
    problems.sort();
    Ok((build(doc, &kept, multipart_ids)?, problems))
}

/// The part of a tool's curation that applies to its operation, and a
/// problem for each part that does not: the settings that name arguments
/// (`flatten_body`, then `hidden`, `params`, `defaults`, in the order they
/// are applied) are kept one by one while the tool still builds.
fn applicable_curation(cx: &Context<'_>, o: &Operation<'_>, entry: &ToolOverlay) -> (ToolOverlay, Vec<OverlayProblem>) {
    let builds = |candidate: &ToolOverlay| {
        let mut overlay = cx.overlay.clone();
        overlay.tools.insert(o.id.to_owned(), candidate.clone());
        let cx = Context { overlay: &overlay, ..*cx };
        tool_from_operation(&cx, o, o.tag).err().map(|e| {
            // The entry is named beside the reason: keep only the reason.
            let text = e.to_string();
            let prefix = format!("openapi/tools.toml: [tools.{}] ", o.id);
            text.strip_prefix(&prefix).map_or_else(|| text.clone(), str::to_owned)
        })
    };
    let Some(_) = builds(entry) else { return (entry.clone(), Vec::new()) };
    let mut problems = Vec::new();
    let mut kept =
        ToolOverlay { hidden: Vec::new(), params: BTreeMap::new(), defaults: BTreeMap::new(), ..entry.clone() };
    if let Some(why) = builds(&kept) {
        problems.push(OverlayProblem { entry: format!("[tools.{}] flatten_body", o.id), why });
        kept.flatten_body = false;
    }
    for h in &entry.hidden {
        kept.hidden.push(h.clone());
        if let Some(why) = builds(&kept) {
            problems.push(OverlayProblem { entry: format!("[tools.{}] hidden `{h}`", o.id), why });
            kept.hidden.pop();
        }
    }
    for (from, to) in &entry.params {
        kept.params.insert(from.clone(), to.clone());
        if let Some(why) = builds(&kept) {
            problems.push(OverlayProblem { entry: format!("[tools.{}] params `{from}`", o.id), why });
            kept.params.remove(from);
        }
    }
    for (name, value) in &entry.defaults {
        kept.defaults.insert(name.clone(), value.clone());
        if let Some(why) = builds(&kept) {
            problems.push(OverlayProblem { entry: format!("[tools.{}] defaults `{name}`", o.id), why });
            kept.defaults.remove(name);
        }
    }
    (kept, problems)
}

/// Every operation of the document, in document order.
fn operations(doc: &Value) -> Result<Vec<Operation<'_>>> {
    let paths = doc.get("paths").and_then(Value::as_object).ok_or_else(|| Error::Spec("no `paths`".into()))?;
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        let shared = item.get("parameters").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Spec(format!("{} {path} has no operationId", method.to_uppercase())))?;
            if !ids.insert(id) {
                return Err(Error::Spec(format!("operationId {id} is used twice")));
            }
            let tag = op
                .get("tags")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .unwrap_or("Other");
            out.push(Operation { path, method, id, op, shared, tag });
        }
    }
    Ok(out)
}

/// The generated description: summary and description, or the method and path.
fn generated_description(op: &Value, method: &str, path: &str) -> (String, String) {
    let summary = op.get("summary").and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let long = op.get("description").and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let description = match (summary.is_empty(), long.is_empty() || long == summary) {
        (true, true) => format!("{} {path}", method.to_uppercase()),
        (false, true) => summary.clone(),
        (true, false) => long,
        (false, false) => format!("{summary}.\n\n{long}").replace("..\n\n", ".\n\n"),
    };
    (summary, description)
}

/// One operation's tool (its tag already read), curated by the overlay.
fn tool_from_operation(cx: &Context<'_>, o: &Operation<'_>, tag: &str) -> Result<ToolSpec> {
    let (doc, overlay, id) = (cx.doc, cx.overlay, o.id);
    let curation = overlay.tools.get(id).cloned().unwrap_or_default();
    let toolset = overlay.tags.get(tag).cloned().unwrap_or_else(|| naming::toolset_name(tag));
    let group = cx.tags.groups.get(tag).map_or_else(|| toolset.clone(), |g| naming::toolset_name(g));
    let params: Vec<Value> = o
        .shared
        .iter()
        .chain(o.op.get("parameters").and_then(Value::as_array).into_iter().flatten())
        .map(|p| deref(doc, p).clone())
        .collect();
    let mut input = input_schema(doc, id, &params, o.op.get("requestBody").map(|b| deref(doc, b)))?;
    let arguments = apply_curation(id, &mut input, &curation)?;
    let (read_only, destructive, idempotent) = annotations(o.method);
    let read_only = curation.read_only.unwrap_or(read_only);
    let (summary, generated_description) = generated_description(o.op, o.method, o.path);
    let name = curation.name.clone().unwrap_or_else(|| naming::tool_name(id));
    let mut aliases = curation.aliases.clone();
    let generated = naming::tool_name(id);
    if name != generated && curation.generated_alias && !aliases.contains(&generated) {
        aliases.push(generated);
    }
    let public = o.op.get("security").map_or(!cx.global_security, |s| {
        s.as_array().is_some_and(|a| a.is_empty() || a.iter().any(|r| r.as_object().is_some_and(Map::is_empty)))
    });
    let title = curation.title.clone().unwrap_or_else(|| {
        if summary.is_empty() { generated_description.clone() } else { summary.trim_end_matches('.').to_owned() }
    });
    Ok(ToolSpec {
        name,
        aliases,
        operation_id: id.to_owned(),
        title,
        description: curation.description.clone().unwrap_or(generated_description),
        toolset,
        group,
        extra_toolsets: curation.toolsets.clone(),
        method: o.method.to_uppercase(),
        path: o.path.to_owned(),
        output_schema: if curation.output_schema { output_schema(doc, o.op) } else { None },
        input_schema: input,
        read_only,
        destructive: !read_only && destructive,
        idempotent: !read_only && idempotent,
        hidden: curation.hidden.clone(),
        arguments,
        flatten_body: curation.flatten_body,
        defaults: curation.defaults.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
        multipart: cx.multipart_ids.contains(id),
        public,
        workflow: false,
    })
}

/// The toolsets the tools belong to: tag-derived ones first, so a curated
/// name can never take the place of a generated one; then the curated ones;
/// then the overlay's descriptions.
fn collect_toolsets(
    tools: &[ToolSpec],
    toolset_tags: &BTreeMap<String, String>,
    tags: &Tags,
    overlay: &Overlay,
) -> Result<BTreeMap<String, ToolsetSpec>> {
    let mut toolsets: BTreeMap<String, ToolsetSpec> = BTreeMap::new();
    for t in tools {
        let tag = toolset_tags.get(&t.toolset).cloned().unwrap_or_default();
        toolsets.entry(t.toolset.clone()).or_insert_with(|| ToolsetSpec {
            name: t.toolset.clone(),
            description: tags.descriptions.get(&tag).cloned().unwrap_or_default(),
            tag,
            group: t.group.clone(),
        });
    }
    for t in tools {
        for extra in &t.extra_toolsets {
            toolsets.entry(extra.clone()).or_insert_with(|| ToolsetSpec {
                name: extra.clone(),
                tag: String::new(),
                group: extra.clone(),
                description: String::new(),
            });
        }
    }
    for (name, ts) in &overlay.toolsets {
        let entry = toolsets
            .get_mut(name)
            .ok_or_else(|| Error::Overlay(format!("[toolsets.{name}] names a toolset no tool belongs to")))?;
        if let Some(d) = &ts.description {
            entry.description = d.trim().to_owned();
        }
    }
    Ok(toolsets)
}

/// The default catalogue is made of curated toolsets that exist.
fn check_core(toolsets: &BTreeMap<String, ToolsetSpec>, overlay: &Overlay) -> Result<()> {
    for name in &overlay.core.toolsets {
        match toolsets.get(name) {
            None => return Err(Error::Overlay(format!("[core] toolsets names `{name}`, which no tool belongs to"))),
            Some(ts) if !ts.tag.is_empty() => {
                return Err(Error::Overlay(format!(
                    "[core] toolsets names `{name}`, the toolset derived from tag `{}`: the default catalogue is made of \
                     curated toolsets; give the tag another toolset name under [tags]",
                    ts.tag
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn workflow(name: &str, w: &crate::overlay::WorkflowOverlay) -> Result<ToolSpec> {
    let Some((primary, extra)) = w.toolsets.split_first() else {
        return Err(Error::Overlay(format!("[workflows.{name}] needs at least one toolset")));
    };
    let input_schema = toml_to_json(&w.input_schema);
    if input_schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(Error::Overlay(format!("[workflows.{name}] input_schema must have type = \"object\"")));
    }
    Ok(ToolSpec {
        name: name.to_owned(),
        aliases: Vec::new(),
        operation_id: String::new(),
        title: w.title.trim().to_owned(),
        description: w.description.trim().to_owned(),
        toolset: primary.clone(),
        group: primary.clone(),
        extra_toolsets: extra.to_vec(),
        method: String::new(),
        path: String::new(),
        input_schema,
        output_schema: None,
        read_only: w.read_only,
        destructive: !w.read_only && w.destructive,
        idempotent: !w.read_only && w.idempotent,
        hidden: Vec::new(),
        arguments: Vec::new(),
        flatten_body: false,
        defaults: Map::new(),
        multipart: false,
        public: false,
        workflow: true,
    })
}

fn tag_groups(doc: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for group in doc.get("x-tagGroups").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = group.get("name").and_then(Value::as_str) else {
            continue;
        };
        for tag in group.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            out.insert(tag.to_owned(), name.to_owned());
        }
    }
    out
}

/// (read-only, destructive, idempotent) from the HTTP method.
fn annotations(method: &str) -> (bool, bool, bool) {
    match method {
        "get" | "head" => (true, false, true),
        "put" => (false, true, true),
        "delete" => (false, true, true),
        "patch" => (false, true, false),
        _ => (false, false, false),
    }
}

fn input_schema(doc: &Value, operation_id: &str, params: &[Value], body: Option<&Value>) -> Result<Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in params {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        let location = p.get("in").and_then(Value::as_str).unwrap_or("query");
        if location != "path" && location != "query" {
            continue; // headers and cookies are the transport's business
        }
        if name == "body" {
            return Err(Error::Catalogue(format!(
                "{operation_id}: a parameter named `body` collides with the request body property"
            )));
        }
        let mut s = p.get("schema").map_or_else(|| json!({"type": "string"}), |s| schema::convert(doc, s, Mode::Input));
        if let (Some(d), Some(obj)) = (p.get("description").and_then(Value::as_str), s.as_object_mut()) {
            let merged = schema::merge_description(d, obj.get("description").and_then(Value::as_str));
            obj.insert("description".into(), Value::String(cut(&merged, schema::MAX_DESCRIPTION)));
        }
        if location == "path" || p.get("required").and_then(Value::as_bool) == Some(true) {
            if let Some(obj) = s.as_object_mut() {
                schema::require_items(obj);
            }
            required.push(Value::String(name.to_owned()));
        }
        properties.insert(name.to_owned(), s);
    }
    if let Some(body) = body {
        let content = body.get("content").and_then(Value::as_object);
        let media = content.and_then(|c| {
            c.get("application/json").or_else(|| c.get("multipart/form-data")).or_else(|| c.values().next())
        });
        if let Some(media) = media {
            let raw = media.get("schema").cloned().unwrap_or_else(|| json!({"type": "object"}));
            let mut s = schema::convert(doc, &raw, Mode::Input);
            if let (Some(d), Some(obj)) = (body.get("description").and_then(Value::as_str), s.as_object_mut()) {
                obj.entry("description").or_insert_with(|| Value::String(cut(d.trim(), schema::MAX_DESCRIPTION)));
            }
            // A body whose schema has required members is required too: without it the request lacks them
            // (an optional body in the description means "may be empty", which such a schema rules out).
            let has_required_members = s.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty());
            properties.insert("body".into(), s);
            if body.get("required").and_then(Value::as_bool) == Some(true) || has_required_members {
                required.push(Value::String("body".into()));
            }
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::String("object".into()));
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Ok(Value::Object(out))
}

/// Applies `hidden`, `flatten_body`, `params` and `defaults` to an input
/// schema, in that order; returns the arguments whose names or places differ
/// from the operation's.
fn apply_curation(operation_id: &str, input: &mut Value, c: &ToolOverlay) -> Result<Vec<(String, String)>> {
    let fail = |why: String| Error::Overlay(format!("[tools.{operation_id}] {why}"));
    let Some(obj) = input.as_object_mut() else { return Ok(Vec::new()) };
    // Hidden body members of a lifted body are still accepted by name.
    let original_members: Vec<String> = if c.flatten_body {
        obj.get("properties")
            .and_then(|p| p.get("body"))
            .and_then(|b| b.get("properties"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    hide(obj, c).map_err(fail)?;
    let mut required: Vec<String> =
        obj.remove("required").and_then(|r| serde_json::from_value(r).ok()).unwrap_or_default();
    let old = match obj.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let (mut props, mut arguments) = rename_and_flatten(old, &mut required, c).map_err(fail)?;
    for member in original_members {
        let target = format!("body.{member}");
        if !props.contains_key(&member) && !arguments.iter().any(|(_, to)| *to == target) {
            arguments.push((member, target));
        }
    }
    apply_defaults(&mut props, &mut required, c).map_err(fail)?;
    obj.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        obj.insert("required".into(), Value::from(required));
    }
    Ok(arguments)
}

/// Arguments that differ from their wire names, as (argument, wire name).
type Arguments = Vec<(String, String)>;

/// Removes the hidden parameters (and `body.member`s).
fn hide(obj: &mut Map<String, Value>, c: &ToolOverlay) -> std::result::Result<(), String> {
    let (nested, top): (Vec<&String>, Vec<&String>) = c.hidden.iter().partition(|h| h.contains('.'));
    for path in nested {
        remove_member(obj, path).map_err(|why| format!("hidden `{path}`: {why}"))?;
    }
    for name in top {
        let props = obj.get("properties").and_then(Value::as_object);
        if !props.is_some_and(|p| p.contains_key(name.as_str())) {
            return Err(format!(
                "hides parameter `{name}`, which the operation does not have ({})",
                props.map(props_list).unwrap_or_default()
            ));
        }
        remove_member(obj, name).map_err(|why| format!("hidden `{name}`: {why}"))?;
    }
    Ok(())
}

/// The properties renamed (`params`) and, with `flatten_body`, the body's
/// members lifted to the top; the arguments that differ from their wire
/// names, as (argument, wire name).
fn rename_and_flatten(
    old: Map<String, Value>,
    required: &mut Vec<String>,
    c: &ToolOverlay,
) -> std::result::Result<(Map<String, Value>, Arguments), String> {
    if c.flatten_body && !old.contains_key("body") {
        return Err("flatten_body: the operation has no request body".into());
    }
    let mut props = Map::new();
    let mut arguments = Vec::new();
    let mut renamed = BTreeSet::new();
    let mut rename = |name: &str| match c.params.get(name) {
        Some(to) => {
            renamed.insert(name.to_owned());
            to.clone()
        }
        None => name.to_owned(),
    };
    for (name, schema) in old {
        if name == "body" && c.flatten_body {
            let Value::Object(mut body) = schema else {
                return Err("flatten_body: the request body is not an object schema".into());
            };
            let Some(Value::Object(members)) = body.remove("properties") else {
                return Err("flatten_body: the request body has no properties to lift".into());
            };
            let body_required = required.iter().any(|r| r == "body");
            let members_required: Vec<String> =
                body.get("required").and_then(|r| serde_json::from_value(r.clone()).ok()).unwrap_or_default();
            for (member, s) in members {
                let key = format!("body.{member}");
                let to = if c.params.contains_key(&key) { rename(&key) } else { member.clone() };
                if body_required && members_required.contains(&member) {
                    required.push(to.clone());
                }
                arguments.push((to.clone(), format!("body.{member}")));
                if props.insert(to.clone(), s).is_some() {
                    return Err(format!(
                        "flatten_body: argument `{to}` would be defined twice; rename one with params"
                    ));
                }
            }
            continue;
        }
        let to = rename(&name);
        if to != name {
            arguments.push((to.clone(), name.clone()));
            for r in required.iter_mut() {
                if *r == name {
                    r.clone_from(&to);
                }
            }
        }
        if props.insert(to.clone(), schema).is_some() {
            return Err(format!("argument `{to}` would be defined twice; rename one with params"));
        }
    }
    required.retain(|r| r != "body" || !c.flatten_body);
    let unused: Vec<&str> = c.params.keys().map(String::as_str).filter(|p| !renamed.contains(*p)).collect();
    if !unused.is_empty() {
        return Err(format!(
            "params renames `{}`, which the operation does not have as an argument ({}); body members need \
             flatten_body and are written `body.member`",
            unused.join("`, `"),
            props_list(&props)
        ));
    }
    Ok((props, arguments))
}

/// Gives arguments their defaults (which makes them optional).
fn apply_defaults(
    props: &mut Map<String, Value>,
    required: &mut Vec<String>,
    c: &ToolOverlay,
) -> std::result::Result<(), String> {
    for (name, value) in &c.defaults {
        if !props.get(name).is_some_and(Value::is_object) {
            return Err(format!("sets a default for `{name}`, which is not an argument ({})", props_list(props)));
        }
        if let Some(p) = props.get_mut(name).and_then(Value::as_object_mut) {
            p.insert("default".into(), toml_to_json(value));
        }
        required.retain(|r| r != name);
    }
    Ok(())
}

fn props_list(props: &Map<String, Value>) -> String {
    props.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// Removes `a.b.c` from an object schema (and from its parent's `required`).
fn remove_member(schema: &mut Map<String, Value>, path: &str) -> std::result::Result<(), String> {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let props = schema.get_mut("properties").and_then(Value::as_object_mut).ok_or("not an object with properties")?;
    if rest.is_empty() {
        props.shift_remove(head).ok_or_else(|| format!("no member `{head}`"))?;
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|r| r.as_str() != Some(head));
            if required.is_empty() {
                schema.remove("required");
            }
        }
        return Ok(());
    }
    let child = props.get_mut(head).and_then(Value::as_object_mut).ok_or_else(|| format!("no member `{head}`"))?;
    remove_member(child, rest)
}

fn output_schema(doc: &Value, op: &Value) -> Option<Value> {
    let responses = op.get("responses")?.as_object()?;
    let ok = responses.iter().filter(|(code, _)| code.starts_with('2')).map(|(_, r)| deref(doc, r)).next()?;
    let schema = ok.pointer("/content/application~1json/schema")?;
    let converted = schema::convert(doc, schema, Mode::Output);
    (converted.get("type").and_then(Value::as_str) == Some("object")).then_some(converted)
}

/// The build-time checks: names valid and unique (aliases included), every
/// input schema an object.
pub fn check(catalogue: &Catalogue) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for t in &catalogue.tools {
        for name in std::iter::once(&t.name).chain(&t.aliases) {
            if let Some(problem) = naming::check(name) {
                return Err(Error::Catalogue(format!("tool name of {}: {problem}", t.operation_id)));
            }
            if let Some(other) = seen.insert(name, &t.operation_id) {
                return Err(Error::Catalogue(format!(
                    "tool name `{name}` is used by both {other} and {}",
                    t.operation_id
                )));
            }
        }
        if t.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Error::Catalogue(format!("the input schema of {} does not have an object root", t.name)));
        }
    }
    for ts in &catalogue.toolsets {
        if let Some(problem) = naming::check(&ts.name) {
            return Err(Error::Catalogue(format!("toolset: {problem}")));
        }
    }
    Ok(())
}

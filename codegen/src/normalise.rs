//! General rewrite rules that make the DocSpace description digestible by
//! progenitor and faithful to what DocSpace really sends (see
//! `shared/docs/progenitor-notes.md` §1). No rule names an operation: each
//! matches a *shape*, and every rewrite is counted in a [`Report`].
//!
//! There are two layers:
//! - [`wire`] rules change how the interface is described on the wire (a
//!   date-time wrapper that is a string, an object query parameter that is
//!   really one parameter per property). Both the catalogue and the client see
//!   them, so a tool's arguments line up with the client's parameters.
//! - [`client`] rules exist only for the generated Rust client: removing what
//!   progenitor cannot compile and loosening what would make real responses
//!   fail to decode (closed objects, enums, date formats).

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use serde_json::{Map, Value, json};

use crate::spec::{METHODS, deref, for_each_schema};

/// How many times each rule fired, in the order the rules run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    rules: Vec<(String, String, usize)>,
}

impl Report {
    fn add(&mut self, rule: &str, what: &str, count: usize) {
        self.rules.push((rule.to_owned(), what.to_owned(), count));
    }

    /// Rule id → count.
    pub fn count(&self, rule: &str) -> Option<usize> {
        self.rules.iter().find(|(r, _, _)| r == rule).map(|(_, _, n)| *n)
    }

    /// Renders the report as an aligned plain-text table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (rule, what, count) in &self.rules {
            out.push_str(&format!("{rule:<28} {count:>5}  {what}\n"));
        }
        out
    }
}

/// A `multipart/form-data` operation, which progenitor cannot generate: it is
/// removed from the generated client and served by a handwritten function
/// driven by this description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartOp {
    /// The operationId.
    pub operation_id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template, e.g. `/api/2.0/files/{folderId}/upload`.
    pub path: String,
    /// The form fields, in schema order.
    pub fields: Vec<MultipartField>,
}

/// One field of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartField {
    /// Field name as sent.
    pub name: String,
    /// A file part (`format: binary`, or an array of them).
    pub binary: bool,
    /// An array: sent as repeated parts.
    pub array: bool,
}

/// Applies the wire rules in place and returns what they did, plus the
/// multipart operations found.
pub fn wire(doc: &mut Value) -> (Report, Vec<MultipartOp>) {
    let mut report = Report::default();
    let n = date_time_wrappers(doc);
    report.add(
        "date-time-wrapper",
        "object schemas {utcTime, timeZoneOffset} sent as strings on the wire -> string",
        n,
    );
    let n = unsupported_methods(doc);
    report.add("unsupported-method", "OPTIONS/TRACE operations removed (reqwest cannot send them)", n);
    let n = orphan_path_parameters(doc);
    report.add("orphan-path-param", "path parameters missing from the path template sent as query parameters", n);
    let (deep, flattened) = query_parameters(doc);
    report.add("deep-object-param", "deepObject query parameters -> style: form, explode", deep);
    report.add(
        "object-query-param",
        "object-typed query parameters flattened into one parameter per property",
        flattened,
    );
    let n = snake_case_collisions(doc);
    report.add("property-name-collision", "properties whose snake_case names collide: later duplicates removed", n);
    let multipart = multipart_ops(doc);
    report.add(
        "multipart-body",
        "multipart/form-data operations served by the handwritten multipart client",
        multipart.len(),
    );
    (report, multipart)
}

/// Applies the client-only rules to a copy that already went through
/// [`wire`], appending to `report`.
pub fn client(doc: &mut Value, multipart: &[MultipartOp], report: &mut Report) {
    let n = remove_operations(doc, |op_id| multipart.iter().any(|m| m.operation_id == op_id));
    report.add("client-multipart-removed", "multipart operations left out of the progenitor client", n);
    let n = error_responses(doc);
    report.add(
        "error-response-bodies",
        "4xx/5xx/default responses removed (mixed types panic progenitor; bodies stay readable)",
        n,
    );
    let mut closed = 0;
    let mut enums = 0;
    let mut formats = 0;
    let mut min_len = 0;
    let mut relaxed = 0;
    for_each_schema(doc, &mut |s| {
        let Some(obj) = s.as_object_mut() else { return };
        if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
            obj.remove("additionalProperties");
            closed += 1;
        }
        if obj.remove("enum").is_some() {
            obj.remove("x-enum-varnames");
            obj.remove("x-enum-descriptions");
            enums += 1;
        }
        if obj
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| matches!(f, "date-time" | "date" | "date-span" | "time"))
        {
            obj.remove("format");
            formats += 1;
        }
        if obj.get("minLength").and_then(Value::as_u64) == Some(0) {
            obj.remove("minLength");
            min_len += 1;
        }
        relaxed += relax_required(obj);
    });
    report.add(
        "closed-objects",
        "additionalProperties: false removed (typify emits empty allOf structs and rejects extra fields)",
        closed,
    );
    report.add("enums-opened", "enums removed from the client types so new DocSpace values still decode", enums);
    report.add("date-formats", "date/time formats decoded as plain strings (.NET dates without offsets)", formats);
    report.add("min-length-zero", "minLength: 0 removed", min_len);
    report.add("required-relaxed", "required properties made optional in the client (responses omit them)", relaxed);
    let n = prune(doc);
    report.add("pruned-schemas", "component schemas no operation reaches removed", n);
}

/// Responses regularly omit "required" members (and send `null`); the client
/// decodes optional fields so a missing member does not lose the response.
fn relax_required(obj: &mut Map<String, Value>) -> usize {
    match obj.remove("required") {
        Some(Value::Array(r)) => r.len(),
        _ => 0,
    }
}

fn date_time_wrappers(doc: &mut Value) -> usize {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return 0;
    };
    let mut n = 0;
    for schema in schemas.values_mut() {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let only_wrapper_keys = props.keys().all(|k| k == "utcTime" || k == "timeZoneOffset");
        let has_date_time =
            props.get("utcTime").and_then(|p| p.get("format")).and_then(Value::as_str) == Some("date-time");
        if only_wrapper_keys && has_date_time {
            let description = schema.get("description").cloned();
            let mut replacement = json!({ "type": "string", "format": "date-time" });
            if let (Some(d), Some(r)) = (description, replacement.as_object_mut()) {
                r.insert("description".into(), d);
            }
            *schema = replacement;
            n += 1;
        }
    }
    n
}

fn unsupported_methods(doc: &mut Value) -> usize {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return 0;
    };
    let mut n = 0;
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in ["options", "trace"] {
            n += usize::from(item.remove(method).is_some());
        }
    }
    n
}

/// Operations as (path, method, operation) triples, mutable.
fn operations_mut(doc: &mut Value) -> impl Iterator<Item = (String, &'static str, &mut Map<String, Value>)> {
    doc.get_mut("paths").and_then(Value::as_object_mut).into_iter().flat_map(|paths| paths.iter_mut()).flat_map(
        |(path, item)| {
            let path = path.clone();
            item.as_object_mut().into_iter().flat_map(move |item| {
                let path = path.clone();
                item.iter_mut().filter_map(move |(m, op)| {
                    let method = METHODS.iter().find(|x| **x == m.as_str())?;
                    Some((path.clone(), *method, op.as_object_mut()?))
                })
            })
        },
    )
}

/// Resolves a schema's `$ref`/single-`allOf` chain and merges `allOf` members
/// into one object view (properties and required), for shape checks.
fn merged_object(doc: &Value, schema: &Value) -> Option<(Map<String, Value>, BTreeSet<String>)> {
    let schema = deref(doc, schema);
    let mut props = Map::new();
    let mut required = BTreeSet::new();
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            let (p, r) = merged_object(doc, part)?;
            props.extend(p);
            required.extend(r);
        }
    }
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        props.extend(p.clone());
    }
    if let Some(Value::Array(r)) = schema.get("required") {
        required.extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object") || !props.is_empty();
    is_object.then_some((props, required))
}

fn query_parameters(doc: &mut Value) -> (usize, usize) {
    // Plan on an immutable view, then apply.
    let snapshot = doc.clone();
    let mut deep = 0;
    let mut flattened = 0;
    for (_, _, op) in operations_mut(doc) {
        let Some(Value::Array(params)) = op.get_mut("parameters") else {
            continue;
        };
        let mut out = Vec::with_capacity(params.len());
        for mut param in std::mem::take(params) {
            let resolved = deref(&snapshot, &param).clone();
            let in_query = resolved.get("in").and_then(Value::as_str) == Some("query");
            let schema = resolved.get("schema").cloned().unwrap_or(Value::Null);
            let object = in_query.then(|| merged_object(&snapshot, &schema)).flatten();
            if let Some((props, required)) = object {
                flattened += 1;
                let param_required = resolved.get("required").and_then(Value::as_bool).unwrap_or(false);
                for (name, prop) in props {
                    let mut p = json!({
                        "name": name,
                        "in": "query",
                        "required": param_required && required.contains(&name),
                        "style": "form",
                        "explode": true,
                        "schema": prop,
                    });
                    if let (Some(d), Some(obj)) = (prop.get("description").cloned(), p.as_object_mut()) {
                        obj.insert("description".into(), d);
                    }
                    out.push(p);
                }
                continue;
            }
            if in_query && resolved.get("style").and_then(Value::as_str) == Some("deepObject") {
                deep += 1;
                param = resolved;
                if let Some(obj) = param.as_object_mut() {
                    obj.insert("style".into(), Value::String("form".into()));
                    obj.insert("explode".into(), Value::Bool(true));
                }
            }
            out.push(param);
        }
        *params = out;
    }
    (deep, flattened)
}

fn orphan_path_parameters(doc: &mut Value) -> usize {
    let snapshot = doc.clone();
    let mut n = 0;
    for (path, _, op) in operations_mut(doc) {
        let Some(Value::Array(params)) = op.get_mut("parameters") else {
            continue;
        };
        for param in params.iter_mut() {
            let resolved = deref(&snapshot, param);
            let name = resolved.get("name").and_then(Value::as_str).unwrap_or_default();
            let in_path = resolved.get("in").and_then(Value::as_str) == Some("path");
            if in_path && !path.contains(&format!("{{{name}}}")) {
                let mut moved = resolved.clone();
                if let Some(obj) = moved.as_object_mut() {
                    obj.insert("in".into(), Value::String("query".into()));
                    obj.insert("style".into(), Value::String("form".into()));
                    obj.insert("explode".into(), Value::Bool(true));
                }
                *param = moved;
                n += 1;
            }
        }
    }
    n
}

fn snake_case_collisions(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |s| {
        let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) else {
            return;
        };
        let mut seen = BTreeSet::new();
        let mut drop = Vec::new();
        for key in props.keys() {
            if !seen.insert(key.to_snake_case()) {
                drop.push(key.clone());
            }
        }
        for key in &drop {
            props.remove(key);
        }
        if !drop.is_empty()
            && let Some(Value::Array(required)) = s.get_mut("required")
        {
            required.retain(|r| !r.as_str().is_some_and(|r| drop.iter().any(|d| d == r)));
        }
        n += drop.len();
    });
    n
}

fn multipart_ops(doc: &mut Value) -> Vec<MultipartOp> {
    let snapshot = doc.clone();
    let mut found = Vec::new();
    for (path, method, op) in operations_mut(doc) {
        let Some(body) = op.get("requestBody") else {
            continue;
        };
        let body = deref(&snapshot, body);
        let Some(media) = body.pointer("/content/multipart~1form-data") else {
            continue;
        };
        let schema = media.get("schema").cloned().unwrap_or(Value::Null);
        let fields = merged_object(&snapshot, &schema)
            .map(|(props, _)| {
                props
                    .iter()
                    .map(|(name, prop)| {
                        let prop = deref(&snapshot, prop);
                        let array = prop.get("type").and_then(Value::as_str) == Some("array");
                        let leaf = if array { prop.get("items").map_or(prop, |i| deref(&snapshot, i)) } else { prop };
                        let binary = leaf.get("format").and_then(Value::as_str) == Some("binary");
                        MultipartField { name: name.clone(), binary, array }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let operation_id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
        found.push(MultipartOp { operation_id, method: method.to_uppercase(), path, fields });
    }
    found.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    found
}

fn remove_operations(doc: &mut Value, drop: impl Fn(&str) -> bool) -> usize {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return 0;
    };
    let mut n = 0;
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in METHODS {
            let hit = item.get(method).and_then(|op| op.get("operationId")).and_then(Value::as_str).is_some_and(&drop);
            if hit {
                item.remove(method);
                n += 1;
            }
        }
    }
    paths.retain(|_, item| item.as_object().is_some_and(|i| METHODS.iter().any(|m| i.contains_key(*m))));
    n
}

fn error_responses(doc: &mut Value) -> usize {
    let mut n = 0;
    for (_, _, op) in operations_mut(doc) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let before = responses.len();
        responses.retain(|code, _| code.starts_with('1') || code.starts_with('2') || code.starts_with('3'));
        n += before - responses.len();
    }
    n
}

/// Removes component schemas that no operation reaches; returns how many.
pub fn prune(doc: &mut Value) -> usize {
    let mut reachable = BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    collect_refs(doc.get("paths").unwrap_or(&Value::Null), &mut queue);
    for kind in ["parameters", "requestBodies", "responses", "headers"] {
        if let Some(v) = doc.pointer(&format!("/components/{kind}")) {
            collect_refs(v, &mut queue);
        }
    }
    while let Some(r) = queue.pop() {
        let Some(name) = r.strip_prefix("#/components/schemas/") else {
            continue;
        };
        if reachable.insert(name.to_owned())
            && let Some(target) = doc.pointer(&format!("/components/schemas/{}", escape_pointer(name)))
        {
            collect_refs(target, &mut queue);
        }
    }
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return 0;
    };
    let before = schemas.len();
    schemas.retain(|name, _| reachable.contains(name));
    before - schemas.len()
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

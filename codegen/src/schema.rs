//! OpenAPI 3.0 schemas → self-contained JSON Schema 2020-12 for MCP tools.
//!
//! Strict clients shape these rules (see `client-quirks.md`): no `$ref` or
//! `$defs` (every reference is inlined and recursion is cut with a plain
//! object), every array has `items`, no nullable type arrays or
//! `additionalProperties: false` in inputs, no regex `pattern`s (.NET
//! patterns are not all ECMA-262), and integer enums keep their labels in
//! the description (`x-enum-varnames` is dropped: no client reads it, and the
//! labels are already there).
//!
//! Output schemas are *lenient*: DocSpace's real responses differ from the
//! description (missing members, `null`s, dates as objects), and a client
//! that validates `structuredContent` must never reject a real response. So
//! they keep the shape and the descriptions but no `required`, enums,
//! formats or bounds, every leaf also admits `null`, and depth (and the depth of descriptions) is capped.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::spec::resolve_ref;

/// Enums with more values than this keep only their type and a note.
pub const MAX_ENUM_VALUES: usize = 64;
/// Descriptions longer than this (in characters) are cut.
pub const MAX_DESCRIPTION: usize = 1000;
/// Output schemas describe at most this many levels of nesting.
pub const MAX_OUTPUT_DEPTH: usize = 3;
/// Output schemas keep descriptions down to this depth only.
pub const MAX_OUTPUT_DESCRIBED_DEPTH: usize = 2;

/// Input or output flavour.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Tool input: what a model sends.
    Input,
    /// Tool output: what DocSpace answers.
    Output,
}

/// Converts one OpenAPI schema. `doc` resolves `$ref`s.
pub fn convert(doc: &Value, schema: &Value, mode: Mode) -> Value {
    let mut cx = Cx { doc, mode, stack: Vec::new() };
    cx.convert(schema, 0)
}

struct Cx<'a> {
    doc: &'a Value,
    mode: Mode,
    stack: Vec<String>,
}

impl Cx<'_> {
    fn convert(&mut self, schema: &Value, depth: usize) -> Value {
        if self.mode == Mode::Output && depth > MAX_OUTPUT_DEPTH {
            return Value::Object(Map::new());
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return self.convert_ref(r, schema, depth);
        }
        let Some(obj) = schema.as_object() else {
            return Value::Object(Map::new());
        };
        let mut out = self.composition(obj, depth);
        let ty = obj.get("type").and_then(Value::as_str);
        if self.mode == Mode::Input && obj.get("format").and_then(Value::as_str) == Some("binary") {
            return file_part(obj.get("description").and_then(Value::as_str));
        }
        if let Some(t) = ty {
            out.insert("type".into(), Value::String(t.to_owned()));
        }
        self.members(&mut out, obj, depth);
        if ty == Some("array") || obj.contains_key("items") {
            let items = obj.get("items").map_or_else(|| Value::Object(Map::new()), |i| self.convert(i, depth + 1));
            out.insert("items".into(), items);
            out.entry("type").or_insert_with(|| Value::String("array".into()));
        }
        if let Some(ap) = obj.get("additionalProperties").filter(|v| v.is_object()) {
            out.insert("additionalProperties".into(), self.convert(ap, depth + 1));
        }
        let mut description = obj.get("description").and_then(Value::as_str).map(str::to_owned);
        if let Some(Value::Array(values)) = obj.get("enum") {
            self.enumeration(&mut out, obj, values, &mut description);
        }
        if self.mode == Mode::Input {
            input_keywords(&mut out, obj);
            // The pattern is a .NET regex that strict clients may not compile (ECMA-262 in unicode mode):
            // it is stated in the description instead of as a keyword, so the model still sees it.
            if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
                let note = format!("Must match the pattern `{p}`.");
                description = Some(match description.take() {
                    Some(d) if !d.trim().is_empty() => format!("{}\n{note}", d.trim()),
                    _ => note,
                });
            }
        } else {
            self.loosen_leaf(&mut out, obj);
        }
        let described = self.mode == Mode::Input || depth <= MAX_OUTPUT_DESCRIBED_DEPTH;
        if let Some(d) = description.filter(|d| described && !d.trim().is_empty()) {
            out.insert("description".into(), Value::String(cut(d.trim(), MAX_DESCRIPTION)));
        }
        Value::Object(out)
    }

    /// Composition: `allOf` of objects merges into one object; unions
    /// (`oneOf`, `anyOf`) become `anyOf`, a single branch is inlined.
    fn composition(&mut self, obj: &Map<String, Value>, depth: usize) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(Value::Array(parts)) = obj.get("allOf") {
            let converted: Vec<Value> = parts.iter().map(|p| self.convert(p, depth)).collect();
            match merge_objects(&converted) {
                Some(merged) => out = merged,
                None if converted.len() == 1 => {
                    if let Some(Value::Object(only)) = converted.into_iter().next() {
                        out = only;
                    }
                }
                None => {
                    out.insert("allOf".into(), Value::Array(converted));
                }
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = obj.get(key) {
                let mut converted: Vec<Value> = Vec::new();
                for b in branches {
                    let c = self.convert(b, depth);
                    if !converted.contains(&c) {
                        converted.push(c);
                    }
                }
                if converted.len() == 1 {
                    if let Some(Value::Object(only)) = converted.pop() {
                        out.extend(only);
                    }
                } else {
                    out.insert("anyOf".into(), Value::Array(converted));
                }
            }
        }
        out
    }

    /// An object's `properties` (read-only ones dropped from inputs) and,
    /// for inputs, its `required` members that are still there.
    fn members(&mut self, out: &mut Map<String, Value>, obj: &Map<String, Value>, depth: usize) {
        let Some(props) = obj.get("properties").and_then(Value::as_object) else { return };
        let mut converted = out.remove("properties").and_then(|p| p.as_object().cloned()).unwrap_or_default();
        let mut dropped = BTreeSet::new();
        for (name, prop) in props {
            if self.mode == Mode::Input && self.is_read_only(prop) {
                dropped.insert(name.clone());
                continue;
            }
            converted.insert(name.clone(), self.convert(prop, depth + 1));
        }
        out.insert("properties".into(), Value::Object(converted));
        if !out.contains_key("type") {
            out.insert("type".into(), Value::String("object".into()));
        }
        if self.mode == Mode::Input
            && let Some(Value::Array(required)) = obj.get("required")
        {
            let mut all: Vec<Value> = out.remove("required").and_then(|r| r.as_array().cloned()).unwrap_or_default();
            for r in required {
                if r.as_str().is_some_and(|r| !dropped.contains(r) && props.contains_key(r)) && !all.contains(r) {
                    all.push(r.clone());
                }
            }
            if let Some(Value::Object(converted)) = out.get_mut("properties") {
                for name in all.iter().filter_map(Value::as_str) {
                    if let Some(Value::Object(member)) = converted.get_mut(name) {
                        require_items(member);
                    }
                }
            }
            if !all.is_empty() {
                out.insert("required".into(), Value::Array(all));
            }
        }
    }

    fn convert_ref(&mut self, r: &str, site: &Value, depth: usize) -> Value {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        let Some(target) = resolve_ref(self.doc, r) else {
            return json!({ "description": format!("(unresolved reference {r})") });
        };
        if self.stack.contains(&name) {
            // Recursion: cut with a plain object (or anything, for outputs).
            return match self.mode {
                Mode::Input => {
                    json!({ "type": "object", "description": format!("A {name} (recursive; same shape as its parent).") })
                }
                Mode::Output => Value::Object(Map::new()),
            };
        }
        self.stack.push(name);
        let mut converted = self.convert(target, depth);
        self.stack.pop();
        // A description beside the reference (3.1 style) wins over the target's.
        let described = self.mode == Mode::Input || depth <= MAX_OUTPUT_DESCRIBED_DEPTH;
        if let (true, Some(d), Some(obj)) =
            (described, site.get("description").and_then(Value::as_str), converted.as_object_mut())
        {
            let merged = merge_description(d, obj.get("description").and_then(Value::as_str));
            obj.insert("description".into(), Value::String(merged));
        }
        converted
    }

    fn is_read_only(&self, prop: &Value) -> bool {
        let prop = crate::spec::deref(self.doc, prop);
        prop.get("readOnly") == Some(&Value::Bool(true))
    }

    fn enumeration(
        &self,
        out: &mut Map<String, Value>,
        obj: &Map<String, Value>,
        values: &[Value],
        description: &mut Option<String>,
    ) {
        let names = obj.get("x-enum-varnames").and_then(Value::as_array);
        if self.mode == Mode::Output {
            return;
        }
        if values.len() > MAX_ENUM_VALUES {
            let note = format!("One of {} values; see the DocSpace API reference for the list.", values.len());
            *description = Some(match description.as_deref() {
                Some(d) => format!("{}\n{note}", cut(d, 200)),
                None => note,
            });
            return;
        }
        out.insert("enum".into(), Value::Array(values.to_vec()));
        if let Some(names) = names.filter(|n| n.len() == values.len()) {
            // DocSpace usually lists the labels already: "[0 - None, 1 - Read and write, …]".
            let labelled = description.as_deref().is_some_and(|d| {
                values.iter().all(|v| d.contains(&format!("{v} - ")))
                    || names.iter().filter_map(Value::as_str).all(|n| d.contains(n) || d.contains(&spaced(n)))
            });
            if !labelled {
                let labels: Vec<String> = values
                    .iter()
                    .zip(names)
                    .map(|(v, n)| format!("{v} = {}", n.as_str().unwrap_or_default()))
                    .collect();
                let labels = format!("Values: {}.", labels.join(", "));
                *description = Some(match description.take() {
                    Some(d) => format!("{d}\n{labels}"),
                    None => labels,
                });
            }
        }
    }

    /// Output leaves: keep the type but also admit `null`; dates admit anything.
    fn loosen_leaf(&self, out: &mut Map<String, Value>, obj: &Map<String, Value>) {
        let Some(Value::String(t)) = out.get("type").cloned() else {
            return;
        };
        if t == "object" || t == "array" {
            return;
        }
        let date = obj.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("date") || f == "time");
        if date {
            out.remove("type");
        } else {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
}

/// A required array must have an item: the client leaves an empty list out
/// of the request (JSON members and query parameters alike), so `[]` would
/// send a request without the required member.
pub fn require_items(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) == Some("array") && !schema.contains_key("minItems") {
        schema.insert("minItems".into(), Value::from(1));
    }
}

/// A binary (multipart file) field: the model sends the bytes base64-encoded.
fn file_part(description: Option<&str>) -> Value {
    json!({
        "type": "object",
        "description": description.map_or_else(|| "A file.".to_owned(), |d| cut(d.trim(), MAX_DESCRIPTION)),
        "properties": {
            "filename": {"type": "string", "description": "File name sent with the part."},
            "content_base64": {"type": "string", "description": "The file content, base64-encoded."},
            "content_type": {"type": "string", "description": "MIME type (default application/octet-stream)."}
        },
        "required": ["content_base64"]
    })
}

/// Merges converted `allOf` members when every member is an object schema.
fn merge_objects(parts: &[Value]) -> Option<Map<String, Value>> {
    if parts.len() < 2 {
        return None;
    }
    let mut props = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut description: Option<String> = None;
    for p in parts {
        let p = p.as_object()?;
        let is_object = p.get("type").and_then(Value::as_str) == Some("object") || p.contains_key("properties");
        if !is_object {
            return None;
        }
        if let Some(pp) = p.get("properties").and_then(Value::as_object) {
            props.extend(pp.clone());
        }
        for r in p.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
        if let Some(d) = p.get("description").and_then(Value::as_str) {
            description.get_or_insert_with(|| d.to_owned());
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::String("object".into()));
    out.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    if let Some(d) = description {
        out.insert("description".into(), Value::String(d));
    }
    Some(out)
}

/// `RoomManager` → `Room manager` (how DocSpace's descriptions label values).
fn spaced(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i > 0 && c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Joins a site description with a target's, avoiding repeats.
pub fn merge_description(site: &str, target: Option<&str>) -> String {
    match target {
        Some(t) if !t.trim().is_empty() && !site.contains(t.trim()) => {
            format!("{}\n{}", site.trim(), t.trim())
        }
        _ => site.trim().to_owned(),
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The validation keywords an input keeps (a binary `format` aside);
/// OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` become
/// 2020-12's numeric ones.
fn input_keywords(out: &mut Map<String, Value>, obj: &Map<String, Value>) {
    for key in [
        "format",
        "default",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "deprecated",
    ] {
        if let Some(v) = obj.get(key) {
            if key == "format" && v.as_str() == Some("binary") {
                continue;
            }
            out.insert(key.into(), v.clone());
        }
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if obj.get(exclusive) == Some(&Value::Bool(true))
            && let Some(n) = out.remove(bound)
        {
            out.insert(exclusive.into(), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#/components/schemas/Node"}}},
            "Share": {"type": "integer", "enum": [0, 2], "x-enum-varnames": ["None", "Read"], "description": "Access"},
            "Base": {"type": "object", "additionalProperties": false, "properties": {"id": {"type": "integer", "readOnly": true}, "title": {"type": "string", "nullable": true}}, "required": ["title", "id"]},
            "Derived": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"share": {"$ref": "#/components/schemas/Share"}}}]}
        }}})
    }

    #[test]
    fn inlines_refs_and_cuts_recursion() {
        let d = doc();
        let s = convert(&d, &json!({"$ref": "#/components/schemas/Node"}), Mode::Input);
        assert_eq!(s["properties"]["child"]["type"], "object");
        assert!(s["properties"]["child"]["description"].as_str().unwrap().contains("recursive"));
        assert!(!s.to_string().contains("$ref"));
    }

    #[test]
    fn merges_all_of_and_drops_read_only_and_closed_objects() {
        let d = doc();
        let s = convert(&d, &json!({"$ref": "#/components/schemas/Derived"}), Mode::Input);
        assert_eq!(s["type"], "object");
        assert!(s["properties"].get("id").is_none());
        assert_eq!(s["properties"]["title"], json!({"type": "string"}));
        assert_eq!(s["required"], json!(["title"]));
        assert!(s.get("additionalProperties").is_none());
        let share = &s["properties"]["share"];
        assert_eq!(share["enum"], json!([0, 2]));
        assert!(share.get("x-enum-varnames").is_none(), "the labels are in the description");
        assert_eq!(share["description"], "Access\nValues: 0 = None, 2 = Read.");
    }

    #[test]
    fn patterns_are_stated_in_the_description() {
        let s = convert(
            &json!({}),
            &json!({"type": "string", "pattern": "^[0-9-.]+$", "description": "A color."}),
            Mode::Input,
        );
        assert!(s.get("pattern").is_none(), "no regex keyword for strict clients");
        assert_eq!(s["description"], "A color.\nMust match the pattern `^[0-9-.]+$`.");
    }

    #[test]
    fn arrays_always_have_items() {
        let s = convert(&json!({}), &json!({"type": "array"}), Mode::Input);
        assert_eq!(s, json!({"type": "array", "items": {}}));
    }

    #[test]
    fn huge_enums_are_capped() {
        let values: Vec<i64> = (0..100).collect();
        let s = convert(&json!({}), &json!({"type": "integer", "enum": values}), Mode::Input);
        assert!(s.get("enum").is_none());
        assert!(s["description"].as_str().unwrap().contains("One of 100 values"));
    }

    #[test]
    fn outputs_are_lenient() {
        let d = doc();
        let s = convert(&d, &json!({"$ref": "#/components/schemas/Derived"}), Mode::Output);
        assert!(s.get("required").is_none());
        assert_eq!(s["properties"]["id"]["type"], json!(["integer", "null"]));
        assert!(s["properties"]["share"].get("enum").is_none());
        let date = convert(&d, &json!({"type": "string", "format": "date-time"}), Mode::Output);
        assert!(date.get("type").is_none());
    }
}

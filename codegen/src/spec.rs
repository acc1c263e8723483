//! Loading an OpenAPI description into a `serde_json::Value` and bringing
//! OpenAPI 3.1 down to the 3.0 dialect that `openapiv3` and progenitor read.
//!
//! Everything after this module works on 3.0-shaped JSON. The walkers here
//! visit *schema positions* only (component schemas, parameter and media-type
//! schemas, and the sub-schemas inside them), so a property that happens to be
//! called `type` or `nullable` is never mistaken for a keyword.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Parses YAML or JSON text into a JSON value. Non-string mapping keys (YAML
/// allows `200:` unquoted) become strings; YAML tags are dropped.
pub fn parse(text: &str) -> Result<Value> {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| Error::Spec(format!("not valid YAML or JSON: {e}")))?;
    let value = yaml_to_json(yaml)?;
    if !value.is_object() {
        return Err(Error::Spec("the document is not a mapping".into()));
    }
    Ok(value)
}

fn yaml_to_json(v: serde_yaml::Value) -> Result<Value> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect::<Result<_>>()?),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(Error::Spec(format!("unsupported mapping key {other:?}"))),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

/// The `openapi` version string of a document.
pub fn openapi_version(doc: &Value) -> Option<&str> {
    doc.get("openapi").and_then(Value::as_str)
}

/// The `info.version` of a document (the DocSpace API version).
pub fn api_version(doc: &Value) -> Option<&str> {
    doc.pointer("/info/version").and_then(Value::as_str)
}

/// Counts of what [`downgrade_31`] rewrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Downgrade {
    /// Type arrays (`[T, "null"]` and multi-type) rewritten.
    pub type_arrays: usize,
    /// `const` turned into a one-value `enum`.
    pub consts: usize,
    /// Schema `examples` arrays turned into `example`.
    pub examples: usize,
    /// Numeric `exclusiveMinimum`/`exclusiveMaximum` turned into booleans.
    pub exclusive_bounds: usize,
    /// `{type: null}` branches removed from `anyOf`/`oneOf`.
    pub null_branches: usize,
    /// JSON-Schema-only keywords dropped (`$schema`, `$id`, `contentMediaType`, …).
    pub dropped_keywords: usize,
    /// Constructs with no OpenAPI 3.0 equivalent, where they are (`prefixItems in
    /// #/components/schemas/Pair`); [`crate::prepare`] refuses a document with any.
    pub refused: Vec<String>,
}

/// JSON Schema 2020-12 keywords that constrain or shape values and that
/// OpenAPI 3.0 cannot express. Dropping them would make tools and the client
/// state other schemas than the description's, so they are refused.
pub const REFUSED_31_KEYWORDS: [&str; 14] = [
    "$dynamicRef",
    "$dynamicAnchor",
    "prefixItems",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "patternProperties",
    "propertyNames",
    "$defs",
];

/// The refused constructs of a 3.1 document, with where they are.
fn refused_constructs(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |mut schema: Value, at: &str| {
        walk_schema(&mut schema, &mut |s| {
            let Some(obj) = s.as_object() else { return };
            for key in REFUSED_31_KEYWORDS.iter().filter(|k| obj.contains_key(**k)) {
                found.push(format!("`{key}` in {at}"));
            }
            if let Some(r) = obj.get("$ref").and_then(Value::as_str).filter(|r| !r.starts_with("#/components/")) {
                found.push(format!("`$ref: {r}` (only #/components/ references are supported) in {at}"));
            }
        });
    };
    for (name, schema) in doc.pointer("/components/schemas").and_then(Value::as_object).into_iter().flatten() {
        check(schema.clone(), &format!("#/components/schemas/{name}"));
    }
    let mut paths = serde_json::json!({ "paths": doc.get("paths").cloned().unwrap_or(Value::Null) });
    let mut inline = Vec::new();
    for_each_schema(&mut paths, &mut |s| inline.push(s.clone()));
    for schema in inline {
        check(schema, "a parameter, request or response schema under #/paths");
    }
    found.sort();
    found.dedup();
    found
}

/// Rewrites an OpenAPI 3.1 document into the 3.0 dialect in place. A 3.0
/// document is left untouched and `None` is returned.
pub fn downgrade_31(doc: &mut Value) -> Option<Downgrade> {
    if !openapi_version(doc).is_some_and(|v| v.trim().starts_with("3.1")) {
        return None;
    }
    let mut counts = Downgrade { refused: refused_constructs(doc), ..Downgrade::default() };
    if let Some(root) = doc.as_object_mut() {
        root.insert("openapi".into(), Value::String("3.0.3".into()));
        root.remove("webhooks");
        root.remove("jsonSchemaDialect");
        root.entry("paths").or_insert_with(|| Value::Object(Map::new()));
        if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
            info.remove("summary");
            if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
                license.remove("identifier");
            }
        }
    }
    for_each_schema(doc, &mut |schema| downgrade_schema(schema, &mut counts));
    Some(counts)
}

fn downgrade_schema(schema: &mut Value, counts: &mut Downgrade) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for key in ["$schema", "$id", "$comment", "$anchor", "contentEncoding", "contentSchema"] {
        if obj.remove(key).is_some() {
            counts.dropped_keywords += 1;
        }
    }
    if let Some(media) = obj.remove("contentMediaType") {
        counts.dropped_keywords += 1;
        if media.as_str() == Some("application/octet-stream") && !obj.contains_key("format") {
            obj.insert("format".into(), Value::String("binary".into()));
        }
    }
    if let Some(Value::Array(types)) = obj.get("type").cloned() {
        counts.type_arrays += 1;
        let nullable = types.iter().any(|t| t.as_str() == Some("null"));
        let rest: Vec<Value> = types.into_iter().filter(|t| t.as_str() != Some("null")).collect();
        obj.remove("type");
        match rest.as_slice() {
            [] => {}
            [one] => {
                obj.insert("type".into(), one.clone());
            }
            many => {
                let branches = many.iter().map(|t| serde_json::json!({ "type": t })).collect();
                obj.insert("anyOf".into(), Value::Array(branches));
            }
        }
        if nullable {
            obj.insert("nullable".into(), Value::Bool(true));
        }
    }
    if obj.get("type").and_then(Value::as_str) == Some("null") {
        obj.remove("type");
        obj.insert("nullable".into(), Value::Bool(true));
        counts.type_arrays += 1;
    }
    if let Some(c) = obj.remove("const") {
        obj.insert("enum".into(), Value::Array(vec![c]));
        counts.consts += 1;
    }
    if let Some(examples) = obj.remove("examples") {
        counts.examples += 1;
        if let Some(first) = examples.as_array().and_then(|a| a.first()) {
            obj.entry("example").or_insert_with(|| first.clone());
        }
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(n) = obj.get(exclusive).filter(|v| v.is_number()).cloned() {
            obj.insert(bound.into(), n);
            obj.insert(exclusive.into(), Value::Bool(true));
            counts.exclusive_bounds += 1;
        }
    }
    for composition in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = obj.get_mut(composition) else {
            continue;
        };
        let before = branches.len();
        branches.retain(|b| !is_null_schema(b));
        let removed = before - branches.len();
        if removed > 0 {
            counts.null_branches += removed;
            obj.insert("nullable".into(), Value::Bool(true));
            // A union that is only `X | null` is the 3.0 idiom `allOf: [X], nullable`.
            if let Some(Value::Array(branches)) = obj.get(composition)
                && branches.len() == 1
            {
                let only = branches.clone();
                obj.remove(composition);
                obj.insert("allOf".into(), Value::Array(only));
            }
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("type")
            .and_then(Value::as_array)
            .is_some_and(|t| t.len() == 1 && t.first().and_then(Value::as_str) == Some("null"))
}

/// The HTTP methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Calls `f` on every schema in the document, outermost first, including
/// nested sub-schemas. `f` may rewrite a schema; its new children are visited.
pub fn for_each_schema(doc: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            walk_schema(schema, f);
        }
    }
    for kind in ["parameters", "headers"] {
        if let Some(items) = doc.pointer_mut(&format!("/components/{kind}")).and_then(Value::as_object_mut) {
            for item in items.values_mut() {
                walk_parameter(item, f);
            }
        }
    }
    for kind in ["requestBodies", "responses"] {
        if let Some(items) = doc.pointer_mut(&format!("/components/{kind}")).and_then(Value::as_object_mut) {
            for item in items.values_mut() {
                walk_content_holder(item, f);
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if let Some(Value::Array(params)) = item.get_mut("parameters") {
            params.iter_mut().for_each(|p| walk_parameter(p, f));
        }
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(Value::Array(params)) = op.get_mut("parameters") {
                params.iter_mut().for_each(|p| walk_parameter(p, f));
            }
            if let Some(body) = op.get_mut("requestBody") {
                walk_content_holder(body, f);
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.values_mut().for_each(|r| walk_content_holder(r, f));
            }
        }
    }
}

fn walk_parameter(param: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    if let Some(schema) = param.get_mut("schema") {
        walk_schema(schema, f);
    }
    walk_content_holder(param, f);
}

fn walk_content_holder(holder: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    if let Some(content) = holder.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            if let Some(schema) = media.get_mut("schema") {
                walk_schema(schema, f);
            }
        }
    }
    if let Some(headers) = holder.get_mut("headers").and_then(Value::as_object_mut) {
        headers.values_mut().for_each(|h| walk_parameter(h, f));
    }
}

/// Visits `schema` and every sub-schema below it (outermost first).
pub fn walk_schema(schema: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    f(schema);
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for key in ["properties", "patternProperties", "$defs", "definitions"] {
        if let Some(map) = obj.get_mut(key).and_then(Value::as_object_mut) {
            map.values_mut().for_each(|s| walk_schema(s, f));
        }
    }
    for key in ["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"] {
        if let Some(s) = obj.get_mut(key).filter(|s| s.is_object()) {
            walk_schema(s, f);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(list)) = obj.get_mut(key) {
            list.iter_mut().for_each(|s| walk_schema(s, f));
        }
    }
}

/// Resolves a local `#/components/...` reference.
pub fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref` chains (at most 16 deep) and returns the target.
pub fn deref<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| resolve_ref(doc, r)) {
            Some(target) => v = target,
            None => break,
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_numeric_keys_become_strings() {
        let v = parse("openapi: 3.0.0\npaths: {}\nx:\n  200: ok\n").unwrap();
        assert_eq!(v["x"]["200"], "ok");
    }

    #[test]
    fn downgrade_rewrites_31_keywords() {
        let mut doc = json!({
            "openapi": "3.1.1",
            "info": {"title": "t", "version": "1", "summary": "s"},
            "components": {"schemas": {"A": {
                "type": "object",
                "properties": {
                    "type": {"type": ["string", "null"], "examples": ["x", "y"]},
                    "n": {"type": "integer", "exclusiveMinimum": 0},
                    "c": {"const": 3},
                    "u": {"anyOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]},
                    "m": {"type": ["integer", "string"]}
                }
            }, "B": {"type": "string"}}}
        });
        let counts = downgrade_31(&mut doc).unwrap();
        let a = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["info"].get("summary").is_none());
        assert_eq!(a["type"], json!({"type": "string", "nullable": true, "example": "x"}));
        assert_eq!(a["n"], json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true}));
        assert_eq!(a["c"], json!({"enum": [3]}));
        assert_eq!(a["u"], json!({"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": true}));
        assert_eq!(a["m"], json!({"anyOf": [{"type": "integer"}, {"type": "string"}]}));
        assert_eq!(counts.type_arrays, 2);
        assert_eq!(counts.null_branches, 1);
    }

    #[test]
    fn downgrade_leaves_30_alone() {
        let mut doc = json!({"openapi": "3.0.4", "paths": {}});
        assert!(downgrade_31(&mut doc).is_none());
        assert_eq!(doc, json!({"openapi": "3.0.4", "paths": {}}));
    }
}

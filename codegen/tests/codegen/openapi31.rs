//! OpenAPI 3.1 input: a hand-written 3.1 twin of the mini fixture, and the
//! real 3.0.4 description converted to 3.1 here, must both give exactly the
//! catalogue their 3.0 originals give.

use docspace_mcp_codegen::spec::for_each_schema;
use serde_json::{Value, json};

use crate::common::{catalogue, fixture, pinned_spec, prepare};

#[test]
fn handwritten_31_fixture_matches_its_30_twin() {
    let v30 = prepare("mini-3.0.yaml");
    let v31 = prepare("mini-3.1.yaml");
    let d = v31.downgrade.clone().expect("3.1 input is downgraded");
    assert_eq!((d.type_arrays, d.consts, d.examples, d.exclusive_bounds), (2, 1, 2, 1));
    assert!(d.dropped_keywords >= 2, "$schema and $comment");
    assert!(v31.summary().contains("OpenAPI 3.1 input downgraded"));
    assert_eq!(catalogue(&v30, ""), catalogue(&v31, ""));
    let c30 = docspace_mcp_codegen::generate_client(&v30).unwrap();
    let c31 = docspace_mcp_codegen::generate_client(&v31).unwrap();
    assert_eq!(c30, c31, "the 3.1 twin generates the same client");
}

/// Rewrites a 3.0 document in 3.1 idioms (the inverse of the downgrade).
fn to_31(doc: &mut Value) {
    doc["openapi"] = json!("3.1.1");
    for_each_schema(doc, &mut |s| {
        let Some(obj) = s.as_object_mut() else { return };
        if obj.remove("nullable") == Some(Value::Bool(true))
            && let Some(Value::String(t)) = obj.get("type").cloned()
        {
            obj.insert("type".into(), json!([t, "null"]));
        }
        if let Some(e) = obj.remove("example") {
            obj.insert("examples".into(), json!([e]));
        }
        for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            match obj.remove(exclusive) {
                Some(Value::Bool(true)) => {
                    if let Some(n) = obj.remove(bound) {
                        obj.insert(exclusive.into(), n);
                    }
                }
                Some(Value::Bool(false)) | None => {}
                Some(other) => {
                    obj.insert(exclusive.into(), other);
                }
            }
        }
        if let Some(Value::Array(values)) = obj.get("enum").cloned()
            && values.len() == 1
        {
            obj.remove("enum");
            obj.insert("const".into(), values[0].clone());
        }
    });
}

#[test]
fn converting_the_fixture_to_31_changes_nothing() {
    let mut doc = docspace_mcp_codegen::spec::parse(&fixture("mini-3.0.yaml")).unwrap();
    to_31(&mut doc);
    let v31 = docspace_mcp_codegen::prepare(&doc.to_string()).unwrap();
    assert_eq!(catalogue(&prepare("mini-3.0.yaml"), ""), catalogue(&v31, ""));
}

#[test]
fn the_real_description_converted_to_31_gives_the_same_catalogue() {
    let text = pinned_spec();
    let v30 = docspace_mcp_codegen::prepare(&text).unwrap();
    let mut doc = docspace_mcp_codegen::spec::parse(&text).unwrap();
    to_31(&mut doc);
    let converted = doc.to_string();
    assert!(converted.contains("\"null\""), "the conversion produced 3.1 type arrays");
    let v31 = docspace_mcp_codegen::prepare(&converted).unwrap();
    let d = v31.downgrade.clone().unwrap();
    assert!(d.type_arrays > 1000 && d.examples > 1000, "{d:?}");
    let (a, b) = (catalogue(&v30, ""), catalogue(&v31, ""));
    assert_eq!(a.tools.len(), b.tools.len());
    for (x, y) in a.tools.iter().zip(&b.tools) {
        assert_eq!(x, y, "tool {} differs between the 3.0 and 3.1 inputs", x.name);
    }
    assert_eq!(a, b);
}

/// What the downgrade cannot express in 3.0 is refused, with where it is.
#[test]
fn constructs_with_no_30_equivalent_are_refused_by_name_and_place() {
    let doc = json!({
        "openapi": "3.1.1", "info": {"title": "t", "version": "1"},
        "paths": {"/pairs": {"get": {"operationId": "getPairs",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "if": {"minLength": 3}}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pair"}}}}}}}},
        "components": {"schemas": {
            "Pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            "Fine": {"type": ["string", "null"], "const": "x", "examples": ["x"]}
        }}
    });
    let e = docspace_mcp_codegen::prepare(&doc.to_string()).unwrap_err().to_string();
    assert!(e.contains("`prefixItems` in #/components/schemas/Pair"), "{e}");
    assert!(e.contains("`if` in a parameter, request or response schema under #/paths"), "{e}");
    assert!(!e.contains("Fine"), "type arrays, const and examples are handled: {e}");
    // The same document without them is accepted.
    let mut ok = doc.clone();
    ok["components"]["schemas"]["Pair"] = json!({"type": "array", "items": {"type": "string"}});
    ok["paths"]["/pairs"]["get"]["parameters"][0]["schema"] = json!({"type": "string"});
    let p = docspace_mcp_codegen::prepare(&ok.to_string()).unwrap();
    assert!(p.downgrade.unwrap().refused.is_empty());
}

//! Every tool definition validates against the official MCP schemas, and
//! every input and output schema is itself valid JSON Schema 2020-12 with
//! the shape strict clients need.

use docspace_mcp::catalogue::TOOLS;
use serde_json::{Value, json};

use crate::common::mcp_schema;

fn tool_validator(version: &str) -> jsonschema::Validator {
    let mut schema = mcp_schema(version);
    schema.as_object_mut().unwrap().insert("$ref".into(), json!("#/$defs/Tool"));
    jsonschema::draft202012::new(&schema).unwrap()
}

#[test]
fn tools_validate_against_the_mcp_schema() {
    for version in ["2025-11-25", "2026-07-28"] {
        let validator = tool_validator(version);
        let mut failures = Vec::new();
        for t in TOOLS {
            let tool = t.to_mcp();
            let errors: Vec<String> =
                validator.iter_errors(&tool).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            if !errors.is_empty() {
                failures.push(format!("{}: {}", t.name, errors.join("; ")));
            }
        }
        assert!(failures.is_empty(), "schema {version}:\n{}", failures.join("\n"));
    }
}

#[test]
fn the_validator_rejects_a_broken_tool() {
    // Guards the test above against validating nothing.
    let validator = tool_validator("2025-11-25");
    assert!(!validator.is_valid(&json!({"name": "x"})), "a tool without inputSchema");
    assert!(!validator.is_valid(&json!({"name": 3, "inputSchema": {"type": "object"}})));
    assert!(validator.is_valid(&json!({"name": "x", "inputSchema": {"type": "object"}})));
}

#[test]
fn schemas_are_valid_2020_12() {
    for t in TOOLS {
        let input: Value = serde_json::from_str(t.input_schema_text()).unwrap();
        jsonschema::draft202012::meta::validate(&input).unwrap_or_else(|e| panic!("{} input: {e}", t.name));
        jsonschema::draft202012::new(&input).unwrap_or_else(|e| panic!("{} input does not compile: {e}", t.name));
        if let Some(out) = t.output_schema_text() {
            let output: Value = serde_json::from_str(out).unwrap();
            jsonschema::draft202012::meta::validate(&output).unwrap_or_else(|e| panic!("{} output: {e}", t.name));
            assert_eq!(output["type"], "object", "{}: output schemas have an object root", t.name);
        }
    }
}

/// Walks a schema, calling `f` on every sub-schema object.
fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(m) => {
            f(m);
            m.values().for_each(|v| walk(v, f));
        }
        Value::Array(a) => a.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

#[test]
fn input_schemas_suit_strict_clients() {
    for t in TOOLS {
        let input: Value = serde_json::from_str(t.input_schema_text()).unwrap();
        assert_eq!(input["type"], "object", "{}", t.name);
        walk(&input, &mut |m| {
            assert!(!m.contains_key("$ref") && !m.contains_key("$defs"), "{}: $ref", t.name);
            assert_ne!(m.get("additionalProperties"), Some(&Value::Bool(false)), "{}: closed object", t.name);
            if m.get("type") == Some(&json!("array")) {
                assert!(m.contains_key("items"), "{}: array without items", t.name);
            }
            if let Some(Value::Array(types)) = m.get("type") {
                panic!("{}: type array {types:?} in an input schema", t.name);
            }
            if let (Some(Value::Array(values)), Some(Value::Array(names))) = (m.get("enum"), m.get("x-enum-varnames")) {
                assert_eq!(values.len(), names.len(), "{}", t.name);
            }
            if let Some(Value::Array(values)) = m.get("enum") {
                assert!(values.len() <= 64, "{}: enum of {} values", t.name, values.len());
            }
        });
    }
}

#[test]
fn integer_enums_carry_their_labels() {
    // DocSpace's integer enums mean nothing without their names: each value is
    // labelled in the description ("9 - Room manager" or "9 = RoomManager").
    let mut checked = 0;
    let mut unlabelled = Vec::new();
    for tool in TOOLS {
        let input: Value = serde_json::from_str(tool.input_schema_text()).unwrap();
        walk(&input, &mut |m| {
            let Some(values) = m.get("enum").and_then(Value::as_array) else { return };
            if !values.iter().all(Value::is_i64) {
                return;
            }
            checked += 1;
            let description = m.get("description").and_then(Value::as_str).unwrap_or_default();
            if !values
                .iter()
                .all(|v| description.contains(&format!("{v} - ")) || description.contains(&format!("{v} = ")))
            {
                unlabelled.push(format!("{}: {description:?}", tool.name));
            }
        });
    }
    assert!(checked > 100, "{checked}");
    assert!(unlabelled.is_empty(), "integer enums without labels: {unlabelled:#?}");
}

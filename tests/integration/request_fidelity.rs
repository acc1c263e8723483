//! Request fidelity: every generated tool, called with the least its input
//! schema asks for, sends requests the DocSpace description accepts.
//!
//! For each generated tool (workflows aside) the test synthesises minimal
//! schema-valid arguments (the required properties only, recursively; the
//! first enum value; the smallest value the bounds and formats allow),
//! checks them against the tool's input schema, calls the tool over stdio
//! against an upstream on 127.0.0.1 that records every request, and checks
//! each request against the (wire-normalised) description, as an OpenAPI
//! request validator would:
//! - the method and path match an operation, path parameters have their type;
//! - every required query parameter is there, and values have their type and enum;
//! - a required body, or a body whose schema has required members, is sent;
//! - a JSON body validates against the operation's body schema (JSON Schema
//!   draft 4, OpenAPI 3.0's dialect, with formats asserted);
//! - a multipart body has its required parts.

use std::collections::BTreeMap;

use docspace_mcp_codegen::spec::deref;
use rmcp::model::CallToolRequestParams;
use rmcp::service::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Map, Value, json};
use tokio::process::Command;

use crate::common::{Reply, Seen, Upstream, server_command};

/// Minimal arguments for a schema: required members only.
fn minimal(schema: &Value, key: &str) -> Value {
    if let Some(d) = schema.get("default") {
        return d.clone();
    }
    if let Some(first) = schema.get("anyOf").and_then(Value::as_array).and_then(|b| b.first()) {
        return minimal(first, key);
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let number = |integer: bool| {
        let min = schema.get("minimum").and_then(Value::as_f64);
        let exclusive = schema.get("exclusiveMinimum").and_then(Value::as_f64);
        let n = match (min, exclusive) {
            (Some(m), _) => m.max(1.0),
            (_, Some(e)) => (e + 1.0).max(1.0),
            _ => 1.0,
        };
        if integer { json!(n as i64) } else { json!(n) }
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut out = Map::new();
            let props = schema.get("properties").and_then(Value::as_object);
            for r in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if let Some(p) = props.and_then(|p| p.get(r)) {
                    out.insert(r.to_owned(), minimal(p, r));
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = minimal(schema.get("items").unwrap_or(&json!({})), key);
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        Some("integer") => number(true),
        Some("number") => number(false),
        Some("boolean") => json!(false),
        _ if key == "content_base64" => json!("eA=="),
        _ => {
            let s = match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => "2025-01-01T00:00:00Z".to_owned(),
                Some("date") => "2025-01-01".to_owned(),
                Some("uuid") => "00000000-0000-0000-0000-000000000001".to_owned(),
                Some("email") => "someone@example.com".to_owned(),
                Some("uri" | "url") => "https://example.com/".to_owned(),
                _ => {
                    let n = schema.get("minLength").and_then(Value::as_u64).unwrap_or(1).max(1);
                    "x".repeat(usize::try_from(n).unwrap())
                }
            };
            json!(s)
        }
    }
}

/// The description's operations, for matching requests.
struct Operation<'a> {
    id: &'a str,
    method: String,
    segments: Vec<&'a str>,
    op: &'a Value,
    params: Vec<Value>,
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else { continue };
            let params = shared
                .iter()
                .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
                .map(|p| deref(doc, p).clone())
                .collect();
            out.push(Operation {
                id,
                method: method.to_uppercase(),
                segments: path.trim_matches('/').split('/').collect(),
                op,
                params,
            });
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Does `value` (a URL's text) fit a parameter's schema?
fn fits(doc: &Value, schema: &Value, value: &str) -> Result<(), String> {
    let schema = deref(doc, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let ok = values.iter().any(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned) == value);
        if !ok {
            return Err(format!("`{value}` is not one of {}", Value::Array(values.clone())));
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") if value.parse::<i64>().is_err() => Err(format!("`{value}` is not an integer")),
        Some("number") if value.parse::<f64>().is_err() => Err(format!("`{value}` is not a number")),
        Some("boolean") if !matches!(value, "true" | "false") => Err(format!("`{value}` is not a boolean")),
        _ => Ok(()),
    }
}

/// DocSpace's description closes its objects (`additionalProperties:
/// false`), composed ones too: `allOf: [Base, {more members}]` with Base or
/// the whole closed. JSON Schema reads each closed part on its own, so no
/// request could satisfy such a schema (a member of one part is "additional"
/// to the other); the description's own generator means one object with the
/// members of every part. The validator reads it so: every schema composed
/// with `allOf` is merged into one object (members and `required` of every
/// part), closed when any part was, so a member no part declares is still
/// refused.
fn merge_all_of(doc: &Value) -> Value {
    fn merge(doc: &Value, s: &Value, props: &mut Map<String, Value>, required: &mut Vec<Value>) -> bool {
        let s = deref(doc, s);
        let mut closed = s.get("additionalProperties") == Some(&Value::Bool(false));
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            props.insert(k.clone(), v.clone());
        }
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
        for part in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            closed |= merge(doc, part, props, required);
        }
        closed
    }
    let mut components = doc["components"].clone();
    for (name, s) in doc["components"]["schemas"].as_object().unwrap() {
        if s.get("allOf").is_none() {
            continue;
        }
        let (mut props, mut required) = (Map::new(), Vec::new());
        let closed = merge(doc, s, &mut props, &mut required);
        let mut merged = json!({"type": "object", "properties": props, "required": required});
        if closed {
            merged["additionalProperties"] = json!(false);
        }
        if required.is_empty() {
            merged.as_object_mut().unwrap().remove("required");
        }
        components["schemas"][name] = merged;
    }
    components
}

/// The validator's verdict on one request (None: valid).
fn violation(
    doc: &Value,
    components: &Value,
    ops: &[Operation<'_>],
    bodies: &mut BTreeMap<String, jsonschema::Validator>,
    seen: &Seen,
) -> Option<String> {
    let (path, query) = seen.target.split_once('?').unwrap_or((&seen.target, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let matches = |o: &&Operation<'_>| {
        o.method == seen.method
            && o.segments.len() == segments.len()
            && o.segments.iter().zip(&segments).all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
    };
    // The most literal template wins (`/files/recent` over `/files/{id}`).
    let Some(o) = ops.iter().filter(matches).min_by_key(|o| o.segments.iter().filter(|s| s.starts_with('{')).count())
    else {
        return Some(format!("no operation is {} {path}", seen.method));
    };
    let mut problems = Vec::new();
    for (t, s) in o.segments.iter().zip(&segments) {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let p = o.params.iter().find(|p| p["name"] == name && p["in"] == "path");
            if let Some(Err(e)) = p.map(|p| fits(doc, &p["schema"], &percent_decode(s))) {
                problems.push(format!("path `{name}`: {e}"));
            }
        }
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    for p in o.params.iter().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap();
        let values: Vec<&String> = pairs
            .iter()
            .filter(|(k, _)| k == name || k.starts_with(&format!("{name}[")) || k.starts_with(&format!("{name}.")))
            .map(|(_, v)| v)
            .collect();
        if values.is_empty() && p["required"] == true {
            problems.push(format!("required query parameter `{name}` missing"));
        }
        let schema = deref(doc, &p["schema"]);
        let item = if schema["type"] == "array" { deref(doc, &schema["items"]) } else { schema };
        for v in values {
            if let Err(e) = fits(doc, item, v) {
                problems.push(format!("query `{name}`: {e}"));
            }
        }
    }
    if let Some(body) = o.op.get("requestBody").map(|b| deref(doc, b)) {
        let content = body["content"].as_object().unwrap();
        let (media, spec) = content.iter().next().unwrap();
        let schema = deref(doc, &spec["schema"]);
        let has_required = schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty());
        if seen.body.is_empty() {
            if body["required"] == true || has_required {
                problems.push("the request body is missing".into());
            }
        } else if media == "application/json" {
            let validator = bodies.entry(o.id.to_owned()).or_insert_with(|| {
                let root = json!({"allOf": [spec["schema"]], "components": components});
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("{}: {e}", o.id))
            });
            match serde_json::from_slice::<Value>(&seen.body) {
                Ok(v) => problems.extend(validator.iter_errors(&v).map(|e| format!("body {}: {e}", e.instance_path()))),
                Err(e) => problems.push(format!("the body is not JSON: {e}")),
            }
        } else if media == "multipart/form-data" {
            let text = String::from_utf8_lossy(&seen.body);
            for r in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !text.contains(&format!("name=\"{r}\"")) {
                    problems.push(format!("required part `{r}` missing"));
                }
            }
        }
    }
    (!problems.is_empty()).then(|| format!("{} {path} ({}): {}", seen.method, o.id, problems.join("; ")))
}

#[tokio::test]
async fn every_tool_called_minimally_sends_a_request_the_description_accepts() {
    let text =
        std::fs::read_to_string(std::env::var("DOCSPACE_OPENAPI").unwrap_or_else(|_| {
            crate::common::root().join("../shared/openapi/docspace-3.7.0.yaml").display().to_string()
        }))
        .unwrap();
    let prepared = docspace_mcp_codegen::prepare(&text).unwrap();
    let doc = &prepared.doc;
    let ops = operations(doc);
    let components = merge_all_of(doc);
    let upstream = Upstream::start(|_| Reply::json(200, json!({"response": {}, "status": 0, "statusCode": 200}))).await;
    let envs = [
        ("DOCSPACE_BASE_URL", upstream.base_url.as_str()),
        ("DOCSPACE_API_KEY", "sk-fidelity"),
        ("DOCSPACE_TOOLSETS", "all"),
        ("DOCSPACE_OPERATION_TIMEOUT", "1"),
    ];
    let cmd = Command::from(server_command(&[], &envs));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let mut bodies = BTreeMap::new();
    let mut violations = Vec::new();
    let mut called = 0;
    for tool in docspace_mcp::catalogue::TOOLS.iter().filter(|t| !t.workflow) {
        let schema = Value::Object(tool.input_schema());
        let args = minimal(&schema, "");
        let valid = jsonschema::draft202012::new(&schema).unwrap();
        assert!(valid.is_valid(&args), "{}: the synthesised arguments {args} do not fit its schema", tool.name);
        let before = upstream.requests().len();
        let params = CallToolRequestParams::new(tool.name).with_arguments(args.as_object().cloned().unwrap());
        let result = client.call_tool(params).await.unwrap();
        called += 1;
        let seen = upstream.requests();
        let sent = seen.get(before..).unwrap_or_default();
        if sent.is_empty() {
            violations.push(format!("{}({args}): sent no request: {}", tool.name, crate::common::text(&result)));
        }
        for s in sent {
            if let Some(v) = violation(doc, &components, &ops, &mut bodies, s) {
                violations.push(format!("{}({args}): {v}", tool.name));
            }
        }
    }
    client.cancel().await.unwrap();
    let tools: std::collections::BTreeSet<&str> = violations.iter().filter_map(|v| v.split('(').next()).collect();
    eprintln!("{called} tools called; {} violations in {} tools", violations.len(), tools.len());
    assert_eq!(called, 593);
    assert!(
        violations.is_empty(),
        "{} of {called} minimal calls sent a request the description rejects:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// The validator itself refuses what the description refuses (so a green
/// run above means something).
#[test]
fn the_validator_refuses_requests_the_description_rejects() {
    let text =
        std::fs::read_to_string(std::env::var("DOCSPACE_OPENAPI").unwrap_or_else(|_| {
            crate::common::root().join("../shared/openapi/docspace-3.7.0.yaml").display().to_string()
        }))
        .unwrap();
    let prepared = docspace_mcp_codegen::prepare(&text).unwrap();
    let (doc, ops, components) = (&prepared.doc, operations(&prepared.doc), merge_all_of(&prepared.doc));
    let mut bodies = BTreeMap::new();
    let seen = |method: &str, target: &str, body: &str| Seen {
        method: method.into(),
        target: target.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    };
    let mut check = |s: Seen| violation(doc, &components, &ops, &mut bodies, &s);
    // add_group's body requires groupName (the issue's example).
    assert!(check(seen("POST", "/api/2.0/group", "")).unwrap().contains("the request body is missing"));
    assert!(check(seen("POST", "/api/2.0/group", "{}")).unwrap().contains("groupName"));
    assert_eq!(check(seen("POST", "/api/2.0/group", r#"{"groupName":"Team"}"#)), None);
    assert!(check(seen("POST", "/api/2.0/group", r#"{"groupName":"Team","nope":1}"#)).is_some(), "closed object");
    // Types of path and query parameters, enums, unknown paths.
    assert!(check(seen("GET", "/api/2.0/files/file/abc", "")).unwrap().contains("not an integer"));
    assert_eq!(check(seen("GET", "/api/2.0/files/file/12", "")), None);
    assert!(check(seen("GET", "/api/2.0/nowhere", "")).unwrap().contains("no operation"));
    // A composed, closed body (BatchRequestDto = allOf[base, members], additionalProperties: false).
    assert_eq!(check(seen("PUT", "/api/2.0/files/fileops/copy", r#"{"conflictResolveType":"Skip"}"#)), None);
    assert!(check(seen("PUT", "/api/2.0/files/fileops/copy", r#"{"conflictResolveType":"Sometimes"}"#)).is_some());
}

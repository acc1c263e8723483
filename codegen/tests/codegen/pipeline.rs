//! The whole pipeline on the mini fixture: every normalisation rule fires
//! once, the catalogue has the documented shape, and the client generates.

use serde_json::json;

use crate::common::{catalogue, prepare, tool};

#[test]
fn every_rule_fires_on_its_shape() {
    let p = prepare("mini-3.0.yaml");
    let r = &p.report;
    assert_eq!(r.count("date-time-wrapper"), Some(1));
    assert_eq!(r.count("unsupported-method"), Some(1));
    assert_eq!(r.count("orphan-path-param"), Some(1));
    assert_eq!(r.count("deep-object-param"), Some(2), "an array and a date-time wrapper");
    assert_eq!(r.count("object-query-param"), Some(1));
    assert_eq!(r.count("property-name-collision"), Some(1));
    assert_eq!(r.count("multipart-body"), Some(1));
    assert_eq!(r.count("client-multipart-removed"), Some(1));
    assert_eq!(r.count("error-response-bodies"), Some(2));
    assert!(r.count("closed-objects").unwrap() >= 3);
    assert_eq!(
        r.count("pruned-schemas"),
        Some(3),
        "Unused; ProblemDetail once error bodies are gone; BatchRequest once flattened"
    );
    assert!(p.summary().contains("DocSpace API 9.9.9"));
    // The client copy keeps nothing progenitor chokes on.
    let client = p.client_doc.to_string();
    assert!(!client.contains("deepObject"));
    assert!(!client.contains("multipart/form-data"));
    assert!(!client.contains("\"additionalProperties\":false"));
    assert!(p.client_doc.pointer("/paths/~1api~12.0~1files~1file~1{fileId}/options").is_none());
}

#[test]
fn catalogue_shape() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(&p, "");
    let names: Vec<&str> = c.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "check_batch",
            "create_room",
            "delete_file",
            "get_file_history",
            "get_file_info",
            "get_room_groups",
            "update_file",
            "upload_file"
        ]
    );
    let info = tool(&c, "get_file_info");
    assert_eq!(info.toolset, "files_files");
    assert_eq!(info.group, "files");
    assert_eq!(info.title, "Get file information");
    assert_eq!(info.description, "Get file information.\n\nReturns the detailed information about a file.");
    assert!(info.read_only && !info.destructive);
    assert!(!info.public);
    let s = &info.input_schema;
    assert_eq!(s["required"], json!(["fileId"]));
    assert_eq!(s["properties"]["fileId"], json!({"type": "integer", "format": "int32", "description": "The file ID."}));
    assert_eq!(s["properties"]["version"]["exclusiveMinimum"], 0);
    assert_eq!(s["properties"]["fields"], json!({"type": "array", "items": {"type": "string"}}));
    let out = info.output_schema.as_ref().expect("typed response");
    assert_eq!(out["type"], "object");
    assert_eq!(out["properties"]["response"]["properties"]["title"]["type"], json!(["string", "null"]));
    assert!(out["properties"]["response"]["properties"]["created"].get("type").is_none(), "dates admit any shape");
    assert!(out["properties"]["response"]["properties"].get("version_Changed").is_none());

    let history = tool(&c, "get_file_history");
    assert_eq!(history.input_schema["properties"]["fromDate"]["type"], "string");
    assert_eq!(history.input_schema["properties"]["fromDate"]["format"], "date-time");

    let batch = tool(&c, "check_batch");
    assert_eq!(batch.input_schema["properties"]["folderIds"]["items"]["type"], "integer");
    assert!(batch.input_schema["properties"].get("inDto").is_none());

    let groups = tool(&c, "get_room_groups");
    assert_eq!(groups.input_schema["required"], json!(["id"]), "the orphan path parameter is still required");

    let create = tool(&c, "create_room");
    assert!(create.public, "security: [] marks a public operation");
    assert!(!create.read_only && !create.destructive && !create.idempotent);
    let body = &create.input_schema["properties"]["body"];
    assert_eq!(create.input_schema["required"], json!(["body"]));
    assert_eq!(body["required"], json!(["title"]));
    assert_eq!(body["properties"]["title"], json!({"type": "string", "description": "The room title."}));
    let room_type = &body["properties"]["roomType"];
    assert_eq!(room_type["enum"], json!([1, 2, 6]));
    assert!(room_type.get("x-enum-varnames").is_none(), "labels live in the description");
    assert!(room_type["description"].as_str().unwrap().contains("6 = PublicRoom"));

    let update = tool(&c, "update_file");
    assert!(update.destructive && update.idempotent && !update.read_only);
    let title = &update.input_schema["properties"]["body"]["properties"]["title"];
    assert_eq!(title["maxLength"], 170);
    assert!(title.get("pattern").is_none(), "regex patterns are not passed to clients");
    let file_body = &tool(&c, "update_file").input_schema["properties"]["body"];
    assert!(file_body.get("additionalProperties").is_none());

    let delete = tool(&c, "delete_file");
    assert!(delete.destructive && delete.idempotent);
    assert!(delete.output_schema.is_none());

    let upload = tool(&c, "upload_file");
    assert!(upload.multipart);
    let file = &upload.input_schema["properties"]["body"]["properties"]["file"];
    assert_eq!(file["required"], json!(["content_base64"]));
    assert_eq!(file["description"], "The file.");

    assert!(!c.tools.iter().any(|t| t.operation_id == "handleOptions"));
    let ts: Vec<(&str, &str)> = c.toolsets.iter().map(|t| (t.name.as_str(), t.group.as_str())).collect();
    assert_eq!(ts, [("files_files", "files"), ("rooms", "rooms")]);
    assert_eq!(c.toolsets[0].description, "Operations for working with files.");
}

#[test]
fn input_schemas_have_no_refs_and_arrays_have_items() {
    let p = prepare("mini-3.0.yaml");
    for t in catalogue(&p, "").tools {
        let text = t.input_schema.to_string();
        assert!(!text.contains("$ref") && !text.contains("$defs"), "{}", t.name);
        assert!(!text.contains("nullable"), "{}", t.name);
        check_arrays(&t.input_schema, &t.name);
    }
}

fn check_arrays(v: &serde_json::Value, tool: &str) {
    match v {
        serde_json::Value::Object(map) => {
            if map.get("type").and_then(|t| t.as_str()) == Some("array") {
                assert!(map.contains_key("items"), "{tool}: array without items");
            }
            map.values().for_each(|v| check_arrays(v, tool));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| check_arrays(v, tool)),
        _ => {}
    }
}

#[test]
fn client_generates_dispatch_for_every_json_operation() {
    let p = prepare("mini-3.0.yaml");
    let code = docspace_mcp_codegen::generate_client(&p).unwrap();
    syn::parse_file(&code).expect("valid Rust");
    for id in ["getFileInfo", "updateFile", "deleteFile", "getFileHistory", "checkBatch", "getRoomGroups", "createRoom"]
    {
        assert!(code.contains(&format!("(\"{id}\", op_")), "no dispatch arm for {id}");
    }
    assert!(!code.contains("(\"uploadFile\", op_"), "multipart operations are not dispatched through progenitor");
    assert!(code.contains("operation_id: \"uploadFile\""), "the multipart table lists uploadFile");
    let compact: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        compact.contains("name: \"file\", binary: true, array: false"),
        "{}",
        excerpt(&code, "MULTIPART_OPERATIONS")
    );
    // Owned argument types follow progenitor's signatures.
    assert!(
        code.contains("let body: types::CreateRoom = body(args, \"body\")?;"),
        "{}",
        excerpt(&code, "fn op_create_room")
    );
    // The exact emitted code is snapshotted below (`emitted_code`).
}

/// The code the generators emit for the mini 3.0 fixture, as reviewers read
/// it: the client (progenitor's, plus our dispatch and multipart table) and
/// the catalogue's static tables. A change to a generator shows up here as a
/// reviewable diff (`cargo insta review`), as progenitor snapshots its own
/// output per fixture.
#[test]
fn emitted_code() {
    let p = prepare("mini-3.0.yaml");
    insta::assert_snapshot!("mini-3.0.client.rs", docspace_mcp_codegen::generate_client(&p).unwrap());
    let (_, catalogue) =
        docspace_mcp_codegen::generate_catalogue(&p, &docspace_mcp_codegen::Overlay::default()).unwrap();
    insta::assert_snapshot!("mini-3.0.catalogue.rs", catalogue);
}

fn excerpt(code: &str, marker: &str) -> String {
    code.find(marker).map(|i| code[i..].chars().take(600).collect()).unwrap_or_default()
}

/// A body whose schema has required members is itself required (an absent
/// body would lack them), and a required array needs an item (the client
/// leaves an empty list out of the request).
#[test]
fn a_body_with_required_members_and_required_lists_are_required() {
    let spec = json!({
        "openapi": "3.0.4", "info": {"title": "t", "version": "1"},
        "paths": {
            "/groups": {"post": {"operationId": "addGroup", "tags": ["Group"],
                "parameters": [{"name": "ids", "in": "query", "required": true, "schema": {"type": "array", "items": {"type": "integer"}}}],
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["groupName", "members"],
                    "properties": {"groupName": {"type": "string", "minLength": 1}, "members": {"type": "array", "items": {"type": "string"}}, "note": {"type": "string"}}}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/tags": {"post": {"operationId": "addTag", "tags": ["Group"],
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}},
                "responses": {"200": {"description": "ok"}}}}
        }
    });
    let p = docspace_mcp_codegen::prepare(&spec.to_string()).unwrap();
    let c = catalogue(&p, "");
    let add = &tool(&c, "add_group").input_schema;
    assert_eq!(add["required"], json!(["ids", "body"]));
    assert_eq!(add["properties"]["ids"]["minItems"], 1);
    assert_eq!(add["properties"]["body"]["properties"]["members"]["minItems"], 1);
    assert!(add["properties"]["body"]["properties"]["note"].get("minItems").is_none());
    assert_eq!(add["properties"]["body"]["properties"]["groupName"]["minLength"], 1, "constraints are kept");
    let tag = &tool(&c, "add_tag").input_schema;
    assert!(tag.get("required").is_none(), "a body with no required member stays optional: {tag}");
}

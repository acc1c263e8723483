//! `openapi/tools.toml`: every key works, and every mistake fails the build
//! with a message naming the culprit.

use docspace_mcp_codegen::{Error, Overlay, generate_catalogue};
use serde_json::json;

use crate::common::{catalogue, prepare, tool};

#[test]
fn curation_keys_apply() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(
        &p,
        r#"
        [core]
        toolsets = ["files"]
        [toolsets.files]
        description = "Files: read, rename, delete."
        [tools.getFileInfo]
        name = "file_info"
        aliases = ["get_file"]
        title = "File info"
        description = "Everything about a file."
        toolsets = ["files"]
        hidden = ["fields"]
        defaults = { version = 1 }
        [tools.checkBatch]
        read_only = false
        [tools.deleteFile]
        exclude = true
        "#,
    );
    let t = tool(&c, "file_info");
    assert_eq!(t.aliases, ["get_file", "get_file_info"], "the generated name stays an alias");
    assert_eq!(t.title, "File info");
    assert_eq!(t.description, "Everything about a file.");
    assert_eq!(t.extra_toolsets, ["files"]);
    assert!(t.input_schema["properties"].get("fields").is_none());
    assert_eq!(t.input_schema["properties"]["version"]["default"], 1);
    assert_eq!(t.defaults["version"], json!(1));
    assert_eq!(t.hidden, ["fields"]);
    assert!(!tool(&c, "check_batch").read_only);
    assert!(!c.tools.iter().any(|t| t.operation_id == "deleteFile"));
    assert_eq!(c.excluded, [("deleteFile".to_owned(), "excluded in openapi/tools.toml".to_owned())]);
    assert_eq!(c.core, ["file_info"], "the tools of the core toolsets");
    assert_eq!(c.core_toolsets, ["files"]);
    let files = c.toolsets.iter().find(|t| t.name == "files").unwrap();
    assert_eq!(files.description, "Files: read, rename, delete.");
}

fn build_error(overlay: &str) -> String {
    let p = prepare("mini-3.0.yaml");
    let overlay = match Overlay::parse(overlay) {
        Ok(o) => o,
        Err(e) => return e.to_string(),
    };
    match generate_catalogue(&p, &overlay) {
        Ok(_) => panic!("overlay should have been rejected:\n{overlay:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_operation_fails() {
    let e = build_error("[tools.getFileInfoo]\nname = \"x\"\n");
    assert!(e.contains("getFileInfoo"), "{e}");
}

#[test]
fn unknown_parameter_fails() {
    let e = build_error("[tools.getFileInfo]\nhidden = [\"nope\"]\n");
    assert!(e.contains("`nope`") && e.contains("fileId"), "{e}");
}

#[test]
fn unknown_key_fails() {
    let e = build_error("[tools.getFileInfo]\nrename = \"x\"\n");
    assert!(e.contains("rename"), "{e}");
}

#[test]
fn core_toolsets_must_exist_and_be_curated() {
    let e = build_error("[core]\ntoolsets = [\"everything\"]\n");
    assert!(e.contains("`everything`") && e.contains("no tool belongs to"), "{e}");
    let e = build_error("[core]\ntoolsets = [\"rooms\"]\n");
    assert!(e.contains("tag `Rooms`") && e.contains("[tags]"), "{e}");
    let e = build_error("[core]\ntools = [\"get_file_info\"]\n");
    assert!(e.contains("tools"), "the old key is refused: {e}");
}

#[test]
fn tags_rename_generated_toolsets_and_free_the_name_for_a_curated_one() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(
        &p,
        r#"
        [core]
        toolsets = ["rooms"]
        [tags]
        Rooms = "rooms_api"
        [tools.createRoom]
        toolsets = ["rooms"]
        "#,
    );
    let t = tool(&c, "create_room");
    assert_eq!((t.toolset.as_str(), t.extra_toolsets.as_slice()), ("rooms_api", &["rooms".to_owned()][..]));
    let rooms = c.toolsets.iter().find(|t| t.name == "rooms").unwrap();
    assert!(rooms.tag.is_empty(), "the curated toolset");
    assert_eq!(c.toolsets.iter().find(|t| t.name == "rooms_api").unwrap().tag, "Rooms");
    assert_eq!(c.core, ["create_room"]);
    let e = build_error("[tags]\nNope = \"x\"\n");
    assert!(e.contains("[tags]") && e.contains("Nope"), "{e}");
}

#[test]
fn bodies_flatten_and_arguments_rename() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(
        &p,
        r#"
        [tools.updateFile]
        flatten_body = true
        params = { "body.title" = "name" }
        [tools.getFileInfo]
        params = { fileId = "id" }
        defaults = { id = 7 }
        "#,
    );
    let t = tool(&c, "update_file");
    let props = t.input_schema["properties"].as_object().unwrap();
    assert!(props.get("body").is_none());
    assert_eq!(props.keys().next().map(String::as_str), Some("fileId"), "parameters keep their order");
    assert!(props.contains_key("name") && !props.contains_key("title"));
    assert!(t.flatten_body);
    assert!(t.arguments.contains(&("name".to_owned(), "body.title".to_owned())), "{:?}", t.arguments);
    let required: Vec<&str> =
        t.input_schema["required"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
    assert!(required.contains(&"fileId") && !required.contains(&"body"), "{required:?}");
    let g = tool(&c, "get_file_info");
    assert_eq!(g.arguments, [("id".to_owned(), "fileId".to_owned())]);
    assert_eq!(g.input_schema["properties"]["id"]["default"], 7);
    assert!(g.input_schema.get("required").is_none(), "a defaulted argument is not required");

    let c = catalogue(&p, "[tools.createRoom]\nflatten_body = true\nhidden = [\"body.tags\"]\n");
    let t = tool(&c, "create_room");
    assert!(t.input_schema["properties"].get("tags").is_none());
    assert!(
        t.arguments.contains(&("tags".to_owned(), "body.tags".to_owned())),
        "a hidden member of a lifted body is still accepted by name: {:?}",
        t.arguments
    );
    let e = build_error("[tools.getFileInfo]\nflatten_body = true\n");
    assert!(e.contains("no request body"), "{e}");
    let e = build_error("[tools.getFileInfo]\nparams = { nope = \"x\" }\n");
    assert!(e.contains("`nope`") && e.contains("fileId"), "{e}");
    let e = build_error("[tools.updateFile]\nparams = { \"body.title\" = \"x\" }\n");
    assert!(e.contains("flatten_body"), "a body member cannot be renamed without lifting it: {e}");
    let e = build_error("[tools.updateFile]\nflatten_body = true\nparams = { \"body.title\" = \"fileId\" }\n");
    assert!(e.contains("`fileId` would be defined twice"), "{e}");
    let e = build_error("[tools.getFileInfo]\ndefaults = { nope = 1 }\n");
    assert!(e.contains("`nope`"), "{e}");
}

#[test]
fn duplicate_names_fail() {
    let e = build_error("[tools.getFileInfo]\nname = \"update_file\"\n");
    assert!(e.contains("`update_file` is used by both"), "{e}");
}

#[test]
fn invalid_names_fail() {
    for bad in ["Get-File", "a.b", ""] {
        let e = build_error(&format!("[tools.getFileInfo]\nname = \"{bad}\"\n"));
        assert!(e.contains("tool name"), "{bad}: {e}");
    }
    let e = build_error(&format!("[tools.getFileInfo]\nname = \"{}\"\n", "x".repeat(65)));
    assert!(e.contains("1 to 64"), "{e}");
}

#[test]
fn toolset_description_for_unknown_toolset_fails() {
    let e = build_error("[toolsets.nothing]\ndescription = \"x\"\n");
    assert!(e.contains("nothing"), "{e}");
}

#[test]
fn non_object_root_fails_the_check() {
    let p = prepare("mini-3.0.yaml");
    let mut c = catalogue(&p, "");
    c.tools[0].input_schema = json!({"type": "array", "items": {}});
    let e = docspace_mcp_codegen::catalogue::check(&c).unwrap_err();
    assert!(matches!(e, Error::Catalogue(_)));
    assert!(e.to_string().contains("object root"), "{e}");
}

#[test]
fn workflows_join_the_catalogue_and_can_take_a_renamed_tool_s_name() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(
        &p,
        r#"
        [tools.uploadFile]
        name = "upload_file_multipart"
        generated_alias = false
        [workflows.upload_file]
        title = "Upload a file"
        description = "Chunked upload."
        toolsets = ["files_files", "files"]
        input_schema = { type = "object", properties = { parentId = { type = "integer" } }, required = ["parentId"] }
        "#,
    );
    let w = tool(&c, "upload_file");
    assert!(w.workflow && w.operation_id.is_empty());
    assert_eq!((w.toolset.as_str(), w.extra_toolsets.as_slice()), ("files_files", &["files".to_owned()][..]));
    assert_eq!(w.input_schema["required"], json!(["parentId"]));
    assert!(!w.read_only && !w.destructive);
    assert!(tool(&c, "upload_file_multipart").aliases.is_empty(), "the generated name is free for the workflow");
}

#[test]
fn a_workflow_that_collides_or_is_malformed_fails() {
    let e = build_error(
        "[workflows.upload_file]\ntitle = \"t\"\ndescription = \"d\"\ntoolsets = [\"files_files\"]\ninput_schema = { type = \"object\" }\n",
    );
    assert!(e.contains("`upload_file` is used by both"), "{e}");
    let e = build_error(
        "[workflows.x]\ntitle = \"t\"\ndescription = \"d\"\ntoolsets = []\ninput_schema = { type = \"object\" }\n",
    );
    assert!(e.contains("at least one toolset"), "{e}");
    let e = build_error(
        "[workflows.x]\ntitle = \"t\"\ndescription = \"d\"\ntoolsets = [\"a\"]\ninput_schema = { type = \"array\" }\n",
    );
    assert!(e.contains("type = \"object\""), "{e}");
}

#[test]
fn nested_body_members_can_be_hidden_and_output_schemas_dropped() {
    let p = prepare("mini-3.0.yaml");
    let c = catalogue(
        &p,
        r#"
        [tools.createRoom]
        hidden = ["body.tags", "body.title"]
        output_schema = false
        "#,
    );
    let t = tool(&c, "create_room");
    let body = &t.input_schema["properties"]["body"];
    assert!(body["properties"].get("tags").is_none() && body["properties"].get("title").is_none());
    assert!(body["properties"].get("roomType").is_some());
    assert!(body.get("required").is_none(), "a hidden member leaves `required`");
    assert!(t.output_schema.is_none());
    assert!(tool(&c, "get_file_info").output_schema.is_some(), "other tools keep theirs");
    let e = build_error("[tools.createRoom]\nhidden = [\"body.nope\"]\n");
    assert!(e.contains("hidden `body.nope`") && e.contains("no member `nope`"), "{e}");
    let e = build_error("[tools.getFileInfo]\nhidden = [\"fileId.x\"]\n");
    assert!(e.contains("hidden `fileId.x`"), "{e}");
}

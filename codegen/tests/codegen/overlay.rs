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
        tools = ["file_info", "create_room"]
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
    assert_eq!(c.core, ["file_info", "create_room"]);
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
fn unknown_core_tool_fails() {
    let e = build_error("[core]\ntools = [\"get_everything\"]\n");
    assert!(e.contains("get_everything"), "{e}");
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

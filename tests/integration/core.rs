//! The default catalogue: within its token budget, and a drop-in for the
//! reference server's 23 tools — the same names, and the reference's argument
//! shapes (flat body members, `roomId`/`parentId`, nested `filters` with
//! `fields`) accepted, checked by calling each one against the sandbox.

use std::net::{Ipv4Addr, SocketAddr};

use docspace_mcp::sandbox::{self, Sandbox};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{server_command, text};

/// The reference server's tools (ONLYOFFICE docspace-mcp 3.2.0).
const REFERENCE: [&str; 23] = [
    "get_my_folder",
    "get_folder_content",
    "get_folder_info",
    "create_folder",
    "rename_folder",
    "delete_folder",
    "get_file_info",
    "update_file",
    "delete_file",
    "copy_batch_items",
    "move_batch_items",
    "download_file_as_text",
    "upload_file",
    "create_room",
    "get_room_info",
    "update_room",
    "archive_room",
    "set_room_security",
    "get_room_security_info",
    "get_rooms_folder",
    "get_room_types",
    "get_room_access_levels",
    "get_all_people",
];

/// The budget of the whole default `tools/list`: 8,000 tokens at 4 bytes a token.
const BUDGET_BYTES: usize = 32_000;

async fn connect(portal: &Sandbox, envs: &[(&str, &str)]) -> RunningService<RoleClient, ()> {
    let mut all = vec![("DOCSPACE_BASE_URL", portal.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    all.extend_from_slice(envs);
    let cmd = Command::from(server_command(&[], &all));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    ().serve(transport).await.unwrap()
}

async fn ok(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> Value {
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
    let r = c.call_tool(params).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{name}({args}) failed: {}", text(&r));
    serde_json::from_str(&text(&r)).unwrap_or_else(|_| Value::String(text(&r)))
}

#[tokio::test]
async fn the_default_tools_list_fits_the_budget_and_covers_the_reference() {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let c = connect(&p, &[]).await;
    let listed = c.list_tools(None).await.unwrap();
    let bytes = serde_json::to_string(&listed).unwrap().len();
    println!("default tools/list: {} tools, {bytes} bytes (~{} tokens)", listed.tools.len(), bytes / 4);
    assert!(bytes <= BUDGET_BYTES, "the default tools/list is {bytes} bytes, over the budget of {BUDGET_BYTES}");
    assert!(listed.next_cursor.is_none(), "one page");

    let names: Vec<&str> = listed.tools.iter().map(|t| t.name.as_ref()).collect();
    let missing: Vec<&str> = REFERENCE.iter().copied().filter(|n| !names.contains(n)).collect();
    assert!(missing.is_empty(), "reference tools missing from the default catalogue: {missing:?}");
    assert!(names.len() <= 40, "some clients pass only the first 40 tools: {}", names.len());

    // The reference's schema faults, fixed: nothing with a default is
    // required, no `filters.fields`, enums are real, ids are typed.
    for t in &listed.tools {
        let schema = Value::Object((*t.input_schema).clone());
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let props = schema["properties"].as_object().cloned().unwrap_or_default();
        for (name, p) in &props {
            assert!(
                p.get("default").is_none() || !required.contains(&name.as_str()),
                "{}: `{name}` has a default and is required",
                t.name
            );
            if name.ends_with("Id") && matches!(name.as_str(), "fileId" | "folderId" | "roomId" | "parentId") {
                assert_eq!(p["type"], "integer", "{}: `{name}` is a typed id", t.name);
            }
        }
        assert!(!props.contains_key("filters") && !props.contains_key("fields"), "{}", t.name);
    }
    let get_folder_content = listed.tools.iter().find(|t| t.name == "get_folder_content").unwrap();
    let filter_type = &get_folder_content.input_schema["properties"]["filterType"];
    assert!(filter_type["enum"].as_array().is_some_and(|e| e.len() > 5), "{filter_type}");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_reference_tools_answer_the_reference_arguments() {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let c = connect(&p, &[]).await;
    let fields = json!(["id", "title"]);

    // Folders, with the reference's `filters` (and its `fields`, which we do not need).
    let my = ok(&c, "get_my_folder", json!({"filters": {"fields": fields, "count": 10}})).await;
    assert_eq!(my["response"]["current"]["title"], "My documents");
    let projects = my["response"]["folders"][0]["id"].as_i64().unwrap();
    let listing =
        ok(&c, "get_folder_content", json!({"folderId": projects, "filters": {"count": 30, "startIndex": 0}})).await;
    assert!(listing.to_string().contains("Roadmap.docx"), "{listing}");
    let info = ok(&c, "get_folder_info", json!({"folderId": projects, "filters": {"fields": fields}})).await;
    assert_eq!(info["response"]["title"], "Projects");
    let created = ok(&c, "create_folder", json!({"parentId": 1, "title": "Compat"})).await;
    let folder = created["response"]["id"].as_i64().unwrap();
    ok(&c, "rename_folder", json!({"folderId": folder, "title": "Compat 2"})).await;
    assert_eq!(p.inspect(|s| s.entries[&folder].title.clone()).unwrap(), "Compat 2");

    // Files.
    let id_of =
        |title: &str| p.inspect(|s| s.entries.values().find(|e| e.title == title).map(|e| e.id)).flatten().unwrap();
    let (welcome, roadmap, budget) = (id_of("Welcome.txt"), id_of("Roadmap.docx"), id_of("Budget.xlsx"));
    let file = ok(&c, "get_file_info", json!({"fileId": welcome, "filters": {"fields": fields}})).await;
    assert_eq!(file["response"]["title"], "Welcome.txt");
    ok(&c, "update_file", json!({"fileId": welcome, "title": "Hello.txt"})).await;
    assert_eq!(p.inspect(|s| s.entries[&welcome].title.clone()).unwrap(), "Hello.txt");
    ok(&c, "copy_batch_items", json!({"fileIds": [roadmap], "folderIds": [], "destFolderId": folder})).await;
    ok(&c, "move_batch_items", json!({"fileIds": [budget], "destFolderId": folder})).await;
    let in_folder = |title: &str| p.inspect(|s| s.entries.values().any(|e| e.parent == folder && e.title == title));
    assert_eq!((in_folder("Roadmap.docx"), in_folder("Budget.xlsx")), (Some(true), Some(true)));
    let content = ok(&c, "download_file_as_text", json!({"fileId": roadmap})).await;
    assert!(content.as_str().unwrap_or_default().contains("ship the MCP server"), "{content}");
    ok(&c, "upload_file", json!({"parentId": folder, "filename": "notes.md", "content": "# Notes"})).await;
    assert_eq!(in_folder("notes.md"), Some(true));
    ok(&c, "delete_file", json!({"fileId": welcome})).await;
    assert_eq!(p.inspect(|s| s.entries[&welcome].parent).unwrap(), 4, "moved to the trash, not deleted");
    ok(&c, "delete_folder", json!({"folderId": folder})).await;
    assert_eq!(p.inspect(|s| s.entries[&folder].parent).unwrap(), 4);

    // Rooms: `roomId` as the reference names it, the body members flat.
    let room = ok(&c, "create_room", json!({"title": "Compat room", "roomType": 2})).await;
    let room = room["response"]["id"].as_i64().unwrap();
    let public = ok(&c, "create_room", json!({"title": "Default type"})).await;
    assert_eq!(public["response"]["roomType"], 6, "roomType defaults to a public room, as in the reference");
    assert_eq!(ok(&c, "get_room_info", json!({"roomId": room})).await["response"]["title"], "Compat room");
    ok(&c, "update_room", json!({"roomId": room, "title": "Compat room 2"})).await;
    let sam = "1a2b3c4d-0001-4e6f-9a7b-000000000002";
    ok(
        &c,
        "set_room_security",
        json!({"roomId": room, "invitations": [{"id": sam, "access": 10}], "notify": false, "message": "Welcome"}),
    )
    .await;
    assert_eq!(p.inspect(|s| s.entries[&room].members.get(sam).copied()).unwrap(), Some(10));
    let members = ok(&c, "get_room_security_info", json!({"roomId": room, "filters": {"count": 10}})).await;
    assert!(members.to_string().contains(sam), "{members}");
    let rooms = ok(&c, "get_rooms_folder", json!({"filters": {"count": 10, "fields": fields}})).await;
    assert!(rooms.to_string().contains("Compat room 2"), "{rooms}");
    let types = ok(&c, "get_room_types", json!({})).await;
    assert!(types.to_string().contains("Public"), "{types}");
    let levels = ok(&c, "get_room_access_levels", json!({"roomId": room})).await;
    assert!(levels.to_string().contains("Editor"), "{levels}");
    ok(&c, "archive_room", json!({"roomId": room})).await;
    assert_eq!(p.inspect(|s| s.entries[&room].parent).unwrap(), 3, "in the archive");

    // People.
    let people = ok(&c, "get_all_people", json!({"filters": {"count": 10, "fields": ["displayName"]}})).await;
    assert!(people.to_string().contains("Sam Lee"), "{people}");
    c.cancel().await.unwrap();
}

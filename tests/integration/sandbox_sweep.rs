//! `docspace-mcp sandbox` serves its whole default catalogue: the tools it
//! lists (the curated tools and the workflow tools) are each called with
//! arguments built from the seeded portal, and each must succeed. A tool
//! that joins the default catalogue without a case here, or whose
//! operation the sandbox does not implement, fails the sweep by name.

use std::collections::BTreeSet;

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{server_command, text};

/// Every tool the sweep calls, in the order it calls them.
const SWEPT: [&str; 38] = [
    "get_self_profile",
    "get_all_people",
    "get_groups",
    "get_group",
    "get_my_folder",
    "get_folder_content",
    "get_folder_info",
    "search_files",
    "get_recent_files",
    "create_folder",
    "rename_folder",
    "create_file",
    "upload_file",
    "download_file_as_text",
    "get_file_info",
    "update_file",
    "get_file_versions",
    "restore_file_version",
    "set_file_link",
    "get_file_links",
    "copy_batch_items",
    "move_batch_items",
    "get_operation_statuses",
    "get_room_types",
    "get_rooms_folder",
    "create_room",
    "get_room_info",
    "update_room",
    "get_room_access_levels",
    "set_room_security",
    "get_room_security_info",
    "set_room_link",
    "get_room_links",
    "archive_room",
    "unarchive_room",
    "delete_room",
    "delete_file",
    "delete_folder",
];

struct Sweep {
    client: RunningService<RoleClient, ()>,
    called: BTreeSet<String>,
}

impl Sweep {
    /// Calls `name`, which must succeed; its JSON answer (or its text as a string).
    async fn ok(&mut self, name: &str, args: Value) -> Value {
        self.called.insert(name.to_owned());
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
        let r = self.client.call_tool(params).await.unwrap_or_else(|e| panic!("`{name}` could not be called: {e}"));
        let t = text(&r);
        assert!(
            !t.contains("does not implement"),
            "`{name}` is in the default catalogue but the sandbox does not implement its operation: {t}"
        );
        assert_ne!(r.is_error, Some(true), "`{name}`({args}) failed against the sandbox: {t}");
        serde_json::from_str(&t).unwrap_or(Value::String(t))
    }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn named<'a>(list: &'a Value, title: &str) -> &'a Value {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|e| e["title"] == title)
        .unwrap_or_else(|| panic!("no {title} in {list}"))
}

#[tokio::test]
async fn every_default_tool_works_in_the_sandbox() {
    let cmd = Command::from(server_command(&["sandbox"], &[]));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let listed: BTreeSet<String> = client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    let swept: BTreeSet<String> = SWEPT.iter().map(|s| (*s).to_owned()).collect();
    let unswept: Vec<&String> = listed.difference(&swept).collect();
    assert!(
        unswept.is_empty(),
        "in the default catalogue but not swept against the sandbox: {unswept:?}. Implement their operations in \
         the sandbox (sandbox/src/routes.rs) and add a case to this test"
    );
    let gone: Vec<&String> = swept.difference(&listed).collect();
    assert!(gone.is_empty(), "swept but no longer in the default catalogue: {gone:?}");
    let mut s = Sweep { client, called: BTreeSet::new() };

    // People and groups.
    let me = s.ok("get_self_profile", json!({})).await["response"].clone();
    assert_eq!(me["displayName"], "Alex Morgan");
    let people = s.ok("get_all_people", json!({"filterValue": "sam"})).await["response"].clone();
    let sam = people[0]["id"].as_str().unwrap().to_owned();
    let groups = s.ok("get_groups", json!({"count": 10})).await["response"].clone();
    let group = groups[0]["id"].as_str().unwrap().to_owned();
    let g = s.ok("get_group", json!({"id": group, "includeMembers": true})).await["response"].clone();
    assert!(!g["members"].as_array().unwrap().is_empty(), "{g}");

    // Folders.
    let my = s.ok("get_my_folder", json!({})).await["response"].clone();
    let my_id = id(&my["current"]);
    let projects = id(named(&my["folders"], "Projects"));
    let listing = s.ok("get_folder_content", json!({"folderId": projects})).await["response"].clone();
    let roadmap = id(named(&listing["files"], "Roadmap.docx"));
    s.ok("get_folder_info", json!({"folderId": projects})).await;
    let found = s.ok("search_files", json!({"text": "roadmap"})).await;
    assert_eq!(found["items"][0]["id"], roadmap, "{found}");
    let recent = s.ok("get_recent_files", json!({})).await;
    assert_eq!(recent["items"][0]["id"], roadmap, "{recent}");
    let folder = id(&s.ok("create_folder", json!({"parentId": my_id, "title": "Sweep"})).await["response"]);
    s.ok("rename_folder", json!({"folderId": folder, "title": "Sweep 2"})).await;

    // Files.
    let doc = s.ok("create_file", json!({"parentId": folder, "title": "Minutes"})).await["response"].clone();
    assert_eq!(doc["title"], "Minutes.docx");
    s.ok("upload_file", json!({"parentId": folder, "filename": "notes.md", "content": "first"})).await;
    let args = json!({"parentId": folder, "filename": "notes.md", "content": "second", "createNewIfExist": false});
    let notes = id(&s.ok("upload_file", args).await["file"]);
    let text = s.ok("download_file_as_text", json!({"fileId": notes})).await;
    assert_eq!(text, "second");
    s.ok("get_file_info", json!({"fileId": notes})).await;
    s.ok("update_file", json!({"fileId": id(&doc), "title": "Minutes 2026"})).await;
    let versions = s.ok("get_file_versions", json!({"fileId": notes})).await["response"].clone();
    assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
    s.ok("restore_file_version", json!({"fileId": notes, "version": 1})).await;
    assert_eq!(s.ok("download_file_as_text", json!({"fileId": notes})).await, "first");
    let link = s.ok("set_file_link", json!({"fileId": notes, "access": 2, "title": "Readers"})).await;
    let link_id = link["response"]["sharedLink"]["id"].as_str().unwrap().to_owned();
    let links = s.ok("get_file_links", json!({"fileId": notes})).await["response"].clone();
    assert_eq!(links[0]["sharedLink"]["id"], link_id.as_str());
    s.ok("copy_batch_items", json!({"fileIds": [roadmap], "destFolderId": folder})).await;
    s.ok("move_batch_items", json!({"fileIds": [id(&doc)], "destFolderId": projects})).await;
    s.ok("get_operation_statuses", json!({})).await;

    // Rooms.
    s.ok("get_room_types", json!({})).await;
    s.ok("get_rooms_folder", json!({})).await;
    let room = id(&s.ok("create_room", json!({"title": "Sweep room", "roomType": 2})).await["response"]);
    s.ok("get_room_info", json!({"roomId": room})).await;
    s.ok("update_room", json!({"roomId": room, "title": "Sweep room 2"})).await;
    s.ok("get_room_access_levels", json!({"roomId": room})).await;
    s.ok("set_room_security", json!({"roomId": room, "invitations": [{"id": sam, "access": 10}]})).await;
    s.ok("get_room_security_info", json!({"roomId": room})).await;
    s.ok("set_room_link", json!({"roomId": room, "linkType": 1, "access": 2, "title": "Public"})).await;
    let links = s.ok("get_room_links", json!({"roomId": room})).await["response"].clone();
    assert_eq!(links[0]["sharedLink"]["title"], "Public");
    s.ok("archive_room", json!({"roomId": room})).await;
    s.ok("unarchive_room", json!({"roomId": room})).await;
    s.ok("archive_room", json!({"roomId": room})).await;
    s.ok("delete_room", json!({"roomId": room})).await;

    // Deleting, last.
    s.ok("delete_file", json!({"fileId": notes})).await;
    s.ok("delete_folder", json!({"folderId": folder})).await;

    let missed: Vec<&String> = swept.difference(&s.called).collect();
    assert!(missed.is_empty(), "listed in SWEPT but not called: {missed:?}");
    s.client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_operation_the_sandbox_lacks_says_so() {
    let cmd = Command::from(server_command(&["sandbox", "--toolsets", "all"], &[]));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let params = CallToolRequestParams::new("get_portal_tariff");
    let r = client.call_tool(params).await.unwrap();
    let t = text(&r);
    assert_eq!(r.is_error, Some(true));
    assert!(
        t.contains("HTTP 501") && t.contains("the sandbox portal does not implement GET /api/2.0/portal/tariff"),
        "{t}"
    );
    assert!(t.contains("default catalogue") && !t.contains("Check the ids"), "{t}");
    client.cancel().await.unwrap();
}

//! Workflow tools and long file operations against the sandbox: a 25 MB
//! binary through a chunked upload session, download-as-text with
//! conversion and truncation, waiting on file operations with progress
//! notifications observed by the rmcp client, and the answer past the deadline.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use docspace_mcp::sandbox::{self, Sandbox};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, NumberOrString, ProgressNotificationParam, ProgressToken, RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{server_command, text};

/// An MCP client that records the progress notifications it receives.
#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

async fn start(extra: &[(&str, &str)]) -> (Sandbox, RunningService<RoleClient, Recorder>, Recorder) {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let mut envs = vec![("DOCSPACE_BASE_URL", p.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    envs.extend_from_slice(extra);
    let cmd = Command::from(server_command(&[], &envs));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let recorder = Recorder::default();
    let client = recorder.clone().serve(transport).await.unwrap();
    (p, client, recorder)
}

async fn call(
    c: &RunningService<RoleClient, Recorder>,
    name: &str,
    args: Value,
    progress: Option<&str>,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
    if let Some(token) = progress {
        let mut meta = RequestMetaObject::default();
        meta.set_progress_token(ProgressToken(NumberOrString::String(token.to_owned().into())));
        params.meta = Some(meta);
    }
    c.call_tool(params).await.unwrap()
}

#[tokio::test]
async fn a_25_mb_binary_uploads_in_chunks_with_progress() {
    let (p, c, recorder) = start(&[]).await;
    let bytes: Vec<u8> = (0..25 * 1024 * 1024).map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let r = call(
        &c,
        "upload_file",
        json!({"parentId": 1, "filename": "dataset.bin", "contentBase64": encoded}),
        Some("up"),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let v: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(v["chunks"], 3, "25 MiB in 10 MiB chunks");
    assert_eq!(v["file"]["title"], "dataset.bin");
    let stored = p
        .inspect(|s| s.entries.values().find(|e| e.title == "dataset.bin").and_then(|e| e.content.clone()))
        .flatten()
        .unwrap();
    assert!(stored == bytes, "the portal has exactly the bytes sent");
    let progress = recorder.progress.lock().unwrap().clone();
    assert_eq!(progress.len(), 3, "{progress:?}");
    assert_eq!(progress.last().map(|p| p.progress), Some(bytes.len() as f64));

    // A clash makes a numbered file unless asked for a new version.
    let again = call(&c, "upload_file", json!({"parentId": 1, "filename": "dataset.bin", "content": "v2"}), None).await;
    assert!(text(&again).contains("dataset (1).bin"), "{}", text(&again));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn text_round_trips_and_long_content_is_cut_with_a_marker() {
    let (_p, c, _) = start(&[]).await;
    let notes = "Meeting notes\n\n- ship the MCP server\n- ünïcödé survives\n";
    let up = call(&c, "upload_file", json!({"parentId": 1, "filename": "notes.docx", "content": notes}), None).await;
    let id = serde_json::from_str::<Value>(&text(&up)).unwrap()["file"]["id"].as_i64().unwrap();
    let down = call(&c, "download_file_as_text", json!({"fileId": id}), None).await;
    assert_ne!(down.is_error, Some(true), "{}", text(&down));
    assert_eq!(text(&down), notes);
    let cut = call(&c, "download_file_as_text", json!({"fileId": id, "maxChars": 13}), None).await;
    assert!(
        text(&cut).starts_with("Meeting notes\n\n[truncated: characters 0–13 of 56 of notes.docx"),
        "{}",
        text(&cut)
    );
    assert!(text(&cut).contains("call again with offset 13"), "{}", text(&cut));
    let rest = call(&c, "download_file_as_text", json!({"fileId": id, "offset": 13}), None).await;
    assert!(text(&rest).starts_with(&notes[13..]), "{}", text(&rest));
    assert!(text(&rest).ends_with("[end of notes.docx: characters 13–56 of 56]"), "{}", text(&rest));

    let bad = call(&c, "upload_file", json!({"parentId": 1, "filename": "noextension", "content": "x"}), None).await;
    assert!(bad.is_error == Some(true) && text(&bad).contains("extension"), "{}", text(&bad));
    let bad = call(&c, "upload_file", json!({"parentId": 1, "filename": "a.txt", "contentBase64": "***"}), None).await;
    assert!(bad.is_error == Some(true) && text(&bad).contains("contentBase64"), "{}", text(&bad));
    let missing = call(&c, "download_file_as_text", json!({"fileId": 999_999}), None).await;
    assert!(missing.is_error == Some(true) && text(&missing).contains("HTTP 404"), "{}", text(&missing));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn file_operations_are_awaited_with_progress() {
    let (p, c, recorder) = start(&[]).await;
    p.set_operation_latency(3);
    let welcome = p.inspect(|s| s.entries.values().find(|e| e.title == "Welcome.txt").map(|e| e.id)).flatten().unwrap();
    let r = call(
        &c,
        "copy_batch_items",
        json!({"body": {"fileIds": [welcome], "destFolderId": docspace_mcp::sandbox::store::ROOMS, "conflictResolveType": "Duplicate"}}),
        Some("copy"),
    )
    .await;
    // The rooms root refuses copies: an immediate error, nothing to wait for.
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    let r = call(
        &c,
        "copy_batch_items",
        json!({"body": {"fileIds": [welcome], "destFolderId": 1, "conflictResolveType": "Duplicate"}}),
        Some("copy"),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let v: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(v["response"][0]["finished"], true, "the answer is the finished operation: {v}");
    let progress = recorder.progress.lock().unwrap().clone();
    assert!(!progress.is_empty(), "progress notifications arrived");
    // rmcp's client sends its own token (the request id); all notifications carry that one token.
    assert!(progress.windows(2).all(|w| w[0].progress_token == w[1].progress_token), "{progress:?}");
    assert_eq!(progress.last().map(|p| p.progress), Some(100.0));
    assert!(p.inspect(|s| s.entries.values().any(|e| e.title == "Welcome (1).txt")).unwrap());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn past_the_deadline_the_answer_names_the_operation() {
    let (p, c, _) = start(&[("DOCSPACE_OPERATION_TIMEOUT", "1")]).await;
    p.set_operation_latency(1000);
    let started = std::time::Instant::now();
    let r = call(&c, "archive_room", json!({"id": p.inspect(|s| s.entries.values().find(|e| e.title == "Contracts").map(|e| e.id)).flatten().unwrap()}), None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_ne!(r.is_error, Some(true), "not a failure: {}", text(&r));
    let t = text(&r);
    assert!(t.contains("Still running after 1 s") && t.contains("get_operation_statuses"), "{t}");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn room_types_and_the_access_levels_a_room_allows() {
    let (p, c, _) = start(&[]).await;
    let types: Value = serde_json::from_str(&text(&call(&c, "get_room_types", json!({}), None).await)).unwrap();
    assert!(types.as_array().unwrap().iter().any(|t| t["roomType"] == 6 && t["title"] == "Public room"), "{types}");
    let marketing = p.inspect(|s| s.entries.values().find(|e| e.title == "Marketing").map(|e| e.id)).flatten().unwrap();
    let r = call(&c, "get_room_access_levels", json!({"roomId": marketing}), None).await;
    let v: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(v["roomTypeTitle"], "Collaboration room");
    let levels: Vec<i64> =
        v["accessLevels"].as_array().unwrap().iter().map(|l| l["access"].as_i64().unwrap()).collect();
    assert_eq!(levels, [0, 2, 9, 10, 11]);
    let r = call(&c, "get_room_access_levels", json!({"roomId": 1}), None).await;
    assert!(r.is_error == Some(true) && text(&r).contains("HTTP 404"), "My documents is not a room: {}", text(&r));
    c.cancel().await.unwrap();
}

/// The id of the sandbox entry titled `title`.
fn id_of(p: &Sandbox, title: &str) -> i64 {
    p.inspect(|s| s.entries.values().find(|e| e.title == title).map(|e| e.id)).flatten().unwrap()
}

/// A successful call's JSON answer.
async fn json_of(c: &RunningService<RoleClient, Recorder>, name: &str, args: Value) -> Value {
    let r = call(c, name, args.clone(), None).await;
    assert_ne!(r.is_error, Some(true), "{name}({args}): {}", text(&r));
    serde_json::from_str(&text(&r)).unwrap_or_else(|_| panic!("{name}({args}) is not JSON: {}", text(&r)))
}

/// `(title, location)` of each item of a search answer.
fn found(v: &Value) -> Vec<(String, String)> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {v}"))
        .iter()
        .map(|i| (i["title"].as_str().unwrap().to_owned(), i["location"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(t, l)| ((*t).to_owned(), (*l).to_owned())).collect()
}

#[tokio::test]
async fn search_finds_titles_across_my_documents_and_rooms() {
    let (p, c, _) = start(&[]).await;
    let marketing = id_of(&p, "Marketing");
    for name in ["Roadmap for marketing.docx", "Campaign budget.xlsx"] {
        json_of(&c, "upload_file", json!({"parentId": marketing, "filename": name, "content": "x"})).await;
    }

    // Text, everywhere: My documents (below its top level too), then each room.
    let v = json_of(&c, "search_files", json!({"text": "ROADMAP"})).await;
    assert_eq!(found(&v), pairs(&[("Roadmap.docx", "My documents"), ("Roadmap for marketing.docx", "Marketing")]));
    assert_eq!((v["total"].as_u64(), v["searched"].as_str()), (Some(2), Some("My documents and 2 rooms")));
    let roadmap = &v["items"][0];
    assert_eq!((roadmap["kind"].as_str(), roadmap["type"].as_str()), (Some("file"), Some("document")));
    assert_eq!(roadmap["folderId"].as_i64(), Some(id_of(&p, "Projects")));
    assert_eq!(roadmap["url"].as_str(), Some(format!("/doceditor?fileid={}", id_of(&p, "Roadmap.docx")).as_str()));
    assert!(roadmap["modified"].as_str().is_some_and(|d| d.starts_with("2025-")), "{roadmap}");
    assert!(v.get("more").is_none(), "{v}");

    // Type filters.
    let v = json_of(&c, "search_files", json!({"text": "budget", "type": "spreadsheets"})).await;
    assert_eq!(found(&v), pairs(&[("Budget.xlsx", "My documents"), ("Campaign budget.xlsx", "Marketing")]));
    let v = json_of(&c, "search_files", json!({"text": "campaign", "type": "documents"})).await;
    assert_eq!(found(&v), pairs(&[("Campaign brief.docx", "Marketing")]));
    let v = json_of(&c, "search_files", json!({"text": "market", "type": "folders"})).await;
    assert_eq!(found(&v), pairs(&[("Marketing", "Rooms")]), "rooms are found by their titles");
    assert_eq!(v["items"][0]["kind"], "room");
    let v = json_of(&c, "search_files", json!({"text": "o", "type": "folders", "location": "my"})).await;
    assert_eq!(found(&v), pairs(&[("Projects", "My documents")]));
    assert_eq!(v["items"][0]["kind"], "folder");

    // Location filters.
    let v = json_of(&c, "search_files", json!({"text": "roadmap", "location": "my"})).await;
    assert_eq!((found(&v), v["searched"].as_str()), (pairs(&[("Roadmap.docx", "My documents")]), Some("My documents")));
    let v = json_of(&c, "search_files", json!({"text": "roadmap", "location": "rooms"})).await;
    assert_eq!(found(&v), pairs(&[("Roadmap for marketing.docx", "Marketing")]));
    let v = json_of(&c, "search_files", json!({"text": "roadmap", "folderId": marketing})).await;
    assert_eq!(found(&v), pairs(&[("Roadmap for marketing.docx", "Marketing")]));
    assert_eq!(v["searched"], format!("Marketing (folder {marketing})"));
    let top =
        call(&c, "search_files", json!({"text": "roadmap", "location": "my", "withSubfolders": false}), None).await;
    assert_ne!(top.is_error, Some(true), "{}", text(&top));
    assert!(
        text(&top).starts_with("Nothing found") && text(&top).contains("not below its top level"),
        "{}",
        text(&top)
    );

    // Paging across sources is exact.
    let first = json_of(&c, "search_files", json!({"text": "roadmap", "count": 1})).await;
    assert_eq!(found(&first), pairs(&[("Roadmap.docx", "My documents")]));
    assert!(first["more"].as_str().is_some_and(|m| m.contains("startIndex=1")), "{first}");
    let second = json_of(&c, "search_files", json!({"text": "roadmap", "count": 1, "startIndex": 1})).await;
    assert_eq!(found(&second), pairs(&[("Roadmap for marketing.docx", "Marketing")]));
    assert!(second.get("more").is_none(), "{second}");

    // Nothing found is an answer, not an error, and says what was searched.
    let none = call(&c, "search_files", json!({"text": "quarterly forecast"}), None).await;
    assert_ne!(none.is_error, Some(true), "{}", text(&none));
    assert_eq!(
        text(&none),
        "Nothing found: no file or folder title contains \"quarterly forecast\" in My documents and 2 rooms."
    );
    let none = call(&c, "search_files", json!({"text": "roadmap", "type": "pdf"}), None).await;
    assert!(text(&none).contains("no item of type pdf title contains"), "{}", text(&none));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn search_refuses_bad_input() {
    let (_p, c, _) = start(&[]).await;
    for (args, says) in [
        (json!({}), "text"),
        (json!({"text": "   "}), "text"),
        (json!({"text": "a", "type": "rooms"}), "type"),
        (json!({"text": "a", "location": "moon"}), "location"),
        (json!({"text": "a", "folderId": 1, "location": "rooms"}), "folderId"),
        (json!({"text": "a", "count": 0}), "count"),
        (json!({"text": "a", "count": 51}), "count"),
        (json!({"text": "a", "folderId": "one"}), "folderId"),
        (json!({"text": "a", "folderId": 999_999}), "HTTP 404"),
    ] {
        let r = call(&c, "search_files", args.clone(), None).await;
        assert!(r.is_error == Some(true) && text(&r).contains(says), "{args}: {}", text(&r));
    }
    let r = call(&c, "get_recent_files", json!({"type": "folders"}), None).await;
    assert!(r.is_error == Some(true) && text(&r).contains("type"), "{}", text(&r));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn recent_files_are_the_latest_opened_first() {
    let (p, c, _) = start(&[("DOCSPACE_ENABLED_TOOLS", "add_file_to_recent")]).await;
    // The sandbox starts with Roadmap.docx opened.
    let v = json_of(&c, "get_recent_files", json!({})).await;
    assert_eq!(found(&v), pairs(&[("Roadmap.docx", "My documents")]));
    assert_eq!((v["total"].as_u64(), v["items"][0]["type"].as_str()), (Some(1), Some("document")));

    // Opening a file (what DocSpace's editor does) puts it first.
    for title in ["Budget.xlsx", "Campaign brief.docx"] {
        json_of(&c, "add_file_to_recent", json!({"fileId": id_of(&p, title)})).await;
    }
    let v = json_of(&c, "get_recent_files", json!({})).await;
    assert_eq!(
        found(&v),
        pairs(&[("Campaign brief.docx", "Rooms"), ("Budget.xlsx", "My documents"), ("Roadmap.docx", "My documents")])
    );
    let v = json_of(&c, "get_recent_files", json!({"type": "spreadsheets"})).await;
    assert_eq!(found(&v), pairs(&[("Budget.xlsx", "My documents")]));
    let v = json_of(&c, "get_recent_files", json!({"text": "brief"})).await;
    assert_eq!(found(&v), pairs(&[("Campaign brief.docx", "Rooms")]));
    let v = json_of(&c, "get_recent_files", json!({"count": 2})).await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
    assert!(v["more"].as_str().is_some_and(|m| m.contains("startIndex=2")), "{v}");

    let none = call(&c, "get_recent_files", json!({"type": "presentations"}), None).await;
    assert_ne!(none.is_error, Some(true), "{}", text(&none));
    assert_eq!(text(&none), "No recent files of type presentations.");
    c.cancel().await.unwrap();
}

//! The server against the sandbox portal over real sockets: every auth
//! method, the everyday read/write surface seen through MCP, uploads, and
//! upstream failures injected into the portal.

use std::net::{Ipv4Addr, SocketAddr};

use base64::Engine as _;
use docspace_mcp::sandbox::{self, Fault, Sandbox};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{server_command, text};

async fn portal() -> Sandbox {
    Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap()
}

fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    Command::from(server_command(args, envs))
}

async fn client(cmd: Command) -> RunningService<RoleClient, ()> {
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    ().serve(transport).await.unwrap()
}

async fn connect(portal: &Sandbox, auth: &[(&str, &str)]) -> RunningService<RoleClient, ()> {
    // Every tool: these tests use generated tools beyond the default catalogue.
    let mut envs =
        vec![("DOCSPACE_BASE_URL", portal.base_url()), ("DOCSPACE_REQUEST_TIMEOUT", "2"), ("DOCSPACE_TOOLSETS", "all")];
    envs.extend_from_slice(auth);
    client(command(&[], &envs)).await
}

async fn call(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
    c.call_tool(params).await.unwrap()
}

/// The `response` member of a successful call.
async fn ok(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> Value {
    let r = call(c, name, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{name}({args}) failed: {}", text(&r));
    let v: Value = serde_json::from_str(&text(&r)).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", text(&r)));
    v["response"].clone()
}

#[tokio::test]
async fn every_auth_method_reaches_the_portal() {
    let p = portal().await;
    let basic_raw = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", sandbox::USERNAME, sandbox::PASSWORD))
    );
    let methods: Vec<Vec<(&str, &str)>> = vec![
        vec![("DOCSPACE_API_KEY", sandbox::API_KEY)],
        vec![("DOCSPACE_AUTH_TOKEN", sandbox::AUTH_TOKEN)],
        vec![("DOCSPACE_USERNAME", sandbox::USERNAME), ("DOCSPACE_PASSWORD", sandbox::PASSWORD)],
        vec![("DOCSPACE_AUTHORIZATION", basic_raw.as_str())],
    ];
    for auth in methods {
        let c = connect(&p, &auth).await;
        let me = ok(&c, "get_self_profile", json!({})).await;
        assert_eq!(me["displayName"], "Alex Morgan", "{auth:?}");
        c.cancel().await.unwrap();
    }
    let c = connect(&p, &[("DOCSPACE_API_KEY", "sk-wrong")]).await;
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("HTTP 401") && text(&r).contains("credentials were rejected"), "{}", text(&r));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn everyday_work_through_mcp() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY)]).await;

    let my = ok(&c, "get_my_folder", json!({})).await;
    let my_id = my["current"]["id"].as_i64().unwrap();
    assert!(my["files"].as_array().unwrap().iter().any(|f| f["title"] == "Welcome.txt"));

    // Folders: create, see, rename.
    let folder = ok(&c, "create_folder", json!({"folderId": my_id, "body": {"title": "Reports"}})).await;
    let folder_id = folder["id"].as_i64().unwrap();
    let listing = ok(&c, "get_folder_by_folder_id", json!({"folderId": my_id, "filterValue": "Rep"})).await;
    assert_eq!(listing["folders"][0]["title"], "Reports");
    ok(&c, "rename_folder", json!({"folderId": folder_id, "body": {"title": "Reports 2026"}})).await;
    assert_eq!(ok(&c, "get_folder_info", json!({"folderId": folder_id})).await["title"], "Reports 2026");

    // Files: info, rename, copy through a file operation, delete to trash.
    let welcome =
        my["files"].as_array().unwrap().iter().find(|f| f["title"] == "Welcome.txt").unwrap()["id"].as_i64().unwrap();
    assert_eq!(ok(&c, "get_file_info", json!({"fileId": welcome})).await["fileExst"], ".txt");
    ok(&c, "update_file", json!({"fileId": welcome, "body": {"title": "Hello"}})).await;
    let ops = ok(
        &c,
        "copy_batch_items",
        json!({"body": {"fileIds": [welcome], "destFolderId": folder_id, "conflictResolveType": "Duplicate"}}),
    )
    .await;
    assert_eq!(ops[0]["finished"], true);
    let copied = ok(&c, "get_folder_by_folder_id", json!({"folderId": folder_id})).await;
    assert_eq!(copied["files"][0]["title"], "Hello.txt");
    ok(&c, "delete_file", json!({"fileId": welcome})).await;
    let trash = ok(&c, "get_trash_folder", json!({})).await;
    assert!(trash["files"].as_array().unwrap().iter().any(|f| f["id"] == welcome));
    let statuses = ok(&c, "get_operation_statuses", json!({})).await;
    assert!(statuses.as_array().unwrap().len() >= 2);

    // Rooms: create, invite, archive.
    let room = ok(&c, "create_room", json!({"body": {"title": "Launch", "roomType": 2}})).await;
    let room_id = room["id"].as_i64().unwrap();
    assert_eq!(room["roomType"], 2);
    let shared = ok(
        &c,
        "set_room_security",
        json!({"id": room_id, "body": {"invitations": [{"email": "sam.lee@sandbox.example", "access": 10}]}}),
    )
    .await;
    assert!(shared["members"].as_array().unwrap().iter().any(|m| m["sharedTo"]["displayName"] == "Sam Lee"));
    let members = ok(&c, "get_room_security_info", json!({"id": room_id})).await;
    assert_eq!(members.as_array().unwrap().len(), 2);
    ok(&c, "archive_room", json!({"id": room_id})).await;
    let rooms = ok(&c, "get_rooms_folder", json!({})).await;
    assert!(!rooms["folders"].as_array().unwrap().iter().any(|r| r["id"] == room_id), "archived rooms leave the list");

    // People.
    let people = ok(&c, "get_all_profiles", json!({"filterValue": "priya"})).await;
    assert_eq!(people[0]["email"], "priya.natarajan@sandbox.example");

    // Bulk download with conversion: the operation hands out a URL with the text.
    let budget = p.inspect(|s| s.entries.values().find(|e| e.title == "Budget.xlsx").map(|e| e.id)).flatten().unwrap();
    let dl = ok(&c, "bulk_download", json!({"body": {"fileConvertIds": [{"key": budget, "value": ".csv"}]}})).await;
    assert!(dl[0]["url"].as_str().unwrap().contains("/sandbox/download/"));

    // The sandbox saw every change.
    assert!(p.inspect(|s| s.entries.values().any(|e| e.title == "Reports 2026")).unwrap());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn uploads_through_the_multipart_tools() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY)]).await;
    let content = base64::engine::general_purpose::STANDARD.encode(b"hello from MCP\n");
    let file = ok(
        &c,
        "upload_file_multipart",
        json!({"folderId": 1, "body": {"File": {"filename": "note.txt", "content_base64": content}}}),
    )
    .await;
    assert_eq!(file[0]["title"], "note.txt");
    assert_eq!(file[0]["pureContentLength"], 15);

    // A chunked session: create it, send the bytes through upload_session.
    let session =
        ok(&c, "create_upload_session", json!({"folderId": 1, "body": {"fileName": "big.bin", "fileSize": 6}})).await;
    let id = session["data"]["id"].as_str().unwrap().to_owned();
    let part = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let first = ok(
        &c,
        "upload_session",
        json!({"folderId": 1, "sessionId": id, "body": {"File": {"content_base64": part(b"abc")}}}),
    )
    .await;
    assert_eq!(first["file"], Value::Null);
    let last = ok(
        &c,
        "upload_session",
        json!({"folderId": 1, "sessionId": id, "body": {"File": {"content_base64": part(b"def")}}}),
    )
    .await;
    assert_eq!(last["file"]["title"], "big.bin");
    let stored =
        p.inspect(|s| s.entries.values().find(|e| e.title == "big.bin").and_then(|e| e.content.clone())).flatten();
    assert_eq!(stored.as_deref(), Some(&b"abcdef"[..]));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn upstream_failures_are_tool_errors_and_the_server_stays_up() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY)]).await;
    let fault = |mode: &str, status: u16, delay_ms: u64| Fault {
        path: "/api/2.0/people/@self".into(),
        mode: mode.into(),
        status,
        delay_ms,
        times: 1,
    };

    p.inject(fault("status", 500, 0));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("HTTP 500") && text(&r).contains("Injected failure"), "{}", text(&r));

    p.inject(fault("envelope", 403, 0));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true), "an error envelope with HTTP 200 is an error");
    assert!(text(&r).contains("HTTP 403") && r.structured_content.is_none(), "{}", text(&r));

    p.inject(fault("delay", 0, 4000));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert!(text(&r).contains("did not answer in time"), "{}", text(&r));

    p.inject(fault("garbage", 0, 0));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true), "a body that says it is JSON and is not: no telling what was done");
    assert_eq!(text(&r), "DocSpace answered HTTP 200 with malformed JSON: {not json");

    let r = call(&c, "get_portal_tariff", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("HTTP 501") && text(&r).contains("does not implement"), "{}", text(&r));

    assert_eq!(ok(&c, "get_self_profile", json!({})).await["displayName"], "Alex Morgan");
    c.cancel().await.unwrap();
}

/// Found by the soak (`benches/soak.rs`): a write whose answer was malformed
/// JSON, or whose upload's last chunk got HTTP 200 with DocSpace's error
/// envelope, was reported as done although nothing had been stored.
#[tokio::test]
async fn a_write_is_not_reported_done_unless_docspace_said_so() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY)]).await;
    let fault =
        |path: &str, mode: &str| Fault { path: path.into(), mode: mode.into(), status: 500, delay_ms: 0, times: 1 };
    let count = |title: &str| p.inspect(|s| s.entries.values().filter(|e| e.title == title).count()).unwrap();

    p.inject(fault("/api/2.0/files/folder/", "garbage"));
    let r = call(&c, "create_folder", json!({"parentId": 1, "title": "Never made"})).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("malformed JSON"), "{}", text(&r));
    assert_eq!(count("Never made"), 0);

    for (mode, why) in
        [("envelope", "HTTP 500: Injected failure"), ("garbage", "not JSON"), ("status", "Injected failure")]
    {
        p.inject(fault("/ChunkedUploader.ashx", mode));
        let name = format!("{mode}.txt");
        let r = call(&c, "upload_file", json!({"parentId": 1, "filename": name, "content": "x"})).await;
        assert_eq!(r.is_error, Some(true), "{mode}: {}", text(&r));
        assert!(text(&r).contains("refused chunk 1 of 1") && text(&r).contains(why), "{mode}: {}", text(&r));
        assert_eq!(count(&name), 0, "{mode}");
    }
    let r = call(&c, "upload_file", json!({"parentId": 1, "filename": "fine.txt", "content": "x"})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(count("fine.txt"), 1);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn dropped_connections_and_slow_answers_are_injected_and_counted() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY)]).await;
    let fault = |mode: &str, delay_ms: u64| Fault {
        path: "/api/2.0/people/@self".into(),
        mode: mode.into(),
        status: 500,
        delay_ms,
        times: 1,
    };

    p.inject(fault("reset", 0));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("could not be reached"), "{}", text(&r));
    assert!(text(&r).contains("the connection was closed before an answer"), "the cause named: {}", text(&r));

    // The whole answer, slowly; then one slower than DOCSPACE_REQUEST_TIMEOUT (2 s).
    p.inject(fault("slow", 400));
    let started = std::time::Instant::now();
    assert_eq!(ok(&c, "get_self_profile", json!({})).await["displayName"], "Alex Morgan");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "{:?}", started.elapsed());
    p.inject(fault("slow", 4000));
    let r = call(&c, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("did not answer in time"), "{}", text(&r));
    assert!(!text(&r).contains("may have made the change"), "a read changes nothing: {}", text(&r));
    // A write whose answer is lost may have been made: the caller is told before it retries.
    p.inject(Fault { path: "/api/2.0/files/folder/".into(), ..fault("slow", 4000) });
    let r = call(&c, "create_folder", json!({"parentId": 1, "title": "Slow"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("did not answer in time"), "{}", text(&r));
    assert!(text(&r).contains("check before calling `create_folder` again"), "{}", text(&r));
    p.inject(Fault { path: "/ChunkedUploader.ashx".into(), ..fault("slow", 4000) });
    let r = call(&c, "upload_file", json!({"parentId": 1, "filename": "slow.txt", "content": "x"})).await;
    assert!(text(&r).contains("check before calling `upload_file` again"), "{}", text(&r));

    // A fault for another path waits for its own request.
    p.inject(Fault { path: "/api/2.0/files/rooms".into(), ..fault("status", 0) });
    ok(&c, "get_self_profile", json!({})).await;
    assert_eq!(p.faults_pending().iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["/api/2.0/files/rooms"]);
    let applied = p.faults_applied();
    assert_eq!(applied.get("reset"), Some(&1));
    assert_eq!(applied.get("slow"), Some(&4));
    assert_eq!(applied.get("status"), None);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_sandbox_command_is_a_working_server() {
    let c = client(command(&["sandbox", "--toolsets", "people_profiles,files_folders"], &[])).await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_self_profile"));
    assert_eq!(ok(&c, "get_self_profile", json!({})).await["email"], sandbox::USERNAME);
    let my = ok(&c, "get_my_folder", json!({})).await;
    assert_eq!(my["current"]["title"], "My documents");
    c.cancel().await.unwrap();
}

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    let mut n: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    n.sort();
    n
}

/// Every tool name the meta tools list, over all toolsets.
async fn reachable(c: &RunningService<RoleClient, ()>) -> std::collections::BTreeSet<String> {
    let toolsets: Value = serde_json::from_str(&text(&call(c, "list_toolsets", json!({})).await)).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for ts in toolsets.as_array().unwrap() {
        let tools: Value =
            serde_json::from_str(&text(&call(c, "list_tools", json!({"toolset": ts["name"]})).await)).unwrap();
        let tools = tools.as_array().unwrap();
        assert_eq!(tools.len() as u64, ts["tools"].as_u64().unwrap(), "{ts}");
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
    }
    names
}

#[tokio::test]
async fn dynamic_mode_reaches_every_operation_through_six_tools() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY), ("DOCSPACE_DYNAMIC", "1")]).await;
    let tools = c.list_all_tools().await.unwrap();
    assert_eq!(
        names(&tools),
        ["call_tool", "get_tool_input_schema", "get_tool_output_schema", "list_tools", "list_toolsets", "search_tools"]
    );
    let size = serde_json::to_string(&tools).unwrap().len();
    assert!(size < 6000, "tools/list is {size} bytes (budget: 1,500 tokens = 6,000 bytes)");

    let hits: Value = serde_json::from_str(&text(
        &call(&c, "search_tools", json!({"query": "share a room with a user", "limit": 5})).await,
    ))
    .unwrap();
    assert!(hits.as_array().unwrap().iter().any(|h| h["name"] == "set_room_security"), "{hits}");
    assert_eq!(reachable(&c).await.len(), 604, "every operation (and workflow) is reachable");
    let rooms: Value = serde_json::from_str(&text(&call(&c, "list_tools", json!({"toolset": "rooms"})).await)).unwrap();
    assert!(rooms.as_array().unwrap().iter().any(|t| t["name"] == "create_room"));
    let schema: Value =
        serde_json::from_str(&text(&call(&c, "get_tool_input_schema", json!({"tool": "get_all_profiles"})).await))
            .unwrap();
    assert!(schema["properties"]["filterValue"].is_object());
    assert!(
        text(&call(&c, "get_tool_output_schema", json!({"tool": "get_all_profiles"})).await).contains("\"properties\"")
    );

    // A non-core operation, through call_tool, against the sandbox.
    let r = call(&c, "call_tool", json!({"tool": "get_all_profiles", "input": {"filterValue": "sam"}})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let v: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(v["response"][0]["displayName"], "Sam Lee");
    assert!(r.structured_content.is_some(), "structured content passes through call_tool");
    let r = call(&c, "call_tool", json!({"tool": "get_file_info", "input": {"fileId": "x"}})).await;
    assert!(r.is_error == Some(true) && text(&r).contains("`fileId`"), "{}", text(&r));
    let r = call(&c, "call_tool", json!({"tool": "get_self_profil"})).await;
    assert!(r.is_error == Some(true) && text(&r).contains("did you mean"), "{}", text(&r));
    let r = call(&c, "list_tools", json!({"toolset": "nope"})).await;
    assert_eq!(r.is_error, Some(true));
    let e = c.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap_err();
    assert!(
        e.to_string().contains("through the meta tool call_tool"),
        "in dynamic mode only the meta tools are tools: {e}"
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn read_only_mode_exposes_no_write_tool_by_any_path() {
    let p = portal().await;
    let c = connect(&p, &[("DOCSPACE_API_KEY", sandbox::API_KEY), ("DOCSPACE_READ_ONLY", "yes")]).await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    assert!(tools.iter().all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)));
    let e = c
        .call_tool(
            CallToolRequestParams::new("create_folder")
                .with_arguments(json!({"folderId": 1, "body": {"title": "x"}}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap_err();
    // Issue 15, item 2: it says why (before: "unknown tool `create_folder`").
    assert!(e.to_string().contains("`create_folder` is a write tool and read-only mode is on"), "{e}");
    assert!(e.to_string().contains("DOCSPACE_READ_ONLY"), "{e}");
    let e = c.call_tool(CallToolRequestParams::new("no_such_tool")).await.unwrap_err();
    assert!(e.to_string().contains("unknown tool `no_such_tool`"), "{e}");
    assert!(ok(&c, "get_self_profile", json!({})).await["displayName"] == "Alex Morgan");
    c.cancel().await.unwrap();

    let c = connect(
        &p,
        &[("DOCSPACE_API_KEY", sandbox::API_KEY), ("DOCSPACE_READ_ONLY", "1"), ("DOCSPACE_DYNAMIC", "true")],
    )
    .await;
    let tools = c.list_all_tools().await.unwrap();
    assert!(
        tools.iter().all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)),
        "call_tool is read-only here too"
    );
    let r =
        call(&c, "call_tool", json!({"tool": "create_folder", "input": {"folderId": 1, "body": {"title": "x"}}})).await;
    assert!(r.is_error == Some(true) && text(&r).contains("no tool `create_folder`"), "{}", text(&r));
    let hits: Value = serde_json::from_str(&text(
        &call(&c, "search_tools", json!({"query": "delete create update rename", "limit": 50})).await,
    ))
    .unwrap();
    assert!(hits.as_array().unwrap().iter().all(|h| h["readOnly"] == true), "{hits}");
    assert_eq!(reachable(&c).await.len(), 257, "the 252 GET operations and five read-only workflows");
    assert!(!p.inspect(|s| s.entries.values().any(|e| e.title == "x")).unwrap(), "nothing was written");
    c.cancel().await.unwrap();
}

//! Results that fit a context window, seen through MCP against a sandbox
//! with 100+ files, rooms and people: arguments outside the input schema
//! refused before anything is sent, listings compact by default and whole
//! with `verbosity: "full"`, and a page short of the end saying where to
//! go on. Prints the sizes of 100-item listings (docs/catalogue.md has them).

use std::net::{Ipv4Addr, SocketAddr};

use docspace_mcp::sandbox::{self, Fault, Sandbox};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{server_command, text};

async fn connect(p: &Sandbox) -> RunningService<RoleClient, ()> {
    let envs = [("DOCSPACE_BASE_URL", p.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    let cmd = Command::from(server_command(&[], &envs));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    ().serve(transport).await.unwrap()
}

async fn call(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
    c.call_tool(params).await.unwrap()
}

async fn ok(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> (Value, usize) {
    let r = call(c, name, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{name}({args}): {}", text(&r));
    let t = text(&r);
    (serde_json::from_str(&t).unwrap(), t.len())
}

/// The items of a listing's answer.
fn items(v: &Value) -> Vec<Value> {
    let r = &v["response"];
    match r.as_array() {
        Some(a) => a.clone(),
        None => [&r["folders"], &r["files"]].iter().filter_map(|a| a.as_array()).flatten().cloned().collect(),
    }
}

#[tokio::test]
async fn listings_are_compact_by_default_whole_on_request_and_say_where_to_go_on() {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    p.populate(150, 100, 100);
    let c = connect(&p).await;
    let my = 1;

    let http = docspace_mcp_client::tls::builder().build().unwrap();
    println!("100-item listings, tokens at 4 bytes a token (before: DocSpace's whole answer, as tools passed it on):");
    for (tool, path, args, keys) in [
        (
            "get_folder_content",
            "/api/2.0/files/1",
            json!({"folderId": my, "count": 100, "filterValue": "Report"}),
            &["id", "title", "pureContentLength", "updated", "createdBy", "access"][..],
        ),
        (
            "get_rooms_folder",
            "/api/2.0/files/rooms",
            json!({"count": 100, "filterValue": "Project room"}),
            &["id", "title", "roomType", "created", "updated", "createdBy", "access"][..],
        ),
        (
            "get_all_people",
            "/api/2.0/people/filter",
            json!({"count": 100, "filterValue": "person."}),
            &["id", "displayName", "email", "role"][..],
        ),
    ] {
        let (compact, compact_bytes) = ok(&c, tool, args.clone()).await;
        let query: Vec<(&str, String)> = ["count", "filterValue"]
            .iter()
            .map(|k| (*k, args[*k].as_str().map_or_else(|| args[*k].to_string(), str::to_owned)))
            .collect();
        let full: Value = http
            .get(format!("{}{path}", p.base_url()))
            .query(&query)
            .bearer_auth(sandbox::API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let full_bytes = full.to_string().len();
        let ratio = full_bytes as f64 / compact_bytes as f64;
        println!(
            "  {tool}: full {full_bytes} bytes (~{} tokens), compact {compact_bytes} bytes (~{} tokens), {ratio:.1}x smaller",
            full_bytes / 4,
            compact_bytes / 4
        );
        let (ci, fi) = (items(&compact), items(&full));
        assert_eq!(ci.len(), 100, "{tool}: a compact page of 100 fits");
        for (c_item, f_item) in ci.iter().zip(&fi) {
            assert_eq!(c_item["id"], f_item["id"], "{tool}: the same items, in the same order");
            for k in keys {
                assert!(c_item.get(*k).is_some(), "{tool}: compact items keep `{k}`: {c_item}");
            }
        }
        assert!(fi[0].as_object().unwrap().len() > ci[0].as_object().unwrap().len(), "{tool}");
        assert!(ratio >= 4.0, "{tool}: compact is only {ratio:.1}x smaller");
    }
    // One item, before and after (docs/catalogue.md shows it).
    let (page, _) =
        ok(&c, "get_folder_content", json!({"folderId": my, "count": 1, "filterValue": "Report 0001"})).await;
    let (whole, _) = ok(
        &c,
        "get_folder_content",
        json!({"folderId": my, "count": 1, "filterValue": "Report 0001", "verbosity": "full"}),
    )
    .await;
    println!(
        "  one file, full: {}\n  one file, compact: {}",
        whole["response"]["files"][0], page["response"]["files"][0]
    );

    // Past the first page: where to go on.
    let (page, _) = ok(&c, "get_folder_content", json!({"folderId": my, "count": 100, "filterValue": "Report"})).await;
    assert_eq!(
        page["more"],
        "100 of 150 items shown (from startIndex 0); more available: call again with startIndex=100"
    );
    let (rest, _) =
        ok(&c, "get_folder_content", json!({"folderId": my, "startIndex": 100, "filterValue": "Report"})).await;
    assert_eq!(items(&rest).len(), 50);
    assert!(rest.get("more").is_none(), "{}", rest["more"]);

    // A full page over the budget keeps whole items and says so.
    let (full, bytes) = ok(&c, "get_folder_content", json!({"folderId": my, "count": 100, "verbosity": "full"})).await;
    let shown = items(&full).len();
    assert!(shown < 100 && bytes <= 32_000, "{shown} items, {bytes} bytes");
    assert!(full["more"].as_str().unwrap().ends_with(&format!("startIndex={shown}")), "{}", full["more"]);
    c.cancel().await.unwrap();
}

/// Before: `count: 5000` went through although the schema says at most 100,
/// and the sandbox answered 840 KB in one result.
#[tokio::test]
async fn arguments_outside_the_schema_are_refused_before_anything_is_sent() {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let c = connect(&p).await;
    // Any request that reaches the portal fails: nothing may reach it.
    p.inject(Fault { path: "/".into(), mode: "status".into(), status: 500, delay_ms: 0, times: 100 });
    for (tool, args, want) in [
        (
            "get_folder_content",
            json!({"folderId": 1, "count": 5000}),
            "`count`: 5000 is greater than the maximum of 100",
        ),
        ("get_rooms_folder", json!({"count": 0}), "`count`: 0 is less than the minimum of 1"),
        ("create_room", json!({"title": "x", "roomType": 3}), "`roomType`: 3 is not one of"),
        ("get_group", json!({"id": "marketing"}), "`id`: \"marketing\" is not a \"uuid\""),
        ("create_folder", json!({"parentId": 1}), "missing required argument `title`"),
        ("download_file_as_text", json!({"fileId": 1, "maxChars": 0}), "`maxChars`: 0 is less than the minimum of 1"),
    ] {
        let r = call(&c, tool, args).await;
        assert_eq!(r.is_error, Some(true), "{tool}");
        let t = text(&r);
        assert!(t.starts_with(&format!("Invalid arguments for `{tool}`: ")) && t.contains(want), "{tool}: {t}");
    }
    assert!(p.faults_applied().is_empty(), "nothing reached the portal: {:?}", p.faults_applied());
    c.cancel().await.unwrap();
}

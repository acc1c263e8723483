//! DocSpace as resources and the workflow prompts, with the rmcp client
//! over stdio against the sandbox: listings that name their entries' URIs,
//! file text paged to the end, documents converted, binary files as blobs
//! and the size limit, unknown URIs; prompts with their arguments, and
//! completions from the portal's rooms, folders and people.

use std::net::{Ipv4Addr, SocketAddr};

use base64::Engine as _;
use docspace_mcp::sandbox::{self, Sandbox};
use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::server_command;

async fn start(extra: &[(&str, &str)]) -> (Sandbox, RunningService<RoleClient, ()>) {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let mut envs = vec![("DOCSPACE_BASE_URL", p.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    envs.extend_from_slice(extra);
    let cmd = Command::from(server_command(&[], &envs));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    (p, client)
}

/// The one content of a read: its text (or blob), and its media type.
async fn read(c: &RunningService<RoleClient, ()>, uri: &str) -> Result<(String, String), String> {
    let read = c.read_resource(ReadResourceRequestParams::new(uri)).await.map_err(|e| e.to_string())?;
    assert_eq!(read.contents.len(), 1, "{read:?}");
    Ok(match &read.contents[0] {
        ResourceContents::TextResourceContents { text, mime_type, uri: at, .. } => {
            assert_eq!(at, uri);
            (text.clone(), mime_type.clone().unwrap_or_default())
        }
        ResourceContents::BlobResourceContents { blob, mime_type, .. } => {
            (format!("blob:{blob}"), mime_type.clone().unwrap_or_default())
        }
        other => panic!("unexpected contents {other:?}"),
    })
}

#[tokio::test]
async fn listings_lead_to_files_whose_text_is_paged_to_the_end() {
    let (_p, c) = start(&[]).await;
    let listed: Vec<String> = c.list_resources(None).await.unwrap().resources.iter().map(|r| r.uri.clone()).collect();
    assert_eq!(listed, ["docspace://rooms", "docspace://folders/my"]);
    let templates = c.list_resource_templates(None).await.unwrap().resource_templates;
    let templates: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert!(templates.contains(&"docspace://files/{fileId}{?offset,limit}"), "{templates:?}");

    // My documents → its subfolder → a document in it, converted to text.
    let (my, mime) = read(&c, "docspace://folders/my").await.unwrap();
    assert_eq!(mime, "application/json");
    let my: Value = serde_json::from_str(&my).unwrap();
    let welcome = my["files"].as_array().unwrap().iter().find(|f| f["title"] == "Welcome.txt").unwrap();
    let projects = my["folders"].as_array().unwrap().iter().find(|f| f["title"] == "Projects").unwrap();
    let (folder, _) = read(&c, projects["uri"].as_str().unwrap()).await.unwrap();
    let folder: Value = serde_json::from_str(&folder).unwrap();
    let roadmap = folder["files"].as_array().unwrap().iter().find(|f| f["title"] == "Roadmap.docx").unwrap();
    let (roadmap, mime) = read(&c, roadmap["uri"].as_str().unwrap()).await.unwrap();
    assert_eq!(mime, "text/plain");
    assert!(!roadmap.is_empty() && !roadmap.contains("[truncated"), "{roadmap}");
    let budget = folder["files"].as_array().unwrap().iter().find(|f| f["title"] == "Budget.xlsx").unwrap();
    assert_eq!(read(&c, budget["uri"].as_str().unwrap()).await.unwrap().1, "text/csv");

    // A text file read in pages of 20 characters, following each page's marker.
    let uri = welcome["uri"].as_str().unwrap();
    let (whole, mime) = read(&c, uri).await.unwrap();
    assert_eq!(mime, "text/plain");
    let mut next = Some(format!("{uri}?limit=20"));
    let mut joined = String::new();
    let mut pages = 0;
    while let Some(page_uri) = next.take() {
        let (page, _) = read(&c, &page_uri).await.unwrap();
        pages += 1;
        let (body, marker) = page.split_once("\n\n[").unwrap_or((page.as_str(), ""));
        joined.push_str(body);
        next = marker.split_once("read ").map(|(_, rest)| rest.split(' ').next().unwrap().to_owned());
        assert!(pages < 10, "{page}");
    }
    assert_eq!(joined, whole);
    assert_eq!(pages, whole.chars().count().div_ceil(20));

    // The rooms, each leading to its content.
    let (rooms, _) = read(&c, "docspace://rooms").await.unwrap();
    let rooms: Value = serde_json::from_str(&rooms).unwrap();
    let marketing = rooms["folders"].as_array().unwrap().iter().find(|r| r["title"] == "Marketing").unwrap();
    assert!(read(&c, marketing["uri"].as_str().unwrap()).await.is_ok());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn binary_files_are_blobs_up_to_the_limit_and_unknown_uris_are_errors() {
    let (_p, c) = start(&[("DOCSPACE_MAX_RESULT_BYTES", "1024")]).await;
    let bytes: Vec<u8> = (0..40u8).collect();
    let upload = |name: &str, bytes: &[u8]| {
        let args = json!({"parentId": 1, "filename": name,
                          "contentBase64": base64::engine::general_purpose::STANDARD.encode(bytes)});
        CallToolRequestParams::new("upload_file").with_arguments(args.as_object().cloned().unwrap())
    };
    let up = c.call_tool(upload("pixel.png", &bytes)).await.unwrap();
    let file: Value = serde_json::from_str(&crate::common::text(&up)).unwrap();
    let uri = format!("docspace://files/{}", file["file"]["id"]);
    let (blob, mime) = read(&c, &uri).await.unwrap();
    assert_eq!(mime, "image/png");
    let decoded = base64::engine::general_purpose::STANDARD.decode(blob.strip_prefix("blob:").unwrap()).unwrap();
    assert_eq!(decoded, bytes);

    let big: Vec<u8> = vec![7; 2000];
    let up = c.call_tool(upload("big.bin", &big)).await.unwrap();
    let file: Value = serde_json::from_str(&crate::common::text(&up)).unwrap();
    let refused = read(&c, &format!("docspace://files/{}", file["file"]["id"])).await.unwrap_err();
    assert!(refused.contains("2000 bytes") && refused.contains("DOCSPACE_MAX_RESULT_BYTES"), "{refused}");

    for (uri, says) in [
        ("docspace://files/999999", "not found"),
        ("docspace://files/abc", "positive whole number"),
        ("docspace://elsewhere", "this server serves"),
        ("docspace://files/102?offset=x", "whole number"),
        ("https://example.com/", "docspace:// URIs"),
    ] {
        let e = read(&c, uri).await.unwrap_err();
        assert!(e.contains(says), "{uri}: {e}");
    }
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn prompts_take_their_arguments_and_complete_them_from_the_portal() {
    let (_p, c) = start(&[]).await;
    let prompts = c.list_prompts(None).await.unwrap().prompts;
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["set_up_project_room", "audit_room_access", "archive_finished_rooms", "summarize_folder", "onboard_member"]
    );
    let args = json!({"room": "Marketing"});
    let audit = c
        .get_prompt(GetPromptRequestParams::new("audit_room_access").with_arguments(args.as_object().cloned().unwrap()))
        .await
        .unwrap();
    let text = serde_json::to_string(&audit.messages).unwrap();
    assert!(text.contains("Marketing") && text.contains("get_room_security_info"), "{text}");
    let missing = c.get_prompt(GetPromptRequestParams::new("audit_room_access")).await.unwrap_err();
    assert!(missing.to_string().contains("needs room"), "{missing}");

    let rooms = c.complete_prompt_argument("audit_room_access", "room", "mark", None).await.unwrap();
    assert_eq!(rooms.values, ["Marketing"]);
    let folders = c.complete_prompt_argument("summarize_folder", "folder", "", None).await.unwrap();
    assert!(folders.values.contains(&"my documents".to_owned()), "{:?}", folders.values);
    assert!(folders.values.contains(&"Projects".to_owned()) && folders.values.contains(&"Contracts".to_owned()));
    let me = c.get_self_profile_email().await;
    let people = c.complete_prompt_argument("onboard_member", "email", &me[..3], None).await.unwrap();
    assert!(people.values.contains(&me), "{:?}", people.values);
    // Several values: the last one completes, the ones before stay.
    let typed = format!("x@y.z, {}", &me[..3]);
    let members = c.complete_prompt_argument("set_up_project_room", "members", &typed, None).await.unwrap();
    assert!(members.values.contains(&format!("x@y.z, {me}")), "{:?}", members.values);
    // Each suggestion repeats the values before the last: a long value gets none.
    let long = format!("{}, Mark", "x".repeat(2000));
    let none = c.complete_prompt_argument("onboard_member", "rooms", &long, None).await.unwrap();
    assert!(none.values.is_empty(), "{} values", none.values.len());
    let short = c.complete_prompt_argument("onboard_member", "rooms", "x, Mark", None).await.unwrap();
    assert_eq!(short.values, ["x, Marketing"]);
    let free = c.complete_prompt_argument("set_up_project_room", "name", "Pro", None).await.unwrap();
    assert!(free.values.is_empty(), "{:?}", free.values);
    c.cancel().await.unwrap();
}

trait Profile {
    async fn get_self_profile_email(&self) -> String;
}

impl Profile for RunningService<RoleClient, ()> {
    async fn get_self_profile_email(&self) -> String {
        let me = self.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
        let me: Value = serde_json::from_str(&crate::common::text(&me)).unwrap();
        me["response"]["email"].as_str().or(me["email"].as_str()).unwrap().to_owned()
    }
}

//! Confirmation before tool calls that lose data (issue 17, item 3): a
//! 2025-11-25 client that declares elicitation is asked with
//! `elicitation/create` (the rmcp client over stdio answers yes or no); a
//! 2026-07-28 client gets an input-required result whose sealed state
//! binds the answer to that one call (raw stateless HTTP: decline, accept,
//! tampered and borrowed states); a client that can do neither is served
//! as DOCSPACE_DESTRUCTIVE_CONFIRMATION says.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use docspace_mcp::sandbox::{self, Sandbox};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::mcp_http::{Answer, stateless};
use crate::common::server::TestServer;
use crate::common::{server_command, text};

/// A client whose user answers every confirmation with `yes`, and which
/// records the questions (or declares no elicitation at all).
#[derive(Clone)]
struct User {
    elicitation: bool,
    yes: bool,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for User {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.elicitation {
            capabilities = serde_json::from_value(json!({"elicitation": {}})).unwrap();
        }
        ClientConfig::new(capabilities, rmcp::model::Implementation::new("confirm-test", "0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let request = serde_json::to_value(&request).unwrap();
        self.asked.lock().unwrap().push(request["message"].as_str().unwrap().to_owned());
        assert_eq!(request["requestedSchema"]["properties"]["confirm"]["type"], "boolean", "{request}");
        Ok(if self.yes {
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}))
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }
}

async fn start(user: User, envs: &[(&str, &str)]) -> (Sandbox, RunningService<RoleClient, User>) {
    let p = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let mut all = vec![("DOCSPACE_BASE_URL", p.base_url()), ("DOCSPACE_API_KEY", sandbox::API_KEY)];
    all.extend_from_slice(envs);
    let cmd = Command::from(server_command(&[], &all));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = user.serve(transport).await.unwrap();
    (p, client)
}

fn call(name: &str, args: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap())
}

/// Whether room `id` is among the rooms (not archived or deleted).
async fn room_listed(c: &RunningService<RoleClient, User>, id: i64) -> bool {
    let rooms = c.call_tool(call("get_rooms_folder", json!({}))).await.unwrap();
    text(&rooms).contains(&format!("\"id\":{id},")) || text(&rooms).contains(&format!("\"id\": {id},"))
}

#[tokio::test]
async fn a_2025_client_with_elicitation_is_asked_and_its_no_changes_nothing() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (_p, c) = start(User { elicitation: true, yes: false, asked: asked.clone() }, &[]).await;
    assert!(room_listed(&c, 107).await);
    let no = c.call_tool(call("archive_room", json!({"roomId": 107}))).await.unwrap();
    assert_ne!(no.is_error, Some(true), "{no:?}");
    assert!(text(&no).starts_with("Nothing was changed: the user did not confirm `archive_room`"), "{}", text(&no));
    assert_eq!(asked.lock().unwrap().as_slice(), ["Archive room 107? Its members lose access until it is restored."]);
    assert!(room_listed(&c, 107).await, "declined: the room stays");
    // Calls that lose nothing are not asked about.
    c.call_tool(call("get_room_info", json!({"roomId": 107}))).await.unwrap();
    assert_eq!(asked.lock().unwrap().len(), 1);
    c.cancel().await.unwrap();

    let asked = Arc::new(Mutex::new(Vec::new()));
    let (_p, c) = start(User { elicitation: true, yes: true, asked: asked.clone() }, &[]).await;
    let yes = c.call_tool(call("archive_room", json!({"roomId": 107}))).await.unwrap();
    assert_ne!(yes.is_error, Some(true), "{}", text(&yes));
    assert_eq!(asked.lock().unwrap().len(), 1);
    assert!(!room_listed(&c, 107).await, "confirmed: the room is archived");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn without_elicitation_the_setting_decides() {
    let user = || User { elicitation: false, yes: false, asked: Arc::default() };
    // `ask` (the default): the call goes ahead, as annotated.
    let (_p, c) = start(user(), &[]).await;
    let done = c.call_tool(call("archive_room", json!({"roomId": 107}))).await.unwrap();
    assert_ne!(done.is_error, Some(true), "{}", text(&done));
    assert!(!room_listed(&c, 107).await);
    c.cancel().await.unwrap();
    // `require`: refused, saying how to allow it.
    let (_p, c) = start(user(), &[("DOCSPACE_DESTRUCTIVE_CONFIRMATION", "require")]).await;
    let refused = c.call_tool(call("archive_room", json!({"roomId": 107}))).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("DOCSPACE_DESTRUCTIVE_CONFIRMATION=ask"), "{}", text(&refused));
    assert!(room_listed(&c, 107).await);
    c.cancel().await.unwrap();
    // `off`: a client that could ask is not asked.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let off = User { elicitation: true, yes: false, asked: asked.clone() };
    let (_p, c) = start(off, &[("DOCSPACE_DESTRUCTIVE_CONFIRMATION", "off")]).await;
    let done = c.call_tool(call("archive_room", json!({"roomId": 107}))).await.unwrap();
    assert_ne!(done.is_error, Some(true), "{}", text(&done));
    assert!(asked.lock().unwrap().is_empty());
    c.cancel().await.unwrap();
}

/// The response of a stateless answer (after any notifications).
fn response(a: &Answer) -> Value {
    a.message()
}

#[tokio::test]
async fn a_2026_client_gets_an_input_required_result_bound_to_the_call() {
    let s = TestServer::builder().operator().start().await;
    let url = s.mcp();
    let can_ask = json!({"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}});
    let archive = |room: i64, extra: Value| {
        let mut params = json!({"name": "archive_room", "arguments": {"roomId": room}});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        params
    };
    let first = response(&stateless(&url, 1, "tools/call", archive(107, json!({})), can_ask.clone()).await);
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let ask = &result["inputRequests"]["confirm"];
    assert_eq!(ask["method"], "elicitation/create", "{first}");
    assert!(ask["params"]["message"].as_str().unwrap().contains("Archive room 107"), "{first}");
    let state = result["requestState"].as_str().unwrap().to_owned();

    let yes = json!({"confirm": {"action": "accept", "content": {"confirm": true}}});
    // The state of room 107's question does not confirm room 105, nor does a changed state.
    let borrowed = json!({"inputResponses": yes, "requestState": state});
    let other = response(&stateless(&url, 2, "tools/call", archive(105, borrowed), can_ask.clone()).await);
    assert_eq!(other["error"]["code"], -32602, "{other}");
    let tampered = json!({"inputResponses": yes, "requestState": format!("{state}x")});
    let bad = response(&stateless(&url, 3, "tools/call", archive(107, tampered), can_ask.clone()).await);
    assert_eq!(bad["error"]["code"], -32602, "{bad}");

    // No: nothing changes.
    let no = json!({"inputResponses": {"confirm": {"action": "decline"}}, "requestState": state});
    let declined = response(&stateless(&url, 4, "tools/call", archive(107, no), can_ask.clone()).await);
    assert_eq!(declined["result"]["resultType"], "complete", "{declined}");
    assert!(declined["result"]["content"][0]["text"].as_str().unwrap().starts_with("Nothing was changed"));
    let rooms = |id| stateless(&url, id, "tools/call", json!({"name": "get_rooms_folder", "arguments": {}}), json!({}));
    assert!(response(&rooms(5).await).to_string().contains("Contracts"));

    // Yes: archived.
    let confirmed = json!({"inputResponses": yes, "requestState": state});
    let done = response(&stateless(&url, 6, "tools/call", archive(107, confirmed), can_ask.clone()).await);
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_ne!(done["result"]["isError"], true, "{done}");
    assert!(!response(&rooms(7).await).to_string().contains("Contracts"), "archived");
}

/// The names ONLYOFFICE's server drafted (`trash` toolset): each is its
/// tool with `immediately` fixed, and each asks first.
#[tokio::test]
async fn the_drafted_trash_and_archive_tools_ask_and_do_what_they_say() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let user = User { elicitation: true, yes: true, asked: asked.clone() };
    let (_p, c) = start(user, &[("DOCSPACE_TOOLSETS", "files,folders,rooms,trash")]).await;
    let upload = |name: &str| call("upload_file", json!({"parentId": 1, "filename": name, "content": "x"}));
    let id = |r: &rmcp::model::CallToolResult| {
        serde_json::from_str::<Value>(&text(r)).unwrap()["file"]["id"].as_i64().unwrap()
    };
    let kept = id(&c.call_tool(upload("kept.txt")).await.unwrap());
    let gone = id(&c.call_tool(upload("gone.txt")).await.unwrap());

    let trashed = c.call_tool(call("move_file_to_trash", json!({"fileId": kept}))).await.unwrap();
    assert_ne!(trashed.is_error, Some(true), "{}", text(&trashed));
    let deleted = c.call_tool(call("delete_file_immediately", json!({"fileId": gone}))).await.unwrap();
    assert_ne!(deleted.is_error, Some(true), "{}", text(&deleted));
    let archived = c.call_tool(call("move_room_to_archive", json!({"roomId": 107}))).await.unwrap();
    assert_ne!(archived.is_error, Some(true), "{}", text(&archived));
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked[0].starts_with(&format!("Move file {kept} to the trash")), "{asked:?}");
    assert!(asked[1].contains("for good"), "{asked:?}");
    assert!(asked[2].starts_with("Archive room 107"), "{asked:?}");

    // The trashed file can still be read; the deleted one cannot; the room is gone from the list.
    let info = |file: i64| c.call_tool(call("get_file_info", json!({"fileId": file})));
    assert_ne!(info(kept).await.unwrap().is_error, Some(true));
    assert_eq!(info(gone).await.unwrap().is_error, Some(true));
    assert!(!room_listed(&c, 107).await);
    c.cancel().await.unwrap();
}

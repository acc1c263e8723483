//! The server over stdio, end to end: the binary spawned by the rmcp client
//! (and once by hand, for exit codes and stdout hygiene), against a stateful
//! scripted DocSpace on 127.0.0.1.

use std::io::{BufRead, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{Reply, Upstream, server_command, text};

const KEY: &str = "sk-e2e-secret-key";

/// A tiny stateful portal: file 42 can be read and renamed; file 500 fails;
/// file 7 answers too late.
async fn portal() -> Upstream {
    let title = Arc::new(Mutex::new("Report.docx".to_owned()));
    Upstream::start(move |req| {
        if req.header("authorization") != Some(&format!("Bearer {KEY}")) {
            return Reply::json(401, json!({"error": {"message": "Unauthorized"}}));
        }
        let file = |t: &str| json!({"response": {"id": 42, "title": t, "fileExst": ".docx"}, "count": 1, "status": 0, "statusCode": 200});
        match (req.method.as_str(), req.target.split('?').next().unwrap_or_default()) {
            ("GET", "/api/2.0/files/file/42") => Reply::json(200, file(&title.lock().unwrap())),
            ("PUT", "/api/2.0/files/file/42") => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                if let Some(t) = body["title"].as_str() {
                    *title.lock().unwrap() = t.to_owned();
                }
                Reply::json(200, file(&title.lock().unwrap()))
            }
            ("GET", "/api/2.0/files/file/42/link") => Reply::json(
                200,
                json!({"response": {"access": 2, "sharedTo": {"id": "a1", "title": "Share link", "shareLink": "https://x.example/s/a1"}}, "status": 0, "statusCode": 200}),
            ),
            ("GET", "/api/2.0/files/file/500") => Reply::json(500, json!({"error": {"message": "Internal failure"}})),
            ("GET", "/api/2.0/files/file/7") => Reply { delay_ms: 3000, ..Reply::json(200, file("late")) },
            _ => Reply::json(404, json!({"error": {"message": "The required file was not found"}})),
        }
    })
    .await
}

fn server(envs: &[(&str, &str)]) -> Command {
    Command::from(server_command(&[], envs))
}

async fn connect(cmd: Command) -> RunningService<RoleClient, ()> {
    let (transport, _stderr) = TokioChildProcess::builder(cmd).stderr(Stdio::null()).spawn().unwrap();
    ().serve(transport).await.unwrap()
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().cloned().unwrap());
    client.call_tool(params).await.unwrap()
}

#[tokio::test]
async fn a_client_lists_reads_writes_and_sees_errors() {
    let upstream = portal().await;
    let client = connect(server(&[
        ("DOCSPACE_BASE_URL", &format!("{}/", upstream.base_url)),
        ("DOCSPACE_API_KEY", KEY),
        ("DOCSPACE_TOOLSETS", "files_files,rooms_api"),
        ("DOCSPACE_REQUEST_TIMEOUT", "1"),
    ]))
    .await;

    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("docspace-mcp"));
    assert!(info.instructions.as_deref().unwrap_or_default().contains("DocSpace"));

    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_file_info") && tools.iter().any(|t| t.name == "create_room"));
    assert!(!tools.iter().any(|t| t.name == "get_all_profiles"), "only the selected toolsets");
    assert!(tools.iter().all(|t| t.input_schema.get("type") == Some(&json!("object"))));

    // Read.
    let r = call(&client, "get_file_info", json!({"fileId": 42})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let value: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(value["response"]["title"], "Report.docx");
    assert!(r.structured_content.is_none(), "get_file_info has no output schema (the default catalogue's budget)");
    let r = call(&client, "get_file_primary_external_link", json!({"id": 42})).await;
    let value: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(r.structured_content.as_ref(), Some(&value), "structured content mirrors the text");

    // Write, then see the change: with the curated flat arguments and with the
    // generated `body` shape.
    let r = call(&client, "update_file", json!({"fileId": 42, "title": "Renamed.docx"})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let r = call(&client, "get_file_info", json!({"fileId": "42"})).await;
    assert!(text(&r).contains("Renamed.docx"), "{}", text(&r));
    let r = call(&client, "update_file", json!({"fileId": 42, "body": {"title": "Again.docx"}})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&call(&client, "get_file_info", json!({"fileId": 42})).await).contains("Again.docx"));

    // Bad arguments: a clear tool error, no structured content.
    let r = call(&client, "get_file_info", json!({"fileId": "forty-two"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("`fileId`") && r.structured_content.is_none(), "{}", text(&r));
    let r = call(&client, "get_file_info", json!({})).await;
    assert!(text(&r).contains("missing required argument `fileId`"), "{}", text(&r));

    // DocSpace failures.
    let r = call(&client, "get_file_info", json!({"fileId": 500})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("HTTP 500") && text(&r).contains("Internal failure"), "{}", text(&r));
    let r = call(&client, "get_file_info", json!({"fileId": 1})).await;
    assert!(text(&r).contains("HTTP 404") && text(&r).contains("Check the ids"), "{}", text(&r));
    let r = call(&client, "get_file_info", json!({"fileId": 7})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("did not answer in time"), "{}", text(&r));
    // Issue 15, item 2: the portal, the setting and its value (before: "DocSpace did not answer in time: …").
    assert!(text(&r).contains(&format!("DocSpace at {} did not answer", upstream.base_url)), "{}", text(&r));
    assert!(text(&r).contains("DOCSPACE_REQUEST_TIMEOUT is 1 s"), "{}", text(&r));

    // Unknown tool: a protocol error (invalid params), and the server stays up.
    let e = client.call_tool(CallToolRequestParams::new("no_such_tool")).await.unwrap_err();
    assert!(e.to_string().contains("-32602") || e.to_string().contains("unknown tool"), "{e}");
    assert!(!client.list_all_tools().await.unwrap().is_empty());

    let seen = upstream.requests();
    assert!(seen.iter().all(|s| s.header("user-agent").unwrap_or_default().starts_with("docspace-mcp/")));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_unconfigured_server_lists_tools_and_explains_every_call() {
    let client = connect(server(&[("DOCSPACE_TOOLSETS", "rooms")])).await;
    assert!(!client.list_all_tools().await.unwrap().is_empty());
    let r = call(&client, "create_room", json!({"body": {"title": "x"}})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains("DOCSPACE_BASE_URL") && t.contains("DOCSPACE_API_KEY"), "{t}");
    client.cancel().await.unwrap();

    let client = connect(server(&[
        ("DOCSPACE_BASE_URL", "https://x.example"),
        ("DOCSPACE_API_KEY", "k"),
        ("DOCSPACE_AUTHORIZATION", "Bearer y"),
    ]))
    .await;
    let r = call(&client, "get_rooms_folder", json!({})).await;
    assert!(text(&r).contains("DOCSPACE_API_KEY, DOCSPACE_AUTHORIZATION"), "{}", text(&r));
    client.cancel().await.unwrap();
}

/// Sends JSON-RPC lines to the binary one request at a time (waiting for each
/// reply, like a real client), then closes stdin; returns (exit status, stdout
/// messages, stderr).
fn raw_session(envs: &[(&str, &str)], lines: &[Value]) -> (std::process::ExitStatus, Vec<Value>, String) {
    let mut child =
        server_command(&[], envs).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    // Like a real client: each request waits for its reply before the next goes out
    // (requests run concurrently on the server, so pipelining them would race).
    let mut out: Vec<Value> = Vec::new();
    let mut sent = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let replies = |out: &[Value]| out.iter().filter(|m| m.get("result").is_some() || m.get("error").is_some()).count();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
        stdin.flush().unwrap();
        if l.get("id").is_some() && l.get("method").is_some() {
            sent += 1;
        }
        while replies(&out) < sent {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(left) else { break };
            out.push(serde_json::from_str(&line).expect("stdout carries only JSON-RPC"));
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    out.extend(rx.try_iter().map(|l| serde_json::from_str::<Value>(&l).expect("stdout carries only JSON-RPC")));
    (status, out, err_reader.join().unwrap())
}

#[test]
fn stdout_is_protocol_only_and_eof_exits_zero() {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let (status, out, stderr) = raw_session(
        &[
            ("DOCSPACE_BASE_URL", "http://127.0.0.1:9"),
            ("DOCSPACE_API_KEY", KEY),
            ("DOCSPACE_LOG_LEVEL", "debug"),
            ("DOCSPACE_TOOLSETS", "all"),
        ],
        &[
            init,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "warning"}}),
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}),
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": "not an object"}),
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "get_file_info", "arguments": {}}}),
        ],
    );
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    let by_id =
        |id: i64| out.iter().find(|m| m["id"] == id).cloned().unwrap_or_else(|| panic!("no reply to {id}: {out:?}"));
    assert_eq!(by_id(1)["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(by_id(1)["result"]["capabilities"]["tools"], json!({}));
    assert!(by_id(1)["result"]["capabilities"].get("logging").is_some());
    assert_eq!(by_id(2)["result"], json!({}));
    assert_eq!(by_id(3)["result"], json!({}));
    assert_eq!(by_id(4)["error"]["code"], -32602);
    assert!(out.iter().any(|m| m["error"]["code"] == -32600), "a malformed request gets a JSON-RPC error: {out:?}");
    assert_eq!(by_id(6)["result"]["isError"], true);
    let log = out.iter().find(|m| m["method"] == "notifications/message").expect("a warning after setLevel(warning)");
    assert_eq!(log["params"]["level"], "warning");
    assert_eq!(log["params"]["data"]["tool"], "get_file_info");
    assert!(log["params"]["data"]["error"].as_str().unwrap().contains("fileId"));
    assert!(stderr.contains("serving MCP over stdio"), "logs go to stderr: {stderr}");
    assert!(
        stderr.contains("offering 604 tools") && stderr.contains("DOCSPACE_DYNAMIC"),
        "a size warning for `all`: {stderr}"
    );
    assert!(!stderr.contains(KEY), "the API key never reaches the logs");
}

#[test]
fn no_log_notifications_without_set_level_or_below_it() {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let failing = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_file_info", "arguments": {}}});
    let env = [("DOCSPACE_BASE_URL", "http://127.0.0.1:9"), ("DOCSPACE_API_KEY", KEY)];
    let (_, out, _) = raw_session(
        &env,
        &[init.clone(), json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), failing.clone()],
    );
    assert!(out.iter().any(|m| m["id"] == 2), "{out:?}");
    assert!(!out.iter().any(|m| m["method"] == "notifications/message"), "no opt-in, no notifications: {out:?}");
    let set_error = json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "error"}});
    let (_, out, _) = raw_session(
        &env,
        &[init, json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), set_error, failing],
    );
    assert!(out.iter().any(|m| m["id"] == 2), "{out:?}");
    assert!(!out.iter().any(|m| m["method"] == "notifications/message"), "warnings are below `error`: {out:?}");
}

/// Issue 15, item 2: a bad tool selection no longer stops a stdio start
/// (clients showed only "Connection closed"): the server starts, lists the
/// default tools and answers every call with the error and its close
/// matches, as a bad credential setting does. Over HTTP it still stops the
/// start (`cli::` tests), where the operator reads stderr.
#[test]
fn a_bad_tool_selection_is_answered_on_every_call() {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let (status, out, stderr) = raw_session(
        &[("DOCSPACE_TOOLSETS", "rooms,romos"), ("DOCSPACE_BASE_URL", "http://127.0.0.1:9"), ("DOCSPACE_API_KEY", KEY)],
        &[
            init,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_self_profile", "arguments": {}}}),
        ],
    );
    assert!(status.success(), "{stderr}");
    let reply = |id: i64| out.iter().find(|m| m["id"] == id).cloned().unwrap_or_else(|| panic!("{id}: {out:?}"));
    assert!(!reply(2)["result"]["tools"].as_array().unwrap().is_empty(), "the default tools are listed");
    assert_eq!(reply(3)["result"]["isError"], true);
    let said = reply(3)["result"]["content"][0]["text"].as_str().unwrap().to_owned();
    assert!(said.contains("unknown toolset(s) in DOCSPACE_TOOLSETS: romos") && said.contains("files_files"), "{said}");
    assert!(stderr.contains("the tool selection is not valid"), "{stderr}");
}

/// The same handler in this process, over an in-memory stream instead of a
/// child's stdin/stdout (what `stdio::serve` wires to the real ones): the
/// library's public surface is enough to embed the server.
#[tokio::test]
async fn the_handler_serves_in_process_over_a_stream() {
    use docspace_mcp::{DocSpaceServer, Options, Selection, Setup, catalogue};
    let upstream = portal().await;
    let tools: Vec<_> = catalogue::TOOLS.iter().filter(|t| t.toolsets().any(|ts| ts == "files_files")).collect();
    assert!(tools.iter().any(|t| t.name == "get_file_info"));
    let mut headers = docspace_mcp_client::reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    let client = docspace_mcp_client::Client::with_headers(
        &upstream.base_url,
        docspace_mcp_client::tls::builder().build().unwrap(),
        headers,
    );
    let setup = Setup::new(Arc::new(Selection::new(tools, Options::default())), Ok(client));
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = DocSpaceServer::new(setup).serve(server_side).await.unwrap();
        running.waiting().await.unwrap()
    });
    let client = ().serve(client_side).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_file_info"));
    let read = call(&client, "get_file_info", json!({"fileId": 42})).await;
    assert_ne!(read.is_error, Some(true), "{}", text(&read));
    assert!(text(&read).contains("Report.docx"), "{}", text(&read));
    let renamed = call(&client, "update_file", json!({"fileId": 42, "title": "Renamed.docx"})).await;
    assert_ne!(renamed.is_error, Some(true), "{}", text(&renamed));
    assert!(text(&call(&client, "get_file_info", json!({"fileId": 42})).await).contains("Renamed.docx"));
    let failed = call(&client, "get_file_info", json!({"fileId": 500})).await;
    assert_eq!(failed.is_error, Some(true));
    assert!(text(&failed).contains("Internal failure"), "{}", text(&failed));
    client.cancel().await.unwrap();
    server.await.unwrap();
}

/// A configuration the reference server accepts starts this one too
/// (issue 15, item 7): empty variables, as `.env` files and compose templates
/// leave them, read as the reference reads them (before, clap refused
/// `invalid value '' for '--request-authorization-header'`), and its
/// file-operation names; a `DOCSPACE_*` variable this server does not read is
/// named in a warning, with the closest setting (before: silently ignored).
#[test]
fn the_references_configuration_starts_it_and_typos_are_named() {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let mut env = vec![("DOCSPACE_BASE_URL", "http://127.0.0.1:9"), ("DOCSPACE_API_KEY", KEY)];
    for empty in [
        "DOCSPACE_TRANSPORT",
        "DOCSPACE_DYNAMIC",
        "DOCSPACE_READ_ONLY",
        "DOCSPACE_TOOLSETS",
        "DOCSPACE_ENABLED_TOOLS",
        "DOCSPACE_DISABLED_TOOLS",
        "DOCSPACE_USER_AGENT",
        "DOCSPACE_AUTHORIZATION",
        "DOCSPACE_AUTH_TOKEN",
        "DOCSPACE_USERNAME",
        "DOCSPACE_PASSWORD",
        "DOCSPACE_OAUTH_BASE_URL",
        "DOCSPACE_OAUTH_CLIENT_ID",
        "DOCSPACE_OAUTH_CLIENT_SECRET",
        "DOCSPACE_SERVER_BASE_URL",
        "DOCSPACE_HOST",
        "DOCSPACE_PORT",
        "DOCSPACE_PROXY_HOPS",
        "DOCSPACE_REQUEST_QUERY",
        "DOCSPACE_REQUEST_AUTHORIZATION_HEADER",
        "DOCSPACE_REQUEST_TIMEOUT",
        "DOCSPACE_OPERATION_TIMEOUT",
        "DOCSPACE_LOG_LEVEL",
        "DOCSPACE_SERVER_RATE_LIMITS_MCP_CAPACITY",
        "DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW",
        "DOCSPACE_SERVER_CORS_MCP_MAX_AGE",
    ] {
        env.push((empty, ""));
    }
    env.extend([
        ("DOCSPACE_FILE_OPERATION_TIMEOUT", "5000"),
        ("DOCSPACE_FILE_OPERATION_INTERVAL", "300"),
        ("DOCSPACE_TOOLSET", "rooms"),
        ("DOCSPACE_SESSION_TTL", "28800000"),
    ]);
    let (status, out, stderr) = raw_session(
        &env,
        &[
            init,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        ],
    );
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    let tools = out.iter().find(|m| m["id"] == 2).and_then(|m| m["result"]["tools"].as_array().cloned());
    let tools = tools.unwrap_or_else(|| panic!("no tools/list reply: {out:?}\n{stderr}"));
    assert!(tools.iter().any(|t| t["name"] == "create_folder"), "the default catalogue, writes included");
    assert!(
        stderr.contains(
            "DOCSPACE_TOOLSET is not a setting of this server and is ignored; did you mean DOCSPACE_TOOLSETS?"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("DOCSPACE_SESSION_TTL is not read by this server"), "{stderr}");
    assert!(!stderr.contains("DOCSPACE_FILE_OPERATION_TIMEOUT is not"), "{stderr}");
}

/// Issue 15, item 2: a tool left out of the selection, and the capability
/// probes clients send whatever the capabilities say, get answers that say
/// what the server offers (before: "unknown tool", "Method not found"); the
/// probes are not logged as warnings.
#[test]
fn errors_say_what_the_server_offers() {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let (status, out, stderr) = raw_session(
        &[("DOCSPACE_BASE_URL", "http://127.0.0.1:9"), ("DOCSPACE_API_KEY", KEY), ("DOCSPACE_TOOLSETS", "people")],
        &[
            init,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "create_folder", "arguments": {}}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}),
            json!({"jsonrpc": "2.0", "id": 4, "method": "prompts/list"}),
            json!({"jsonrpc": "2.0", "id": 5, "method": "resources/templates/list"}),
            json!({"jsonrpc": "2.0", "id": 6, "method": "resources/subscribe", "params": {"uri": "docspace://rooms"}}),
        ],
    );
    assert!(status.success(), "{stderr}");
    let error = |id: i64| {
        let m = out.iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("no reply to {id}: {out:?}"));
        m["error"]["message"].as_str().unwrap_or_default().to_owned()
    };
    assert!(error(2).contains("`create_folder` is not in this server's tool selection"), "{}", error(2));
    assert!(error(2).contains("DOCSPACE_TOOLSETS") && error(2).contains("`files_folders`"), "{}", error(2));
    // Resources and prompts are offered; subscriptions are not.
    let result = |id: i64| out.iter().find(|m| m["id"] == id).map(|m| m["result"].to_string()).unwrap_or_default();
    assert!(result(3).contains("docspace://rooms"), "{}", result(3));
    assert!(result(4).contains("audit_room_access"), "{}", result(4));
    assert!(result(5).contains("docspace://files/{fileId}"), "{}", result(5));
    assert!(error(6).contains("resources/subscribe: this server does not offer it"), "{}", error(6));
    assert!(!stderr.contains("WARN"), "capability probes are not warnings: {stderr}");
}

/// Issue 15, item 2: an unreachable portal names its address, the cause and
/// the setting to check (before: "DocSpace could not be reached: error
/// sending request: client error (Connect)").
#[tokio::test]
async fn an_unreachable_portal_is_named_with_the_cause_and_the_setting() {
    let closed = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = connect(server(&[("DOCSPACE_BASE_URL", &base), ("DOCSPACE_API_KEY", KEY)])).await;
    let r = call(&client, "get_self_profile", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains(&format!("DocSpace at {base} could not be reached: the connection was refused")), "{t}");
    assert!(t.contains("DOCSPACE_BASE_URL") && t.contains("X-Mcp-Base-Url"), "{t}");
    assert!(!t.contains("may have made the change"), "a read: {t}");
    let r = call(&client, "create_folder", json!({"parentId": 1, "title": "x"})).await;
    assert!(text(&r).contains("the connection was refused"), "{}", text(&r));
    assert!(!text(&r).contains("may have made the change"), "refused: nothing was sent: {}", text(&r));
    client.cancel().await.unwrap();
}

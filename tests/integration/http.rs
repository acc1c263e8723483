//! The HTTP transports over real sockets on 127.0.0.1: Streamable HTTP with
//! the rmcp client and raw requests, the legacy SSE transport, per-request
//! configuration and credentials, session identity, the base-URL allow-list,
//! HTTP hygiene, and the binary's start-up and SIGTERM shutdown.

use std::collections::HashMap;
use std::time::Duration;

use docspace_mcp::sandbox;
use docspace_mcp_client::reqwest;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::mcp_http::{Answer, Events, call, init, list, open, post};
use crate::common::server::TestServer;
use crate::common::{Reply, Upstream};

fn tool_names(a: &Answer) -> Vec<String> {
    let m = a.messages();
    m[0]["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_rmcp_client_works_over_streamable_http() {
    let s = TestServer::builder().operator().start().await;
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", s.base));
    let client = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_folder_content") && tools.len() < 40, "the default catalogue");
    let me = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert!(format!("{me:?}").contains("Alex Morgan"), "{me:?}");
    let created = client
        .call_tool(
            CallToolRequestParams::new("create_folder")
                .with_arguments(json!({"parentId": 1, "title": "Over HTTP"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    assert_ne!(created.is_error, Some(true), "{created:?}");
    assert_eq!(s.portal.inspect(|st| st.entries.values().any(|e| e.title == "Over HTTP")), Some(true));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn per_request_credentials_selection_and_identity() {
    // No portal of its own: each client brings one (the sandbox, allowed here).
    let s =
        TestServer::builder().args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"]).start().await;
    let mcp = format!("{}/mcp", s.base);
    let portal = s.portal.base_url().to_owned();

    let a = post(&mcp, None, &[], &init(1)).await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.json()["error"], "unauthorized");
    // Issue 15, item 2: OAuth-capable clients (Inspector, Claude, VS Code) show an `error_description` where
    // they would otherwise start a sign-in that cannot work; with OAuth off there is no discovery hint, and
    // the discovery and registration endpoints they then try say what to send instead.
    let challenge = a.headers["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer realm=\"docspace-mcp\", error=\"invalid_request\""), "{challenge}");
    assert!(challenge.contains("error_description=\"this server has no DocSpace credentials"), "{challenge}");
    assert!(challenge.contains("X-Mcp-Api-Key") && !challenge.contains("resource_metadata"), "{challenge}");
    assert!(a.json()["error_description"].as_str().unwrap().contains("X-Mcp-Base-Url"), "{}", a.body);
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server", "/register"] {
        let r =
            docspace_mcp_client::tls::builder().build().unwrap().get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        let said = body["error_description"].as_str().unwrap_or_default();
        assert!(said.contains("no OAuth sign-in") && said.contains("X-Mcp-Api-Key"), "{path}: {body}");
    }

    let bad = post(&format!("{mcp}?toolsets=rooms"), None, &[("x-mcp-toolsets", "files")], &init(1)).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["message"].as_str().unwrap().contains("both as a query parameter and as the x-mcp-toolsets"));
    let bad =
        post(&mcp, None, &[("x-mcp-base-url", &portal), ("x-mcp-api-key", "k"), ("x-mcp-auth-token", "t")], &init(1))
            .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad =
        post(&mcp, None, &[("x-mcp-base-url", &portal), ("x-mcp-api-key", "k"), ("x-mcp-toolsets", "nope")], &init(1))
            .await;
    assert!(bad.status == 400 && bad.json()["message"].as_str().unwrap().contains("nope"), "{}", bad.body);
    let bad = post(&mcp, None, &[("x-mcp-base-url", &portal)], &init(1)).await;
    assert_eq!(bad.status, 401, "a portal without credentials: {}", bad.body);
    let far =
        post(&mcp, None, &[("x-mcp-base-url", "https://intranet.example"), ("x-mcp-api-key", "k")], &init(1)).await;
    assert_eq!(far.status, 403, "not on the allow-list: {}", far.body);

    // Headers, as the reference names them; the selection narrowed by the query.
    let me = [("x-mcp-base-url", portal.as_str()), ("x-mcp-api-key", sandbox::API_KEY)];
    let session = open(&format!("{mcp}?toolsets=rooms"), &me).await;
    let names = tool_names(&post(&mcp, Some(&session), &me, &list(2)).await);
    assert!(names.contains(&"create_room".to_owned()) && !names.contains(&"get_file_info".to_owned()), "{names:?}");
    let r = post(&mcp, Some(&session), &me, &call(3, "get_rooms_folder", json!({}))).await;
    assert!(r.body.contains("Marketing"), "{}", r.body);

    // The session keeps its identity.
    let other = [("x-mcp-base-url", portal.as_str()), ("x-mcp-api-key", "sk-someone-else")];
    let r = post(&mcp, Some(&session), &other, &list(4)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = post(&mcp, Some(&session), &[], &list(5)).await;
    assert_eq!(r.status, 403, "no credentials is another identity: {}", r.body);

    // Wrong credentials reach DocSpace and come back as a tool error, not a transport one.
    let wrong = open(&mcp, &other).await;
    let r = post(&mcp, Some(&wrong), &other, &call(6, "get_self_profile", json!({}))).await;
    let m = r.messages();
    assert_eq!(m[0]["result"]["isError"], true, "{}", r.body);
    assert!(m[0]["result"]["content"][0]["text"].as_str().unwrap().contains("401"));

    // A raw Authorization header (user:password@ in a URL arrives as Basic) with ?base_url.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", sandbox::USERNAME, sandbox::PASSWORD)
        )
    );
    let with_basic = [("authorization", basic.as_str())];
    let url = format!("{mcp}?base_url={portal}&read_only=1");
    let session = open(&url, &with_basic).await;
    let names = tool_names(&post(&url, Some(&session), &with_basic, &list(7)).await);
    assert!(names.contains(&"get_file_info".to_owned()) && !names.contains(&"create_folder".to_owned()), "{names:?}");
    let r = post(&url, Some(&session), &with_basic, &call(8, "get_self_profile", json!({}))).await;
    assert!(r.body.contains("Alex Morgan"), "{}", r.body);

    // Sessions end with DELETE; an unknown session is 404.
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .delete(&url)
        .header("mcp-session-id", &session)
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = post(&url, Some(&session), &with_basic, &list(9)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = post(&url, Some("no-such-session"), &with_basic, &list(10)).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// A session's `tools/list` is answered from the selection's prepared bytes
/// (issue 18, item 7), as JSON; what it says is what rmcp's typed path says
/// for the same selection (the stdio server answers through that path), for
/// the default catalogue, every tool, read-only and dynamic selections. A
/// request the fast path must not take (a batch, a cursor-less but
/// otherwise odd request, an unknown protocol version) gets rmcp's answer.
#[tokio::test]
async fn a_sessions_tools_list_is_served_from_prepared_bytes_and_says_what_rmcp_says() {
    for args in [&[][..], &["--toolsets", "all"], &["--toolsets", "all", "--read-only"], &["--dynamic"]] {
        let s = TestServer::builder().operator().args(args).start().await;
        let mcp = format!("{}/mcp", s.base);
        let session = open(&mcp, &[]).await;
        let fast =
            post(&mcp, Some(&session), &[], &json!({"jsonrpc": "2.0", "id": "l-1", "method": "tools/list"})).await;
        assert_eq!(fast.status, 200, "{}", fast.body);
        assert_eq!(fast.headers["content-type"], "application/json", "{args:?}: answered by the fast path");
        let fast = fast.json();
        assert_eq!(fast["id"], "l-1");

        // rmcp's own answer over stdio, same selection.
        let mut cmd = tokio::process::Command::from(crate::common::server_command(args, &[]));
        cmd.env("DOCSPACE_BASE_URL", s.portal.base_url()).env("DOCSPACE_API_KEY", sandbox::API_KEY);
        let client = ().serve(rmcp::transport::TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        let typed = serde_json::to_value(client.list_all_tools().await.unwrap()).unwrap();
        client.cancel().await.unwrap();
        assert_eq!(fast["result"]["tools"], typed, "{args:?}");
    }

    // Not for the fast path: rmcp answers (an event stream on a session), or refuses.
    let s = TestServer::builder().operator().start().await;
    let mcp = format!("{}/mcp", s.base);
    let session = open(&mcp, &[]).await;
    let with_meta =
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": {"progressToken": 1}}});
    let a = post(&mcp, Some(&session), &[], &with_meta).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(tool_names(&a).len(), 38, "params are no obstacle: {}", a.body);
    let unknown = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(&mcp)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "1999-01-01")
        .header("mcp-session-id", &session)
        .body(list(3).to_string())
        .send()
        .await
        .unwrap();
    let unknown = Answer {
        status: unknown.status().as_u16(),
        headers: unknown.headers().clone(),
        body: unknown.text().await.unwrap(),
    };
    assert_eq!(unknown.status, 400, "rmcp refuses an unknown protocol version: {}", unknown.body);
}

#[tokio::test]
async fn request_selection_only_narrows_the_operators() {
    let s = TestServer::builder().operator().args(&["--toolsets", "rooms", "--read-only"]).start().await;
    let mcp = format!("{}/mcp", s.base);
    let r = post(&mcp, None, &[("x-mcp-enabled-tools", "create_room")], &init(1)).await;
    assert_eq!(r.status, 403, "a write tool the operator did not enable: {}", r.body);
    let r = post(&format!("{mcp}?read_only=false"), None, &[], &init(1)).await;
    assert_eq!(r.status, 200, "asking for less strictness is ignored: {}", r.body);
    let session = r.session().unwrap();
    let names = tool_names(&post(&mcp, Some(&session), &[], &list(2)).await);
    assert!(!names.is_empty() && !names.contains(&"create_room".to_owned()), "{names:?}");
    let r = post(&format!("{mcp}?dynamic=1"), None, &[], &init(1)).await;
    let session = r.session().unwrap();
    let names = tool_names(&post(&mcp, Some(&session), &[], &list(2)).await);
    assert_eq!(names.len(), 6, "dynamic per request: {names:?}");
    // Issue 15, item 6, the rule: a request's dynamic mode with `toolsets=all` reaches the operator's
    // selection (here `rooms`, read-only), never beyond it (docs/http.md "Dynamic mode over HTTP").
    let r = post(&format!("{mcp}?dynamic=1"), None, &[("x-mcp-toolsets", "all")], &init(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.session().unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "list_toolsets", "arguments": {}}});
    let listed = post(&mcp, Some(&session), &[], &call).await.messages()[0].to_string();
    assert!(listed.contains("rooms") && !listed.contains("people_profiles"), "{listed}");
}

/// A request's tool selection is bounded and costs no search (issue 14, item
/// 1): an unknown name gets no "did you mean" (no edit distance against every
/// tool for an anonymous caller), an over-long name or list is refused before
/// any selection work, and the message repeats only a few names.
#[tokio::test]
async fn request_selection_lists_are_bounded_and_unknown_names_get_no_search() {
    let s = TestServer::builder().operator().start().await;
    let mcp = format!("{}/mcp", s.base);
    let r = post(&mcp, None, &[("x-mcp-enabled-tools", "get_file_inf")], &init(1)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("get_file_inf") && !r.body.contains("Did you mean"), "{}", r.body);
    let long = format!("{},get_file_info", "x".repeat(300_000));
    let r = post(&mcp, None, &[("x-mcp-disabled-tools", long.as_str())], &init(1)).await;
    assert_eq!(r.status, 400, "{}", &r.body[..r.body.len().min(300)]);
    assert!(r.body.contains("longer than 64") && r.body.len() < 1000, "{}", &r.body[..r.body.len().min(300)]);
    let many = vec!["get_file_info"; 5000].join(",");
    let r = post(&mcp, None, &[("x-mcp-enabled-tools", many.as_str())], &init(1)).await;
    assert!(r.status == 400 && r.body.contains("5000 names"), "{} {}", r.status, &r.body[..r.body.len().min(300)]);
    let unknown: Vec<String> = (0..50).map(|i| format!("nope_{i}")).collect();
    let r = post(&mcp, None, &[("x-mcp-enabled-tools", unknown.join(",").as_str())], &init(1)).await;
    assert!(r.status == 400 && r.body.contains("and 45 more"), "{}", r.body);
}

#[tokio::test]
async fn hygiene_host_origin_cors_limits_ids_and_errors() {
    let s = TestServer::builder().operator().args(&["--rate-limit", "30", "--rate-window-ms", "60000"]).start().await;
    let client = docspace_mcp_client::tls::builder().build().unwrap();
    let health = client.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let id = health.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(!id.is_empty(), "a generated request id");
    let echoed = client.get(format!("{}/health", s.base)).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(echoed.headers().get("x-request-id").unwrap(), "trace-42");

    let r = client.get(format!("{}/health", s.base)).header("host", "evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403, "DNS rebinding: a foreign Host");
    let r = post(&format!("{}/mcp", s.base), None, &[("origin", "https://evil.example")], &init(1)).await;
    assert_eq!(r.status, 403, "a foreign Origin: {}", r.body);
    let r = post(&format!("{}/mcp", s.base), None, &[("origin", "http://localhost:6274")], &init(1)).await;
    assert_eq!(r.status, 200, "a local browser client: {}", r.body);
    assert_eq!(r.headers.get("access-control-allow-origin").unwrap(), "http://localhost:6274");
    let exposed = r.headers.get("access-control-expose-headers").unwrap().to_str().unwrap().to_owned();
    assert!(exposed.contains("mcp-session-id") && exposed.contains("www-authenticate"), "{exposed}");
    let preflight = client
        .request(reqwest::Method::OPTIONS, format!("{}/mcp", s.base))
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "mcp-session-id, x-mcp-api-key, content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers().get("access-control-allow-headers").unwrap().to_str().unwrap().to_owned();
    assert!(allowed.contains("x-mcp-api-key") && allowed.contains("mcp-session-id"), "{allowed}");

    let r = client.get(format!("{}/nothing-here", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not_found");

    // Malformed JSON-RPC is a clean error and the server stays up.
    let session = open(&format!("{}/mcp", s.base), &[]).await;
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{}/mcp", s.base))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // The rate limit answers 429 before anything reaches DocSpace.
    let mut limited = None;
    for _ in 0..40 {
        let r = client.get(format!("{}/health", s.base)).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("429 within the window");
    assert!(limited.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn x_request_id_reaches_docspace() {
    let upstream = Upstream::start(|_| {
        Reply::json(200, json!({"response": {"displayName": "Up Stream"}, "status": 0, "statusCode": 200}))
    })
    .await;
    let s =
        TestServer::builder().args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"]).start().await;
    let mut headers = HashMap::new();
    headers.insert(reqwest::header::HeaderName::from_static("x-mcp-base-url"), upstream.base_url.parse().unwrap());
    headers.insert(reqwest::header::HeaderName::from_static("x-mcp-api-key"), "sk-up".parse().unwrap());
    headers.insert(reqwest::header::HeaderName::from_static("x-request-id"), "req-7".parse().unwrap());
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", s.base)).custom_headers(headers);
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert!(format!("{r:?}").contains("Up Stream"), "{r:?}");
    let seen = upstream.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.header("x-request-id"), Some("req-7"));
    assert_eq!(last.header("authorization"), Some("Bearer sk-up"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_client_named_portal_cannot_redirect_the_server_elsewhere() {
    // An internal service the operator never allowed, and an allowed portal
    // that sends every request there with a redirect.
    let internal = Upstream::start(|_| Reply::json(200, json!({"response": {"displayName": "INTERNAL SECRET"}}))).await;
    let target = format!("{}/latest/meta-data/iam", internal.base_url);
    let portal = Upstream::start(move |_| Reply::redirect(302, &target)).await;
    let allowed = portal.base_url.trim_start_matches("http://").to_owned();
    let s = TestServer::builder().args(&["--allowed-base-urls", &allowed, "--allow-private-base-urls"]).start().await;
    let mut headers = HashMap::new();
    headers.insert(reqwest::header::HeaderName::from_static("x-mcp-base-url"), portal.base_url.parse().unwrap());
    headers.insert(reqwest::header::HeaderName::from_static("x-mcp-api-key"), "sk-up".parse().unwrap());
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", s.base)).custom_headers(headers);
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let r = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    let text = format!("{r:?}");
    assert!(!text.contains("INTERNAL SECRET"), "the redirect was followed: {text}");
    assert!(text.contains("302"), "the tool says what the portal answered: {text}");
    assert!(internal.requests().is_empty(), "the internal service was reached");
    assert_eq!(portal.requests().len(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn legacy_sse_carries_a_whole_session() {
    let s = TestServer::builder().operator().start().await;
    let client = docspace_mcp_client::tls::builder().build().unwrap();
    let r = client.get(format!("{}/sse", s.base)).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut events = Events::new(r);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    assert!(endpoint.starts_with("/messages?sessionId="), "{endpoint}");
    let url = format!("{}{endpoint}", s.base);
    let send = |body: Value, url: String| {
        let client = client.clone();
        async move {
            client.post(url).header("content-type", "application/json").body(body.to_string()).send().await.unwrap()
        }
    };
    assert_eq!(send(init(1), url.clone()).await.status(), 202);
    let (event, data) = events.next().await;
    assert_eq!(event, "message");
    let reply: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"]["serverInfo"]["name"], "docspace-mcp");
    assert_eq!(send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), url.clone()).await.status(), 202);
    // `session_id`, as the Python SDK writes it, works too.
    let python_style = url.replace("sessionId=", "session_id=");
    assert_eq!(send(call(2, "get_self_profile", json!({})), python_style).await.status(), 202);
    let (_, data) = events.next().await;
    let reply: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(reply["id"], 2);
    assert!(reply["result"]["content"][0]["text"].as_str().unwrap().contains("Alex Morgan"), "{reply}");

    let r = client.post(&url).header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = send(list(3), format!("{}/messages?sessionId=nope", s.base)).await;
    assert_eq!(r.status(), 404);
    let r = send(list(3), format!("{}/messages", s.base)).await;
    assert_eq!(r.status(), 400);
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-mcp-base-url", s.portal.base_url())
        .header("x-mcp-api-key", "sk-other")
        .body(list(4).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another identity on the session");

    // Closing the stream ends the session.
    drop(events);
    let mut gone = false;
    for _ in 0..50 {
        if send(list(5), url.clone()).await.status() == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the session ends with its stream");
}

#[tokio::test]
async fn sessions_hibernate_wake_up_as_they_were_and_expire() {
    let s = TestServer::builder()
        .operator()
        .args(&["--session-hibernate-after", "1", "--session-idle-timeout", "4", "--toolsets", "rooms"])
        .start()
        .await;
    let mcp = format!("{}/mcp", s.base);
    let health = || async { reqwest::get(format!("{}/health", s.base)).await.unwrap().json::<Value>().await.unwrap() };
    let session = open(&format!("{mcp}?read_only=true"), &[]).await;
    let r = post(
        &mcp,
        Some(&session),
        &[],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "warning"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(health().await["live_sessions"], 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let h = health().await;
    assert_eq!((h["sessions"].as_u64(), h["live_sessions"].as_u64()), (Some(1), Some(0)), "hibernated: {h}");

    // The next request wakes it with the same selection and log level.
    let names = tool_names(&post(&mcp, Some(&session), &[], &list(3)).await);
    assert!(names.contains(&"get_room_info".to_owned()) && !names.contains(&"create_room".to_owned()), "{names:?}");
    // Log notifications travel on the session's GET stream.
    let stream = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .get(&mcp)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = Events::new(stream);
    let r = post(&mcp, Some(&session), &[], &call(4, "get_room_info", json!({"roomId": 999_999}))).await;
    assert!(r.body.contains("isError"), "{}", r.body);
    let (_, data) = events.next().await;
    let log: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        (log["method"].as_str(), log["params"]["level"].as_str()),
        (Some("notifications/message"), Some("warning")),
        "the session's log level survived hibernation: {log}"
    );
    drop(events);
    assert_eq!(health().await["live_sessions"], 1);
    let other = [("x-mcp-base-url", s.portal.base_url()), ("x-mcp-api-key", "sk-other")];
    assert_eq!(post(&mcp, Some(&session), &other, &list(5)).await.status, 403, "and its identity");

    // Unused past the idle timeout, it is gone.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(health().await["sessions"], 0);
    assert_eq!(post(&mcp, Some(&session), &[], &list(6)).await.status, 404);
}

#[tokio::test]
async fn an_idle_timeout_of_zero_means_never_and_bodies_are_bounded() {
    let s = TestServer::builder()
        .operator()
        .args(&["--session-idle-timeout", "0", "--session-hibernate-after", "1", "--http-max-body-bytes", "1048576"])
        .start()
        .await;
    let mcp = format!("{}/mcp", s.base);
    let session = open(&mcp, &[]).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let r = post(&mcp, Some(&session), &[], &list(2)).await;
    assert_eq!(r.status, 200, "0 = never: the session outlives any quiet spell: {}", r.body);
    let big = call(3, "upload_file", json!({"parentId": 1, "filename": "big.txt", "content": "x".repeat(1_200_000)}));
    let r = post(&mcp, Some(&session), &[], &big).await;
    assert_eq!(r.status, 413, "a body over DOCSPACE_HTTP_MAX_BODY_BYTES: {}", r.body);
    let r = post(&mcp, Some(&session), &[], &list(4)).await;
    assert_eq!(r.status, 200, "and the session goes on: {}", r.body);
}

#[tokio::test]
async fn the_session_cap_answers_503() {
    let s = TestServer::builder().operator().args(&["--max-sessions", "2"]).start().await;
    let mcp = format!("{}/mcp", s.base);
    open(&mcp, &[]).await;
    open(&mcp, &[]).await;
    let r = post(&mcp, None, &[], &init(1)).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["error"], "too_many_sessions");
}

#[tokio::test]
async fn long_results_are_cut_and_say_so() {
    let s = TestServer::builder().operator().args(&["--max-result-bytes", "1024"]).start().await;
    let mcp = format!("{}/mcp", s.base);
    let session = open(&mcp, &[]).await;
    let r = post(&mcp, Some(&session), &[], &call(2, "get_my_folder", json!({"verbosity": "full"}))).await;
    let result = &r.messages()[0]["result"];
    let texts: Vec<&str> = result["content"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 2, "{result}");
    assert_eq!(texts[0].len(), 1024);
    assert!(
        texts[1].starts_with("[cut: this result is ") && texts[1].contains("DOCSPACE_MAX_RESULT_BYTES"),
        "{}",
        texts[1]
    );
    assert!(result.get("structuredContent").is_none(), "the structured copy is not sent whole");
    // A short result is untouched.
    let r = post(&mcp, Some(&session), &[], &call(3, "get_self_profile", json!({}))).await;
    assert_eq!(r.messages()[0]["result"]["content"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn made_up_credentials_cannot_hold_the_session_cap() {
    let s = TestServer::builder()
        .operator()
        .args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls", "--max-sessions", "3"])
        .start()
        .await;
    let mcp = format!("{}/mcp", s.base);
    let portal = s.portal.base_url().to_owned();
    let key = |k: &str| [("x-mcp-base-url", portal.clone()), ("x-mcp-api-key", k.to_owned())];
    let headers = |h: &[(&'static str, String); 2]| h.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    async fn open_with(mcp: &str, h: &[(&str, String)]) -> String {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        open(mcp, &h).await
    }
    // Three sessions with made-up keys fill the cap...
    let mut junk = Vec::new();
    for i in 0..3 {
        junk.push(open_with(&mcp, &headers(&key(&format!("junk-{i}")))).await);
    }
    // ...yet a session of the operator's own credentials opens: the oldest
    // unverified session made room, and is gone.
    let operator = open(&mcp, &[]).await;
    let junk0 = headers(&key("junk-0"));
    let junk0: Vec<(&str, &str)> = junk0.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post(&mcp, Some(&junk[0]), &junk0, &list(2)).await.status, 404, "the oldest made-up session was closed");
    // A client's own key that DocSpace has accepted is verified and keeps its place.
    let real = headers(&key(sandbox::API_KEY));
    let real_session = open_with(&mcp, &real).await;
    let real: Vec<(&str, &str)> = real.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post(&mcp, Some(&real_session), &real, &call(3, "get_self_profile", json!({}))).await;
    assert!(r.body.contains("Alex Morgan"), "{}", r.body);
    // The cap now holds the operator's, the verified and one made-up session:
    // newcomers keep displacing the made-up ones, never the verified ones.
    for i in 3..6 {
        open_with(&mcp, &headers(&key(&format!("junk-{i}")))).await;
    }
    open(&mcp, &[]).await;
    let full = post(&mcp, None, &[], &init(1)).await;
    assert_eq!(full.status, 503, "only verified sessions left: {}", full.body);
    for (session, h) in [(&operator, vec![]), (&real_session, real.clone())] {
        assert_eq!(post(&mcp, Some(session), &h, &list(4)).await.status, 200, "verified sessions stay");
    }
}

#[tokio::test]
async fn sessions_are_capped_per_client_address_and_per_identity() {
    let s = TestServer::builder()
        .operator()
        .args(&[
            "--allowed-base-urls",
            "127.0.0.1:*",
            "--allow-private-base-urls",
            "--max-sessions-per-identity",
            "2",
            "--max-sessions-per-ip",
            "5",
        ])
        .start()
        .await;
    let mcp = format!("{}/mcp", s.base);
    let portal = s.portal.base_url().to_owned();
    let a = [("x-mcp-base-url", portal.as_str()), ("x-mcp-api-key", "key-a")];
    open(&mcp, &a).await;
    open(&mcp, &a).await;
    let r = post(&mcp, None, &a, &init(1)).await;
    assert_eq!(r.status, 429, "a third session of one identity: {}", r.body);
    assert!(r.body.contains("DOCSPACE_MAX_SESSIONS_PER_IDENTITY"), "{}", r.body);
    // Another identity, and the operator's own (shared by every client without
    // credentials, so capped only by address), still open...
    open(&mcp, &[("x-mcp-base-url", portal.as_str()), ("x-mcp-api-key", "key-b")]).await;
    open(&mcp, &[]).await;
    open(&mcp, &[]).await;
    // ...up to the address's cap (every test client is 127.0.0.1).
    let r = post(&mcp, None, &[], &init(1)).await;
    assert_eq!(r.status, 429, "a sixth session from one address: {}", r.body);
    assert!(r.body.contains("DOCSPACE_MAX_SESSIONS_PER_IP"), "{}", r.body);
    let sse = docspace_mcp_client::tls::builder().build().unwrap().get(format!("{}/sse", s.base)).send().await.unwrap();
    assert_eq!(sse.status(), 429, "the cap covers SSE sessions too");
}

#[tokio::test]
async fn idle_sse_sessions_expire() {
    let s = TestServer::builder().operator().args(&["--session-idle-timeout", "1"]).start().await;
    let r = docspace_mcp_client::tls::builder().build().unwrap().get(format!("{}/sse", s.base)).send().await.unwrap();
    let mut events = Events::new(r);
    let (event, _) = events.next().await;
    assert_eq!(event, "endpoint");
    let sessions = || async {
        let health: Value = reqwest::get(format!("{}/health", s.base)).await.unwrap().json().await.unwrap();
        health["sessions"].as_u64().unwrap()
    };
    assert_eq!(sessions().await, 1);
    // Nothing is posted: the session is closed and its stream ends.
    let end = tokio::time::timeout(Duration::from_secs(10), events.end()).await;
    assert!(end.is_ok(), "the idle SSE stream was not closed");
    assert_eq!(sessions().await, 0);
}

#[test]
fn the_binary_serves_http_and_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = crate::common::server_command(&["sandbox", "--transport", "http", "--port", "0"], &[])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some(rest) = line.split("serving MCP over HTTP on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async { reqwest::get(format!("{address}/health")).await.unwrap().status() });
    assert_eq!(status, 200);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM ends the server with exit code 0: {status:?}");
    assert!(
        child.stdout.take().map(|mut o| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut o, &mut s).unwrap();
            s.is_empty()
        }) == Some(true),
        "nothing on stdout over HTTP"
    );
}

/// Several credentials of the server's own are a configuration error over
/// HTTP as over stdio (issue 15, item 7). Before, HTTP dropped them with an
/// info line and told clients the server had no credentials at all.
#[tokio::test]
async fn conflicting_server_credentials_are_reported_as_over_stdio() {
    let portal = std::sync::Arc::new(
        sandbox::Sandbox::start(std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))).await.unwrap(),
    );
    let s = TestServer::builder()
        .portal(Some(portal.clone()))
        .args(&["--base-url", portal.base_url(), "--api-key", sandbox::API_KEY, "--auth-token", sandbox::AUTH_TOKEN])
        .start()
        .await;
    let a = post(&format!("{}/mcp", s.base), None, &[], &init(1)).await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert!(a.body.contains("misconfigured"), "{}", a.body);
    assert!(a.body.contains("DOCSPACE_API_KEY, DOCSPACE_AUTH_TOKEN"), "the same message as over stdio: {}", a.body);
    // A client with credentials of its own still gets through.
    let own = post(
        &format!("{}/mcp", s.base),
        None,
        &[("x-mcp-base-url", portal.base_url()), ("x-mcp-api-key", sandbox::API_KEY)],
        &init(1),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    // No credentials configured at all is not an error over HTTP.
    let none = TestServer::builder().portal(Some(portal)).start().await;
    let a = post(&format!("{}/mcp", none.base), None, &[], &init(1)).await;
    assert_eq!(a.status, 401);
    assert!(a.body.contains("has no DocSpace credentials of its own"), "{}", a.body);
}

/// The server as its own process against a sandbox portal in this one, and
/// its address (read from its log); its stderr keeps being read.
fn spawn_http_server(portal: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut argv = vec!["--transport", "streamable-http", "--port", "0"];
    argv.extend_from_slice(args);
    let mut child = crate::common::server_command(
        &argv,
        &[("DOCSPACE_BASE_URL", portal), ("DOCSPACE_API_KEY", sandbox::API_KEY), ("DOCSPACE_LOG_LEVEL", "info")],
    )
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some(rest) = line.split("serving MCP over HTTP on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining its log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("server: {l}")));
    (child, address)
}

/// Waits (polling, off the runtime's threads) for the process to exit.
async fn exit_of(mut child: std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(tokio::time::Instant::now() < deadline, "the server did not exit within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &std::process::Child) {
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
}

/// A session on `url` and a `get_self_profile` call in flight on it, which
/// DocSpace (the sandbox `portal`) takes `delay_ms` to answer.
async fn slow_call_in_flight(
    portal: &sandbox::Sandbox,
    url: &str,
    delay_ms: u64,
) -> (String, tokio::task::JoinHandle<Answer>) {
    let session = open(url, &[]).await;
    portal.inject(sandbox::Fault {
        path: "/api/2.0/people/@self".into(),
        mode: "delay".into(),
        status: 200,
        delay_ms,
        times: 1,
    });
    let in_flight = {
        let (url, session) = (url.to_owned(), session.clone());
        tokio::spawn(async move { post(&url, Some(&session), &[], &call(2, "get_self_profile", json!({}))).await })
    };
    (session, in_flight)
}

/// Issue 15, item 4: on SIGTERM the server stops accepting, lets the tool
/// call in flight finish and answer, refuses new requests, then exits 0.
/// Before, SIGTERM closed every session at once: the call in flight never
/// got its answer.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_calls_in_flight_finish_then_exits() {
    let portal = sandbox::Sandbox::start(std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let (child, address) = spawn_http_server(portal.base_url(), &["--shutdown-grace", "10"]);
    let url = format!("{address}/mcp");
    // DocSpace takes 1.5 s to answer this call.
    let (session, in_flight) = slow_call_in_flight(&portal, &url, 1500).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile: no new connection is taken, and a request on a kept-alive one is refused.
    let late = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .body(list(3).to_string())
        .send()
        .await;
    match late {
        Ok(r) => assert_eq!(r.status(), 503, "a request after SIGTERM"),
        Err(e) => assert!(e.is_connect(), "refused at connect, not otherwise: {e}"),
    }
    let answered = in_flight.await.unwrap();
    assert_eq!(answered.status, 200, "{}", answered.body);
    let reply = &answered.messages().first().cloned().unwrap_or_else(|| panic!("no reply: {:?}", answered.body));
    assert_eq!(reply["result"]["isError"], json!(false), "the call in flight finished: {reply}");
    assert!(reply.to_string().contains("Alex Morgan"), "{reply}");
    let status = exit_of(child, Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}");
}

/// A call still running when the grace period ends is answered with a
/// JSON-RPC error that says so (not left without an answer), and the server
/// exits.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_outlasting_the_grace_period_gets_a_shutdown_error() {
    let portal = sandbox::Sandbox::start(std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let (child, address) = spawn_http_server(portal.base_url(), &["--shutdown-grace", "1", "--request-timeout", "30"]);
    let url = format!("{address}/mcp");
    let (_session, in_flight) = slow_call_in_flight(&portal, &url, 8000).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let sent = tokio::time::Instant::now();
    sigterm(&child);
    let answered = in_flight.await.unwrap();
    let reply = &answered.messages().first().cloned().unwrap_or_else(|| panic!("no reply: {:?}", answered.body));
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("shutting down"), "{reply}");
    assert!(sent.elapsed() < Duration::from_secs(6), "answered at the end of the grace period: {:?}", sent.elapsed());
    let status = exit_of(child, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
}

/// `sandbox --portal-only` ends cleanly on SIGTERM too (before, only Ctrl-C:
/// SIGTERM killed it, exit by signal).
#[tokio::test(flavor = "multi_thread")]
async fn the_portal_only_sandbox_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = crate::common::server_command(&["sandbox", "--portal-only"], &[])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.find(|l| l.as_ref().is_ok_and(|l| l.contains("sandbox portal at"))).expect("its address").unwrap();
    let address = line.split("sandbox portal at ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    assert!(reqwest::get(format!("{address}/api/2.0/people/@self")).await.is_ok(), "the portal answers");
    sigterm(&child);
    let status = exit_of(child, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
}

/// Issue 15, item 2: a port in use names the port and the setting to change
/// (before: "cannot listen on 127.0.0.1:8080: Address already in use").
#[test]
fn a_port_in_use_names_the_setting_to_change() {
    let taken = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = crate::common::server_command(&["--transport", "http", "--port", &port], &[]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("Another program uses that port") && stderr.contains("DOCSPACE_PORT"), "{stderr}");
}
